// The people of a <parley-call-kit> call and the call status derived from the kit's state.

/** Call media type (as the SDK's MediaType). @readonly @enum {number} */
export const MediaType = Object.freeze({ UNKNOWN: 0, AUDIO: 1, VIDEO: 2 });

/** The kit's call status, named as TUICallKit's. @readonly @enum {string} */
export const CallStatus = Object.freeze({
  IDLE: 'IDLE',
  BE_INVITED: 'BE_INVITED',
  DIALING_C2C: 'DIALING_C2C',
  DIALING_GROUP: 'DIALING_GROUP',
  CALLING_C2C_AUDIO: 'CALLING_C2C_AUDIO',
  CALLING_C2C_VIDEO: 'CALLING_C2C_VIDEO',
  CALLING_GROUP_AUDIO: 'CALLING_GROUP_AUDIO',
  CALLING_GROUP_VIDEO: 'CALLING_GROUP_VIDEO',
  /**
   * The status of a kit state.
   * @param {{phase: string, group: boolean, mediaType: number}} s
   */
  of(s) {
    switch (s.phase) {
      case 'ringing': return 'BE_INVITED';
      case 'dialing': return s.group ? 'DIALING_GROUP' : 'DIALING_C2C';
      case 'calling': return `CALLING_${s.group ? 'GROUP' : 'C2C'}_${s.mediaType === MediaType.AUDIO ? 'AUDIO' : 'VIDEO'}`;
      default: return 'IDLE';
    }
  },
});

/**
 * One person of the call: the local user or a remote member (joined, or still ringing).
 */
export class Member {
  constructor(userId, tile, profile, local) {
    this.userId = userId;
    this.tile = tile;
    /** @type {HTMLVideoElement} */
    this.video = tile.querySelector('video');
    this.nickname = (profile && profile.nickname) || '';
    this.avatar = (profile && profile.avatar) || '';
    this.local = !!local;
    this.joined = false;
    this.hasVideo = false;
    this.audio = true;
    this.viewing = false;
    this.volume = 0;
    this.quality = 0;
  }

  get name() { return this.nickname || this.userId; }
}

/** The members of a call, in the order they came (the local user first). */
export class Members {
  constructor() {
    /** @type {Map<string, Member>} */
    this._m = new Map();
    this._local = null;
    /** userId of the active speaker, or '' */
    this.speaker = '';
  }

  add(userId, tile, profile, local) {
    const m = new Member(userId, tile, profile, local);
    this._m.set(userId, m);
    if (local) this._local = m;
    return m;
  }

  get(userId) { return this._m.get(userId); }
  delete(userId) { this._m.delete(userId); if (this.speaker === userId) this.speaker = ''; }
  list() { return [...this._m.values()]; }
  remotes() { return this.list().filter((m) => !m.local); }
  local() { return this._local; }
  size() { return this._m.size; }

  /** Makes the loudest member above threshold the speaker (the last one stays otherwise). */
  pickSpeaker(threshold) {
    let best = null;
    for (const m of this._m.values()) if (m.volume > threshold && (!best || m.volume > best.volume)) best = m;
    if (best) this.speaker = best.userId;
  }

  /**
   * The member the call's main view shows: the active speaker, else the first remote
   * member with video, else the local user.
   */
  mainTile() {
    const sp = this._m.get(this.speaker);
    if (sp && (sp.hasVideo || sp.local)) return sp;
    return this.remotes().find((m) => m.hasVideo) || this._local;
  }
}
