// Parley browser SDK — a TUICallEngine-shaped client of the Parley server.
//
//   import { ParleyCallEngine, MediaType } from '/sdk/parley.js';
//   const engine = ParleyCallEngine.createInstance({ url: 'ws://127.0.0.1:7880/ws' });
//   engine.on('onCallReceived', (ev) => engine.accept());
//   await engine.login({ sdkAppId, userId: 'alice', userSig });
//   await engine.call({ userId: 'bob', mediaType: MediaType.VIDEO });
//
// Methods are named as the protocol's methods (signaling/PROTOCOL.md §4) and return
// Promises that reject with a ParleyError ({code, message, data}). Events are the
// protocol's notifications (§5) with their payloads, delivered to on(name, handler); the
// SDK adds 'onConnectionStateChanged' ({state}) for its own socket. Errors not tied to a
// call arrive as 'onError' ({code, message}).
//
// Media: while the user is in a room (a call began, or joinRoom) the engine keeps a
// MediaSession with two RTCPeerConnections (peers.js). openCamera/openMicrophone capture
// local devices and publish them; remote audio plays by itself; remote video is forwarded
// between startRemoteView and stopRemoteView and shown in the element given there.
//
// Early media (option earlyMedia, default on): a dialing caller (once call/calls/groupCall
// returned) and a ringing invitee (on onCallReceived) ask the server to enter the call's
// room early (prepareCall) and connect both PeerConnections while the call rings, with
// send transceivers that carry no device yet. No device is opened for it: a ringing
// invitee's camera and microphone stay off, and even a device the invitee's app opened
// sends nothing before accept. At accept (invitee) or onCallBegin (caller) openCamera /
// openMicrophone put the device's track on its sender (replaceTrack, no renegotiation).
// If prepareCall fails (an older server, a call already over), media starts at
// onCallBegin as without the option.
//
// Reconnection: when the socket drops while logged in, the engine reconnects with backoff
// and logs in again with the resumeToken; the server re-attaches the session (call and
// room kept) and the engine restarts ICE on its publisher PeerConnection.

import { MediaSession, SIMULCAST_MIN_WIDTH } from './peers.js';
import { ParleyError, RpcSocket, SdkErrorCode } from './rpc.js';

export { ParleyError, SdkErrorCode, SIMULCAST_MIN_WIDTH };

/** Call media type. @readonly @enum {number} */
export const MediaType = Object.freeze({ UNKNOWN: 0, AUDIO: 1, VIDEO: 2 });

/** Role in a call. @readonly @enum {number} */
export const Role = Object.freeze({ NONE: 0, CALLER: 1, CALLED: 2 });

/** Call scene. @readonly @enum {number} */
export const Scene = Object.freeze({ GROUP: 0, MULTI: 1, SINGLE: 2 });

/** Network quality of onUserNetworkQualityChanged. @readonly @enum {number} */
export const NetworkQuality = Object.freeze({
  UNKNOWN: 0, EXCELLENT: 1, GOOD: 2, POOR: 3, BAD: 4, VERY_BAD: 5, DOWN: 6,
});

/** Video resolutions, numbered as the protocol. @readonly @enum {number} */
export const Resolution = Object.freeze({
  R640x360: 108, R640x480: 62, R960x540: 110, R960x720: 64, R1280x720: 112, R1920x1080: 114,
});

/** Orientation of setVideoEncoderParams. @readonly @enum {number} */
export const ResolutionMode = Object.freeze({ LANDSCAPE: 0, PORTRAIT: 1 });

/** Server error codes (signaling/PROTOCOL.md §7). @readonly @enum {number} */
export const ErrorCode = Object.freeze({
  PARSE_ERROR: -32700, INVALID_REQUEST: -32600, METHOD_NOT_FOUND: -32601, INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603, NOT_LOGGED_IN: 1001, USER_SIG_INVALID: 1002, USER_SIG_EXPIRED: 1003,
  UNKNOWN_APP: 1004, INVALID_USER_ID: 1005, ALREADY_LOGGED_IN: 1006, KICKED: 1007,
  NICKNAME_TOO_LONG: 2001, AVATAR_NOT_URL: 2002, INVALID_TIMEOUT: 3001, NO_CALL_RINGING: 3002,
  NOT_IN_CALL: 3003, NO_SUCH_CALL: 3004, CANNOT_INVITE_SELF: 3005, ALREADY_IN_CALL: 3006,
  MEDIA_SWITCH_NOT_ALLOWED: 3007, INVALID_MEDIA_TYPE: 3008, TOO_MANY_INVITEES: 3009,
  NO_INVITEES: 3010, INVALID_ROOM_ID: 4001, NOT_IN_ROOM: 4002, ALREADY_IN_ROOM: 4003,
  NEGOTIATION_FAILED: 4004, UNKNOWN_USER: 4005, SERVER_DRAINING: 5001,
});

/** Bound of the negotiation messages kept while no media session exists. */
const MAX_EARLY_SIGNALS = 200;

const RESOLUTION_SIZES = {
  108: [640, 360], 62: [640, 480], 110: [960, 540], 64: [960, 720], 112: [1280, 720], 114: [1920, 1080],
};

/**
 * @typedef {number|string|{intRoomId?: number, strRoomId?: string}} RoomId
 * @typedef {{roomId?: RoomId, timeout?: number, userData?: string, offlinePushInfo?: object, chatGroupId?: string}} CallParams
 * @typedef {{callId: string, roomId: RoomId}} CallStartResult
 * @typedef {{userId: string, resumeToken: string, iceServers: RTCIceServer[], expiresAt: number}} LoginResult
 * @typedef {HTMLElement|string} ViewElement an element or its id; a <video> is used as is, another element gets a <video> child
 * @typedef {{url: string, simulcast?: boolean, reconnect?: boolean, reconnectTimeoutMs?: number, requestTimeoutMs?: number, iceTransportPolicy?: RTCIceTransportPolicy, earlyMedia?: boolean, startBitrateKbps?: number}} EngineOptions
 *   iceTransportPolicy 'relay' sends all media through the TURN servers of the login result (default 'all');
 *   earlyMedia connects the call's PeerConnections while it rings (default true);
 *   startBitrateKbps is where Chromium's send bandwidth estimate starts (default 1000; 0: the browser's own)
 */

/** Default EngineOptions.startBitrateKbps. */
const DEFAULT_START_BITRATE_KBPS = 1000;

/**
 * The call engine. Create it with ParleyCallEngine.createInstance.
 */
export class ParleyCallEngine {
  /**
   * Creates an engine (nothing connects until login).
   * @param {EngineOptions} options url is the server's WebSocket endpoint (ws(s)://host/ws)
   * @returns {ParleyCallEngine}
   */
  static createInstance(options) {
    if (!options || typeof options.url !== 'string' || options.url === '') {
      throw new ParleyError(ErrorCode.INVALID_PARAMS, 'createInstance: url is required');
    }
    if (options.iceTransportPolicy !== undefined && !['all', 'relay'].includes(options.iceTransportPolicy)) {
      throw new ParleyError(ErrorCode.INVALID_PARAMS, "createInstance: iceTransportPolicy must be 'all' or 'relay'");
    }
    if (options.earlyMedia !== undefined && typeof options.earlyMedia !== 'boolean') {
      throw new ParleyError(ErrorCode.INVALID_PARAMS, 'createInstance: earlyMedia must be a boolean');
    }
    const kbps = options.startBitrateKbps;
    if (kbps !== undefined && (typeof kbps !== 'number' || !Number.isFinite(kbps) || kbps < 0)) {
      throw new ParleyError(ErrorCode.INVALID_PARAMS, 'createInstance: startBitrateKbps must be a number >= 0');
    }
    return new ParleyCallEngine(options);
  }

  /** @param {EngineOptions} options */
  constructor(options) {
    this._opts = {
      simulcast: true, reconnect: true, reconnectTimeoutMs: 30000, requestTimeoutMs: 15000,
      earlyMedia: true, startBitrateKbps: DEFAULT_START_BITRATE_KBPS, ...options,
    };
    /** @type {Map<string, Set<Function>>} */
    this._handlers = new Map();
    /** @type {RpcSocket|null} */
    this._rpc = null;
    /** @type {{sdkAppId: number, userId: string, userSig: string}|null} */
    this._credentials = null;
    /** @type {LoginResult|null} */
    this._session = null;
    /** seq of the last notification received: sent as lastSeq when resuming */
    this._lastSeq = 0;
    this._reconnecting = false;
    this._destroyed = false;
    /** @type {{callId: string, roomId: RoomId, mediaType: number, role: number}|null} */
    this._call = null;
    /** the room the media session belongs to, or null */
    this._roomKey = null;
    /** @type {MediaSession|null} */
    this._media = null;
    /**
     * The early media session of a call that has not begun for this user (prepareCall
     * succeeded): accepted says whether the user's open devices may go on its senders (the
     * caller: always; an invitee: after accept); announce holds the openCamera/closeCamera
     * and openMicrophone/closeMicrophone request to send when the call begins, by kind.
     * @type {{callId: string, accepted: boolean, announce: {audio?: string, video?: string}}|null}
     */
    this._prep = null;
    /** @type {{method: string, params: any}[]} negotiation messages that came before the media session */
    this._early = [];
    /** @type {{audio: MediaStreamTrack|null, video: MediaStreamTrack|null}} */
    this._local = { audio: null, video: null };
    /** @type {HTMLVideoElement|null} */
    this._localView = null;
    this._videoParams = { resolution: Resolution.R1280x720, resolutionMode: ResolutionMode.LANDSCAPE };
    /**
     * Remote users: their tracks, audio element, view, and the startRemoteView params kept
     * while the call has no media yet (wish).
     * @type {Map<string, {audio: MediaStreamTrack|null, video: MediaStreamTrack|null, audioEl: HTMLAudioElement|null, view: HTMLVideoElement|null, wish: object|null}>}
     */
    this._remote = new Map();
    this._onOnline = () => this._networkChanged();
    if (typeof window !== 'undefined') window.addEventListener('online', this._onOnline);
  }

  // ---- events ----

  /**
   * Subscribes handler to an event (protocol event names, e.g. 'onCallReceived').
   * @param {string} event
   * @param {(payload: any) => void} handler
   */
  on(event, handler) {
    if (!this._handlers.has(event)) this._handlers.set(event, new Set());
    this._handlers.get(event).add(handler);
  }

  /**
   * Removes a handler added with on (all of the event's handlers when handler is omitted).
   * @param {string} event
   * @param {(payload: any) => void} [handler]
   */
  off(event, handler) {
    const set = this._handlers.get(event);
    if (!set) return;
    if (handler) set.delete(handler);
    else set.clear();
  }

  _emit(event, payload) {
    const set = this._handlers.get(event);
    if (!set) return;
    for (const h of [...set]) {
      try {
        h(payload);
      } catch (err) {
        console.error(`parley: ${event} handler threw`, err); // eslint-disable-line no-console
      }
    }
  }

  _reportError(err) {
    this._emit('onError', { code: err.code ?? SdkErrorCode.NEGOTIATION, message: err.message || String(err) });
  }

  /**
   * Reports a failure of the media session's own requests (offer, answer, trickle) unless
   * the server answered "not in a room": the call ended or the room was left while the
   * request was on its way, which needs no attention.
   */
  _reportMediaError(err) {
    if (err && err.code === ErrorCode.NOT_IN_ROOM) return;
    this._reportError(err);
  }

  // ---- session ----

  /**
   * Connects and logs in. Resolves with the login result; 'onSdkReady' follows.
   * @param {{sdkAppId: number, userId: string, userSig: string}} params
   * @returns {Promise<LoginResult>}
   */
  async login(params) {
    if (this._destroyed) throw new ParleyError(SdkErrorCode.INVALID_STATE, 'login: engine destroyed');
    if (!this._rpc || !this._rpc.isOpen) await this._connect();
    this._lastSeq = 0;
    const result = await this._rpc.request('login', {
      sdkAppId: params.sdkAppId, userId: params.userId, userSig: params.userSig,
    });
    this._credentials = { sdkAppId: params.sdkAppId, userId: params.userId, userSig: params.userSig };
    this._session = result;
    return result;
  }

  /** @returns {Promise<void>} ends the session (a call is hung up, the room left) */
  async logout() {
    try {
      await this._request('logout', {});
    } finally {
      this._credentials = null;
      this._session = null;
      this._endMedia();
      this._call = null;
    }
  }

  /** @param {{nickname?: string, avatar?: string}} params */
  setSelfInfo(params) {
    return this._request('setSelfInfo', { nickname: params.nickname || '', avatar: params.avatar || '' });
  }

  /** @param {boolean|{enable: boolean}} enable */
  enableMultiDeviceAbility(enable) {
    return this._request('enableMultiDeviceAbility', { enable: typeof enable === 'object' ? !!enable.enable : !!enable });
  }

  // ---- calls ----

  /**
   * Starts a 1v1 call.
   * @param {{userId: string, mediaType: number, params?: CallParams}} params
   * @returns {Promise<CallStartResult>}
   */
  async call(params) {
    const res = await this._request('call', { userId: params.userId, mediaType: params.mediaType, params: params.params || {} });
    this._call = { callId: res.callId, roomId: res.roomId, mediaType: params.mediaType, role: Role.CALLER };
    this._prepareCall(res.callId, params.mediaType);
    return res;
  }

  /**
   * Calls one user (1v1) or several (group, or with params.chatGroupId).
   * @param {{userIdList: string[], mediaType: number, params?: CallParams}} params
   * @returns {Promise<CallStartResult>}
   */
  async calls(params) {
    const res = await this._request('calls', { userIdList: params.userIdList, mediaType: params.mediaType, params: params.params || {} });
    this._call = { callId: res.callId, roomId: res.roomId, mediaType: params.mediaType, role: Role.CALLER };
    this._prepareCall(res.callId, params.mediaType);
    return res;
  }

  /**
   * Starts a group call.
   * @param {{groupId: string, userIdList: string[], mediaType: number, params?: CallParams}} params
   * @returns {Promise<CallStartResult>}
   */
  async groupCall(params) {
    const res = await this._request('groupCall', {
      groupId: params.groupId, userIdList: params.userIdList, mediaType: params.mediaType, params: params.params || {},
    });
    this._call = { callId: res.callId, roomId: res.roomId, mediaType: params.mediaType, role: Role.CALLER };
    this._prepareCall(res.callId, params.mediaType);
    return res;
  }

  /**
   * Accepts the ringing call; {mediaType: MediaType.AUDIO} answers a video call with voice.
   * @param {{mediaType?: number}} [opts]
   */
  accept(opts) {
    const params = {};
    if (opts && opts.mediaType) params.mediaType = opts.mediaType;
    const pending = this._request('accept', params);
    if (this._prep && !this._prep.accepted) {
      // The user accepted: the devices it opened may go on the early senders now (the
      // server forwards them once the call began for this user).
      this._prep.accepted = true;
      this._publishOpenDevices();
    }
    return pending;
  }

  /** Rejects the ringing call. */
  async reject() {
    await this._request('reject', {});
    this._dropEarlyMedia();
  }

  /** Ignores the ringing call (the caller sees the line busy). */
  async ignore() {
    await this._request('ignore', {});
    this._dropEarlyMedia();
  }

  /** Leaves (or, before anyone accepted, cancels) the current call. */
  async hangup() {
    await this._request('hangup', {});
    this._endMedia();
    this._call = null;
  }

  /**
   * Invites more users into the current group call.
   * @param {{userIdList: string[], params?: CallParams}} params
   * @returns {Promise<{userIdList: string[]}>}
   */
  inviteUser(params) {
    return this._request('inviteUser', { userIdList: params.userIdList, params: params.params || {} });
  }

  /**
   * Joins the active group call of a group and room.
   * @param {{roomId: RoomId, groupId: string, mediaType: number}} params
   * @returns {Promise<CallStartResult>}
   */
  async joinInGroupCall(params) {
    const res = await this._request('joinInGroupCall', { roomId: params.roomId, groupId: params.groupId, mediaType: params.mediaType });
    this._call = { callId: res.callId, roomId: res.roomId, mediaType: params.mediaType, role: Role.CALLED };
    return res;
  }

  /**
   * Joins an active group call by id.
   * @param {{callId: string}} params
   * @returns {Promise<CallStartResult>}
   */
  async join(params) {
    const res = await this._request('join', { callId: params.callId });
    this._call = { callId: res.callId, roomId: res.roomId, mediaType: MediaType.UNKNOWN, role: Role.CALLED };
    return res;
  }

  /**
   * Switches the 1v1 call between audio and video; both sides get onCallMediaTypeChanged.
   * @param {number|{mediaType: number}} mediaType
   */
  switchCallMediaType(mediaType) {
    const m = typeof mediaType === 'object' ? mediaType.mediaType : mediaType;
    return this._request('switchCallMediaType', { mediaType: m });
  }

  /**
   * The user's call history.
   * @param {{begin?: number, end?: number, resultType?: number}} [params]
   * @returns {Promise<{records: object[]}>}
   */
  queryRecentCalls(params) {
    return this._request('queryRecentCalls', params || {});
  }

  /**
   * Deletes records of the user's call history.
   * @param {{callIdList: string[]}} params
   * @returns {Promise<{deleted: string[]}>}
   */
  deleteRecordCalls(params) {
    return this._request('deleteRecordCalls', { callIdList: params.callIdList });
  }

  // ---- rooms and media ----

  /**
   * Joins a room without a call and starts its media session. roomGrant is the room grant
   * your server made for this user and room with the app's secret (PROTOCOL.md §4.3;
   * privateMapKey, TRTC's name, is accepted too); it is needed unless the app has
   * open_rooms. Its rights decide whether your media is forwarded (publish) and whether
   * you receive the room's (subscribe).
   * @param {{roomId: RoomId, roomGrant?: string, privateMapKey?: string}} params
   */
  async joinRoom(params) {
    const req = { roomId: params.roomId };
    const grant = params.roomGrant || params.privateMapKey;
    if (grant) req.roomGrant = grant;
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
   * at once for the other party costs no round trip after accept.
   * @param {{userId: string, element: ViewElement, resolution?: number}} params
   */
  async startRemoteView(params) {
    const view = videoElementFor(params.element);
    const r = this._remoteEntry(params.userId);
    r.view = view;
    if (r.video) attachTrack(view, r.video);
    const req = { userId: params.userId };
    if (params.resolution) req.resolution = params.resolution;
    if (this._keepsWishes()) {
      r.wish = req;
      return;
    }
    await this._request('startRemoteView', req);
  }

  /**
   * Stops a user's video and detaches it from its element.
   * @param {{userId: string}} params
   */
  async stopRemoteView(params) {
    const r = this._remote.get(params.userId);
    if (r && r.view) {
      r.view.srcObject = null;
      r.view = null;
    }
    if (this._keepsWishes()) {
      if (r) r.wish = null;
      return;
    }
    await this._request('stopRemoteView', { userId: params.userId });
  }

  /**
   * Changes the wanted quality (simulcast layer) of a viewed video: a Resolution (108, 62,
   * 110, 64, 112, 114) or an explicit width/height.
   * @param {{userId: string, resolution?: number, width?: number, height?: number}} params
   */
  setRemoteViewQuality(params) {
    const q = { userId: params.userId };
    if (params.resolution) q.resolution = params.resolution;
    if (params.width) q.width = params.width;
    if (params.height) q.height = params.height;
    const r = this._remote.get(params.userId);
    if (this._keepsWishes() && r && r.wish) {
      r.wish = q; // startRemoteView takes the same members
      return Promise.resolve({});
    }
    return this._request('setRemoteViewQuality', q);
  }

  /**
   * Opens the camera, shows it in element and publishes it when in a room.
   * @param {{element?: ViewElement, deviceId?: string, width?: number, height?: number, exact?: boolean}} [params]
   *   width/height default to setVideoEncoderParams' resolution; exact requires that size.
   * @returns {Promise<MediaStreamTrack>}
   */
  async openCamera(params = {}) {
    if (params.element) this._localView = videoElementFor(params.element);
    if (!this._local.video || this._local.video.readyState === 'ended') {
      const [w, h] = this._targetSize(params);
      const size = params.exact ? { width: { exact: w }, height: { exact: h } } : { width: { ideal: w }, height: { ideal: h } };
      const video = { ...size };
      if (params.deviceId) video.deviceId = { exact: params.deviceId };
      this._local.video = await captureTrack({ video });
    }
    if (this._localView) {
      this._localView.muted = true;
      attachTrack(this._localView, this._local.video);
    }
    await this._deviceChanged('video', this._local.video, 'openCamera');
    return this._local.video;
  }

  /** Stops the camera; others get onUserVideoAvailable(false). */
  async closeCamera() {
    const track = this._local.video;
    this._local.video = null;
    if (this._localView) this._localView.srcObject = null;
    await this._deviceChanged('video', null, 'closeCamera');
    if (track) track.stop();
  }

  /**
   * Opens the microphone and publishes it when in a room.
   * @param {{deviceId?: string, audioProcessing?: boolean}} [params] audioProcessing
   *   (default true) turns echo cancellation, noise suppression and gain control on or off
   * @returns {Promise<MediaStreamTrack>}
   */
  async openMicrophone(params = {}) {
    if (!this._local.audio || this._local.audio.readyState === 'ended') {
      const processing = params.audioProcessing !== false;
      const audio = { echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing };
      if (params.deviceId) audio.deviceId = { exact: params.deviceId };
      this._local.audio = await captureTrack({ audio });
    }
    await this._deviceChanged('audio', this._local.audio, 'openMicrophone');
    return this._local.audio;
  }

  /** Stops the microphone; others get onUserAudioAvailable(false). */
  async closeMicrophone() {
    const track = this._local.audio;
    this._local.audio = null;
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
    if (!track || !this._prep || this._prep.accepted) await media.setTrack(kind, track);
    if (this._prep) {
      this._prep.announce[kind] = method;
      return;
    }
    await this._request(method, {}).catch((err) => {
      if (track || err.code !== ErrorCode.NOT_IN_ROOM) throw err;
    });
  }

  /**
   * Sets the camera's capture size (applied now when the camera is open).
   * @param {{resolution?: number, resolutionMode?: number}} params
   */
  async setVideoEncoderParams(params) {
    if (params.resolution !== undefined) {
      if (!RESOLUTION_SIZES[params.resolution]) {
        throw new ParleyError(ErrorCode.INVALID_PARAMS, `setVideoEncoderParams: unknown resolution ${params.resolution}`);
      }
      this._videoParams.resolution = params.resolution;
    }
    if (params.resolutionMode !== undefined) this._videoParams.resolutionMode = params.resolutionMode;
    if (this._local.video) {
      const [w, h] = this._targetSize({});
      await this._local.video.applyConstraints({ width: { ideal: w }, height: { ideal: h } });
    }
  }

  /**
   * Statistics of both PeerConnections (null outside a room).
   * @returns {Promise<{publisher: RTCStatsReport, subscriber: RTCStatsReport}|null>}
   */
  getStats() {
    return this._media ? this._media.getStats() : Promise.resolve(null);
  }

  /** @returns {boolean} whether the published video carries three simulcast layers */
  get isSimulcastPublishing() {
    return !!this._media && this._media.simulcastActive;
  }

  /** @returns {{callId: string, roomId: RoomId, mediaType: number, role: number}|null} the current call */
  get currentCall() {
    return this._call ? { ...this._call } : null;
  }

  /** Closes the connection, the media and the local devices. The engine is unusable after. */
  destroyInstance() {
    if (this._destroyed) return;
    this._destroyed = true;
    this._endMedia();
    for (const kind of ['audio', 'video']) {
      if (this._local[kind]) this._local[kind].stop();
      this._local[kind] = null;
    }
    if (typeof window !== 'undefined') window.removeEventListener('online', this._onOnline);
    if (this._rpc) this._rpc.close(1000, 'destroyed');
    this._rpc = null;
    this._handlers.clear();
  }

  // ---- internals: connection ----

  async _connect() {
    const rpc = new RpcSocket(this._opts.url, {
      requestTimeoutMs: this._opts.requestTimeoutMs,
      onNotification: (method, params, seq) => {
        if (typeof seq === 'number') this._lastSeq = seq;
        this._notification(method, params);
      },
      onClose: (ev) => this._socketClosed(rpc, ev),
    });
    this._rpc = rpc;
    await rpc.connect();
    this._emit('onConnectionStateChanged', { state: 'connected' });
  }

  _request(method, params) {
    if (!this._rpc) return Promise.reject(new ParleyError(SdkErrorCode.NOT_CONNECTED, `${method}: log in first`));
    return this._rpc.request(method, params);
  }

  _socketClosed(rpc, ev) {
    if (rpc !== this._rpc || this._destroyed) return;
    const resumable = this._opts.reconnect && this._credentials && this._session && ev.code < 4000;
    if (!resumable) {
      this._emit('onConnectionStateChanged', { state: 'disconnected', code: ev.code, reason: ev.reason });
      this._endMedia();
      return;
    }
    this._emit('onConnectionStateChanged', { state: 'reconnecting', code: ev.code, reason: ev.reason });
    this._reconnect();
  }

  async _reconnect() {
    if (this._reconnecting) return;
    this._reconnecting = true;
    const deadline = Date.now() + this._opts.reconnectTimeoutMs;
    let delay = 250;
    const oldToken = this._session.resumeToken;
    try {
      while (!this._destroyed) {
        try {
          await this._connect();
          const res = await this._rpc.request('login', { ...this._credentials, resumeToken: oldToken, lastSeq: this._lastSeq });
          this._session = res;
          if (res.resumeToken !== oldToken) {
            // The server no longer had the session: the call and room are gone.
            this._endMedia();
            this._call = null;
            this._reportError(new ParleyError(SdkErrorCode.RESUME_FAILED, 'reconnected, but the session had ended'));
          } else if (this._media) {
            await this._media.restartIce();
          }
          return;
        } catch (err) {
          if (err.code > 0) { // the server refused the login (expired userSig, …)
            this._endMedia();
            this._reportError(err);
            return;
          }
          if (Date.now() + delay > deadline) {
            this._endMedia();
            this._emit('onConnectionStateChanged', { state: 'disconnected' });
            this._reportError(new ParleyError(SdkErrorCode.RESUME_FAILED, 'could not reconnect'));
            return;
          }
          await sleep(delay);
          delay = Math.min(delay * 2, 4000);
        }
      }
    } finally {
      this._reconnecting = false;
    }
  }

  /** The browser reports a network change: renew the publisher's ICE if the socket is up. */
  _networkChanged() {
    if (this._media && this._rpc && this._rpc.isOpen) this._media.restartIce();
  }

  _notification(method, params) {
    switch (method) {
      case 'offer':
      case 'trickle':
        // The server may negotiate as soon as it put the user in a room, before the
        // joinRoom result or onCallBegin: keep those messages for the media session.
        if (this._media) this._applySignal(this._media, method, params);
        else if (this._early.length < MAX_EARLY_SIGNALS) this._early.push({ method, params });
        return;
      case 'onCallReceived':
        this._call = { callId: params.callId, roomId: params.roomId, mediaType: params.mediaType, role: Role.CALLED };
        // Before the app hears of the call: prepareCall goes out ahead of an accept its
        // handler may send at once.
        this._prepareCall(params.callId, params.mediaType);
        break;
      case 'onCallBegin':
        this._call = { callId: params.callId, roomId: params.roomId, mediaType: params.mediaType, role: params.role };
        this._startMedia(params.roomId);
        this._callBegan(params.callId);
        break;
      case 'onCallEnd':
      case 'onCallCancelled':
        if (this._call && this._call.callId === params.callId) {
          this._call = null;
          this._endMedia();
        }
        break;
      case 'onCallMediaTypeChanged':
        if (this._call && this._call.callId === params.callId) this._call.mediaType = params.newMediaType;
        if (params.newMediaType === MediaType.AUDIO && this._local.video) {
          this.closeCamera().catch((err) => this._reportError(err));
        }
        break;
      case 'onUserLeave':
        this._forgetRemote(params.userId);
        break;
      case 'onPublishLayersChanged':
        if (this._media) {
          this._media.setSimulcastLayers(params.layers).catch((err) => this._reportError(err));
        }
        break;
      case 'onKickedOffline':
        this._credentials = null;
        this._session = null;
        this._call = null;
        this._endMedia();
        break;
      default:
    }
    this._emit(method, params);
  }

  // ---- internals: media ----

  _applySignal(media, method, params) {
    if (method === 'offer') {
      if (params.target === 'subscriber') media.handleOffer(params.sdp).catch((err) => this._reportMediaError(err));
      return;
    }
    media.handleTrickle(params.target, params.candidate);
  }

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

  /** @returns {boolean} whether remote-view wishes wait for the media of the current call */
  _keepsWishes() {
    return !this._media && this._call !== null;
  }

  /** Puts the open devices on the media session's senders (replaceTrack on existing ones). */
  _publishOpenDevices() {
    const media = this._media;
    if (!media) return;
    const tasks = [];
    for (const kind of ['audio', 'video']) {
      if (this._local[kind]) tasks.push(media.setTrack(kind, this._local[kind]));
    }
    Promise.all(tasks).catch((err) => this._reportMediaError(err));
  }

  /**
   * Starts the media session of roomId (nothing when it runs already). earlyKinds: the
   * session is an early one (this._prep is set) and gets a send transceiver per kind.
   * @param {RoomId} roomId
   * @param {('audio'|'video')[]} [earlyKinds]
   */
  _startMedia(roomId, earlyKinds) {
    const key = JSON.stringify(roomId);
    if (this._media && this._roomKey === key) return;
    if (this._media) this._endMedia(); // another room: its messages and views are gone
    const early = this._early;
    this._early = [];
    this._roomKey = key;
    const media = new MediaSession({
      request: (m, p) => this._request(m, p),
      iceServers: (this._session && this._session.iceServers) || [],
      iceTransportPolicy: this._opts.iceTransportPolicy || 'all',
      simulcast: this._opts.simulcast,
      startBitrateKbps: this._opts.startBitrateKbps,
      onRemoteTrack: (userId, track) => this._remoteTrack(userId, track),
      onRemoteTrackGone: (userId, track) => this._remoteTrackGone(userId, track),
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
    const tracks = this._prep.accepted ? this._local : {};
    media.prepare({ kinds: earlyKinds, videoWidth: this._targetSize({})[0], tracks }).catch((err) => this._reportMediaError(err));
  }

  _endMedia() {
    this._early = [];
    this._prep = null;
    if (this._media) this._media.close();
    this._media = null;
    this._roomKey = null;
    for (const userId of [...this._remote.keys()]) this._forgetRemote(userId);
  }

  _remoteEntry(userId) {
    let r = this._remote.get(userId);
    if (!r) {
      r = { audio: null, video: null, audioEl: null, view: null, wish: null };
      this._remote.set(userId, r);
    }
    return r;
  }

  _remoteTrack(userId, track) {
    const r = this._remoteEntry(userId);
    if (track.kind === 'audio') {
      r.audio = track;
      if (!r.audioEl) {
        r.audioEl = new Audio();
        r.audioEl.autoplay = true;
      }
      attachTrack(r.audioEl, track);
    } else {
      r.video = track;
      if (r.view) attachTrack(r.view, track);
    }
  }

  _remoteTrackGone(userId, track) {
    const r = this._remote.get(userId);
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

  _forgetRemote(userId) {
    const r = this._remote.get(userId);
    if (!r) return;
    if (r.audioEl) r.audioEl.srcObject = null;
    if (r.view) r.view.srcObject = null;
    this._remote.delete(userId);
  }

  _targetSize(params) {
    let [w, h] = RESOLUTION_SIZES[this._videoParams.resolution];
    if (params.width) w = params.width;
    if (params.height) h = params.height;
    if (this._videoParams.resolutionMode === ResolutionMode.PORTRAIT && w > h) [w, h] = [h, w];
    return [w, h];
  }
}

/** getUserMedia for one kind, with errors as ParleyError(MEDIA_DEVICE). */
async function captureTrack(constraints) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new ParleyError(SdkErrorCode.MEDIA_DEVICE, 'getUserMedia is not available (a secure origin is required)');
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    return stream.getTracks()[0];
  } catch (err) {
    throw new ParleyError(SdkErrorCode.MEDIA_DEVICE, `getUserMedia: ${err.name}: ${err.message}`);
  }
}

/**
 * The <video> to render into: the element itself, or a <video> child created in it.
 * @param {ViewElement} el
 * @returns {HTMLVideoElement}
 */
function videoElementFor(el) {
  const node = typeof el === 'string' ? document.getElementById(el) : el;
  if (!node) throw new ParleyError(ErrorCode.INVALID_PARAMS, `no element ${el}`);
  if (node instanceof HTMLVideoElement) return node;
  let video = node.querySelector('video');
  if (!video) {
    video = document.createElement('video');
    video.style.width = '100%';
    video.style.height = '100%';
    node.appendChild(video);
  }
  return video;
}

/** Plays track in a media element (video elements stay muted: audio has its own). */
function attachTrack(el, track) {
  if (el instanceof HTMLVideoElement) {
    el.muted = true;
    el.playsInline = true;
  }
  el.autoplay = true;
  el.srcObject = new MediaStream([track]);
  const p = el.play();
  if (p && p.catch) p.catch(() => {}); // autoplay policies: playback starts on the next gesture
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
