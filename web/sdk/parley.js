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

import { cameraChoice, canSelectSpeaker, checkDeviceType, checkRenderParams, listDevices, videoElementFor } from './devices.js';
import {
  CallStatus, ErrorCode, MediaType, NetworkQuality, Resolution, ResolutionMode, Role, Scene,
} from './enums.js';
import { LocalMedia } from './local.js';
import { RemoteViews } from './remote.js';
import { fromSelfieSegmentation } from './effects.js';
import { LogLevel, log, parseLogLevel, setLevel } from './log.js';
import { MediaSession, SIMULCAST_MIN_WIDTH } from './peers.js';
import { ParleyError, RpcSocket, SdkErrorCode } from './rpc.js';

export {
  CallStatus, ErrorCode, LogLevel, MediaType, NetworkQuality, ParleyError, Resolution, ResolutionMode, Role, Scene, SdkErrorCode,
  SIMULCAST_MIN_WIDTH, fromSelfieSegmentation,
};


/** Bound of the negotiation messages kept while no media session exists. */
const MAX_EARLY_SIGNALS = 200;


/**
 * @typedef {number|string|{intRoomId?: number, strRoomId?: string}} RoomId
 * @typedef {{roomId?: RoomId, timeout?: number, userData?: string, offlinePushInfo?: object, chatGroupId?: string}} CallParams
 * @typedef {{roomID?: number, strRoomID?: string, timeout?: number, userData?: string, offlinePushInfo?: object}} FlatCallParams
 *   the TUICallEngine Web SDK's flat call params (callParamsOf)
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
    /** @type {{callId: string, roomId: RoomId, mediaType: number, role: number, began?: boolean}|null} */
    this._call = null;
    /** @type {string} the CallStatus last reported with onCallStatusChanged */
    this._status = CallStatus.IDLE;
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
    /**
     * The last call or room ended and no other started since: view requests have nothing to
     * act on and resolve without a request (D75).
     */
    this._ended = false;
    /** @type {{method: string, params: any}[]} negotiation messages that came before the media session */
    this._early = [];
    /** the user's camera, microphone and preview (local.js) */
    this._local = new LocalMedia({
      publish: (kind, track) => {
        const media = this._media;
        return media && (!this._prep || this._prep.accepted) ? media.setTrack(kind, track) : Promise.resolve();
      },
      onError: (err) => this._reportError(err),
    });
    /** the other users' tracks, audio and views (remote.js) */
    this._views = new RemoteViews((err) => this._reportError(err));
    /** the same users by userId (RemoteViews.users) */
    this._remote = this._views.users;
    this._onOnline = () => this._networkChanged();
    if (typeof window !== 'undefined') window.addEventListener('online', this._onOnline);
    this._onDeviceChange = () => {
      listDevices().then((list) => this._emit('onDeviceListUpdated', list), (err) => this._reportError(err));
    };
    if (typeof navigator !== 'undefined' && navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
      navigator.mediaDevices.addEventListener('devicechange', this._onDeviceChange);
    }
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
        log.error(`${event} handler threw`, err);
      }
    }
  }

  _reportError(err) {
    log.warn('onError', err.code, err.message || String(err));
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
      this._setCall(null);
    }
  }

  /**
   * Sets the nickname and avatar later invitations carry; nickName is TUICallEngine's
   * spelling of nickname (nickname wins when both are given).
   * @param {{nickname?: string, nickName?: string, avatar?: string}} params
   */
  setSelfInfo(params) {
    return this._request('setSelfInfo', { nickname: params.nickname ?? params.nickName ?? '', avatar: params.avatar || '' });
  }

  /** @param {boolean|{enable: boolean}} enable */
  enableMultiDeviceAbility(enable) {
    return this._request('enableMultiDeviceAbility', { enable: typeof enable === 'object' ? !!enable.enable : !!enable });
  }

  // ---- calls ----

  /**
   * Starts a 1v1 call. The CallParams may also be given flat, as the TUICallEngine Web SDK
   * takes them (see callParamsOf).
   * @param {{userId: string, mediaType: number, params?: CallParams} & FlatCallParams} params
   * @returns {Promise<CallStartResult>}
   */
  async call(params) {
    const res = await this._request('call', { userId: params.userId, mediaType: params.mediaType, params: callParamsOf(params) });
    this._setCall({ callId: res.callId, roomId: res.roomId, mediaType: params.mediaType, role: Role.CALLER });
    this._prepareCall(res.callId, params.mediaType);
    return res;
  }

  /**
   * Calls one user (1v1) or several (group, or with a chat group). The chat group may be
   * params.chatGroupId or, as the Web SDK has it, a top-level chatGroupId (chatGroupID);
   * the CallParams may be flat (callParamsOf). userIDList and type are accepted for
   * userIdList and mediaType.
   * @param {{userIdList?: string[], userIDList?: string[], mediaType?: number, type?: number,
   *   chatGroupId?: string, chatGroupID?: string, params?: CallParams} & FlatCallParams} params
   * @returns {Promise<CallStartResult>}
   */
  async calls(params) {
    const mediaType = params.mediaType ?? params.type;
    const req = { userIdList: params.userIdList ?? params.userIDList, mediaType, params: callParamsOf(params) };
    const chatGroupId = params.chatGroupId ?? params.chatGroupID;
    if (chatGroupId) req.chatGroupId = chatGroupId;
    const res = await this._request('calls', req);
    this._setCall({ callId: res.callId, roomId: res.roomId, mediaType, role: Role.CALLER });
    this._prepareCall(res.callId, mediaType);
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
    this._setCall({ callId: res.callId, roomId: res.roomId, mediaType: params.mediaType, role: Role.CALLER });
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
    this._setCall(null);
  }

  /** Ignores the ringing call (the caller sees the line busy). */
  async ignore() {
    await this._request('ignore', {});
    this._dropEarlyMedia();
    this._setCall(null);
  }

  /** Leaves (or, before anyone accepted, cancels) the current call. */
  async hangup() {
    await this._request('hangup', {});
    this._endMedia();
    this._setCall(null);
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
    this._setCall({ callId: res.callId, roomId: res.roomId, mediaType: params.mediaType, role: Role.CALLED });
    return res;
  }

  /**
   * Joins an active group call by id.
   * @param {{callId: string}} params
   * @returns {Promise<CallStartResult>}
   */
  async join(params) {
    const res = await this._request('join', { callId: params.callId });
    this._setCall({ callId: res.callId, roomId: res.roomId, mediaType: MediaType.UNKNOWN, role: Role.CALLED });
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
   * @param {{userId: string, element: ViewElement, resolution?: number, callback?: import('./devices.js').ViewCallbacks}} params
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

  /**
   * Opens the camera, shows it in element and publishes it when in a room.
   * @param {{element?: ViewElement, deviceId?: string, width?: number, height?: number, exact?: boolean}} [params]
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

  // ---- devices and views (devices.js) ----

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
    if (!this._call) return null;
    const { began, ...call } = this._call; // eslint-disable-line no-unused-vars
    return call;
  }

  /**
   * The user's call status: 'idle' (no call), 'waiting' (dialing, or ringing for this
   * user), 'connected' (the call began for this user). Changes are reported with
   * onCallStatusChanged {status, previous, callId}.
   * @returns {'idle'|'waiting'|'connected'}
   */
  get callStatus() {
    return /** @type {'idle'|'waiting'|'connected'} */ (this._status);
  }

  /** @returns {'idle'|'waiting'|'connected'} the same as callStatus (TUICallEngine's getter as a method) */
  getCallStatus() {
    return this.callStatus;
  }

  /**
   * Sets the current call (null: none) and reports a change of callStatus. A call that
   * began stays begun when a later result for the same call (join, call) sets it again.
   * @param {{callId: string, roomId: RoomId, mediaType: number, role: number, began?: boolean}|null} call
   */
  _setCall(call) {
    const prev = this._call;
    if (call) this._ended = false;
    if (call && prev && prev.callId === call.callId && prev.began) call = { ...call, began: true };
    this._call = call;
    const status = !call ? CallStatus.IDLE : call.began ? CallStatus.CONNECTED : CallStatus.WAITING;
    if (status === this._status) return;
    const previous = this._status;
    this._status = status;
    const callId = call ? call.callId : prev ? prev.callId : '';
    log.info('call status', previous, '→', status, callId);
    this._emit('onCallStatusChanged', { status, previous, callId });
  }

  /** Closes the connection, the media and the local devices. The engine is unusable after. */
  destroyInstance() {
    if (this._destroyed) return;
    this._destroyed = true;
    this._endMedia();
    this._setCall(null);
    this._local.close();
    if (typeof window !== 'undefined') window.removeEventListener('online', this._onOnline);
    if (typeof navigator !== 'undefined' && navigator.mediaDevices && navigator.mediaDevices.removeEventListener) {
      navigator.mediaDevices.removeEventListener('devicechange', this._onDeviceChange);
    }
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
      this._setCall(null); // the session, and its call, are gone
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
            this._setCall(null);
            this._reportError(new ParleyError(SdkErrorCode.RESUME_FAILED, 'reconnected, but the session had ended'));
          } else if (this._media) {
            await this._media.restartIce();
          }
          return;
        } catch (err) {
          if (err.code > 0) { // the server refused the login (expired userSig, …)
            this._endMedia();
            this._setCall(null);
            this._reportError(err);
            return;
          }
          if (Date.now() + delay > deadline) {
            this._endMedia();
            this._setCall(null);
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
        this._setCall({ callId: params.callId, roomId: params.roomId, mediaType: params.mediaType, role: Role.CALLED });
        // Before the app hears of the call: prepareCall goes out ahead of an accept its
        // handler may send at once.
        this._prepareCall(params.callId, params.mediaType);
        break;
      case 'onCallBegin':
        this._setCall({ callId: params.callId, roomId: params.roomId, mediaType: params.mediaType, role: params.role, began: true });
        this._startMedia(params.roomId);
        this._callBegan(params.callId);
        break;
      case 'onCallEnd':
      case 'onCallCancelled':
        if (this._call && this._call.callId === params.callId) {
          this._setCall(null);
          this._endMedia();
        }
        break;
      case 'onCallMediaTypeChanged':
        if (this._call && this._call.callId === params.callId) this._call = { ...this._call, mediaType: params.newMediaType };
        if (params.newMediaType === MediaType.AUDIO && this._local.video) {
          this.closeCamera().catch((err) => this._reportError(err));
        }
        break;
      case 'onUserLeave':
        this._views.forget(params.userId);
        break;
      case 'onPublishLayersChanged':
        if (this._media) {
          this._media.setSimulcastLayers(params.layers).catch((err) => this._reportError(err));
        }
        break;
      case 'onKickedOffline':
        this._credentials = null;
        this._session = null;
        this._setCall(null);
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
    const tracks = { audio: this._local.audio, video: this._local.sentVideo };
    for (const kind of /** @type {('audio'|'video')[]} */ (['audio', 'video'])) {
      const track = tracks[kind];
      if (track) tasks.push(media.setTrack(kind, track));
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
    const tracks = this._prep.accepted ? { audio: this._local.audio, video: this._local.sentVideo } : {};
    media.prepare({ kinds: earlyKinds, videoWidth: this._local.targetSize({})[0], tracks }).catch((err) => this._reportMediaError(err));
  }

  _endMedia() {
    this._ended = true;
    this._early = [];
    this._prep = null;
    if (this._media) this._media.close();
    this._media = null;
    this._roomKey = null;
    this._views.forgetAll();
  }
}

/**
 * The protocol's CallParams of a call / calls request: params.params, plus the flat members
 * the TUICallEngine Web SDK takes next to the user list — roomID (an integer room),
 * strRoomID (a string room; wins over roomID), timeout, userData, offlinePushInfo. A member
 * of params.params wins over its flat form.
 * @param {{params?: CallParams} & FlatCallParams} p
 * @returns {CallParams}
 */
function callParamsOf(p) {
  /** @type {CallParams} */
  const out = {};
  const room = p.strRoomID || p.roomID;
  if (room) out.roomId = room;
  for (const key of ['timeout', 'userData', 'offlinePushInfo']) {
    if (p[key] !== undefined) out[key] = p[key];
  }
  return { ...out, ...(p.params || {}) };
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
