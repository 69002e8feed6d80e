// Parley SDK — the other users' media on this page: their tracks, the <audio> that plays
// each user's audio (output device, mute), the <video> of each remote view with its render
// params and playback callbacks, and the startRemoteView params kept while a call has no
// media yet (wish). RemoteViews holds no connection: the engine (parley.js) sends the
// requests and feeds it the tracks its MediaSession receives.

import { applyRenderParams, attachTrack, setSpeaker, watchPlayback } from './devices.js';

/**
 * One remote user: tracks, audio element, view, kept startRemoteView params (wish), and
 * unwatch, which stops the view's playback callbacks.
 * @typedef {{audio: MediaStreamTrack|null, video: MediaStreamTrack|null, audioEl: HTMLAudioElement|null,
 *   view: HTMLVideoElement|null, wish: {userId: string, resolution?: number, width?: number, height?: number}|null,
 *   unwatch: (() => void)|null}} RemoteUser
 */

/** The remote users of the current room. */
export class RemoteViews {
  /** @param {(err: Error) => void} onError a failure to set an audio element's output device */
  constructor(onError) {
    this._onError = onError;
    /** @type {Map<string, RemoteUser>} by userId */
    this.users = new Map();
    /** @type {string|null} the audio output ('' default), null: never chosen */
    this._speaker = null;
    this._muted = false;
    /** @type {Map<string, import('./devices.js').RenderParams>} by userId, kept across views */
    this._render = new Map();
  }

  /**
   * The user's entry, created when missing.
   * @param {string} userId
   * @returns {RemoteUser}
   */
  user(userId) {
    let r = this.users.get(userId);
    if (!r) {
      r = { audio: null, video: null, audioEl: null, view: null, wish: null, unwatch: null };
      this.users.set(userId, r);
    }
    return r;
  }

  /**
   * Shows the user's video in view (now if it arrived, else when it does), with the user's
   * render params and, when given, the playback callbacks.
   * @param {string} userId
   * @param {HTMLVideoElement} view
   * @param {import('./devices.js').ViewCallbacks} [callback]
   * @returns {RemoteUser}
   */
  attach(userId, view, callback) {
    const r = this.user(userId);
    if (r.unwatch) r.unwatch();
    r.unwatch = callback ? watchPlayback(view, userId, callback) : null;
    r.view = view;
    applyRenderParams(view, this._render.get(userId));
    if (r.video) attachTrack(view, r.video);
    return r;
  }

  /**
   * Takes the user's video out of its view.
   * @param {string} userId
   * @returns {RemoteUser|undefined}
   */
  detach(userId) {
    const r = this.users.get(userId);
    if (!r) return undefined;
    if (r.unwatch) r.unwatch();
    r.unwatch = null;
    if (r.view) r.view.srcObject = null;
    r.view = null;
    return r;
  }

  /**
   * A track of the user arrived: audio plays in the user's audio element (created with the
   * chosen output and mute), video in the view if there is one.
   * @param {string} userId
   * @param {MediaStreamTrack} track
   */
  trackAdded(userId, track) {
    const r = this.user(userId);
    if (track.kind === 'audio') {
      r.audio = track;
      if (!r.audioEl) {
        r.audioEl = new Audio();
        r.audioEl.autoplay = true;
        r.audioEl.muted = this._muted;
        if (this._speaker) setSpeaker(r.audioEl, this._speaker).catch(this._onError);
      }
      attachTrack(r.audioEl, track);
    } else {
      r.video = track;
      if (r.view) attachTrack(r.view, track);
    }
  }

  /**
   * A track of the user ended or was removed.
   * @param {string} userId
   * @param {MediaStreamTrack} track
   */
  trackGone(userId, track) {
    const r = this.users.get(userId);
    if (!r) return;
    if (r.audio === track) {
      r.audio = null;
      if (r.audioEl) r.audioEl.srcObject = null;
    }
    if (r.video === track) {
      r.video = null;
      if (r.view) r.view.srcObject = null;
    }
  }

  /**
   * The user left: its elements stop playing and its entry goes.
   * @param {string} userId
   */
  forget(userId) {
    const r = this.detach(userId);
    if (!r) return;
    if (r.audioEl) r.audioEl.srcObject = null;
    this.users.delete(userId);
  }

  /** The room is over: every user is forgotten. */
  forgetAll() {
    for (const userId of [...this.users.keys()]) this.forget(userId);
  }

  /**
   * Plays every user's audio on the output deviceId ('' default), now and later.
   * @param {string} deviceId
   * @returns {Promise<void>}
   */
  async setSpeaker(deviceId) {
    const els = [...this.users.values()].map((r) => r.audioEl).filter((el) => el !== null);
    await Promise.all(els.map((el) => setSpeaker(/** @type {HTMLAudioElement} */ (el), deviceId)));
    this._speaker = deviceId;
  }

  /**
   * Mutes or unmutes every user's audio, now and later.
   * @param {boolean} mute
   */
  setMuted(mute) {
    this._muted = mute;
    for (const r of this.users.values()) {
      if (r.audioEl) r.audioEl.muted = mute;
    }
  }

  /**
   * Sets how the user's video renders, now and in later views.
   * @param {string} userId
   * @param {import('./devices.js').RenderParams} rp
   */
  setRender(userId, rp) {
    this._render.set(userId, { ...this._render.get(userId), ...rp });
    const r = this.users.get(userId);
    if (r && r.view) applyRenderParams(r.view, this._render.get(userId));
  }
}
