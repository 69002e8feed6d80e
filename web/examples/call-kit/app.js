// @ts-check
// A page on the app's own origin with the Parley call kit dropped in: the SDK's engine and
// <parley-call-kit>, both through the import map of index.html. Checked by tsc against the
// SDK's and the kit's declarations (web/tsc_test.go). window.parleyExample (also
// window.parleyDemo, the name the kit tests read) exposes the engine, the kit and the
// events both reported, for the tests.

import { ParleyCallEngine, MediaType } from '@parley-rtc/sdk';
import '@parley-rtc/kit'; // defines <parley-call-kit> and <parley-call-history>

/** @typedef {import('@parley-rtc/sdk').EngineEventName} EngineEventName */

/** @param {string} id @returns {HTMLElement} */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no #${id}`);
  return el;
}

/** @param {string} id @returns {string} */
function inputValue(id) {
  return /** @type {HTMLInputElement} */ ($(id)).value.trim();
}

const server = new URL(/** @type {any} */ (window).parleyServer || 'http://127.0.0.1:7880');
const engine = ParleyCallEngine.createInstance({ url: `${server.protocol === 'https:' ? 'wss:' : 'ws:'}//${server.host}/ws` });
const kit = document.querySelector('parley-call-kit');
if (!kit) throw new Error('no <parley-call-kit>');

/** @type {{name: string, payload: unknown}[]} */
const events = [];
/** @type {EngineEventName[]} */
const recorded = ['onSdkReady', 'onError', 'onCallReceived', 'onCallBegin', 'onCallEnd', 'onCallStatusChanged'];
for (const name of recorded) engine.on(name, (payload) => events.push({ name, payload }));

/** Shows an error of the kit or the engine, and records it. @param {string} message */
function toast(message) {
  $('toast').textContent = message;
  $('toast').hidden = false;
}
kit.addEventListener('kitError', (ev) => {
  events.push({ name: 'kitError', payload: ev.detail });
  toast(ev.detail.message);
});
engine.on('onError', (/** @type {{message: string}} */ ev) => toast(ev.message));
kit.addEventListener('statusChanged', (ev) => events.push({ name: 'statusChanged', payload: ev.detail }));

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const userId = inputValue('user-id');
  await engine.login({ sdkAppId: Number(inputValue('sdk-app-id')), userId, userSig: inputValue('user-sig') });
  kit.init({ engine, userId });
  $('login').hidden = true;
  $('dial').hidden = false;
});

$('dial').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const submitter = /** @type {SubmitEvent} */ (ev).submitter;
  const type = submitter && submitter.id === 'call-audio' ? MediaType.AUDIO : MediaType.VIDEO;
  await kit.call({ userId: inputValue('callee'), type });
});

/** @type {any} */ (window).parleyExample = /** @type {any} */ (window).parleyDemo = { engine, kit, events };
