// <parley-call-kit>: a drop-in call UI for the Parley browser SDK (web/README.md, "Call
// kit"). A standard custom element with a shadow root and no framework: it rings, shows
// the outgoing and in-call screens (1v1 and group grid or speaker view), the controls, a
// float window, an incoming banner, and says everything in English or Chinese.
//
//   import '/kit/parley-call-kit.js';
//   const kit = document.querySelector('parley-call-kit');
//   kit.init({ engine, userId: 'alice' });
//   await kit.call({ userId: 'bob', type: MediaType.VIDEO });
//
// The element owns its shadow DOM and the call's devices; it reacts to the engine's events
// (all on the page's one thread). State lives in this._s; _update() derives the status,
// fires statusChanged and re-renders.

import { Bell } from './bell.js';
import { controls } from './controls.js';
import { joining } from './join.js';
import { enterPictureInPicture, exitPictureInPicture, makeDraggable } from './float.js';
import { languageKey, normalizeLanguage, translator } from './i18n.js';
import { kitStyleSheet } from './styles.js';
import { createTile, setAvatar, TEMPLATE } from './view.js';
import { CallStatus, MediaType, Members } from './members.js';
import { renderKit } from './render.js';

export { CallStatus, MediaType };
export { ParleyCallHistory } from './history.js';

/** Volume (0..100) above which a tile shows its user as speaking. */
const SPEAKING_VOLUME = 20;
/** afterCalling reasons of a 1v1 call the other side did not take (the toast names the user). */
const MEMBER_REASONS = ['rejected', 'noResponse', 'busy'];

export class ParleyCallKit extends HTMLElement {
  static get observedAttributes() { return ['lang', 'allowed-minimized', 'allowed-full-screen']; }

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.adoptedStyleSheets = [kitStyleSheet()];
    root.innerHTML = TEMPLATE;
    /** @type {Record<string, HTMLElement>} */
    this._ref = {};
    for (const el of root.querySelectorAll('[data-ref]')) this._ref[el.dataset.ref] = el;
    this._bell = new Bell();
    this._t = translator('en');
    this._lang = 'en';
    this._engine = null;
    this._handlers = [];
    this._opts = { muteMode: false, floatWindow: false, banner: false, pictureInPicture: true, audioProcessing: true };
    /** Callbacks of TUICallKit's props; each is also dispatched as a DOM event of that name. */
    this.statusChanged = null;
    this.beforeCalling = null;
    this.afterCalling = null;
    this.onMinimized = null;
    /** @type {{userId: string, nickname?: string, avatar?: string}[]} people the invite panel offers */
    this.contacts = [];
    this._s = this._idleState();
    this._status = CallStatus.IDLE;
    this._timer = 0;
    this._toastTimer = 0;
    this._notification = null;
    this._focusBefore = null;
    this._undrag = makeDraggable(this._ref.mini);
    root.addEventListener('click', (ev) => this._onClick(ev));
    root.addEventListener('keydown', (ev) => this._onKey(ev));
    // Enter or Space restores the mini view on key up: the focus then moves to the minimize
    // button, which must not get the rest of that key press.
    this._ref.mini.addEventListener('keyup', (ev) => {
      if ((ev.key === 'Enter' || ev.key === ' ') && ev.target === this._ref.mini) this.restore();
    });
    root.addEventListener('change', (ev) => this._onDeviceChange(ev));
    this._ref.inviteForm.addEventListener('submit', (ev) => { ev.preventDefault(); this._inviteTyped(); });
    this._ref.mini.addEventListener('dblclick', () => this.restore());
    this._onFullscreen = () => this._render();
    this._render();
  }

  connectedCallback() {
    document.addEventListener('fullscreenchange', this._onFullscreen);
    this.setAttribute('data-status', this._status);
  }

  disconnectedCallback() {
    document.removeEventListener('fullscreenchange', this._onFullscreen);
  }

  attributeChangedCallback(name, _old, value) {
    if (name === 'lang' && normalizeLanguage(value)) this.setLanguage(value); // other languages: unchanged
    else this._render();
  }

  // ---- public API (TUICallKit's names) ----

  /**
   * Connects the kit to a logged-in engine.
   * @param {{engine: object, userId: string, nickname?: string, avatar?: string, audioProcessing?: boolean}} opts
   */
  init(opts) {
    if (!opts || !opts.engine || !opts.userId) throw new TypeError('init: engine and userId are required');
    this.detach();
    this._engine = opts.engine;
    this._me = { userId: opts.userId, nickname: opts.nickname || '', avatar: opts.avatar || '' };
    if (opts.audioProcessing !== undefined) this._opts.audioProcessing = !!opts.audioProcessing;
    const on = (name, fn) => {
      const h = (p) => fn.call(this, p);
      this._engine.on(name, h);
      this._handlers.push([name, h]);
    };
    on('onCallReceived', this._onCallReceived);
    on('onCallBegin', this._onCallBegin);
    on('onCallEnd', (p) => { if (p.callId === this._s.callId) this._end('ended'); });
    on('onCallCancelled', this._onCallCancelled);
    on('onUserAccept', (p) => this._memberJoined(p));
    on('onUserJoin', (p) => this._memberJoined(p));
    on('onUserLeave', (p) => this._memberGone(p.userId, ''));
    on('onUserReject', (p) => this._memberGone(p.userId, 'rejected', p.callId));
    on('onUserNoResponse', (p) => this._memberGone(p.userId, 'noResponse', p.callId));
    on('onUserLineBusy', (p) => this._memberGone(p.userId, 'busy', p.callId));
    on('onGroupCallInviteeListUpdate', this._onInvitees);
    on('onCallMediaTypeChanged', this._onMediaTypeChanged);
    on('onUserVideoAvailable', this._onVideoAvailable);
    on('onUserAudioAvailable', (p) => this._withMember(p.userId, (m) => { m.audio = p.isAudioAvailable; }));
    on('onUserVoiceVolumeChanged', this._onVolume);
    on('onUserNetworkQualityChanged', this._onQuality);
    on('onKickedOffline', () => this._end(''));
    on('onError', (e) => { // the browser ended a device (D284): the SDK closed it
      if (!e.device || this._s.phase === 'idle') return;
      if (e.device === 'camera') this._s.camOn = false;
      else this._s.micOn = false;
      this._fail(e);
      this._render();
    });
    on('onDeviceListUpdated', () => { if (this._s.panel === 'devices') this._fillDevicePanel(); });
    this._localTile();
  }

  /** Removes the kit's engine handlers (the call UI, if any, ends). */
  detach() {
    if (!this._engine) return;
    if (this._s.phase !== 'idle') this._end('');
    for (const [name, h] of this._handlers) this._engine.off(name, h);
    this._handlers = [];
    this._engine = null;
  }

  /** @returns {string} the CallStatus */
  get status() { return this._status; }
  /** @returns {boolean} whether the call shows as a float window */
  get isMinimized() { return this._s.minimized !== ''; }
  /** @returns {''|'pip'|'mini'} how the minimized call shows */
  get floatMode() { return this._s.minimized; }
  /** @returns {''|'incoming'|'outgoing'} the tone sounding now */
  get bell() { return this._bell.playing; }
  /** @returns {string} the language of the kit's texts */
  get language() { return this._lang; }

  get allowedMinimized() { return this._opts.floatWindow || this.hasAttribute('allowed-minimized'); }
  set allowedMinimized(v) { this.toggleAttribute('allowed-minimized', !!v); }
  get allowedFullScreen() { return this.getAttribute('allowed-full-screen') !== 'false'; }
  set allowedFullScreen(v) { this.setAttribute('allowed-full-screen', v ? 'true' : 'false'); }

  /** @param {string} lang 'en' or 'zh-cn' (also 'zh', 'en-US', …) */
  setLanguage(lang) {
    const key = languageKey(lang);
    this._lang = key;
    this._t = translator(key);
    this._render();
  }

  /** @param {string} url an audio file for the incoming ringtone ('' → the built-in tone) */
  setCallingBell(url) {
    this._bell.url = url || '';
    if (this._bell.playing === 'incoming') this._bell.start('incoming');
  }

  /** @param {boolean} enable mute mode: no ringtone and no ringback */
  enableMuteMode(enable) {
    this._opts.muteMode = !!enable;
    if (enable) this._bell.stop();
  }

  /** @param {boolean} enable the minimize button and the float window */
  enableFloatWindow(enable) {
    this._opts.floatWindow = !!enable;
    this._render();
  }

  /**
   * @param {boolean} enable an incoming call shows as a banner (and a system notification
   *   while the page is hidden, once the user allowed notifications) instead of the full screen
   */
  enableIncomingBanner(enable) {
    this._opts.banner = !!enable;
    if (enable && globalThis.Notification && Notification.permission === 'default') {
      Notification.requestPermission().catch(() => {});
    }
  }

  /** @param {boolean} enable minimize into the browser's Picture-in-Picture window where it can */
  enablePictureInPicture(enable) { this._opts.pictureInPicture = !!enable; }

  /**
   * Calls one user.
   * @param {{userId: string, type?: number, params?: object}} opts type: MediaType (default video)
   */
  call(opts) {
    return this._dial([opts.userId], opts.type, () => this._engine.call({ userId: opts.userId, mediaType: opts.type || MediaType.VIDEO, params: opts.params }), false);
  }

  /**
   * Starts a group call: with groupId a group's call (groupCall), else a call of several
   * users (calls).
   * @param {{userIdList: string[], type?: number, groupId?: string, params?: object}} opts
   */
  groupCall(opts) {
    const mediaType = opts.type || MediaType.VIDEO;
    const start = opts.groupId
      ? () => this._engine.groupCall({ groupId: opts.groupId, userIdList: opts.userIdList, mediaType, params: opts.params })
      : () => this._engine.calls({ userIdList: opts.userIdList, mediaType, params: opts.params });
    return this._dial(opts.userIdList, opts.type, start, true);
  }

  /** Accepts the ringing call; {voice: true} answers a video call with voice only. */
  async accept(opts = {}) {
    const s = this._s;
    if (s.phase !== 'ringing') return;
    const voice = !!opts.voice && s.mediaType === MediaType.VIDEO;
    this._stopRinging();
    s.phase = 'calling';
    if (voice) s.mediaType = MediaType.AUDIO;
    this._update();
    this._focusFirst(this._ref.controls);
    try {
      const accepted = this._engine.accept(voice ? { mediaType: MediaType.AUDIO } : undefined);
      this._viewAll();
      this._openDevices();
      await accepted;
    } catch (err) {
      this._callFail(err);
      this._end('');
    }
  }

  /** Rejects the ringing call. */
  async reject() {
    if (this._s.phase !== 'ringing') return;
    const pending = this._engine.reject();
    this._end('');
    await pending.catch((err) => this._callFail(err));
  }

  /** Hangs up (cancels while dialing, rejects while ringing). */
  async hangup() {
    const s = this._s;
    if (s.phase === 'idle') return;
    if (s.phase === 'ringing') return this.reject();
    const pending = this._engine.hangup();
    this._end('');
    await pending.catch((err) => this._callFail(err));
  }

  /** Shows the call as a float window (Picture-in-Picture, or the draggable mini view). */
  async minimize() {
    const s = this._s;
    if (!this.allowedMinimized || s.minimized || (s.phase !== 'calling' && s.phase !== 'dialing')) return;
    const video = this._floatVideo();
    s.minimized = 'mini';
    if (this._opts.pictureInPicture && await enterPictureInPicture(video)) {
      s.minimized = 'pip';
      video.addEventListener('leavepictureinpicture', () => { if (this._s === s) this.restore(); }, { once: true });
    } else {
      this._ref.miniVideo.srcObject = video ? video.srcObject : null;
      this._ref.mini.classList.toggle('no-video', !(video && video.srcObject));
      const main = this._s.members.mainTile(this._me.userId);
      setAvatar(this._ref.miniAvatar, main ? main.name : '', main ? main.avatar : '');
    }
    this._render();
    if (s.minimized === 'mini') this._ref.mini.focus();
    this._emit('onMinimized', 'minimized', { isMinimized: true });
  }

  /** Brings the minimized call back. */
  async restore() {
    const s = this._s;
    if (!s.minimized) return;
    const wasPip = s.minimized === 'pip';
    s.minimized = '';
    this._ref.miniVideo.srcObject = null;
    if (wasPip) await exitPictureInPicture(...this.shadowRoot.querySelectorAll('video'));
    this._render();
    const btn = this._btn('minimize');
    if (btn && !wasPip) btn.focus();
    this._emit('onMinimized', 'minimized', { isMinimized: false });
  }

  /** Toggles full screen of the kit (allowedFullScreen). */
  async toggleFullScreen() {
    if (document.fullscreenElement === this) await document.exitFullscreen().catch(() => {});
    else if (this.allowedFullScreen && this.requestFullscreen) await this.requestFullscreen().catch(() => {});
    this._render();
  }

  // ---- calls ----

  _idleState() {
    return {
      phase: 'idle', callId: '', mediaType: MediaType.VIDEO, group: false, inviter: '',
      members: new Members(), beganAt: 0, micOn: false, camOn: false, speakerOn: true,
      minimized: '', layout: 'grid', swapped: false, panel: '', devices: null, ring: null,
    };
  }

  async _dial(userIdList, type, start, group) {
    if (!this._engine) throw new Error('call: init the kit with an engine first');
    if (this._s.phase !== 'idle') throw new Error('call: the kit is in a call already');
    const mediaType = type || MediaType.VIDEO;
    this._hook('beforeCalling', { type: mediaType, role: 'caller', userIdList });
    const s = this._s;
    s.phase = 'dialing';
    s.mediaType = mediaType;
    s.group = group || userIdList.length > 1;
    for (const userId of userIdList) this._member(userId, false);
    this._focusBefore = document.activeElement;
    this._update();
    if (!this._opts.muteMode) this._bell.start('outgoing');
    this._openDevices(); // the preview; early media sends it once someone accepted
    try {
      const res = await start();
      s.callId = res.callId;
      this._viewAll();
      this._focusFirst(this._ref.controls);
      return res;
    } catch (err) {
      this._end('');
      throw err;
    }
  }

  _onCallReceived(ev) {
    if (this._s.phase !== 'idle') return; // the server tells the caller we are busy
    this._hook('beforeCalling', { type: ev.mediaType, role: 'callee', userIdList: [ev.callerId] });
    const s = this._s;
    s.phase = 'ringing';
    s.callId = ev.callId;
    s.mediaType = ev.mediaType;
    s.inviter = ev.callerId;
    s.group = ev.scene !== 2 || (ev.calleeIdList || []).length > 1;
    s.ring = ev;
    this._member(ev.callerId, true, { nickname: ev.callerNickname, avatar: ev.callerAvatar });
    for (const u of ev.calleeIdList || []) if (u !== this._me.userId) this._member(u, false);
    this._focusBefore = document.activeElement;
    this._update();
    if (!this._opts.muteMode) this._bell.start('incoming');
    if (this._opts.banner) this._notify(ev);
    this._focusFirst(this._opts.banner ? this._ref.banner : this._ref.incoming, 'accept');
  }

  _onCallBegin(ev) {
    const s = this._s;
    if (ev.callId !== s.callId) return;
    this._bell.stop();
    const joined = s.phase === 'joining';
    s.phase = 'calling';
    s.mediaType = ev.mediaType;
    if (!s.beganAt) s.beganAt = Date.now();
    if (!this._timer) this._timer = setInterval(() => this._tick(), 1000);
    this._update();
    if (joined) { // join / joinInGroupCall: the devices and the views start here
      this._openDevices();
      this._viewAll();
      this._focusFirst(this._ref.controls);
    }
    this._say(this._t('connected'));
  }

  _onCallCancelled(ev) {
    const s = this._s;
    if (ev.callId !== s.callId) return;
    const missed = s.phase === 'ringing' && ev.reason !== 'answeredElsewhere' && ev.reason !== 'rejectedElsewhere';
    this._end(missed ? 'missed' : 'cancelled');
  }

  /** Ends the call UI: devices closed, tiles gone, status IDLE, afterCalling. */
  _end(reason) {
    const s = this._s;
    if (s.phase === 'idle') return;
    const name = s.inviter ? this._nameOf(s.inviter) : '';
    this._bell.stop();
    this._closeNotification();
    clearInterval(this._timer);
    this._timer = 0;
    if (s.minimized === 'pip') exitPictureInPicture(...this.shadowRoot.querySelectorAll('video'));
    if (document.fullscreenElement === this) document.exitFullscreen().catch(() => {});
    const engine = this._engine;
    if (!s.speakerOn) engine.muteAllRemoteAudio(false).catch(() => {}); // the next call is heard
    const devices = s.devices || Promise.resolve();
    devices.finally(() => {
      if (this._s.phase !== 'idle') return; // a new call uses them
      if (s.camOn) engine.closeCamera().catch(() => {});
      if (s.micOn) engine.closeMicrophone().catch(() => {});
    });
    for (const m of s.members.list()) m.tile.remove();
    this._s = this._idleState();
    this._s.layout = s.layout;
    this._localTile();
    this._update();
    if (reason && !MEMBER_REASONS.includes(reason)) this._say(this._t(reason, { name })); // _memberGone said those
    const back = this._focusBefore;
    this._focusBefore = null;
    if (back && back.isConnected && typeof back.focus === 'function') back.focus();
    this._hook('afterCalling', { reason });
  }

  _stopRinging() {
    this._bell.stop();
    this._closeNotification();
    this._s.ring = null;
  }

  // ---- members ----

  /** The member userId (created with its tile when new). */
  _member(userId, joined, profile) {
    const s = this._s;
    let m = s.members.get(userId);
    if (!m) {
      const contact = this.contacts.find((c) => c.userId === userId) || {};
      m = s.members.add(userId, createTile(userId, false), { ...contact, ...(profile || {}) });
      this._ref.stage.appendChild(m.tile);
    } else if (profile) {
      if (profile.nickname) m.nickname = profile.nickname;
      if (profile.avatar) m.avatar = profile.avatar;
    }
    if (joined) m.joined = true;
    return m;
  }

  _withMember(userId, fn) {
    const m = this._s.members.get(userId);
    if (!m || this._s.phase === 'idle') return;
    fn(m);
    this._render();
  }

  _memberJoined(ev) {
    if (ev.callId && ev.callId !== this._s.callId) return;
    if (this._s.phase === 'idle' || ev.userId === this._me.userId) return;
    this._member(ev.userId, true);
    this._update();
  }

  _memberGone(userId, why, callId) {
    const s = this._s;
    if ((callId && callId !== s.callId) || s.phase === 'idle') return;
    const m = s.members.get(userId);
    if (!m) return;
    if (why) this._toast(this._t(why, { name: this._nameOf(userId) }));
    if (!s.group) { // 1v1: the call is over (onCallCancelled / onCallEnd may follow)
      if (why) this._end(why);
      return;
    }
    m.tile.remove();
    s.members.delete(userId);
    this._update();
  }

  _onInvitees(ev) {
    if (ev.callId !== this._s.callId) return;
    this._s.group = true;
    for (const u of ev.userIdList || []) if (u !== this._me.userId) this._member(u, false);
    this._viewAll();
    this._update();
  }

  /** The local tile (always the stage's first). */
  _localTile() {
    const s = this._s;
    if (!this._me) return;
    const m = s.members.add(this._me.userId, createTile(this._me.userId, true), this._me, true);
    m.joined = true;
    this._ref.stage.insertBefore(m.tile, this._ref.stage.firstChild);
  }

  _nameOf(userId) {
    const m = this._s.members.get(userId);
    if (m) return m.name;
    const c = this.contacts.find((x) => x.userId === userId);
    return (c && c.nickname) || userId;
  }

  // ---- media ----

  /** Opens the microphone, and the camera in a video call, once per call. */
  _openDevices() {
    const s = this._s;
    if (s.devices) return s.devices;
    const engine = this._engine;
    const local = s.members.local();
    const mic = engine.openMicrophone({ audioProcessing: this._opts.audioProcessing }).then(() => { s.micOn = true; });
    const cam = s.mediaType === MediaType.VIDEO ? this._openCamera(s) : Promise.resolve();
    s.devices = Promise.allSettled([mic, cam]).then((results) => {
      for (const r of results) if (r.status === 'rejected' && this._s === s) this._fail(r.reason);
      if (this._s === s) this._render();
    });
    return s.devices;
  }

  /**
   * Opens the camera of call s into the local tile. The call may have become an audio call
   * while the camera opened (the other side answered with voice): then it closes again.
   */
  _openCamera(s) {
    const engine = this._engine;
    return engine.openCamera({ element: s.members.local().video }).then(() => {
      if (this._s === s && s.mediaType === MediaType.VIDEO) s.camOn = true;
      else return engine.closeCamera();
    });
  }

  /** Asks for every other member's video in a video call (kept by the SDK until media runs). */
  _viewAll() {
    const s = this._s;
    if (s.mediaType !== MediaType.VIDEO || s.phase === 'ringing' || s.phase === 'idle') return;
    for (const m of s.members.list()) {
      if (m.local || m.viewing) continue;
      m.viewing = true;
      this._engine.startRemoteView({ userId: m.userId, element: m.video }).catch((err) => this._mediaFail(err));
    }
  }

  _onVideoAvailable(ev) {
    this._withMember(ev.userId, (m) => {
      m.hasVideo = ev.isVideoAvailable;
      // The view stays asked for when the camera goes off: the video comes back with the
      // camera, and no stopRemoteView can race the end of the call (web/README.md).
      if (ev.isVideoAvailable) this._viewAll();
    });
  }

  _onMediaTypeChanged(ev) {
    const s = this._s;
    if (ev.callId !== s.callId) return;
    s.mediaType = ev.newMediaType;
    if (s.mediaType === MediaType.AUDIO) {
      s.camOn = false; // the SDK closed the camera
    } else if (s.devices) {
      // Back to video (D18: either side, both ways; D280): the camera opens again and the
      // others' video is asked for. A ringing kit opens it at accept.
      this._openCamera(s).then(() => this._render(), (err) => { if (this._s === s) this._fail(err); });
      this._viewAll();
    }
    this._update();
  }

  _onVolume(ev) {
    const s = this._s;
    if (s.phase === 'idle') return;
    for (const [userId, volume] of Object.entries(ev.volumeMap || {})) {
      const m = s.members.get(userId);
      if (m) m.volume = Math.max(0, Math.min(100, Number(volume) || 0));
    }
    s.members.pickSpeaker(SPEAKING_VOLUME);
    this._render();
  }

  _onQuality(ev) {
    const s = this._s;
    if (s.phase === 'idle') return;
    for (const { userId, quality } of ev.networkQualityList || []) {
      const m = s.members.get(userId);
      if (m) m.quality = quality;
    }
    this._render();
  }


  _floatVideo() {
    const main = this._s.members.mainTile(this._me.userId);
    return main ? main.video : null;
  }

  _layout() {
    const s = this._s;
    if (s.phase === 'dialing') return 'dialing';
    if (!s.group && s.members.size() <= 2) return 'one';
    return s.layout;
  }

  _tick() {
    const s = this._s;
    if (!s.beganAt) return;
    const sec = Math.floor((Date.now() - s.beganAt) / 1000);
    const h = Math.floor(sec / 3600);
    const mm = String(Math.floor(sec / 60) % 60).padStart(2, '0');
    const ss = String(sec % 60).padStart(2, '0');
    const text = h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
    this._ref.duration.textContent = text;
    this._ref.duration.setAttribute('aria-label', this._t('duration', { t: text }));
    this._ref.miniDuration.textContent = text;
  }

  /** Derives the status from the state, fires statusChanged, renders. */
  _update() {
    const old = this._status;
    const next = CallStatus.of(this._s);
    if (next !== old) {
      this._status = next;
      this.setAttribute('data-status', next);
      this._emit('statusChanged', 'statusChanged', { oldStatus: old, newStatus: next });
    }
    this._render();
  }

  _render() {
    renderKit(this);
  }
}

Object.assign(ParleyCallKit.prototype, controls, joining);

if (!customElements.get('parley-call-kit')) customElements.define('parley-call-kit', ParleyCallKit);
