// Parley SDK — JSON-RPC 2.0 over one WebSocket (signaling/PROTOCOL.md §1–§2).
//
// RpcSocket owns one WebSocket: it numbers requests, matches responses to them, hands
// notifications to a callback and rejects every pending request when the socket closes.
// It does not reconnect by itself; the engine decides when to open a new RpcSocket.

/**
 * SDK-side error codes (negative, outside the server's range). Server codes are in
 * ErrorCode (parley.js) and arrive unchanged.
 * @readonly
 * @enum {number}
 */
export const SdkErrorCode = Object.freeze({
  /** The WebSocket is not open (still opening, or closed); before any login: ErrorCode.NOT_LOGGED_IN. */
  NOT_CONNECTED: -1,
  /** The WebSocket closed while a request was waiting for its response. */
  CONNECTION_LOST: -2,
  /** No response arrived in time. */
  TIMEOUT: -3,
  /** getUserMedia failed (no device, permission denied, constraints not satisfiable). */
  MEDIA_DEVICE: -4,
  /** A local WebRTC step failed (createOffer, setRemoteDescription, …). */
  NEGOTIATION: -5,
  /** The session could not be resumed after a dropped connection; the call is over. */
  RESUME_FAILED: -6,
  /** The method needs a state the engine is not in (e.g. startRemoteView outside a room). */
  INVALID_STATE: -7,
  /** This browser, or this SDK, does not support the method (see the error's message). */
  NOT_SUPPORTED: -8,
});

/** An error from the server (its JSON-RPC error object) or from the SDK itself. */
export class ParleyError extends Error {
  /**
   * @param {number} code server code (PROTOCOL.md §7) or SdkErrorCode
   * @param {string} message human-readable text
   * @param {unknown} [data] the error's data member (e.g. {field: "userId"})
   */
  constructor(code, message, data) {
    super(message);
    this.name = 'ParleyError';
    /** @type {number} */
    this.code = code;
    /** @type {unknown} */
    this.data = data;
  }
}

/**
 * One JSON-RPC connection.
 */
export class RpcSocket {
  /**
   * @param {string} url ws:// or wss:// URL of the server's /ws endpoint
   * @param {{onNotification: (method: string, params: any, seq?: number) => void,
   *          onClose: (ev: {code: number, reason: string}) => void,
   *          requestTimeoutMs?: number}} opts
   */
  constructor(url, opts) {
    this._url = url;
    this._onNotification = opts.onNotification;
    this._onClose = opts.onClose;
    this._timeoutMs = opts.requestTimeoutMs || 15000;
    this._nextId = 1;
    /** @type {Map<number, {resolve: Function, reject: Function, timer: any, method: string}>} */
    this._pending = new Map();
    /** @type {WebSocket|null} */
    this._ws = null;
    this._closed = false;
  }

  /** @returns {boolean} whether requests can be sent now */
  get isOpen() {
    return this._ws !== null && this._ws.readyState === WebSocket.OPEN;
  }

  /**
   * Opens the WebSocket.
   * @returns {Promise<void>} resolves when open; rejects when it cannot connect
   */
  connect() {
    return new Promise((resolve, reject) => {
      let opened = false;
      const ws = new WebSocket(this._url);
      this._ws = ws;
      ws.onopen = () => {
        opened = true;
        resolve();
      };
      ws.onmessage = (ev) => this._receive(ev.data);
      ws.onerror = () => {
        if (!opened) {
          reject(new ParleyError(SdkErrorCode.NOT_CONNECTED, `cannot connect to ${this._url}`));
        }
      };
      ws.onclose = (ev) => {
        if (!opened) {
          reject(new ParleyError(SdkErrorCode.NOT_CONNECTED, `cannot connect to ${this._url} (${ev.code})`));
        }
        this._teardown(ev.code, ev.reason);
      };
    });
  }

  /**
   * Sends a request. The message is written before this returns, so anything sent after
   * it (e.g. ICE candidates) reaches the server after it.
   * @param {string} method
   * @param {object} [params]
   * @returns {Promise<any>} the result, or a ParleyError
   */
  request(method, params) {
    if (this._ws && this._ws.readyState === WebSocket.CLOSING && !this._closed) {
      // Closing, its close event still to come: the request fails with the ones on the
      // wire (CONNECTION_LOST), after the engine heard of the close (D322).
      return new Promise((resolve, reject) => {
        this._pending.set(this._nextId++, { resolve, reject, timer: 0, method });
      });
    }
    if (!this.isOpen) {
      return Promise.reject(new ParleyError(SdkErrorCode.NOT_CONNECTED, `${method}: not connected`));
    }
    const id = this._nextId++;
    const msg = { jsonrpc: '2.0', id, method, params: params || {} };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new ParleyError(SdkErrorCode.TIMEOUT, `${method}: no response in ${this._timeoutMs} ms`));
      }, this._timeoutMs);
      this._pending.set(id, { resolve, reject, timer, method });
      this._ws.send(JSON.stringify(msg));
    });
  }

  /**
   * Closes the socket; pending requests fail with CONNECTION_LOST. Idempotent.
   * @param {number} [code]
   * @param {string} [reason]
   */
  close(code = 1000, reason = '') {
    if (this._ws && this._ws.readyState <= WebSocket.OPEN) {
      this._ws.close(code, reason);
    }
    this._teardown(code, reason);
  }

  /** @param {string} data */
  _receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return; // the server only sends JSON; ignore anything else
    }
    if (msg === null || typeof msg !== 'object') return;
    if (typeof msg.method === 'string') {
      this._onNotification(msg.method, msg.params || {}, msg.seq);
      return;
    }
    const waiter = this._pending.get(msg.id);
    if (!waiter) return;
    this._pending.delete(msg.id);
    clearTimeout(waiter.timer);
    if (msg.error) {
      const e = msg.error;
      waiter.reject(new ParleyError(e.code, `${waiter.method}: ${e.message}`, e.data));
    } else {
      waiter.resolve(msg.result === undefined ? {} : msg.result);
    }
  }

  _teardown(code, reason) {
    if (this._closed) return;
    this._closed = true;
    for (const [, w] of this._pending) {
      clearTimeout(w.timer);
      w.reject(new ParleyError(SdkErrorCode.CONNECTION_LOST, `${w.method}: connection lost`));
    }
    this._pending.clear();
    if (this._ws) {
      this._ws.onopen = this._ws.onmessage = this._ws.onerror = this._ws.onclose = null;
    }
    this._onClose({ code, reason });
  }
}
