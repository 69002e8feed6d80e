// Parley SDK — the user's own camera and microphone: capture (with the device choices of
// switchCamera / switchDevice and the sizes and limits of setVideoEncoderParams), the local
// preview and its render params, device switches and the background effect on the camera.
// LocalMedia keeps the device tracks; what goes on the senders, and when, is the engine's
// (parley.js) decision, asked through its publish callback.

import { applyRenderParams, attachTrack, captureTrack, videoElementFor } from './devices.js';
import { BackgroundEffect } from './effects.js';
import { ErrorCode, RESOLUTION_SIZES, Resolution, ResolutionMode } from './enums.js';
import { log } from './log.js';
import { ParleyError, SdkErrorCode } from './rpc.js';

/** Why background effects are refused without a segmenter (web/README.md, D41). */
const NO_SEGMENTATION = 'no segmentation model: pass {segmenter} (e.g. fromSelfieSegmentation(new SelfieSegmentation(…))), see web/README.md, "Background blur"';

/** The user's devices and preview. */
export class LocalMedia {
  /**
   * @param {{publish: (kind: 'audio'|'video', track: MediaStreamTrack) => Promise<void>, onError: (err: ParleyError) => void, onEnded?: (kind: 'audio'|'video') => void}} opts
   *   publish puts a replacement track on kind's sender when the engine publishes that kind
   *   now; onError reports a failure of the background effect; onEnded that the browser
   *   ended the open device's capture by itself (D284)
   */
  constructor(opts) {
    this._publish = opts.publish;
    this._onError = opts.onError;
    this._onEnded = opts.onEnded || (() => {});
    /** @type {MediaStreamTrack|null} the microphone */
    this.audio = null;
    /** @type {MediaStreamTrack|null} the camera (before any effect) */
    this.video = null;
    /** @type {HTMLVideoElement|null} the preview */
    this.view = null;
    /** @type {{video: MediaTrackConstraints, audio: MediaTrackConstraints}} device choices for the next capture */
    this.prefs = { video: {}, audio: {} };
    this.audioProcessing = true;
    this.videoParams = { resolution: /** @type {number} */ (Resolution.R1280x720), resolutionMode: /** @type {number} */ (ResolutionMode.LANDSCAPE) };
    /** @type {{maxBitrate?: number, maxFramerate?: number}} setVideoEncoderParams' sender limits */
    this.sendLimits = {};
    /** @type {import('./devices.js').RenderParams} the preview's render params */
    this.render = {};
    /** @type {import('./effects.js').Segmenter|null} */
    this.segmenter = null;
    /** @type {import('./effects.js').EffectMode|null} the background effect wanted (null: none) */
    this.effectMode = null;
    /** @type {BackgroundEffect|null} the effect running on the open camera */
    this.effect = null;
    this._closed = false;
    /**
     * The capture under way per device (openCamera, openMicrophone), shared by the opens
     * made while it runs.
     * @type {{audio: Promise<MediaStreamTrack>|null, video: Promise<MediaStreamTrack>|null}}
     */
    this._opening = { audio: null, video: null };
    /** counts closeDevices: a capture started before the last one belongs to a call that ended */
    this._generation = 0;
  }

  /** @returns {MediaStreamTrack|null} the video to show and send: the effect's output, else the camera */
  get sentVideo() {
    return this.effect ? this.effect.output : this.video;
  }

  /**
   * The capture size: setVideoEncoderParams' resolution and orientation, or params' width / height.
   * @param {{width?: number, height?: number}} params
   * @returns {[number, number]}
   */
  targetSize(params) {
    let [w, h] = RESOLUTION_SIZES[/** @type {keyof typeof RESOLUTION_SIZES} */ (this.videoParams.resolution)];
    if (params.width) w = params.width;
    if (params.height) h = params.height;
    if (this.videoParams.resolutionMode === ResolutionMode.PORTRAIT && w > h) [w, h] = [h, w];
    return [w, h];
  }

  /**
   * Opens the camera unless open, starts the background effect on it and shows it.
   * @param {{element?: HTMLElement|string, deviceId?: string, width?: number, height?: number, exact?: boolean}} params
   * @returns {Promise<MediaStreamTrack>} the camera's track
   */
  async openCamera(params) {
    if (params.element) this.view = videoElementFor(params.element);
    if (!this.video || this.video.readyState === 'ended') {
      const [w, h] = this.targetSize(params);
      const size = params.exact ? { width: { exact: w }, height: { exact: h } } : { width: { ideal: w }, height: { ideal: h } };
      /** @type {MediaTrackConstraints} */
      const video = { ...size, ...this.prefs.video };
      if (params.deviceId) video.deviceId = { exact: params.deviceId };
      if (this.sendLimits.maxFramerate) video.frameRate = { ideal: this.sendLimits.maxFramerate };
      await this._capture('video', video);
    }
    await this._applyEffect(false);
    this.showPreview();
    return this.video;
  }

  /**
   * Opens kind's device, one capture at a time: an open made while another one's capture
   * runs (the app showing the ringing preview the engine is opening) gets the same device.
   * A capture that closeDevices overtook (the call it was opened for ended while it ran,
   * D210) is stopped when it arrives and fails with INVALID_STATE: no device stays on after
   * its call, and the next call's open, which starts a capture of its own, never gets a
   * device that the ended call's opener holds too and may close (D333).
   * @param {'audio'|'video'} kind
   * @param {MediaTrackConstraints} constraints
   * @returns {Promise<MediaStreamTrack>} kind's open device
   */
  async _capture(kind, constraints) {
    const generation = this._generation;
    let opening = this._opening[kind];
    if (!opening) {
      const capture = captureTrack({ [kind]: constraints });
      const done = () => { if (this._opening[kind] === capture) this._opening[kind] = null; };
      capture.then(done, done);
      this._opening[kind] = opening = capture;
    }
    const track = await opening;
    if (generation !== this._generation || this._closed) {
      track.stop();
      const device = kind === 'video' ? 'camera' : 'microphone';
      throw new ParleyError(SdkErrorCode.INVALID_STATE, `open ${device}: closed while it opened (its call ended, D210, or the engine was destroyed)`);
    }
    if (!this[kind] || this[kind].readyState === 'ended') this[kind] = this._watch(kind, track);
    return this[kind];
  }

  /**
   * Reports through onEnded when the browser ends track (the permission revoked, the device
   * unplugged or taken by another program) while it is still kind's open device; a track
   * stopped by the SDK fires no ended event.
   * @param {'audio'|'video'} kind
   * @param {MediaStreamTrack} track
   * @returns {MediaStreamTrack} track
   */
  _watch(kind, track) {
    track.addEventListener('ended', () => { if (this[kind] === track && !this._closed) this._onEnded(kind); }, { once: true });
    return track;
  }

  /** @returns {MediaStreamTrack|null} the camera, now closed here (the caller stops it after unpublishing) */
  takeCamera() {
    const track = this.video;
    this.video = null;
    if (this.effect) this.effect.stop();
    this.effect = null;
    if (this.view) this.view.srcObject = null;
    return track;
  }

  /**
   * Opens the microphone unless open.
   * @param {{deviceId?: string, audioProcessing?: boolean}} params
   * @returns {Promise<MediaStreamTrack>}
   */
  async openMicrophone(params) {
    if (!this.audio || this.audio.readyState === 'ended') {
      const processing = params.audioProcessing !== false;
      this.audioProcessing = processing;
      /** @type {MediaTrackConstraints} */
      const audio = { echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing, ...this.prefs.audio };
      if (params.deviceId) audio.deviceId = { exact: params.deviceId };
      return this._capture('audio', audio);
    }
    return this.audio;
  }

  /** @returns {MediaStreamTrack|null} the microphone, now closed here (the caller stops it) */
  takeMicrophone() {
    const track = this.audio;
    this.audio = null;
    return track;
  }

  /**
   * Checks and applies setVideoEncoderParams to the open camera (applyConstraints) and
   * returns the sender limits for the engine to apply.
   * @param {{resolution?: number, resolutionMode?: number, videoFps?: number, videoBitrate?: number}} params
   * @returns {Promise<{maxBitrate?: number, maxFramerate?: number}>}
   */
  async setEncoderParams(params) {
    const bad = (/** @type {string} */ what) => new ParleyError(ErrorCode.INVALID_PARAMS, `setVideoEncoderParams: ${what}`);
    if (params.resolution !== undefined && !Object.hasOwn(RESOLUTION_SIZES, params.resolution)) throw bad(`unknown resolution ${params.resolution}`);
    if (params.resolutionMode !== undefined && params.resolutionMode !== ResolutionMode.LANDSCAPE && params.resolutionMode !== ResolutionMode.PORTRAIT) {
      throw bad('resolutionMode must be 0 (landscape) or 1 (portrait)');
    }
    const inRange = (/** @type {number|undefined} */ v, /** @type {number} */ lo, /** @type {number} */ hi) => v === undefined || v === 0 || (Number.isInteger(v) && v >= lo && v <= hi);
    if (!inRange(params.videoFps, 1, 60)) throw bad('videoFps must be an integer 1..60 (0: no limit)');
    if (!inRange(params.videoBitrate, 30, 20000)) throw bad('videoBitrate must be an integer 30..20000 kbit/s (0: no limit)');
    if (params.resolution !== undefined) this.videoParams.resolution = params.resolution;
    if (params.resolutionMode !== undefined) this.videoParams.resolutionMode = params.resolutionMode;
    if (params.videoFps !== undefined) this.sendLimits.maxFramerate = params.videoFps || undefined;
    if (params.videoBitrate !== undefined) this.sendLimits.maxBitrate = params.videoBitrate ? params.videoBitrate * 1000 : undefined;
    if (this.video) await this.video.applyConstraints(this._videoConstraints({}));
    log.info('setVideoEncoderParams', this.videoParams, this.sendLimits);
    return { ...this.sendLimits };
  }

  /**
   * Records a device choice of kind and, when that device is open, captures the chosen one
   * and puts it in place: the preview, and the sender (publish: replaceTrack, no
   * renegotiation); under a background effect only the effect's source changes. The old
   * track stops after the new one runs.
   * @param {'audio'|'video'} kind
   * @param {MediaTrackConstraints} choice
   */
  async switchSource(kind, choice) {
    this.prefs[kind] = choice;
    const old = this[kind];
    if (!old || old.readyState === 'ended') return;
    const p = this.audioProcessing;
    const c = kind === 'video' ? this._videoConstraints(choice) : { echoCancellation: p, noiseSuppression: p, autoGainControl: p, ...choice };
    const track = await captureTrack({ [kind]: c });
    if (this[kind] !== old || this._closed) { // closed or switched meanwhile
      track.stop();
      return;
    }
    this[kind] = this._watch(kind, track);
    if (kind === 'video' && this.effect) {
      await this.effect.setSource(track); // the effect's output stays on the sender
    } else {
      if (kind === 'video') this.showPreview();
      await this._publish(kind, track);
    }
    old.stop();
    log.info('switched', kind, 'to', track.label);
  }

  /**
   * setBlurBackground: level 0..10 (2 px of blur per level, 0 off).
   * @param {number|{level: number}} level
   * @param {{segmenter?: import('./effects.js').Segmenter}} [opts]
   */
  async setBlur(level, opts) {
    const l = level !== null && typeof level === 'object' ? level.level : level;
    if (!Number.isInteger(l) || l < 0 || l > 10) throw new ParleyError(ErrorCode.INVALID_PARAMS, 'setBlurBackground: level must be an integer 0..10 (0: off)');
    await this._setEffect(l === 0 ? null : { blurPx: 2 * l }, opts, 'setBlurBackground');
  }

  /**
   * setVirtualBackground: an image URL the page may draw ('' off).
   * @param {string|{image: string}} image
   * @param {{segmenter?: import('./effects.js').Segmenter}} [opts]
   */
  async setBackgroundImage(image, opts) {
    const url = image !== null && typeof image === 'object' ? image.image : image;
    if (typeof url !== 'string') throw new ParleyError(ErrorCode.INVALID_PARAMS, 'setVirtualBackground: image must be a URL string');
    if (url === '') {
      await this._setEffect(null, opts, 'setVirtualBackground');
      return;
    }
    if (!(opts && opts.segmenter) && !this.segmenter) throw new ParleyError(SdkErrorCode.NOT_SUPPORTED, `setVirtualBackground: ${NO_SEGMENTATION}`);
    const img = new Image();
    img.crossOrigin = 'anonymous';
    img.src = url;
    try {
      await img.decode();
    } catch {
      throw new ParleyError(ErrorCode.INVALID_PARAMS, `setVirtualBackground: cannot load ${url}`);
    }
    await this._setEffect({ image: img }, opts, 'setVirtualBackground');
  }

  /**
   * Sets the preview's render params.
   * @param {import('./devices.js').RenderParams} rp
   */
  setRender(rp) {
    this.render = { ...this.render, ...rp };
    if (this.view) applyRenderParams(this.view, this.render);
  }

  /** Shows what is sent (the camera or its effect) in the preview, muted, with its render params. */
  showPreview() {
    const track = this.sentVideo;
    if (!this.view || !track) return;
    this.view.muted = true;
    applyRenderParams(this.view, this.render);
    attachTrack(this.view, track);
  }

  /** Stops both devices and the effect. Idempotent. */
  close() {
    this._closed = true;
    this.closeDevices();
  }

  /**
   * Stops both devices and the effect, and a capture under way when it arrives (_capture);
   * later openCamera / openMicrophone open them again.
   */
  closeDevices() {
    this._generation++;
    this._opening = { audio: null, video: null };
    for (const track of [this.takeCamera(), this.takeMicrophone()]) {
      if (track) track.stop();
    }
  }

  /**
   * The camera constraints at the wanted size and frame rate, with choice (a device).
   * @param {MediaTrackConstraints} choice
   * @returns {MediaTrackConstraints}
   */
  _videoConstraints(choice) {
    const [w, h] = this.targetSize({});
    /** @type {MediaTrackConstraints} */
    const c = { width: { ideal: w }, height: { ideal: h }, ...choice };
    if (this.sendLimits.maxFramerate) c.frameRate = { ideal: this.sendLimits.maxFramerate };
    return c;
  }

  /**
   * Sets the wanted background effect (null: none) and applies it to the open camera.
   * @param {import('./effects.js').EffectMode|null} mode
   * @param {{segmenter?: import('./effects.js').Segmenter}|undefined} opts
   * @param {string} method for the error message
   */
  async _setEffect(mode, opts, method) {
    if (opts && opts.segmenter) {
      if (typeof opts.segmenter.segment !== 'function') throw new ParleyError(ErrorCode.INVALID_PARAMS, `${method}: segmenter needs a segment(frame) method`);
      this.segmenter = opts.segmenter;
    }
    if (mode && !this.segmenter) throw new ParleyError(SdkErrorCode.NOT_SUPPORTED, `${method}: ${NO_SEGMENTATION}`);
    this.effectMode = mode;
    await this._applyEffect(true);
  }

  /**
   * Makes the open camera's effect match effectMode: starts, changes or stops it. send: put
   * the resulting track on the preview and the sender (publish); openCamera passes false
   * (the engine publishes the opened camera itself).
   * @param {boolean} send
   */
  async _applyEffect(send) {
    const cam = this.video;
    const live = !!cam && cam.readyState !== 'ended';
    if (!this.effectMode || !live || !this.segmenter) {
      if (!this.effect) return;
      this.effect.stop();
      this.effect = null;
    } else if (this.effect) {
      this.effect.setMode(this.effectMode);
      if (this.effect.source !== cam) await this.effect.setSource(/** @type {MediaStreamTrack} */ (cam));
      return;
    } else {
      const effect = new BackgroundEffect(this.segmenter, (err) => this._onError(new ParleyError(SdkErrorCode.MEDIA_DEVICE, `background effect: ${err.message}`)));
      await effect.start(/** @type {MediaStreamTrack} */ (cam), this.effectMode);
      this.effect = effect;
    }
    if (!send || !live) return;
    this.showPreview();
    await this._publish('video', /** @type {MediaStreamTrack} */ (this.sentVideo));
  }
}
