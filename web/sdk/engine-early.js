// Parley SDK — early media (engine option earlyMedia, default on): a dialing caller (once
// call/calls/groupCall returned) and a ringing invitee (on onCallReceived) ask the server
// to enter the call's room early (prepareCall) and connect both PeerConnections while the
// call rings, with send transceivers that carry no device yet. No device is opened for it:
// a ringing invitee's camera and microphone stay off, and even a device the invitee's app
// opened sends nothing before accept. At accept (invitee) or onCallBegin (caller)
// openCamera / openMicrophone put the device's track on its sender (replaceTrack, no
// renegotiation). If prepareCall fails (an older server, a call already over), media
// starts at onCallBegin as without the option. A part of ParleyCallEngine (parley.js puts
// its methods on the engine's prototype); its state (_prep) lives on the engine.

import { MediaType, Role } from './enums.js';

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
    this._prep = { callId, accepted: call.role === Role.CALLER, announce: {} };
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
    for (const method of Object.values(prep.announce)) {
      this._request(method, {}).catch((err) => this._reportMediaError(err));
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
    const tasks = [];
    const tracks = { audio: this._local.audio, video: this._local.sentVideo };
    for (const kind of /** @type {('audio'|'video')[]} */ (['audio', 'video'])) {
      const track = tracks[kind];
      if (track) tasks.push(media.setTrack(kind, track));
    }
    Promise.all(tasks).catch((err) => this._reportMediaError(err));
  }
}
