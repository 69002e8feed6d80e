// @ts-check
// What the example pages share: element lookup and their login and dial forms. A page has
// an empty <form id="login"> and <form id="dial" hidden>; wireForms fills and wires them.
// (An app's own page has its own forms; the userSig comes from the app's backend.)

import { MediaType } from '@parley-rtc/sdk';

/** @param {string} id @returns {HTMLElement} */
export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no #${id}`);
  return el;
}

/** @param {string} id @returns {string} */
export function inputValue(id) {
  return /** @type {HTMLInputElement} */ ($(id)).value.trim();
}

/**
 * Fills the login and dial forms; login logs engine in and calls loggedIn with the user,
 * then shows the dial form, whose buttons call dial with the callee and the media type.
 * @param {import('@parley-rtc/sdk').ParleyCallEngine} engine
 * @param {{loggedIn?: (userId: string) => void, dial: (callee: string, mediaType: import('@parley-rtc/sdk').MediaType) => Promise<unknown>}} hooks
 */
export function wireForms(engine, hooks) {
  $('login').innerHTML = `<fieldset>
      <legend>Log in (the userSig comes from your backend, or <code>parley token</code>)</legend>
      <label>SDKAppID <input id="sdk-app-id" type="number" required value="1400000001"></label>
      <label>User <input id="user-id" required autocomplete="off"></label>
      <label>userSig <input id="user-sig" required autocomplete="off"></label>
      <button>Log in</button>
    </fieldset>`;
  $('dial').innerHTML = `<fieldset>
      <legend>Call</legend>
      <label>User <input id="callee" required autocomplete="off"></label>
      <button id="call-video" value="2">Video call</button>
      <button id="call-audio" value="1">Audio call</button>
    </fieldset>`;
  $('login').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const userId = inputValue('user-id');
    await engine.login({ sdkAppId: Number(inputValue('sdk-app-id')), userId, userSig: inputValue('user-sig') });
    if (hooks.loggedIn) hooks.loggedIn(userId);
    $('login').hidden = true;
    $('dial').hidden = false;
  });
  $('dial').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const submitter = /** @type {SubmitEvent} */ (ev).submitter;
    await hooks.dial(inputValue('callee'), submitter && submitter.id === 'call-audio' ? MediaType.AUDIO : MediaType.VIDEO);
  });
}
