// Parley engine lab (/lab/): the SDK without the call kit, which the engine's browser
// tests drive. Sign in, call a user (or several: a group call) or join a room, and talk.
// Uses only the public SDK (/sdk/parley.js). window.parleyDemo exposes the engine and the
// received events for debugging (and for the browser tests). Options in the page's URL:
// ?earlyMedia=0 turns the SDK's early media off, ?startBitrateKbps=N sets the SDK's
// startBitrateKbps (for comparing accept → first frame), ?ringingPreview=1 turns the SDK's
// ringingPreview on (the camera opens while a video call rings; the page shows it once the
// call is on).

import { ErrorCode, MediaType, NetworkQuality, ParleyCallEngine } from '/sdk/parley.js';
import { devPost, toast } from '../common.js';

const EVENTS = [
  'onSdkReady', 'onError', 'onKickedOffline', 'onUserSigExpired', 'onUserJoin', 'onUserLeave',
  'onUserVideoAvailable', 'onUserAudioAvailable', 'onUserVoiceVolumeChanged',
  'onUserNetworkQualityChanged', 'onServerDraining', 'onCallReceived', 'onCallCancelled',
  'onCallBegin', 'onCallEnd', 'onCallMediaTypeChanged', 'onUserAccept', 'onUserReject',
  'onUserNoResponse', 'onUserLineBusy', 'onGroupCallInviteeListUpdate', 'onConnectionStateChanged',
];
const MAX_EVENTS = 2000;
const MAX_LOG_LINES = 200;

const $ = (id) => document.getElementById(id);

const wsURL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const pageOptions = new URLSearchParams(location.search);
const engine = ParleyCallEngine.createInstance({
  url: wsURL,
  earlyMedia: pageOptions.get('earlyMedia') !== '0',
  ...(pageOptions.has('startBitrateKbps') ? { startBitrateKbps: Number(pageOptions.get('startBitrateKbps')) } : {}),
  ringingPreview: pageOptions.get('ringingPreview') === '1',
});

/** What the page shows: 'signin' | 'lobby' | 'incall'. */
const state = {
  view: 'signin',
  userId: '',
  voiceProcessing: true,
  /** in a call (callId) or a room (roomId) */
  callId: null,
  roomId: null,
  mediaType: MediaType.VIDEO,
  beganAt: 0,
  timer: 0,
  micOn: false,
  cameraOn: false,
  ringing: null,
  /** openDevices of the current call, once started (at accept, or at onCallBegin) */
  devices: null,
  /** users whose video this page asked for (startRemoteView) */
  viewing: new Set(),
};

const events = [];
window.parleyDemo = { engine, events, state };

// ---- views ----

function show(view) {
  state.view = view;
  $('signin').hidden = view !== 'signin';
  $('lobby').hidden = view !== 'lobby';
  $('incall').hidden = view !== 'incall';
  $('logout').hidden = view === 'signin';
}


function log(name, payload) {
  events.push({ name, payload, at: Date.now() });
  if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
  if (name === 'onUserVoiceVolumeChanged' || name === 'onUserNetworkQualityChanged') return; // too chatty for the list
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${name} ${JSON.stringify(payload)}`;
  const list = $('log');
  list.prepend(li);
  while (list.children.length > MAX_LOG_LINES) list.lastChild.remove();
}

function fail(err) {
  log('error', { code: err.code, message: err.message });
  toast(err.message || String(err));
}

// ---- sign in ----


const devUserSig = (userId) => devPost('/dev/usersig', { userId }, 'userSig');

/**
 * The room grant for joining roomId: pasted (servers without dev mode), or made by a
 * dev-mode server (/dev/roomgrant). undefined: none (an app with open_rooms needs none).
 */
async function roomGrantFor(roomId) {
  if (!$('room-grant').hidden) return $('room-grant').value.trim() || undefined;
  const res = await devPost('/dev/roomgrant', { userId: state.userId, roomId, rights: ['publish', 'subscribe'] }, 'room grant');
  return res ? res.roomGrant : undefined;
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const userId = $('user-id').value.trim();
  state.voiceProcessing = $('voice-processing').checked;
  $('signin-button').disabled = true;
  try {
    let creds;
    if ($('sig-fields').hidden) {
      creds = await devUserSig(userId);
      if (!creds) {
        $('sig-fields').hidden = false;
        toast('Paste a userSig for this server');
        return;
      }
    } else {
      creds = { sdkAppId: Number($('sdk-app-id').value), userSig: $('user-sig').value.trim() };
    }
    await engine.login({ sdkAppId: creds.sdkAppId, userId, userSig: creds.userSig });
    state.userId = userId;
    $('room-grant').hidden = $('sig-fields').hidden; // a pasted userSig goes with a pasted room grant
    $('me').textContent = userId;
    $('local-name').textContent = `${userId} (you)`;
    show('lobby');
  } catch (err) {
    fail(err);
  } finally {
    $('signin-button').disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  await leaveCallUI();
  await engine.logout().catch(fail);
  $('me').textContent = '';
  show('signin');
});

// ---- starting calls ----

$('call-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const mediaType = Number(ev.submitter ? ev.submitter.dataset.media : MediaType.VIDEO);
  const callees = $('callee').value.split(',').map((u) => u.trim()).filter((u) => u !== '');
  try {
    const res = callees.length === 1
      ? await engine.call({ userId: callees[0], mediaType })
      : await engine.calls({ userIdList: callees, mediaType });
    state.callId = res.callId;
    state.mediaType = mediaType;
    $('outgoing').textContent = `Calling ${callees.join(', ')}…`;
    $('outgoing').hidden = false;
    enterCallUI(`Call with ${callees.join(', ')}`, false);
    // Ask for their video now: it flows the moment they accept, without a round trip then.
    for (const userId of callees) viewRemote(userId);
  } catch (err) {
    fail(err);
  }
});

$('room-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const raw = $('room-id').value.trim();
  const roomId = /^[0-9]+$/.test(raw) ? Number(raw) : raw;
  try {
    await engine.joinRoom({ roomId, roomGrant: await roomGrantFor(roomId) });
    state.roomId = roomId;
    state.mediaType = MediaType.VIDEO;
    enterCallUI(`Room ${raw}`, true);
    await startDevices();
  } catch (err) {
    fail(err);
  }
});

// ---- ringing ----

engine.on('onCallReceived', (ev) => {
  state.ringing = ev;
  $('ring-caller').textContent = ev.callerNickname || ev.callerId;
  $('ring-kind').textContent = ev.mediaType === MediaType.AUDIO ? 'Audio call' : 'Video call';
  $('accept-audio').hidden = ev.mediaType === MediaType.AUDIO;
  $('ringing').showModal();
});

function closeRinging() {
  state.ringing = null;
  if ($('ringing').open) $('ringing').close();
}

async function answer(mediaType) {
  const ring = state.ringing;
  closeRinging();
  if (!ring) return;
  state.callId = ring.callId;
  state.mediaType = mediaType || ring.mediaType;
  const others = [ring.callerId, ...(ring.calleeIdList || [])].filter((u) => u !== state.userId);
  enterCallUI(`Call with ${others.join(', ')}`, false);
  try {
    // The user accepted: open the devices (not before: a ringing page keeps them off) and
    // ask for the others' video, all alongside the accept instead of after onCallBegin.
    const accepted = engine.accept(mediaType ? { mediaType } : undefined);
    for (const userId of others) viewRemote(userId);
    startDevices();
    await accepted;
  } catch (err) {
    fail(err);
    await leaveCallUI();
  }
}

$('accept').addEventListener('click', () => answer(0));
$('accept-audio').addEventListener('click', () => answer(MediaType.AUDIO));
$('reject').addEventListener('click', async () => {
  closeRinging();
  await engine.reject().catch(fail);
});

// ---- in the call ----

function enterCallUI(title, began) {
  $('call-title').textContent = title;
  $('call-duration').textContent = began ? '00:00' : 'ringing…';
  $('tile-local').classList.toggle('no-video', state.mediaType !== MediaType.VIDEO);
  $('to-audio').disabled = state.roomId !== null || state.mediaType !== MediaType.VIDEO;
  show('incall');
  if (began) startTimer();
}

function startTimer() {
  if (state.timer) return;
  state.beganAt = Date.now();
  const tick = () => {
    const s = Math.floor((Date.now() - state.beganAt) / 1000);
    $('call-duration').textContent = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  };
  tick();
  state.timer = setInterval(tick, 1000);
}

async function openDevices() {
  const mic = engine.openMicrophone({ audioProcessing: state.voiceProcessing }).then(() => { state.micOn = true; });
  const camera = state.mediaType === MediaType.VIDEO
    ? engine.openCamera({ element: $('local-video') }).then(() => { state.cameraOn = true; })
    : Promise.resolve();
  try {
    await Promise.all([mic, camera]);
  } finally {
    if (state.view !== 'incall') {
      // The call ended while the devices opened: close them again.
      if (state.cameraOn) await engine.closeCamera().catch(fail);
      if (state.micOn) await engine.closeMicrophone().catch(fail);
      state.cameraOn = state.micOn = false;
    }
    $('tile-local').classList.toggle('no-video', !state.cameraOn);
    syncButtons();
  }
}

/** Opens the devices once per call (at accept, or at onCallBegin for the caller). */
function startDevices() {
  if (!state.devices) state.devices = openDevices().catch(fail);
  return state.devices;
}

function syncButtons() {
  // Labels say what a press does (not the state, which could be read either way).
  $('toggle-mic').textContent = state.micOn ? 'Mute microphone' : 'Unmute microphone';
  $('toggle-mic').classList.toggle('off', !state.micOn);
  $('toggle-camera').textContent = state.cameraOn ? 'Turn camera off' : 'Turn camera on';
  $('toggle-camera').classList.toggle('off', !state.cameraOn);
  $('toggle-camera').disabled = state.mediaType !== MediaType.VIDEO;
  $('tile-local').classList.toggle('muted-mic', !state.micOn);
}

engine.on('onCallBegin', async (ev) => {
  state.callId = ev.callId;
  state.mediaType = ev.mediaType;
  $('outgoing').hidden = true;
  $('to-audio').disabled = ev.mediaType !== MediaType.VIDEO;
  startTimer();
  await startDevices();
});

async function leaveCallUI() {
  clearInterval(state.timer);
  state.timer = 0;
  state.callId = null;
  state.roomId = null;
  state.devices = null;
  state.viewing.clear();
  closeRinging();
  for (const tile of [...document.querySelectorAll('.tile.remote')]) tile.remove();
  if (state.cameraOn) await engine.closeCamera().catch(fail);
  if (state.micOn) await engine.closeMicrophone().catch(fail);
  state.cameraOn = state.micOn = false;
  $('outgoing').hidden = true;
  if (state.view === 'incall') show('lobby');
}

engine.on('onCallEnd', (ev) => {
  if (ev.callId !== state.callId) return;
  toast(`Call ended after ${ev.totalTime} s`);
  leaveCallUI();
});

engine.on('onCallCancelled', (ev) => {
  if (state.ringing && state.ringing.callId === ev.callId) {
    closeRinging();
    toast(`Missed call (${ev.reason})`);
    return;
  }
  if (ev.callId !== state.callId) return;
  toast(`Call not connected (${ev.reason})`);
  leaveCallUI();
});

for (const [name, text] of [['onUserReject', 'rejected'], ['onUserNoResponse', 'did not answer'], ['onUserLineBusy', 'is busy']]) {
  engine.on(name, (ev) => {
    toast(`${ev.userId} ${text}`);
    if (ev.callId !== state.callId) return;
    // In a group call that goes on: that user's tile and video wish go.
    const tile = document.getElementById(`tile-${ev.userId}`);
    if (tile) tile.remove();
    if (state.viewing.delete(ev.userId)) engine.stopRemoteView({ userId: ev.userId }).catch(() => {});
  });
}

$('hangup').addEventListener('click', async () => {
  try {
    if (state.roomId !== null && state.callId === null) await engine.leaveRoom();
    else await engine.hangup();
  } catch (err) {
    fail(err);
  }
  await leaveCallUI();
});

$('toggle-mic').addEventListener('click', async () => {
  try {
    if (state.micOn) await engine.closeMicrophone();
    else await engine.openMicrophone({ audioProcessing: state.voiceProcessing });
    state.micOn = !state.micOn;
  } catch (err) {
    fail(err);
  }
  syncButtons();
});

$('toggle-camera').addEventListener('click', async () => {
  try {
    if (state.cameraOn) await engine.closeCamera();
    else await engine.openCamera({ element: $('local-video') });
    state.cameraOn = !state.cameraOn;
  } catch (err) {
    fail(err);
  }
  $('tile-local').classList.toggle('no-video', !state.cameraOn);
  syncButtons();
});

$('to-audio').addEventListener('click', () => {
  engine.switchCallMediaType(MediaType.AUDIO).catch(fail);
});

engine.on('onCallMediaTypeChanged', (ev) => {
  state.mediaType = ev.newMediaType;
  if (ev.newMediaType === MediaType.AUDIO) {
    state.cameraOn = false; // the SDK closes the camera
    $('tile-local').classList.add('no-video');
    for (const tile of document.querySelectorAll('.tile.remote')) tile.classList.add('no-video');
    $('to-audio').disabled = true;
    toast('Switched to an audio call');
  }
  syncButtons();
});

// ---- remote users ----

function tileFor(userId) {
  let tile = document.getElementById(`tile-${userId}`);
  if (tile) return tile;
  tile = $('tile-local').cloneNode(true);
  tile.id = `tile-${userId}`;
  tile.classList.remove('local', 'muted-mic');
  tile.classList.add('remote', 'no-video');
  tile.dataset.userId = userId;
  const video = tile.querySelector('video');
  video.removeAttribute('id');
  video.srcObject = null;
  tile.querySelector('.name').removeAttribute('id');
  tile.querySelector('.name').textContent = userId;
  tile.querySelector('.avatar').textContent = userId.slice(0, 2).toUpperCase();
  tile.querySelector('.volume-level').style.width = '0';
  for (const bar of tile.querySelectorAll('.quality i')) bar.classList.remove('lit');
  $('grid').appendChild(tile);
  return tile;
}

engine.on('onUserJoin', (ev) => {
  tileFor(ev.userId);
});

engine.on('onUserLeave', (ev) => {
  state.viewing.delete(ev.userId);
  const tile = document.getElementById(`tile-${ev.userId}`);
  if (tile) tile.remove();
});

/**
 * Shows userId's tile and, in a video call, asks for its video (once): the SDK keeps the
 * wish until the call's media starts, so the video flows as soon as the user publishes.
 */
function viewRemote(userId) {
  const tile = tileFor(userId);
  if (state.mediaType !== MediaType.VIDEO || state.viewing.has(userId)) return;
  state.viewing.add(userId);
  engine.startRemoteView({ userId, element: tile.querySelector('video') }).catch(fail);
}

engine.on('onUserVideoAvailable', async (ev) => {
  // A track event after onCallEnd (the server sent the others' tracks going away then,
  // before D240) finds the call's tiles gone, and they stay gone.
  if (state.view !== 'incall') return;
  const tile = tileFor(ev.userId);
  tile.classList.toggle('no-video', !ev.isVideoAvailable);
  if (ev.isVideoAvailable) {
    viewRemote(ev.userId);
    return;
  }
  if (!state.viewing.delete(ev.userId)) return;
  // The other side hanging up turns its camera off as its call ends: this request can
  // reach the server after the call ended for us too ("not in a room"), which is no error.
  await engine.stopRemoteView({ userId: ev.userId }).catch((err) => { if (err.code !== ErrorCode.NOT_IN_ROOM) fail(err); });
});

engine.on('onUserAudioAvailable', (ev) => {
  if (state.view !== 'incall') return;
  tileFor(ev.userId).classList.toggle('muted-mic', !ev.isAudioAvailable);
});

function tileOrLocal(userId) {
  return userId === state.userId ? $('tile-local') : document.getElementById(`tile-${userId}`);
}

engine.on('onUserVoiceVolumeChanged', (ev) => {
  for (const [userId, volume] of Object.entries(ev.volumeMap || {})) {
    const tile = tileOrLocal(userId);
    if (tile) tile.querySelector('.volume-level').style.width = `${Math.max(0, Math.min(100, volume))}%`;
  }
});

engine.on('onUserNetworkQualityChanged', (ev) => {
  for (const { userId, quality } of ev.networkQualityList || []) {
    const tile = tileOrLocal(userId);
    if (!tile) continue;
    const meter = tile.querySelector('.quality');
    // 1 excellent → 5 bars … 5 very bad → 1 bar; 6 down and 0 unknown → none.
    const bars = quality >= NetworkQuality.EXCELLENT && quality <= NetworkQuality.VERY_BAD ? 6 - quality : 0;
    meter.querySelectorAll('i').forEach((bar, i) => bar.classList.toggle('lit', i < bars));
    meter.classList.toggle('poor', quality === NetworkQuality.POOR);
    meter.classList.toggle('bad', quality >= NetworkQuality.BAD);
    meter.title = `network quality: ${['unknown', 'excellent', 'good', 'poor', 'bad', 'very bad', 'down'][quality] || quality}`;
  }
});

// ---- session ----

engine.on('onConnectionStateChanged', (ev) => {
  const el = $('connection');
  el.textContent = ev.state === 'connected' ? 'online' : ev.state;
  el.className = `pill ${ev.state === 'connected' ? 'pill-on' : ev.state === 'reconnecting' ? 'pill-wait' : 'pill-off'}`;
});

engine.on('onKickedOffline', () => {
  toast('Signed in elsewhere');
  leaveCallUI();
  show('signin');
});

engine.on('onUserSigExpired', () => toast('Your userSig expired: sign in again'));
engine.on('onServerDraining', () => toast('The server is restarting: new calls will fail for a moment'));
engine.on('onError', (ev) => toast(`Error ${ev.code}: ${ev.message}`));

for (const name of EVENTS) engine.on(name, (payload) => log(name, payload));

show('signin');
