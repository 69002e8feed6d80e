// Parley SDK — the engine's connection: the socket, its requests, and reconnection. When
// the socket drops while logged in, the engine reconnects with backoff and logs in again
// with the resumeToken; the server re-attaches the session (call and room kept) and the
// engine restarts ICE on its publisher PeerConnection. A part of ParleyCallEngine
// (parley.js puts its methods on the engine's prototype); its state lives on the engine.

import { ErrorCode } from './enums.js';
import { log } from './log.js';
import { ParleyError, RpcSocket, SdkErrorCode } from './rpc.js';

/** ParleyCallEngine's methods of this module (parley.js puts them on its prototype). */
export class ConnectionPart {
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

  /**
   * Sends a request. Before the first login (no socket yet) it fails as the server fails
   * every method before a login: ErrorCode.NOT_LOGGED_IN (D281); after
   * destroyInstance with SdkErrorCode.INVALID_STATE.
   */
  _request(method, params) {
    if (this._destroyed) return Promise.reject(new ParleyError(SdkErrorCode.INVALID_STATE, `${method}: engine destroyed`));
    if (!this._rpc) return Promise.reject(new ParleyError(ErrorCode.NOT_LOGGED_IN, `${method}: not logged in`));
    return this._rpc.request(method, params);
  }

  _socketClosed(rpc, ev) {
    if (rpc !== this._rpc || this._destroyed) return;
    const resumable = this._opts.reconnect && this._credentials && this._session && ev.code < 4000;
    if (!resumable) {
      this._emit('onConnectionStateChanged', { state: 'disconnected', code: ev.code, reason: ev.reason });
      this._loseCall(); // the session, and its call, are gone
      return;
    }
    this._emit('onConnectionStateChanged', { state: 'reconnecting', code: ev.code, reason: ev.reason });
    this._reconnect();
  }

  async _reconnect() {
    if (this._reconnecting) return;
    this._reconnecting = true;
    let over;
    /** settles when this reconnect is over, the session resumed or not (_callRequest) */
    this._reconnected = new Promise((resolve) => { over = resolve; });
    /** whether this reconnect resumed the session (_callRequest) */
    this._resumed = false;
    const deadline = Date.now() + this._opts.reconnectTimeoutMs;
    let delay = 250;
    const oldToken = this._session.resumeToken;
    try {
      while (!this._destroyed) {
        try {
          await this._connect();
          const lost = this._call;
          // The call events of the login (a new session's invitation, D9) are held until
          // its result tells whether the session was resumed (D320).
          const res = await this._holdingEvents('login', { ...this._credentials, resumeToken: oldToken, lastSeq: this._lastSeq });
          this._session = res;
          if (res.resumeToken !== oldToken) {
            // The server no longer had the session: its call and room are gone, except an
            // invitation that still rings for the user: the new session got it again
            // (held above, delivered next), so it is not lost, only its early media is.
            const ringsOn = lost && !lost.began &&
              this._held.some((e) => e.method === 'onCallReceived' && e.params.callId === lost.callId);
            if (ringsOn) this._endMedia();
            else this._loseCall();
            this._reportError(new ParleyError(SdkErrorCode.RESUME_FAILED, 'reconnected, but the session had ended'));
            this._releaseHeld();
          } else {
            this._resumed = true;
            this._releaseHeld(); // the replay first: a call that ended meanwhile restarts nothing
            this._announceDevices(); // the device changes the server missed (D330)
            if (this._media) {
              await this._media.resendLostAnswer(); // the server's restart offer waits for it
              await this._media.restartIce();
            }
          }
          return;
        } catch (err) {
          if (err.code > 0) { // the server refused the login (expired userSig, …)
            this._loseCall();
            this._reportError(err);
            return;
          }
          if (Date.now() + delay > deadline) {
            this._loseCall();
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
      over();
    }
  }

  /**
   * Sends accept, reject, ignore or hangup of the current call so that a dropped socket
   * neither loses nor repeats it (D322; ignore as reject, D329). When the request cannot go
   * out (the engine reconnects) or its answer is lost with the socket, it waits for the
   * reconnect, whose resume delivered what the server did meanwhile (the replay), and then:
   * the call is over → a reject, ignore or hangup is done, an accept fails with
   * NO_CALL_RINGING; an accept whose call began is done; otherwise it goes again once, and
   * the server's "too late" answer (3002 / 3003) to the repeat means the first one was
   * taken. When the session could not be resumed and the call is gone, it fails with
   * RESUME_FAILED (the call was reported ended).
   * @param {'accept'|'reject'|'ignore'|'hangup'} method
   * @param {object} params
   * @returns {Promise<object>}
   */
  async _callRequest(method, params) {
    const callId = this._call && this._call.callId;
    // The request names the call it is for: one that reaches the server after that call
    // ended does not act on the user's next call (D338).
    if (callId) params = { ...params, callId };
    const tooLate = method === 'hangup' ? ErrorCode.NOT_IN_CALL : ErrorCode.NO_CALL_RINGING;
    let repeat = false;
    for (;;) {
      try {
        return await this._request(method, params);
      } catch (err) {
        if (repeat && err.code === tooLate && (method !== 'accept' || (!!this._call && this._call.callId === callId && this._call.began))) return {};
        if (!lostWithSocket(err) || !this._reconnecting || !callId) throw err;
      }
      await this._reconnected;
      if (!this._call || this._call.callId !== callId) {
        if (!this._resumed) throw new ParleyError(SdkErrorCode.RESUME_FAILED, `${method}: the connection was lost and the session could not be resumed: the call ended`);
        if (method === 'accept') throw new ParleyError(ErrorCode.NO_CALL_RINGING, 'accept: the call ended while the connection was lost');
        return {};
      }
      if (method === 'accept' && this._call.began) return {};
      repeat = true;
    }
  }

  /** The browser reports a network change: renew the publisher's ICE if the socket is up. */
  _networkChanged() {
    if (this._media && this._rpc && this._rpc.isOpen) this._media.restartIce();
  }
}

/**
 * Whether err says that a request could not go out or lost its answer with the socket
 * (the engine may be reconnecting: D322, D330).
 * @param {{code?: number}} err
 * @returns {boolean}
 */
export function lostWithSocket(err) {
  return err.code === SdkErrorCode.CONNECTION_LOST || err.code === SdkErrorCode.NOT_CONNECTED ||
    err.code === ErrorCode.NOT_LOGGED_IN;
}

/** @param {number} ms */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
