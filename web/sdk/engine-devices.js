// Parley SDK — the engine's device methods: camera and microphone (local.js) and their
// senders, encoder and render params, device lists and switches, the audio output, the
// log level and the background effects (effects.js). A part of ParleyCallEngine
// (parley.js puts its methods on the engine's prototype); its state lives on the engine.

import { cameraChoice, canSelectSpeaker, checkDeviceType, checkRenderParams, listDevices } from './devices.js';
import { ErrorCode } from './enums.js';
import { lostWithSocket, sleep } from './engine-connection.js';
import { log, parseLogLevel, setLevel } from './log.js';
import { ParleyError, SdkErrorCode } from './rpc.js';

/** ParleyCallEngine's methods of this module (parley.js puts them on its prototype). */
export class DevicesPart {
  /**
   * Opens the camera, shows it in element and publishes it when in a room.
   * @param {{element?: import('./parley.js').ViewElement, deviceId?: string, width?: number, height?: number, exact?: boolean}} [params]
   *   width/height default to setVideoEncoderParams' resolution; exact requires that size.
   * @returns {Promise<MediaStreamTrack>}
   */
  async openCamera(params = {}) {
    const track = await this._local.openCamera(params);
    await this._deviceChanged('video', this._local.sentVideo, 'openCamera');
    return track;
  }

  /** Stops the camera; others get onUserVideoAvailable(false). */
  async closeCamera() {
    const track = this._local.takeCamera();
    await this._deviceChanged('video', null, 'closeCamera');
    if (track) track.stop();
  }

  /**
   * The browser ended the camera's or the microphone's capture by itself (the permission
   * revoked, the device unplugged or taken): the device closes as by closeCamera /
   * closeMicrophone, so the others get onUserVideoAvailable / onUserAudioAvailable(false)
   * instead of a frozen picture, and the app gets onError with SdkErrorCode.MEDIA_DEVICE and
   * device 'camera' or 'microphone' (D284).
   * @param {'audio'|'video'} kind
   */
  _deviceEnded(kind) {
    const device = kind === 'video' ? 'camera' : 'microphone';
    (kind === 'video' ? this.closeCamera() : this.closeMicrophone()).catch((err) => this._reportMediaError(err));
    log.warn('onError', SdkErrorCode.MEDIA_DEVICE, `${device} ended`);
    this._emit('onError', { code: SdkErrorCode.MEDIA_DEVICE, message: `the ${device} stopped (permission revoked, device unplugged or taken by another program)`, device });
  }

  /**
   * Opens the microphone and publishes it when in a room.
   * @param {{deviceId?: string, audioProcessing?: boolean}} [params] audioProcessing
   *   (default true) turns echo cancellation, noise suppression and gain control on or off
   * @returns {Promise<MediaStreamTrack>}
   */
  async openMicrophone(params = {}) {
    const track = await this._local.openMicrophone(params);
    await this._deviceChanged('audio', track, 'openMicrophone');
    return track;
  }

  /** Stops the microphone; others get onUserAudioAvailable(false). */
  async closeMicrophone() {
    const track = this._local.takeMicrophone();
    await this._deviceChanged('audio', null, 'closeMicrophone');
    if (track) track.stop();
  }

  /**
   * Puts kind's device track (null: none) on the media session's sender and tells the
   * server with method (openCamera, closeCamera, openMicrophone, closeMicrophone); a close
   * that crosses the end of the room is not an error. On an early media session the
   * request waits for the call's begin, and an invitee's track waits for its accept.
   * @param {'audio'|'video'} kind
   * @param {MediaStreamTrack|null} track
   * @param {string} method
   */
  async _deviceChanged(kind, track, method) {
    const media = this._media;
    if (!media) return;
    // A held video sender (ringingPreview, D151) takes the camera before accept: it sends nothing.
    if (!track || !this._prep || this._prep.accepted || (kind === 'video' && media.videoHeld)) await media.setTrack(kind, track);
    if (this._prep) {
      this._prep.announce[kind] = method;
      return;
    }
    await this._announce(kind, method).catch((err) => {
      if (track || err.code !== ErrorCode.NOT_IN_ROOM) throw err;
    });
  }

  /**
   * Tells the server kind's device state with method (openCamera, closeCamera,
   * openMicrophone, closeMicrophone). A request that could not go out or lost its answer
   * while the engine reconnects is not an error: the server may have missed it, so the
   * resume tells it the device's state of then (_announceDevices, D330).
   * @param {'audio'|'video'} kind
   * @param {string} method
   */
  async _announce(kind, method) {
    const media = this._media;
    try {
      await this._request(method, {});
    } catch (err) {
      if (!lostWithSocket(err) || !this._reconnecting) throw err;
      if (media && this._media === media) this._unannounced.add(kind);
    }
  }

  /**
   * The session was resumed: brings the server to the page's device state for each kind
   * whose announce was lost while reconnecting (D330) — one request per device, its state
   * now, however often it was toggled meanwhile. A RATE_LIMITED answer (the server's
   * limits.device_toggles_per_minute) is retried after its retryAfterMs, with the state of
   * then; the call's end stops it.
   */
  _announceDevices() {
    const kinds = [...this._unannounced];
    this._unannounced.clear();
    const media = this._media;
    if (!media || this._prep) return;
    for (const kind of kinds) {
      this._announceState(media, kind).catch((err) => {
        if (this._media === media) this._reportMediaError(err);
      });
    }
  }

  /**
   * @param {import('./peers.js').MediaSession} media the session the state is announced in
   * @param {'audio'|'video'} kind
   */
  async _announceState(media, kind) {
    while (this._media === media) {
      const on = kind === 'video' ? !!this._local.sentVideo : !!this._local.audio;
      const method = kind === 'video' ? (on ? 'openCamera' : 'closeCamera') : (on ? 'openMicrophone' : 'closeMicrophone');
      try {
        await this._announce(kind, method);
        return;
      } catch (err) {
        if (err.code !== ErrorCode.RATE_LIMITED) throw err;
        await sleep(Math.max(err.data && err.data.retryAfterMs || 0, 100));
      }
    }
  }

  /**
   * Sets the published video: the camera's capture size (resolution, resolutionMode), its
   * frame rate (videoFps, 1..60: capture constraint and the senders' maxFramerate) and the
   * send bitrate (videoBitrate in kbit/s, 30..20000: maxBitrate of the full simulcast layer,
   * the lower layers at most that). Applied now when the camera is open or published (no
   * renegotiation), and to later cameras and calls. 0 lifts a frame-rate or bitrate limit.
   * @param {{resolution?: number, resolutionMode?: number, videoFps?: number, videoBitrate?: number}} params
   */
  async setVideoEncoderParams(params) {
    const limits = await this._local.setEncoderParams(params);
    if (this._media) await this._media.setSendLimits(limits);
  }

  /**
   * The page's cameras, microphones and speakers (enumerateDevices; labels are empty until
   * the page was allowed a device once). With a deviceType, only that type's list.
   * @param {'camera'|'microphone'|'speaker'} [deviceType]
   * @returns {Promise<import('./devices.js').DeviceInfo[]>}
   */
  async getDeviceList(deviceType) {
    const list = await listDevices();
    if (deviceType === undefined) return [...list.cameras, ...list.microphones, ...list.speakers];
    const type = checkDeviceType(deviceType, 'getDeviceList');
    return type === 'camera' ? list.cameras : type === 'microphone' ? list.microphones : list.speakers;
  }

  /**
   * Switches to another camera: 'front' / 'back' (facingMode user / environment, as well as
   * the browser can match it), or {facingMode} / {deviceId}. An open camera is replaced at
   * once (replaceTrack on its sender: no renegotiation, the others keep receiving); the
   * choice also applies to the next openCamera.
   * @param {'front'|'back'|{facingMode?: 'user'|'environment', deviceId?: string}} camera
   * @returns {Promise<void>}
   */
  async switchCamera(camera) {
    return this._local.switchSource('video', cameraChoice(camera));
  }

  /**
   * Switches the camera, microphone or speaker to deviceId (one of getDeviceList). An open
   * camera or microphone is replaced during a call without renegotiation; the speaker is
   * selectAudioPlaybackDevice.
   * @param {{deviceType: 'camera'|'microphone'|'speaker', deviceId: string}} params
   * @returns {Promise<void>}
   */
  async switchDevice(params) {
    const type = checkDeviceType(params && params.deviceType, 'switchDevice');
    if (typeof params.deviceId !== 'string') throw new ParleyError(ErrorCode.INVALID_PARAMS, 'switchDevice: deviceId must be a string');
    if (type === 'speaker') return this.selectAudioPlaybackDevice(params.deviceId);
    const choice = params.deviceId ? { deviceId: { exact: params.deviceId } } : {};
    return this._local.switchSource(type === 'camera' ? 'video' : 'audio', choice);
  }

  /**
   * Plays the remote audio on the output device deviceId ('' the default), now and for
   * users who join later. Rejects with SdkErrorCode.NOT_SUPPORTED where the browser cannot
   * choose an output (no HTMLMediaElement.setSinkId).
   * @param {string} deviceId
   * @returns {Promise<void>}
   */
  async selectAudioPlaybackDevice(deviceId) {
    if (!canSelectSpeaker()) {
      throw new ParleyError(SdkErrorCode.NOT_SUPPORTED, 'selectAudioPlaybackDevice: this browser cannot choose an audio output (no setSinkId)');
    }
    if (typeof deviceId !== 'string') throw new ParleyError(ErrorCode.INVALID_PARAMS, 'selectAudioPlaybackDevice: deviceId must be a string');
    await this._views.setSpeaker(deviceId);
    log.info('audio output', deviceId || 'default');
  }

  /**
   * Mutes (true) or unmutes the playback of every remote user's audio, now and for users
   * who join later: the speaker button of a call UI. Only this page stops playing it; the
   * server keeps forwarding it (volume events go on).
   * @param {boolean} mute
   */
  async muteAllRemoteAudio(mute) {
    if (typeof mute !== 'boolean') throw new ParleyError(ErrorCode.INVALID_PARAMS, 'muteAllRemoteAudio: mute must be a boolean');
    this._views.setMuted(mute);
  }

  /**
   * How a user's video is drawn: fillMode 'fill' covers the view (cropping), 'fit' shows
   * the whole frame; rotation (0, 90, 180, 270) turns it clockwise. userId '' or the own
   * userId is the local preview. Applies now and to views started later.
   * @param {{userId?: string, fillMode?: 'fill'|'fit', rotation?: 0|90|180|270}} params
   */
  async setVideoRenderParams(params) {
    const rp = checkRenderParams(params || {});
    const self = this._credentials ? this._credentials.userId : '';
    if (!params.userId || params.userId === self) {
      this._local.setRender(rp);
      return;
    }
    this._views.setRender(params.userId, rp);
  }

  /**
   * Sets the SDK's console logging: LogLevel or 'debug' | 'info' | 'warn' (the default) |
   * 'error' | 'none'. One level for the page.
   * @param {number|string} level
   */
  setLogLevel(level) {
    const parsed = parseLogLevel(level);
    if (parsed === undefined) throw new ParleyError(ErrorCode.INVALID_PARAMS, `setLogLevel: unknown level ${level}`);
    setLevel(parsed);
  }

  /**
   * Blurs the camera's background: level 1..10 (a blur of 2 px per level), 0 turns it off.
   * The person mask comes from a segmenter the app supplies once (opts.segmenter, e.g.
   * fromSelfieSegmentation(new SelfieSegmentation({locateFile})) of the npm package
   * @mediapipe/selfie_segmentation; the SDK ships no model: web/README.md, "Background
   * blur"); without one it rejects with SdkErrorCode.NOT_SUPPORTED. The processed track
   * replaces the camera's on the preview and the sender (replaceTrack, no renegotiation),
   * now or when the camera opens; camera switches keep it.
   * @param {number|{level: number}} level
   * @param {{segmenter?: import('./effects.js').Segmenter}} [opts]
   */
  setBlurBackground(level, opts) {
    return this._local.setBlur(level, opts);
  }

  /**
   * Replaces the camera's background with an image (a URL the page may draw: same origin
   * or CORS), '' turns it off. The segmenter as for setBlurBackground.
   * @param {string|{image: string}} image
   * @param {{segmenter?: import('./effects.js').Segmenter}} [opts]
   */
  setVirtualBackground(image, opts) {
    return this._local.setBackgroundImage(image, opts);
  }

  /**
   * Beauty filters (skin smoothing) need face landmarks; a filter over the whole frame is not
   * one. Rejects with SdkErrorCode.NOT_SUPPORTED (web/README.md, "Background blur").
   * @param {number|{level: number}} _level
   * @returns {Promise<never>}
   */
  setBeautyLevel(_level) { // eslint-disable-line no-unused-vars
    return Promise.reject(new ParleyError(SdkErrorCode.NOT_SUPPORTED, 'setBeautyLevel: skin smoothing needs a face model, which this SDK does not ship (see web/README.md, "Background blur")'));
  }
}
