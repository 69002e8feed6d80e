// Rendering of <parley-call-kit>: brings the shadow DOM in line with the kit's state
// (which screen shows, labels in the kit's language, tiles, layout, indicators). It only
// reads the state; the element changes it.

import { icon } from './icons.js';
import { MediaType } from './members.js';
import { setAvatar } from './view.js';

/** Bars lit for a NetworkQuality (1 excellent … 5 very bad; 0 unknown and 6 down: none). */
const QUALITY_BARS = [0, 4, 3, 2, 1, 1, 0];

/**
 * Sets a control button's action label (aria-label and visible text) and icon.
 * @param {HTMLButtonElement} btn
 */
function label(btn, text, iconName) {
  if (!btn) return;
  btn.setAttribute('aria-label', text);
  btn.title = text;
  const l = btn.querySelector('.label');
  if (l) l.textContent = text;
  if (iconName && btn.dataset.icon !== iconName) {
    const holder = btn.querySelector('.icon') || btn;
    holder.innerHTML = icon(iconName);
    btn.dataset.icon = iconName;
  }
}

/** Shows or hides every element of the kit with data-action=action. */
function showAction(root, action, visible) {
  for (const el of root.querySelectorAll(`[data-action="${action}"]`)) el.hidden = !visible;
}

/** @param {import('./parley-call-kit.js').ParleyCallKit} kit */
export function renderKit(kit) {
  const s = kit._s;
  const t = kit._t;
  const r = kit._ref;
  const root = kit.shadowRoot;
  const video = s.mediaType === MediaType.VIDEO;
  const ringing = s.phase === 'ringing';
  const inCall = s.phase === 'dialing' || s.phase === 'calling';
  const useBanner = ringing && kit._opts.banner;

  kit.toggleAttribute('data-minimized', s.minimized !== '');
  kit.toggleAttribute('data-banner', useBanner);
  r.incoming.hidden = !ringing || useBanner;
  r.banner.hidden = !useBanner;
  r.call.hidden = !inCall || s.minimized !== '';
  r.mini.hidden = s.minimized !== 'mini';

  // Texts of every screen, in the kit's language.
  const inviter = s.inviter ? s.members.get(s.inviter) : null;
  const inviterName = inviter ? inviter.name : '';
  const kind = s.group ? t('incomingGroup') : t(video ? 'incomingVideo' : 'incomingAudio');
  r.inName.textContent = inviterName;
  r.inKind.textContent = `${t(s.group ? 'invitedBy' : 'isCalling', { name: inviterName })} · ${kind}`;
  r.bannerName.textContent = inviterName;
  r.bannerKind.textContent = kind;
  if (inviter) {
    setAvatar(r.inAvatar, inviter.name, inviter.avatar);
    setAvatar(r.bannerAvatar, inviter.name, inviter.avatar);
  }
  for (const b of root.querySelectorAll('[data-action="accept"]')) label(b, t('accept'));
  for (const b of root.querySelectorAll('[data-action="reject"]')) label(b, t('reject'));
  label(kit._btn('answerVoice'), t('answerVoice'));
  kit._btn('answerVoice').hidden = !video || s.group;

  const others = s.members.remotes();
  const names = others.map((m) => m.name).join(', ');
  r.title.textContent = s.group ? `${t('incomingGroup')} (${others.filter((m) => m.joined).length + 1})` : names;
  r.dialing.hidden = s.phase !== 'dialing';
  r.dialingWho.textContent = names;
  r.dialingWhat.textContent = s.group ? t('waiting') : t('calling', { name: names });
  if (s.phase === 'dialing' && r.dialingAvatars.childElementCount !== Math.min(others.length, 4)) {
    r.dialingAvatars.textContent = '';
    for (const m of others.slice(0, 4)) {
      const a = document.createElement('div');
      a.className = 'avatar-big';
      setAvatar(a, m.name, m.avatar);
      r.dialingAvatars.appendChild(a);
    }
  }
  if (!s.beganAt) {
    r.duration.textContent = '';
    r.miniDuration.textContent = s.phase === 'dialing' ? t('calling', { name: names }) : '';
  }

  // Controls: each label says what pressing it does.
  label(kit._btn('mic'), t(s.micOn ? 'micOff' : 'micOn'), s.micOn ? 'mic' : 'micOff');
  kit._btn('mic').classList.toggle('off', !s.micOn);
  label(kit._btn('camera'), t(s.camOn ? 'camOff' : 'camOn'), s.camOn ? 'cam' : 'camOff');
  kit._btn('camera').classList.toggle('off', !s.camOn);
  showAction(root, 'camera', video);
  label(kit._btn('speaker'), t(s.speakerOn ? 'speakerOff' : 'speakerOn'), s.speakerOn ? 'speaker' : 'speakerOff');
  kit._btn('speaker').classList.toggle('off', !s.speakerOn);
  showAction(root, 'speaker', !!kit._engine && typeof kit._engine.muteAllRemoteAudio === 'function');
  label(kit._btn('switchCamera'), t('switchCamera'));
  showAction(root, 'switchCamera', video);
  kit._btn('switchCamera').disabled = !s.camOn;
  label(kit._btn('devices'), t('devices'));
  label(kit._btn('toAudio'), t('toAudio'));
  showAction(root, 'toAudio', video && !s.group);
  label(kit._btn('toVideo'), t('toVideo'));
  showAction(root, 'toVideo', !video && !s.group && s.phase === 'calling');
  label(kit._btn('invite'), t('invite'));
  showAction(root, 'invite', s.group && s.phase === 'calling');
  label(kit._btn('hangup'), t('hangup'));
  label(kit._btn('minimize'), t('minimize'));
  showAction(root, 'minimize', kit.allowedMinimized);
  label(kit._btn('restore'), t('restore'));
  const full = document.fullscreenElement === kit;
  label(kit._btn('fullscreen'), t(full ? 'exitFullscreen' : 'fullscreen'), full ? 'exitFullscreen' : 'fullscreen');
  showAction(root, 'fullscreen', kit.allowedFullScreen && !!document.fullscreenEnabled);
  const layout = kit._layout();
  label(kit._btn('layout'), t(s.layout === 'grid' ? 'speakerView' : 'gridView'), s.layout === 'grid' ? 'speakerView' : 'grid');
  showAction(root, 'layout', s.group && s.phase === 'calling');
  r.call.setAttribute('aria-label', r.title.textContent);
  r.mini.setAttribute('aria-label', `${t('restore')}: ${names}. ${t('dragHint')}`);

  // Panels.
  r.devicePanel.hidden = s.panel !== 'devices' || !inCall;
  r.invitePanel.hidden = s.panel !== 'invite' || !inCall;
  r.devTitle.textContent = t('devices');
  r.camLabel.textContent = t('camera');
  r.micLabel.textContent = t('microphone');
  r.spkLabel.textContent = t('speaker');
  label(kit._btn('closeDevices'), t('closeDevices'));
  label(kit._btn('closeInvite'), t('closeInvite'));
  r.invTitle.textContent = t('members');
  r.inviteInput.placeholder = t('inviteHint');
  r.inviteInput.setAttribute('aria-label', t('inviteHint'));
  r.inviteSend.textContent = t('inviteSend');
  if (!r.invitePanel.hidden) renderMembers(kit);

  // Stage: layout and tiles.
  const stage = r.stage;
  stage.className = `stage ${layout}${s.swapped && layout === 'one' ? ' swapped' : ''}`;
  const count = s.members.size();
  stage.style.setProperty('--cols', String(count <= 1 ? 1 : count <= 4 ? 2 : 3));
  const local = s.members.local();
  if (local) local.hasVideo = s.camOn;
  const main = layout === 'speaker' ? s.members.mainTile() : null;
  for (const m of s.members.list()) renderTile(kit, m, main === m);
}

function renderTile(kit, m, isMain) {
  const s = kit._s;
  const t = kit._t;
  const tile = m.tile;
  const showVideo = m.local ? s.camOn : m.hasVideo && s.mediaType === MediaType.VIDEO;
  tile.classList.toggle('no-video', !showVideo);
  tile.classList.toggle('muted-mic', m.local ? !s.micOn : !m.audio);
  tile.classList.toggle('ringing', !m.joined);
  tile.classList.toggle('speaking', m.volume > 20);
  tile.classList.toggle('main', isMain);
  tile.dataset.ringing = t('ringing');
  const name = m.local ? t('you', { name: m.name }) : m.name;
  tile.querySelector('.name').textContent = name;
  tile.setAttribute('aria-label', name);
  const avatar = tile.querySelector('.avatar span');
  if (avatar.dataset.for !== m.name + m.avatar) {
    setAvatar(avatar, m.name, m.avatar);
    avatar.dataset.for = m.name + m.avatar;
  }
  const vol = tile.querySelector('.volume');
  vol.firstChild.style.width = `${m.volume}%`;
  vol.setAttribute('aria-valuenow', String(m.volume));
  vol.setAttribute('aria-label', t('volume', { v: m.volume }));
  const q = tile.querySelector('.quality');
  const bars = QUALITY_BARS[m.quality] || 0;
  q.querySelectorAll('i').forEach((bar, i) => bar.classList.toggle('lit', i < bars));
  q.classList.toggle('poor', m.quality === 3);
  q.classList.toggle('bad', m.quality >= 4);
  q.setAttribute('aria-label', t('quality', { q: t(`q${m.quality}`) }));
  q.dataset.quality = String(m.quality);
}

/** The invite panel's member list and the contacts not in the call. */
function renderMembers(kit) {
  const s = kit._s;
  const t = kit._t;
  const list = kit._ref.memberList;
  const key = [kit._lang, ...s.members.list().map((m) => `${m.userId}:${m.joined}`), ...kit.contacts.map((c) => c.userId)].join();
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.textContent = '';
  for (const m of s.members.list()) {
    const li = document.createElement('li');
    li.dataset.userId = m.userId;
    const name = document.createElement('span');
    name.textContent = m.local ? t('you', { name: m.name }) : m.name;
    const state = document.createElement('span');
    state.className = 'state';
    state.textContent = m.joined ? t('joined') : t('ringing');
    li.append(name, state);
    list.appendChild(li);
  }
  const contacts = kit._ref.contactList;
  contacts.textContent = '';
  for (const c of kit.contacts) {
    if (s.members.get(c.userId)) continue;
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.invite = c.userId;
    b.textContent = `+ ${c.nickname || c.userId}`;
    b.setAttribute('aria-label', `${t('inviteSend')} ${c.nickname || c.userId}`);
    contacts.appendChild(b);
  }
}
