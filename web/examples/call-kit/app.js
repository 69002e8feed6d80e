// @ts-check
// A page on the app's own origin with the Parley call kit dropped in: the SDK's engine and
// <parley-call-kit>, both through the import map of index.html. Checked by tsc against the
// SDK's and the kit's declarations (web/tsc_test.go). window.parleyExample (also
// window.parleyDemo, the name the kit tests read) exposes the engine, the kit and the
// events both reported, for the tests.

import { ParleyCallEngine } from '@parley-rtc/sdk';
import '@parley-rtc/kit'; // defines <parley-call-kit> and <parley-call-history>
import { $, wireForms } from '../shared/forms.js';

/** @typedef {import('@parley-rtc/sdk').EngineEventName} EngineEventName */

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

wireForms(engine, {
  loggedIn: (userId) => kit.init({ engine, userId }),
  dial: (userId, type) => kit.call({ userId, type }),
});

/** @type {any} */ (window).parleyExample = /** @type {any} */ (window).parleyDemo = { engine, kit, events };
