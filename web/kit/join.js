// Entering a running group call from <parley-call-kit> without an invitation (join by
// callId, TUICallKit's joinInGroupCall by group and room; D283). These methods are mixed
// into ParleyCallKit's prototype (parley-call-kit.js) and run on its state like its own;
// the call screen shows at the call's onCallBegin (_onCallBegin opens the devices then).

import { MediaType } from './members.js';

export const joining = {
  /**
   * Enters a running group call without an invitation: by callId, or by groupId and roomId
   * (TUICallKit's joinInGroupCall). The call screen shows once the call began for the user.
   * @param {{callId?: string, groupId?: string, roomId?: number|string, type?: number}} opts
   *   type: MediaType of joinInGroupCall (default video); join by callId takes the call's
   */
  join(opts) {
    const byId = !!opts.callId;
    const start = byId
      ? () => this._engine.join({ callId: opts.callId })
      : () => this._engine.joinInGroupCall({ groupId: opts.groupId, roomId: opts.roomId, mediaType: opts.type || MediaType.VIDEO });
    return this._enter(start, opts.type);
  },

  /** @param {{groupId: string, roomId: number|string, type?: number}} opts */
  joinInGroupCall(opts) {
    return this.join({ groupId: opts.groupId, roomId: opts.roomId, type: opts.type });
  },

  async _enter(start, type) {
    if (!this._engine) throw new Error('join: init the kit with an engine first');
    if (this._s.phase !== 'idle') throw new Error('join: the kit is in a call already');
    this._hook('beforeCalling', { type: type || MediaType.VIDEO, role: 'callee', userIdList: [] });
    const s = this._s;
    s.phase = 'joining';
    s.group = true;
    s.mediaType = type || MediaType.VIDEO;
    this._focusBefore = document.activeElement;
    try {
      const res = await start();
      s.callId = res.callId;
      return res;
    } catch (err) {
      this._end('');
      throw err;
    }
  },
};
