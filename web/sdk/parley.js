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
// The engine is one class, ParleyCallEngine, written in parts by concern; parley.js holds
// its construction, session, status and teardown and puts the methods and getters of the
// parts on its prototype: engine-events.js (on/off, the dispatch of notifications),
// engine-connection.js (socket, requests, reconnection), engine-calls.js (the call
// methods), engine-early.js (early media: the call's PeerConnections connect while it
// rings), engine-room.js (joinRoom, the media session, remote views) and
// engine-devices.js (devices, encoder and render params, effects, log level). All state
// lives on the engine and is touched from the page's event loop only (D77).

import { ErrorCode, CallStatus, MediaType, NetworkQuality, Resolution, ResolutionMode, Role, Scene } from './enums.js';
import { LocalMedia } from './local.js';
import { RemoteViews } from './remote.js';
import { fromSelfieSegmentation } from './effects.js';
import { LogLevel, log } from './log.js';
import { SIMULCAST_MIN_WIDTH } from './peers.js';
import { ParleyError, SdkErrorCode } from './rpc.js';
import { listDevices } from './devices.js';
import { CallsPart } from './engine-calls.js';
import { ConnectionPart } from './engine-connection.js';
import { DevicesPart } from './engine-devices.js';
import { EarlyMediaPart } from './engine-early.js';
import { EventsPart } from './engine-events.js';
import { RoomPart } from './engine-room.js';

export {
  CallStatus, ErrorCode, LogLevel, MediaType, NetworkQuality, ParleyError, Resolution, ResolutionMode, Role, Scene, SdkErrorCode,
  SIMULCAST_MIN_WIDTH, fromSelfieSegmentation,
};

/**
 * @typedef {number|string|{intRoomId?: number, strRoomId?: string}} RoomId
 * @typedef {{roomId?: RoomId, timeout?: number, userData?: string, offlinePushInfo?: object, chatGroupId?: string}} CallParams
 * @typedef {{roomID?: number, strRoomID?: string, timeout?: number, userData?: string, offlinePushInfo?: object}} FlatCallParams
 *   the TUICallEngine Web SDK's flat call params (callParamsOf in engine-calls.js)
 * @typedef {{callId: string, roomId: RoomId}} CallStartResult
 * @typedef {{userId: string, resumeToken: string, iceServers: RTCIceServer[], expiresAt: number}} LoginResult
 * @typedef {HTMLElement|string} ViewElement an element or its id; a <video> is used as is, another element gets a <video> child
 * @typedef {{url: string, simulcast?: boolean, reconnect?: boolean, reconnectTimeoutMs?: number, requestTimeoutMs?: number, iceTransportPolicy?: RTCIceTransportPolicy, earlyMedia?: boolean, startBitrateKbps?: number, ringingPreview?: boolean}} EngineOptions
 *   iceTransportPolicy 'relay' sends all media through the TURN servers of the login result (default 'all');
 *   earlyMedia connects the call's PeerConnections while it rings (default true);
 *   startBitrateKbps is where Chromium's send bandwidth estimate starts (default 1000; 0: the browser's own);
 *   ringingPreview opens the camera of a video call while it rings (invitee: at onCallReceived; caller:
 *   once the call is placed), sent only once the call began for this user, closed when it ends before (default false)
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
    if (options.ringingPreview !== undefined && typeof options.ringingPreview !== 'boolean') {
      throw new ParleyError(ErrorCode.INVALID_PARAMS, 'createInstance: ringingPreview must be a boolean');
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
      earlyMedia: true, startBitrateKbps: DEFAULT_START_BITRATE_KBPS, ringingPreview: false, ...options,
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
    /** settles when the current reconnect is over (_callRequest) */
    this._reconnected = Promise.resolve();
    this._resumed = false;
    this._destroyed = false;
    /** @type {{callId: string, roomId: RoomId, mediaType: number, role: number, began?: boolean, beganAt?: number}|null} */
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
     * caller: always, with ringingPreview at onCallBegin; an invitee: after accept);
     * announce holds the openCamera/closeCamera and openMicrophone/closeMicrophone request
     * to send when the call begins, by kind.
     * @type {{callId: string, accepted: boolean, announce: {audio?: string, video?: string}}|null}
     */
    this._prep = null;
    /**
     * The device kinds whose announce (openCamera, closeMicrophone, …) of the current media
     * session was lost while reconnecting: the resume tells the server their state (D330).
     * @type {Set<'audio'|'video'>}
     */
    this._unannounced = new Set();
    /**
     * The ringing preview (ringingPreview): the camera the engine opened for this call
     * while it rings, until the call began for this user (then it is the call's camera) or
     * ended (then it is closed).
     * @type {{callId: string, stopped: boolean}|null}
     */
    this._preview = null;
    /**
     * The last call or room ended and no other started since: view requests have nothing to
     * act on and resolve without a request (D75).
     */
    this._ended = false;
    /** @type {{method: string, params: any}[]} negotiation messages that came before the media session */
    this._early = [];
    /** call, calls or groupCall requests waiting for their result */
    this._dialing = 0;
    /**
     * Call events that came while a call was being placed, before its result (a busy
     * callee's onUserLineBusy, onCallCancelled): delivered after the result (D211).
     * @type {{method: string, params: any}[]}
     */
    this._held = [];
    /** the user's camera, microphone and preview (local.js) */
    this._local = new LocalMedia({
      publish: (kind, track) => {
        const media = this._media;
        return media && (!this._prep || this._prep.accepted) ? media.setTrack(kind, track) : Promise.resolve();
      },
      onError: (err) => this._reportError(err),
      onEnded: (kind) => this._deviceEnded(kind),
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
  /**
   * Ends the call locally when the session that held it is gone for good (the socket closed
   * and could not be resumed, a resume found the session ended, the server refused the new
   * login): the server can no longer tell this client, so the SDK reports the end as the
   * server reports a leaving party's to the others (D28): onCallEnd for a call that began
   * for the user (totalTime in whole seconds since its onCallBegin), else onCallCancelled
   * with userId = self; both with reason 'disconnect' (D282).
   */
  _loseCall() {
    const call = this._call;
    const userId = (this._session && this._session.userId) || (this._credentials && this._credentials.userId) || '';
    this._endMedia();
    this._setCall(null);
    if (!call) return;
    const base = { callId: call.callId, roomId: call.roomId, mediaType: call.mediaType, role: call.role, reason: 'disconnect' };
    if (call.began) this._emit('onCallEnd', { ...base, totalTime: Math.floor((Date.now() - (call.beganAt || Date.now())) / 1000), userId });
    else this._emit('onCallCancelled', { ...base, userId });
  }

  _setCall(call) {
    const prev = this._call;
    if (call) this._ended = false;
    if (call && prev && prev.callId === call.callId && prev.began) call = { ...call, began: true, beganAt: prev.beganAt };
    if (call && call.began && !call.beganAt) call = { ...call, beganAt: Date.now() };
    this._call = call;
    this._previewFollows(call);
    if (prev && !call) this._local.closeDevices(); // the call's devices end with it (D210)
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
    this._held = [];
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
}

// The parts' methods and getters become the engine's own (as if written in its class).
for (const part of [EventsPart, ConnectionPart, CallsPart, EarlyMediaPart, RoomPart, DevicesPart]) {
  for (const [name, desc] of Object.entries(Object.getOwnPropertyDescriptors(part.prototype))) {
    if (name !== 'constructor') Object.defineProperty(ParleyCallEngine.prototype, name, desc);
  }
}
