// Parley SDK — the engine's rooms and remote views: joinRoom / leaveRoom, the media
// session of the current room (peers.js) and the remote-view requests, with the wishes
// kept while a call has no media yet and the quiet end of views after a call (D75). A
// part of ParleyCallEngine (parley.js puts its methods on the engine's prototype); its
// state lives on the engine.

import { videoElementFor } from './devices.js';
import { ErrorCode } from './enums.js';
import { MediaSession } from './peers.js';

/** ParleyCallEngine's methods of this module (parley.js puts them on its prototype). */
export class RoomPart {
  /**
   * Joins a room without a call and starts its media session. roomGrant is the room grant
   * your server made for this user and room with the app's secret (PROTOCOL.md §4.3;
   * privateMapKey, TRTC's name, is accepted too); it is needed unless the app has
   * open_rooms. Its rights decide whether your media is forwarded (publish) and whether
   * you receive the room's (subscribe).
   * @param {{roomId: import('./parley.js').RoomId, roomGrant?: string, privateMapKey?: string}} params
   */
  async joinRoom(params) {
    const req = { roomId: params.roomId };
    const grant = params.roomGrant || params.privateMapKey;
    if (grant) req.roomGrant = grant;
    this._ended = false;
    await this._request('joinRoom', req);
    this._startMedia(params.roomId);
  }

  /** Leaves the room (a call in it is hung up). */
  async leaveRoom() {
    try {
      await this._request('leaveRoom', {});
    } finally {
      this._endMedia();
    }
  }

  /**
   * Shows a user's video in element: asks the server to forward it and attaches the track
   * when it arrives. During a call that has no media yet (dialing, or ringing without early
   * media) the wish is kept and sent as soon as the call's media starts, so a view started
   * at once for the other party costs no round trip after accept. callback (TUICallEngine's
   * view callback) hears of the view's playback: onLoading at once and whenever it stalls or
   * the video is gone, onPlaying when frames play, onError when the element or the request
   * fails; it is called until stopRemoteView. After the call or room ended (until the next
   * one starts) it resolves and does nothing: an app's handler that runs late needs no care.
   * @param {{userId: string, element: import('./parley.js').ViewElement, resolution?: number, callback?: import('./devices.js').ViewCallbacks}} params
   */
  async startRemoteView(params) {
    if (this._ended) return; // the call or room ended: nothing to view (D75)
    const cb = params.callback;
    const r = this._views.attach(params.userId, videoElementFor(params.element), cb);
    const req = { userId: params.userId };
    if (params.resolution) req.resolution = params.resolution;
    if (this._keepsWishes()) {
      r.wish = req;
      return;
    }
    try {
      await this._viewRequest('startRemoteView', req);
    } catch (err) {
      if (cb && cb.onError) cb.onError({ userId: params.userId, code: err.code, message: err.message });
      throw err;
    }
  }

  /**
   * Stops a user's video and detaches it from its element. Outside a room (the call ended,
   * also while the request was on its way) there is nothing to stop: it resolves.
   * @param {{userId: string}} params
   */
  async stopRemoteView(params) {
    const r = this._views.detach(params.userId);
    if (this._keepsWishes() || this._ended) {
      if (r) r.wish = null;
      return;
    }
    await this._request('stopRemoteView', { userId: params.userId }).catch((err) => {
      if (err.code !== ErrorCode.NOT_IN_ROOM) throw err;
    });
  }

  /**
   * Changes the wanted quality (simulcast layer) of a viewed video: a Resolution (108, 62,
   * 110, 64, 112, 114) or an explicit width/height. After the call or room ended it resolves
   * and does nothing.
   * @param {{userId: string, resolution?: number, width?: number, height?: number}} params
   */
  async setRemoteViewQuality(params) {
    const q = { userId: params.userId };
    if (params.resolution) q.resolution = params.resolution;
    if (params.width) q.width = params.width;
    if (params.height) q.height = params.height;
    const r = this._remote.get(params.userId);
    if (this._keepsWishes() && r && r.wish) {
      r.wish = q; // startRemoteView takes the same members
      return {};
    }
    if (this._ended) return {};
    return this._viewRequest('setRemoteViewQuality', q);
  }

  /**
   * Sends a remote-view request; "not in a room" (4002) because the media session it was
   * sent in ended meanwhile (the call ended while it was on its way) resolves with {}.
   * @param {string} method
   * @param {object} params
   */
  async _viewRequest(method, params) {
    const media = this._media;
    try {
      return await this._request(method, params);
    } catch (err) {
      if (err.code === ErrorCode.NOT_IN_ROOM && media && this._media !== media) return {};
      throw err;
    }
  }

  /** @returns {boolean} whether remote-view wishes wait for the media of the current call */
  _keepsWishes() {
    return !this._media && this._call !== null;
  }

  /**
   * Starts the media session of roomId (nothing when it runs already). earlyKinds: the
   * session is an early one (this._prep is set) and gets a send transceiver per kind.
   * @param {import('./parley.js').RoomId} roomId
   * @param {('audio'|'video')[]} [earlyKinds]
   */
  _startMedia(roomId, earlyKinds) {
    const key = JSON.stringify(roomId);
    if (this._media && this._roomKey === key) return;
    if (this._media) this._endMedia(); // another room: its messages and views are gone
    const early = this._early;
    this._early = [];
    this._roomKey = key;
    this._ended = false;
    const media = new MediaSession({
      request: (m, p) => this._request(m, p),
      iceServers: (this._session && this._session.iceServers) || [],
      iceTransportPolicy: this._opts.iceTransportPolicy || 'all',
      simulcast: this._opts.simulcast,
      startBitrateKbps: this._opts.startBitrateKbps,
      sendLimits: { ...this._local.sendLimits },
      onRemoteTrack: (userId, track) => this._views.trackAdded(userId, track),
      onRemoteTrackGone: (userId, track) => this._views.trackGone(userId, track),
      onError: (err) => this._reportMediaError(err),
    });
    this._media = media;
    for (const { method, params } of early) this._applySignal(media, method, params);
    for (const r of this._remote.values()) {
      if (!r.wish) continue;
      this._request('startRemoteView', r.wish).catch((err) => this._reportMediaError(err));
      r.wish = null;
    }
    if (!earlyKinds) {
      this._publishOpenDevices();
      return;
    }
    // With ringingPreview nothing is accepted yet: the video sender is held (all encodings
    // inactive) and takes the preview's camera at once: nothing is sent, and the first
    // encoded frame comes sooner after the accept (D151).
    const holdVideo = this._opts.ringingPreview && !this._prep.accepted;
    const tracks = this._prep.accepted ? { audio: this._local.audio, video: this._local.sentVideo } : holdVideo ? { video: this._local.sentVideo } : {};
    media.prepare({ kinds: earlyKinds, videoWidth: this._local.targetSize({})[0], tracks, holdVideo }).catch((err) => {
      if (this._media === media) this._reportMediaError(err); // not for a session that ended meanwhile (D75)
    });
  }

  _endMedia() {
    this._ended = true;
    this._early = [];
    this._prep = null;
    this._unannounced.clear();
    if (this._media) this._media.close();
    this._media = null;
    this._roomKey = null;
    this._views.forgetAll();
  }
}
