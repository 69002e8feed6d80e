// Parley SDK — early media (engine option earlyMedia, default on): a dialing caller (once
// call/calls/groupCall returned) and a ringing invitee (on onCallReceived) ask the server
// to enter the call's room early (prepareCall) and connect both PeerConnections while the
// call rings, with send transceivers that carry no device yet. No device is opened for it:
// a ringing invitee's camera and microphone stay off, and even a device the invitee's app
// opened sends nothing before accept. At accept (invitee) or onCallBegin (caller)
// openCamera / openMicrophone put the device's track on its sender (replaceTrack, no
// renegotiation). If prepareCall fails (an older server, a call already over), media
// starts at onCallBegin as without the option. Engine option ringingPreview (default off)
// opens the camera of a video call while it rings, as a preview that is sent only once the
// call began for this user, and closes it when the call ends before (D150). A part of
// ParleyCallEngine (parley.js puts its methods on the engine's prototype); its state
// (_prep, _preview) lives on the engine.

import { MediaType, Role } from './enums.js';
import { log } from './log.js';

/** ParleyCallEngine's methods of this module (parley.js puts them on its prototype). */
export class EarlyMediaPart {
  /**
   * Early media: asks the server to put this session in the call's room now (prepareCall)
   * and starts the media session with send transceivers and no device (the caller's
   * already open devices excepted). Any failure — an older server (-32601), a call already
   * over (3004), a room already entered (4003) — is silent: media starts at onCallBegin as
   * without early media.
   * @param {string} callId
   * @param {number} mediaType
   */
  async _prepareCall(callId, mediaType) {
    if (!this._opts.earlyMedia || this._media) return;
    let res;
    try {
      res = await this._request('prepareCall', { callId });
    } catch {
      return;
    }
    const call = this._call;
    // The call ended, or began and started its media, while prepareCall was on its way.
    if (!call || call.callId !== callId || this._media) return;
    // A caller's open devices go out at once (the server holds them until the call begins),
    // except with ringingPreview: then nothing is sent before onCallBegin (_callBegan).
    this._prep = { callId, accepted: call.role === Role.CALLER && !this._opts.ringingPreview, announce: {} };
    try {
      this._startMedia(res.roomId !== undefined ? res.roomId : call.roomId, mediaType === MediaType.AUDIO ? ['audio'] : ['audio', 'video']);
    } catch (err) {
      this._endMedia();
      this._reportMediaError(err);
    }
  }

  /**
   * The call began for this user: an early media session becomes the call's, its senders
   * get the open devices, and the device requests made while early go out.
   * @param {string} callId
   */
  _callBegan(callId) {
    const prep = this._prep;
    if (!prep || prep.callId !== callId || !this._media) return;
    this._prep = null;
    this._publishOpenDevices();
    for (const [kind, method] of Object.entries(prep.announce)) {
      this._announce(/** @type {'audio'|'video'} */ (kind), method).catch((err) => this._reportMediaError(err));
    }
  }

  /** Ends the early media session of a call the user rejected or ignored. */
  _dropEarlyMedia() {
    if (this._prep) this._endMedia();
  }

  /** Puts the open devices on the media session's senders (replaceTrack on existing ones). */
  _publishOpenDevices() {
    const media = this._media;
    if (!media) return;
    const tasks = [media.releaseVideo()];
    const tracks = { audio: this._local.audio, video: this._local.sentVideo };
    for (const kind of /** @type {('audio'|'video')[]} */ (['audio', 'video'])) {
      const track = tracks[kind];
      if (track) tasks.push(media.setTrack(kind, track));
    }
    Promise.all(tasks).catch((err) => this._reportMediaError(err));
  }

  /**
   * ringingPreview: opens the camera for a video call that rings (an invitee at
   * onCallReceived, the caller once call/calls/groupCall returned), so that the app can
   * show it (openCamera({element}) gets the same camera) and the call's video starts from
   * a running camera. Nothing of it is sent before the call began for this user: an early
   * session keeps it off its senders until the accept (caller: onCallBegin), and without
   * one there is no session before onCallBegin. A failure to open is only logged: the
   * app's own openCamera at the accept reports it.
   * @param {string} callId
   * @param {number} mediaType
   */
  _startPreview(callId, mediaType) {
    if (!this._opts.ringingPreview || mediaType !== MediaType.VIDEO || this._local.video || this._preview) return;
    /** @type {{callId: string, stopped: boolean}} */
    const preview = { callId, stopped: false };
    this._preview = preview;
    this.openCamera({}).then((track) => {
      if (preview.stopped) this._stopPreviewCamera(track); // the call ended while the camera opened
    }, (err) => {
      if (!preview.stopped) log.warn('ringing preview: camera', err && err.message ? err.message : err); // stopped: the call's end closed it (D333)
      if (this._preview === preview) this._preview = null;
    });
  }

  /**
   * The ringing preview after the call changed to call (null: no call): it becomes the
   * call's camera when the call began for this user as a video call (the app closes it as
   * any camera it opened), and is closed when it began as an audio call (answered with
   * voice), ended before, or another call took its place.
   * @param {{callId: string, mediaType: number, began?: boolean}|null} call
   */
  _previewFollows(call) {
    const preview = this._preview;
    if (!preview || (call && call.callId === preview.callId && !call.began)) return;
    this._preview = null;
    if (call && call.callId === preview.callId && call.mediaType !== MediaType.AUDIO) return; // the call's camera now
    this._endPreview(preview);
  }

  /**
   * The invitee accepted: a video answer keeps the preview as the call's camera (it goes on
   * the sender now), a voice answer closes it.
   * @param {boolean} voiceOnly
   */
  _previewAccepted(voiceOnly) {
    const preview = this._preview;
    if (!preview) return;
    this._preview = null;
    if (voiceOnly) this._endPreview(preview);
  }

  /** @param {{callId: string, stopped: boolean}} preview */
  _endPreview(preview) {
    preview.stopped = true;
    if (this._local.video) this._stopPreviewCamera(this._local.video);
  }

  /**
   * Closes the preview's camera, unless the app opened another one meanwhile, and takes it
   * off a held video sender (D151). It was never sent, so the server is not told.
   * @param {MediaStreamTrack} track
   */
  _stopPreviewCamera(track) {
    if (this._local.video !== track) return;
    const taken = this._local.takeCamera();
    const media = this._media;
    if (media && media.videoHeld) media.setTrack('video', null).catch(() => {}); // a closed session's sender is gone with it
    if (taken) taken.stop();
    log.info('ringing preview closed');
  }
}
