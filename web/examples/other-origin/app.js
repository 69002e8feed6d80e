// @ts-check
// A minimal 1v1 call page on the app's own origin, using the Parley SDK through the import
// map of index.html. Checked by tsc against the SDK's declarations (web/tsc_test.go).
// window.parleyExample exposes the engine and the events it got, for the tests.

import { ParleyCallEngine, MediaType, CallStatus } from '@parley-rtc/sdk';
import { $, wireForms } from '../shared/forms.js';

/** @typedef {import('@parley-rtc/sdk').EngineEventName} EngineEventName */

/** @param {string} id @param {string} text */
function show(id, text) {
  $(id).textContent = text;
}

const server = new URL(/** @type {any} */ (window).parleyServer || 'http://127.0.0.1:7880');
const wsURL = `${server.protocol === 'https:' ? 'wss:' : 'ws:'}//${server.host}/ws`;
const engine = ParleyCallEngine.createInstance({ url: wsURL });

/** @type {{name: string, payload: unknown}[]} */
const events = [];
/** @type {EngineEventName[]} */
const recorded = [
  'onSdkReady', 'onError', 'onCallReceived', 'onCallBegin', 'onCallEnd', 'onCallCancelled',
  'onUserVideoAvailable', 'onCallStatusChanged', 'onDeviceListUpdated', 'onConnectionStateChanged',
];
for (const name of recorded) engine.on(name, (payload) => events.push({ name, payload }));

engine.on('onConnectionStateChanged', ({ state }) => show('connection', state));
engine.on('onError', ({ code, message }) => console.warn('parley error', code, message));

engine.on('onCallStatusChanged', ({ status }) => {
  show('status', status);
  $('dial').hidden = status !== CallStatus.IDLE;
  $('call').hidden = status === CallStatus.IDLE;
  if (status !== CallStatus.WAITING) $('incoming').hidden = true;
});

/** The user on the other side of the current call. */
let peer = '';

engine.on('onCallReceived', ({ callerId, callerNickname }) => {
  peer = callerId;
  show('caller', callerNickname || callerId);
  $('incoming').hidden = false;
  /** @type {HTMLButtonElement} */ ($('accept')).focus();
});

engine.on('onCallBegin', async ({ mediaType }) => {
  await engine.openMicrophone();
  if (mediaType === MediaType.VIDEO) await engine.openCamera({ element: 'local' });
});

engine.on('onUserVideoAvailable', ({ userId, isVideoAvailable }) => {
  if (!isVideoAvailable || userId !== peer) return;
  engine.startRemoteView({
    userId,
    element: 'remote',
    callback: {
      onLoading: (ev) => viewState('loading', ev),
      onPlaying: (ev) => viewState('playing', ev),
      onError: (ev) => viewState(`error: ${ev.message}`, ev),
    },
  }).catch((/** @type {Error} */ err) => console.warn('startRemoteView', err.message));
});

/**
 * Shows the remote view's playback state (and records it as an event 'view').
 * @param {string} state
 * @param {{userId: string}} ev
 */
function viewState(state, ev) {
  show('view-state', state);
  events.push({ name: 'view', payload: { state, userId: ev.userId } });
}

engine.on('onCallEnd', () => {
  engine.closeCamera();
  engine.closeMicrophone();
  show('view-state', '–');
});

wireForms(engine, {
  dial: (callee, mediaType) => {
    peer = callee;
    return engine.calls({ userIdList: [peer], mediaType, timeout: 30 });
  },
});

$('accept').addEventListener('click', () => engine.accept());
$('reject').addEventListener('click', () => engine.reject());
$('hangup').addEventListener('click', () => engine.hangup());

/** @type {any} */ (window).parleyExample = { engine, events };
