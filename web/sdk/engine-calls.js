// Parley SDK — the engine's call methods (call, calls, groupCall, accept, …, the call
// history) and the TUICallEngine Web SDK's flat call params. A part of ParleyCallEngine
// (parley.js puts its methods on the engine's prototype); its state lives on the engine.

import { MediaType, Role } from './enums.js';

/** ParleyCallEngine's methods of this module (parley.js puts them on its prototype). */
export class CallsPart {
  /**
   * Starts a 1v1 call. The CallParams may also be given flat, as the TUICallEngine Web SDK
   * takes them (see callParamsOf).
   * @param {{userId: string, mediaType: number, params?: import('./parley.js').CallParams} & import('./parley.js').FlatCallParams} params
   * @returns {Promise<import('./parley.js').CallStartResult>}
   */
  async call(params) {
    return this._placeCall('call', { userId: params.userId, mediaType: params.mediaType, params: callParamsOf(params) });
  }

  /**
   * Calls one user (1v1) or several (group, or with a chat group). The chat group may be
   * params.chatGroupId or, as the Web SDK has it, a top-level chatGroupId (chatGroupID);
   * the CallParams may be flat (callParamsOf). userIDList and type are accepted for
   * userIdList and mediaType.
   * @param {{userIdList?: string[], userIDList?: string[], mediaType?: number, type?: number,
   *   chatGroupId?: string, chatGroupID?: string, params?: CallParams} & FlatCallParams} params
   * @returns {Promise<import('./parley.js').CallStartResult>}
   */
  async calls(params) {
    const mediaType = params.mediaType ?? params.type;
    const req = { userIdList: params.userIdList ?? params.userIDList, mediaType, params: callParamsOf(params) };
    const chatGroupId = params.chatGroupId ?? params.chatGroupID;
    if (chatGroupId) req.chatGroupId = chatGroupId;
    return this._placeCall('calls', req);
  }

  /**
   * Starts a group call.
   * @param {{groupId: string, userIdList: string[], mediaType: number, params?: import('./parley.js').CallParams}} params
   * @returns {Promise<import('./parley.js').CallStartResult>}
   */
  async groupCall(params) {
    return this._placeCall('groupCall', {
      groupId: params.groupId, userIdList: params.userIdList, mediaType: params.mediaType, params: params.params || {},
    });
  }

  /**
   * Sends a request that starts or enters a call (call, calls, groupCall, join,
   * joinInGroupCall, and the login of a reconnect, which may bring an invitation) and holds
   * the call events that arrive before its result until the app's `await` of it went on
   * (D211, D283, D320).
   * @param {string} method
   * @param {object} req
   * @returns {Promise<import('./parley.js').CallStartResult>}
   */
  async _holdingEvents(method, req) {
    this._dialing++;
    try {
      return await this._request(method, req);
    } finally {
      this._dialing--;
      if (this._dialing === 0 && this._held.length > 0) setTimeout(() => this._releaseHeld(), 0);
    }
  }

  /**
   * Sends a call start (call, calls, groupCall) and makes its call the current one. The
   * server may send the call's first events — a busy callee's onUserLineBusy and
   * onCallCancelled — before the result: they are held while the request is out and
   * delivered after the app's `await` of this promise went on, so it knows the callId when
   * they arrive (D211). A call already over then starts no early media or preview.
   * @param {string} method
   * @param {{mediaType: number}} req
   * @returns {Promise<import('./parley.js').CallStartResult>}
   */
  async _placeCall(method, req) {
    const res = await this._holdingEvents(method, req);
    this._setCall({ callId: res.callId, roomId: res.roomId, mediaType: req.mediaType, role: Role.CALLER });
    const over = this._held.some((e) => (e.method === 'onCallCancelled' || e.method === 'onCallEnd') && e.params.callId === res.callId);
    if (!over) {
      this._prepareCall(res.callId, req.mediaType);
      this._startPreview(res.callId, req.mediaType);
    }
    return res;
  }

  /**
   * Accepts the ringing call; {mediaType: MediaType.AUDIO} answers a video call with voice.
   * @param {{mediaType?: number}} [opts]
   */
  accept(opts) {
    const params = {};
    if (opts && opts.mediaType) params.mediaType = opts.mediaType;
    const pending = this._callRequest('accept', params);
    this._previewAccepted(params.mediaType === MediaType.AUDIO);
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
    const callId = this._call && this._call.callId;
    await this._callRequest('reject', {});
    if (this._call && this._call.callId !== callId) return; // another call came meanwhile
    this._dropEarlyMedia();
    this._setCall(null);
  }

  /**
   * Ignores the ringing call (the caller sees the line busy). Across a dropped socket as
   * reject (D322, D329).
   */
  async ignore() {
    const callId = this._call && this._call.callId;
    await this._callRequest('ignore', {});
    if (this._call && this._call.callId !== callId) return; // another call came meanwhile
    this._dropEarlyMedia();
    this._setCall(null);
  }

  /** Leaves (or, before anyone accepted, cancels) the current call. */
  async hangup() {
    const callId = this._call && this._call.callId;
    await this._callRequest('hangup', {});
    if (this._call && this._call.callId !== callId) return; // another call came meanwhile
    this._endMedia();
    this._setCall(null);
  }

  /**
   * Invites more users into the current group call.
   * @param {{userIdList: string[], params?: import('./parley.js').CallParams}} params
   * @returns {Promise<{userIdList: string[]}>}
   */
  inviteUser(params) {
    return this._request('inviteUser', { userIdList: params.userIdList, params: params.params || {}, ...this._callIdParam() });
  }

  /**
   * Joins the active group call of a group and room.
   * @param {{roomId: import('./parley.js').RoomId, groupId: string, mediaType: number}} params
   * @returns {Promise<import('./parley.js').CallStartResult>}
   */
  async joinInGroupCall(params) {
    const res = await this._holdingEvents('joinInGroupCall', { roomId: params.roomId, groupId: params.groupId, mediaType: params.mediaType });
    this._setCall({ callId: res.callId, roomId: res.roomId, mediaType: params.mediaType, role: Role.CALLED });
    return res;
  }

  /**
   * Joins an active group call by id.
   * @param {{callId: string}} params
   * @returns {Promise<import('./parley.js').CallStartResult>}
   */
  async join(params) {
    const res = await this._holdingEvents('join', { callId: params.callId });
    this._setCall({ callId: res.callId, roomId: res.roomId, mediaType: MediaType.UNKNOWN, role: Role.CALLED });
    return res;
  }

  /**
   * Switches the 1v1 call between audio and video; both sides get onCallMediaTypeChanged.
   * @param {number|{mediaType: number}} mediaType
   */
  switchCallMediaType(mediaType) {
    const m = typeof mediaType === 'object' ? mediaType.mediaType : mediaType;
    return this._request('switchCallMediaType', { mediaType: m, ...this._callIdParam() });
  }

  /** {callId} of the current call, which a call request names (D338); {} without one. */
  _callIdParam() {
    return this._call && this._call.callId ? { callId: this._call.callId } : {};
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
}

/**
 * The protocol's CallParams of a call / calls request: params.params, plus the flat members
 * the TUICallEngine Web SDK takes next to the user list — roomID (an integer room),
 * strRoomID (a string room; wins over roomID), timeout, userData, offlinePushInfo. A member
 * of params.params wins over its flat form.
 * @param {{params?: import('./parley.js').CallParams} & import('./parley.js').FlatCallParams} p
 * @returns {import('./parley.js').CallParams}
 */
function callParamsOf(p) {
  /** @type {import('./parley.js').CallParams} */
  const out = {};
  const room = p.strRoomID || p.roomID;
  if (room) out.roomId = room;
  for (const key of ['timeout', 'userData', 'offlinePushInfo']) {
    if (p[key] !== undefined) out[key] = p[key];
  }
  return { ...out, ...(p.params || {}) };
}
