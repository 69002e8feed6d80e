// The controls of <parley-call-kit>: buttons, panels, keyboard, devices, invitations,
// notices. These methods are mixed into ParleyCallKit's prototype (parley-call-kit.js)
// and run on its state like its own.

import { canSelectSpeaker, listDevices, switchDevice, trackDeviceId } from './devices.js';
import { MediaType } from './members.js';

/** Server error code "not in a room" (signaling/PROTOCOL.md §7): the call ended meanwhile. */
const NOT_IN_ROOM = 4002;
/** Server error codes "no ringing invitation" and "not in a call": the call ended meanwhile. */
const NO_CALL_RINGING = 3002;
const NOT_IN_CALL = 3003;
/** How long a toast stays. */
const TOAST_MS = 4000;

/** The focusable, visible controls inside container, in DOM (= tab) order. */
export function focusables(container) {
  return [...container.querySelectorAll('button, select, input, [tabindex="0"]')]
    .filter((el) => !el.disabled && el.getClientRects().length > 0);
}

export const controls = {
  /** Turns kind ('mic' | 'cam') off when it is on, on when it is off. */
  async _toggle(kind) {
    const s = this._s;
    const engine = this._engine;
    const on = kind === 'mic' ? s.micOn : s.camOn;
    try {
      if (kind === 'mic') await (on ? engine.closeMicrophone() : engine.openMicrophone({ audioProcessing: this._opts.audioProcessing }));
      else await (on ? engine.closeCamera() : engine.openCamera({ element: s.members.local().video }));
      if (kind === 'mic') s.micOn = !on;
      else s.camOn = !on;
    } catch (err) {
      this._fail(err);
    }
    this._render();
  },

  /** Speaker on/off: the others' audio plays muted or not (the engine's muteAllRemoteAudio). */
  async _toggleSpeaker() {
    const s = this._s;
    try {
      await this._engine.muteAllRemoteAudio(s.speakerOn);
      s.speakerOn = !s.speakerOn;
    } catch (err) {
      this._fail(err);
    }
    this._render();
  },

  /**
   * The next camera: the next one listed where there are several, else the other facing
   * (front / back) where the engine can switch it.
   */
  async _switchCamera() {
    const s = this._s;
    try {
      const cams = (await listDevices()).videoinput;
      const stream = s.members.local().video.srcObject;
      const current = trackDeviceId(stream && stream.getVideoTracks()[0]);
      if (cams.length > 1) {
        const i = cams.findIndex((c) => c.deviceId === current);
        await this._switchDevice('videoinput', cams[(i + 1) % cams.length].deviceId);
      } else if (typeof this._engine.switchCamera === 'function') {
        this._facing = this._facing === 'back' ? 'front' : 'back';
        await this._engine.switchCamera(this._facing);
      }
    } catch (err) {
      this._fail(err);
    }
  },

  async _switchDevice(kind, deviceId) {
    await switchDevice(this._engine, kind, deviceId, { element: this._s.members.local().video, audioProcessing: this._opts.audioProcessing });
    if (kind === 'videoinput') this._s.camOn = true;
    if (kind === 'audioinput') this._s.micOn = true;
    this._render();
  },

  async _onDeviceChange(ev) {
    const kind = ev.target.dataset && ev.target.dataset.device;
    if (!kind) return;
    try {
      await this._switchDevice(kind, ev.target.value);
    } catch (err) {
      this._fail(err);
    }
  },

  async _fillDevicePanel() {
    const lists = await listDevices();
    const local = this._s.members.local();
    const stream = local && local.video.srcObject;
    const current = { videoinput: trackDeviceId(stream && stream.getVideoTracks()[0]), audioinput: '', audiooutput: '' };
    for (const sel of this.shadowRoot.querySelectorAll('select[data-device]')) {
      const kind = sel.dataset.device;
      sel.textContent = '';
      for (const d of lists[kind]) sel.add(new Option(d.label, d.deviceId, false, d.deviceId === current[kind]));
      sel.disabled = lists[kind].length === 0 || (kind === 'audiooutput' && (!canSelectSpeaker() || typeof this._engine.selectAudioPlaybackDevice !== 'function'));
    }
  },

  // ---- invite ----

  async _invite(userIdList) {
    const ids = userIdList.filter((u) => u && u !== this._me.userId && !this._s.members.get(u));
    if (ids.length === 0) return;
    try {
      await this._engine.inviteUser({ userIdList: ids });
    } catch (err) {
      this._callFail(err);
    }
  },

  _inviteTyped() {
    const ids = this._ref.inviteInput.value.split(',').map((x) => x.trim()).filter(Boolean);
    this._ref.inviteInput.value = '';
    this._invite(ids);
  },

  // ---- UI plumbing ----

  _onClick(ev) {
    const target = ev.target.closest('[data-action], .tile.local, [data-invite]');
    if (!target) return;
    if (target.dataset.invite) { this._invite([target.dataset.invite]); return; }
    if (!target.dataset.action) { // the small local tile of a 1v1 call swaps with the big one
      if (this._layout() === 'one') { this._s.swapped = !this._s.swapped; this._render(); }
      return;
    }
    const s = this._s;
    const actions = {
      accept: () => this.accept(),
      answerVoice: () => this.accept({ voice: true }),
      reject: () => this.reject(),
      hangup: () => this.hangup(),
      mic: () => this._toggle('mic'),
      camera: () => this._toggle('cam'),
      speaker: () => this._toggleSpeaker(),
      switchCamera: () => this._switchCamera(),
      devices: () => this._panel(s.panel === 'devices' ? '' : 'devices'),
      closeDevices: () => this._panel(''),
      invite: () => this._panel(s.panel === 'invite' ? '' : 'invite'),
      closeInvite: () => this._panel(''),
      toAudio: () => this._engine.switchCallMediaType(MediaType.AUDIO).catch((err) => this._callFail(err)),
      toVideo: () => this._engine.switchCallMediaType(MediaType.VIDEO).catch((err) => this._callFail(err)),
      minimize: () => this.minimize(),
      restore: () => this.restore(),
      fullscreen: () => this.toggleFullScreen(),
      layout: () => { s.layout = s.layout === 'grid' ? 'speaker' : 'grid'; this._render(); },
    };
    const fn = actions[target.dataset.action];
    if (fn) fn();
  },

  /** Opens panel name ('' closes the open one and gives the focus back to its button). */
  _panel(name) {
    const was = this._s.panel;
    this._s.panel = name;
    if (name === 'devices') this._fillDevicePanel();
    this._render();
    if (name) this._focusFirst(name === 'devices' ? this._ref.devicePanel : this._ref.invitePanel);
    else if (was) this._btn(was).focus();
  },

  /** Escape closes a panel; Tab stays inside a full-page screen. */
  _onKey(ev) {
    if (ev.key === 'Escape' && this._s.panel) { ev.preventDefault(); this._panel(''); return; }
    if (ev.key !== 'Tab' || this.hasAttribute('inline')) return;
    const screen = [this._ref.incoming, this._ref.call].find((el) => !el.hidden && !this._s.minimized);
    if (!screen) return;
    const items = focusables(screen);
    if (items.length === 0) return;
    const active = this.shadowRoot.activeElement;
    const i = items.indexOf(active);
    if (ev.shiftKey && (i === 0 || i === -1)) { ev.preventDefault(); items[items.length - 1].focus(); }
    if (!ev.shiftKey && (i === items.length - 1 || i === -1)) { ev.preventDefault(); items[0].focus(); }
  },

  _btn(action, scope = this.shadowRoot) { return scope.querySelector(`[data-action="${action}"]`); },

  _focusFirst(container, action) {
    queueMicrotask(() => {
      const el = action ? this._btn(action, container) : focusables(container)[0];
      if (el) el.focus();
    });
  },

  _fail(err) {
    const message = (err && err.message) || String(err);
    this._toast(this._t('errorPrefix', { message }));
    this.dispatchEvent(new CustomEvent('kitError', { detail: { code: err && err.code, message } }));
  },

  /** Media requests that crossed the end of the call ("not in a room") are not errors. */
  _mediaFail(err) {
    if (err && err.code === NOT_IN_ROOM) return;
    this._fail(err);
  },

  /**
   * A call request (accept, reject, hangup, a media type switch, an invitation) that
   * crossed the end of its call on the wire is not an error either: the server answers it
   * "no ringing invitation" or "not in a call" after the end event, which closed the call
   * screen already (D321).
   */
  _callFail(err) {
    if (err && (err.code === NO_CALL_RINGING || err.code === NOT_IN_CALL) && this._s.phase === 'idle') return;
    this._fail(err);
  },

  /**
   * Shows text for TOAST_MS, also once the call screen closed (the element shows the toast
   * alone while IDLE or minimized: a 1v1 call that ends as "bob is busy" says so, D212).
   */
  _toast(text) {
    const el = this._ref.toast;
    el.textContent = text;
    el.hidden = false;
    this.toggleAttribute('data-toast', true);
    clearTimeout(this._toastTimer);
    this._toastTimer = setTimeout(() => {
      el.hidden = true;
      this.toggleAttribute('data-toast', false);
    }, TOAST_MS);
    this._say(text);
  },

  _say(text) { this._ref.live.textContent = text; },

  /** Calls the callback prop (TUICallKit style) and dispatches the DOM event of the same name. */
  _hook(name, detail) {
    this._emit(name, name, detail);
  },

  /** Calls the callback prop and dispatches the DOM event. */
  _emit(prop, event, detail) {
    const fn = this[prop];
    if (typeof fn === 'function') {
      try { fn(detail); } catch (err) { console.error(`parley-call-kit: ${prop} threw`, err); } // eslint-disable-line no-console
    }
    this.dispatchEvent(new CustomEvent(event, { detail }));
  },

  _notify(ev) {
    if (!document.hidden || !globalThis.Notification || Notification.permission !== 'granted') return;
    const n = new Notification(this._t('bannerTitle'), {
      body: this._t(this._s.group ? 'invitedBy' : 'isCalling', { name: ev.callerNickname || ev.callerId }),
      tag: `parley-call-${ev.callId}`, requireInteraction: true,
    });
    n.onclick = () => { window.focus(); n.close(); };
    this._notification = n;
  },

  _closeNotification() {
    if (this._notification) this._notification.close();
    this._notification = null;
  },
};
