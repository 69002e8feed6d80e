// Parley SDK — the engine's events: on/off and their dispatch, errors reported as onError,
// and the handling of the server's notifications (negotiation messages for the media
// session, call state) before the app's handlers hear of them. A part of ParleyCallEngine
// (parley.js puts its methods on the engine's prototype); its state lives on the engine.

import { ErrorCode, MediaType, Role } from './enums.js';
import { log } from './log.js';
import { SdkErrorCode } from './rpc.js';

/** Bound of the negotiation messages kept while no media session exists. */
const MAX_EARLY_SIGNALS = 200;

/** Events about a call (each carries its callId), held while a call is being placed (D211). */
const CALL_EVENTS = new Set([
  'onCallReceived', 'onCallCancelled', 'onCallBegin', 'onCallEnd', 'onCallMediaTypeChanged', 'onUserAccept',
  'onUserReject', 'onUserNoResponse', 'onUserLineBusy', 'onGroupCallInviteeListUpdate',
]);

/** ParleyCallEngine's methods of this module (parley.js puts them on its prototype). */
export class EventsPart {
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
   * request was on its way, which needs no attention; nor does one the socket dropped
   * under while the engine reconnects: the resume restarts ICE, which offers again (D323).
   */
  _reportMediaError(err) {
    if (err && err.code === ErrorCode.NOT_IN_ROOM) return;
    const lost = err && (err.code === SdkErrorCode.CONNECTION_LOST || err.code === SdkErrorCode.NOT_CONNECTED);
    if (lost && this._reconnecting) return;
    this._reportError(err);
  }

  _notification(method, params) {
    if (CALL_EVENTS.has(method) && (this._dialing > 0 || this._held.length > 0)) {
      // A call start is out, or events held for it wait: keep the events' order (D211).
      this._held.push({ method, params });
      return;
    }
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
        this._startPreview(params.callId, params.mediaType);
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

  /** Delivers the call events held while a call was being placed (D211). */
  _releaseHeld() {
    if (this._dialing > 0) return; // another call start went out: its result releases them
    const held = this._held;
    this._held = [];
    for (const { method, params } of held) this._notification(method, params);
  }

  _applySignal(media, method, params) {
    if (method === 'offer') {
      if (params.target === 'subscriber') media.handleOffer(params.sdp).catch((err) => this._reportMediaError(err));
      return;
    }
    media.handleTrickle(params.target, params.candidate);
  }
}
