// The shadow DOM of <parley-call-kit>: its static markup and the tiles. Text is set with
// textContent (never markup from a caller), labels are filled in by the element's render.

import { icon } from './icons.js';

/**
 * A control button: icon plus a visible label; data-action names what it does and
 * aria-label says the action (set by render).
 */
function button(action, iconName, extra = '') {
  return `<button type="button" class="btn ${extra}" data-action="${action}"><span class="icon">${icon(iconName)}</span><span class="label"></span></button>`;
}

export const TEMPLATE = `
<div class="sr-only" role="status" aria-live="polite" data-ref="live"></div>
<div class="toast" data-ref="toast" role="alert" hidden></div>
<section class="banner" data-ref="banner" role="alertdialog" aria-labelledby="banner-name" aria-describedby="banner-kind" hidden>
  <div class="avatar-big" data-ref="bannerAvatar"></div>
  <div class="text"><strong id="banner-name" data-ref="bannerName"></strong><span id="banner-kind" data-ref="bannerKind"></span></div>
  ${button('reject', 'hangup', 'danger')}
  ${button('accept', 'accept', 'accept')}
</section>
<section class="screen incoming" data-ref="incoming" role="dialog" aria-modal="true" aria-labelledby="in-name" aria-describedby="in-kind" hidden>
  <div class="avatar-big" data-ref="inAvatar"></div>
  <h2 id="in-name" data-ref="inName"></h2>
  <p id="in-kind" data-ref="inKind"></p>
  <div class="answer-row">
    ${button('reject', 'hangup', 'danger')}
    ${button('answerVoice', 'audio')}
    ${button('accept', 'accept', 'accept')}
  </div>
</section>
<section class="screen call" data-ref="call" role="region" aria-labelledby="call-title" hidden>
  <div class="top">
    <span class="title" id="call-title" data-ref="title"></span>
    <span class="duration" data-ref="duration" role="timer" aria-live="off"></span>
    <button type="button" class="icon-btn" data-action="layout"></button>
    <button type="button" class="icon-btn" data-action="fullscreen"></button>
    <button type="button" class="icon-btn" data-action="minimize">${icon('minimize')}</button>
  </div>
  <div class="stage" data-ref="stage">
    <div class="dialing-info" data-ref="dialing">
      <div class="avatars" data-ref="dialingAvatars"></div>
      <div class="who" data-ref="dialingWho"></div>
      <div class="what" data-ref="dialingWhat"></div>
    </div>
  </div>
  <div class="controls" role="toolbar" data-ref="controls">
    ${button('mic', 'mic')}
    ${button('camera', 'cam')}
    ${button('speaker', 'speaker')}
    ${button('switchCamera', 'switchCam')}
    ${button('devices', 'settings')}
    ${button('toAudio', 'audio')}
    ${button('toVideo', 'cam')}
    ${button('invite', 'addUser')}
    ${button('hangup', 'hangup', 'danger')}
  </div>
  <div class="panel" data-ref="devicePanel" role="dialog" aria-labelledby="dev-title" hidden>
    <h3><span id="dev-title" data-ref="devTitle"></span><button type="button" class="icon-btn" data-action="closeDevices">${icon('close')}</button></h3>
    <label><span data-ref="camLabel"></span><select data-device="videoinput"></select></label>
    <label><span data-ref="micLabel"></span><select data-device="audioinput"></select></label>
    <label><span data-ref="spkLabel"></span><select data-device="audiooutput"></select></label>
  </div>
  <div class="panel" data-ref="invitePanel" role="dialog" aria-labelledby="inv-title" hidden>
    <h3><span id="inv-title" data-ref="invTitle"></span><button type="button" class="icon-btn" data-action="closeInvite">${icon('close')}</button></h3>
    <ul data-ref="memberList"></ul>
    <div class="contacts" data-ref="contactList"></div>
    <form data-ref="inviteForm"><input data-ref="inviteInput" autocomplete="off"><button class="text-btn" type="submit" data-ref="inviteSend"></button></form>
  </div>
</section>
<section class="mini" data-ref="mini" tabindex="0" role="group" hidden>
  <div class="mini-bar"><span class="duration" data-ref="miniDuration"></span>
    <button type="button" class="icon-btn" data-action="restore">${icon('restore')}</button></div>
  <div class="tile"><video data-ref="miniVideo" muted playsinline autoplay></video><div class="avatar"><span data-ref="miniAvatar"></span></div></div>
</section>
`;

/** Fills el with an avatar: the image at url (http(s) or data:) or the name's initials. */
export function setAvatar(el, name, url) {
  el.textContent = '';
  if (url && /^(https?:|data:image\/)/.test(url)) {
    const img = document.createElement('img');
    img.alt = '';
    img.src = url;
    el.appendChild(img);
    return;
  }
  el.textContent = initials(name);
}

/** Up to two initials of a name (its first characters for one word, e.g. Chinese). */
export function initials(name) {
  const words = String(name || '?').trim().split(/[\s_.-]+/).filter(Boolean);
  if (words.length >= 2) return (words[0][0] + words[1][0]).toUpperCase();
  return Array.from(words[0] || '?').slice(0, 2).join('').toUpperCase();
}

/**
 * A video tile: video, avatar (shown without video), and an info bar with the name, a
 * microphone-off mark, a volume meter and network-quality bars.
 * @param {string} userId
 * @param {boolean} local
 * @returns {HTMLElement}
 */
export function createTile(userId, local) {
  const tile = document.createElement('div');
  tile.className = `tile no-video${local ? ' local' : ''}`;
  tile.dataset.userId = userId;
  tile.setAttribute('role', 'group');
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  const avatar = document.createElement('div');
  avatar.className = 'avatar';
  avatar.appendChild(document.createElement('span'));
  const info = document.createElement('div');
  info.className = 'info';
  info.innerHTML = '<span class="name"></span><span class="mic-off" aria-hidden="true">' +
    '<svg viewBox="0 0 24 24" width="14" height="14" fill="none" stroke="currentColor" stroke-width="2"><path d="M4 4l16 16"/><rect x="9" y="3" width="6" height="11" rx="3"/></svg></span>' +
    '<span class="volume" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><i></i></span>' +
    '<span class="quality" role="img"><i></i><i></i><i></i><i></i></span>';
  tile.append(video, avatar, info);
  return tile;
}
