// Parley demo page, built on the call kit (/kit/parley-call-kit.js): sign in, keep a list
// of people, call one (1v1) or several (group call), see the call history. The kit does
// the ringing, the call screens and the devices; this page only starts calls and keeps
// its lobby. window.parleyDemo exposes the engine, the kit and the received events (for
// debugging and the browser tests). ?earlyMedia=0 turns the SDK's early media off.

import { MediaType, ParleyCallEngine } from '/sdk/parley.js';
import { devPost, toast } from './common.js';
import '/kit/parley-call-kit.js';

const EVENTS = [
  'onSdkReady', 'onError', 'onKickedOffline', 'onUserSigExpired', 'onUserJoin', 'onUserLeave',
  'onUserVideoAvailable', 'onUserAudioAvailable', 'onServerDraining', 'onCallReceived', 'onCallCancelled',
  'onCallBegin', 'onCallEnd', 'onCallMediaTypeChanged', 'onUserAccept', 'onUserReject',
  'onUserNoResponse', 'onUserLineBusy', 'onGroupCallInviteeListUpdate', 'onConnectionStateChanged',
];
const MAX_EVENTS = 2000;
const MAX_PEOPLE = 50;
const PEOPLE_KEY = 'parley-demo-people';
const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The page's own texts (the kit translates itself). */
const TEXTS = {
  en: {
    language: 'Language', offline: 'offline', online: 'online', reconnecting: 'reconnecting', disconnected: 'disconnected',
    signOut: 'Sign out', signIn: 'Sign in', userId: 'User ID', nickname: 'Nickname (optional)',
    pasteSig: 'This server does not issue development userSigs: paste one made by your backend.',
    voiceProcessing: 'Voice processing (echo cancellation, noise suppression, gain control)',
    lab: 'Engine lab: the SDK without the call kit', people: 'People', addPerson: 'Add a person by user ID', add: 'Add',
    peopleEmpty: 'Add the user IDs of people to call.', groupVideo: 'Group video call', groupAudio: 'Group audio call',
    settings: 'Call settings', muteMode: 'Mute mode (no ringtone)', banner: 'Incoming calls as a banner',
    floatWindow: 'Allow minimizing a call', videoCall: 'Video call {name}', audioCall: 'Audio call {name}',
    select: 'Select {name} for a group call', remove: 'Remove {name}', video: 'Video', audio: 'Audio',
  },
  'zh-cn': {
    language: '语言', offline: '离线', online: '在线', reconnecting: '重连中', disconnected: '已断开',
    signOut: '退出登录', signIn: '登录', userId: '用户 ID', nickname: '昵称（可选）',
    pasteSig: '此服务器不签发开发用 userSig：请粘贴由你的后台生成的 userSig。',
    voiceProcessing: '语音处理（回声消除、降噪、自动增益）',
    lab: '引擎实验页：不带通话组件的 SDK', people: '联系人', addPerson: '按用户 ID 添加联系人', add: '添加',
    peopleEmpty: '添加要呼叫的用户 ID。', groupVideo: '群组视频通话', groupAudio: '群组语音通话',
    settings: '通话设置', muteMode: '静音模式（无铃声）', banner: '来电以横幅显示',
    floatWindow: '允许最小化通话', videoCall: '视频呼叫 {name}', audioCall: '语音呼叫 {name}',
    select: '选择 {name} 加入群组通话', remove: '删除 {name}', video: '视频', audio: '语音',
  },
};

const $ = (id) => document.getElementById(id);
const wsURL = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const pageOptions = new URLSearchParams(location.search);
const engine = ParleyCallEngine.createInstance({ url: wsURL, earlyMedia: pageOptions.get('earlyMedia') !== '0' });
const kit = $('kit');
const history = $('history');

const state = { view: 'signin', userId: '', lang: 'en', people: [], selected: new Set(), connection: 'offline' };
const events = [];
window.parleyDemo = { engine, kit, history, events, state };

const t = (key, vars) => {
  let s = (TEXTS[state.lang] || TEXTS.en)[key] || TEXTS.en[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replaceAll(`{${k}}`, v);
  return s;
};

function show(view) {
  state.view = view;
  $('signin').hidden = view !== 'signin';
  $('lobby').hidden = view !== 'lobby';
  $('logout').hidden = view === 'signin';
}


function fail(err) {
  toast((err && err.message) || String(err));
}

// ---- language ----

function setLanguage(lang) {
  state.lang = lang;
  document.documentElement.lang = lang === 'zh-cn' ? 'zh-CN' : 'en';
  $('language').value = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  $('connection').textContent = t(state.connection);
  kit.setLanguage(lang);
  history.setLanguage(lang);
  renderPeople();
}

$('language').addEventListener('change', () => setLanguage($('language').value));

// ---- sign in ----


$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const userId = $('user-id').value.trim();
  const nickname = $('nickname').value.trim();
  $('signin-button').disabled = true;
  try {
    let creds;
    if ($('sig-fields').hidden) {
      creds = await devPost('/dev/usersig', { userId }, 'userSig');
      if (!creds) {
        $('sig-fields').hidden = false;
        return;
      }
    } else {
      creds = { sdkAppId: Number($('sdk-app-id').value), userSig: $('user-sig').value.trim() };
    }
    await engine.login({ sdkAppId: creds.sdkAppId, userId, userSig: creds.userSig });
    if (nickname) await engine.setSelfInfo({ nickname });
    state.userId = userId;
    $('me').textContent = nickname ? `${nickname} (${userId})` : userId;
    kit.init({ engine, userId, nickname, audioProcessing: $('voice-processing').checked });
    history.init({ engine, userId });
    loadPeople();
    applySettings();
    show('lobby');
    await refreshHistory();
  } catch (err) {
    fail(err);
  } finally {
    $('signin-button').disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  await kit.hangup().catch(() => {});
  kit.detach();
  await engine.logout().catch(fail);
  $('me').textContent = '';
  show('signin');
});

// ---- people ----

function loadPeople() {
  let saved = [];
  try {
    saved = JSON.parse(localStorage.getItem(`${PEOPLE_KEY}:${state.userId}`) || '[]');
  } catch {
    saved = [];
  }
  state.people = (Array.isArray(saved) ? saved : []).filter((u) => typeof u === 'string' && USER_ID.test(u)).slice(0, MAX_PEOPLE);
  state.selected.clear();
  renderPeople();
}

function addPeople(userIds) {
  let changed = false;
  for (const u of userIds) {
    if (!USER_ID.test(u) || u === state.userId || state.people.includes(u)) continue;
    state.people.unshift(u);
    changed = true;
  }
  if (!changed) return;
  state.people = state.people.slice(0, MAX_PEOPLE);
  localStorage.setItem(`${PEOPLE_KEY}:${state.userId}`, JSON.stringify(state.people));
  renderPeople();
}

function removePerson(userId) {
  state.people = state.people.filter((u) => u !== userId);
  state.selected.delete(userId);
  localStorage.setItem(`${PEOPLE_KEY}:${state.userId}`, JSON.stringify(state.people));
  renderPeople();
}

function smallButton(text, aria, onClick, primary) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `btn btn-small${primary ? ' btn-primary' : ''}`;
  b.textContent = text;
  b.setAttribute('aria-label', aria);
  b.addEventListener('click', onClick);
  return b;
}

function renderPeople() {
  const list = $('people');
  list.textContent = '';
  for (const userId of state.people) {
    const li = document.createElement('li');
    li.dataset.userId = userId;
    const who = document.createElement('label');
    who.className = 'who';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = state.selected.has(userId);
    box.setAttribute('aria-label', t('select', { name: userId }));
    box.addEventListener('change', () => {
      if (box.checked) state.selected.add(userId);
      else state.selected.delete(userId);
      syncGroupButtons();
    });
    who.append(box, document.createTextNode(userId));
    li.append(who,
      smallButton(t('video'), t('videoCall', { name: userId }), () => call([userId], MediaType.VIDEO), true),
      smallButton(t('audio'), t('audioCall', { name: userId }), () => call([userId], MediaType.AUDIO)),
      smallButton('×', t('remove', { name: userId }), () => removePerson(userId)));
    list.appendChild(li);
  }
  $('people-empty').hidden = state.people.length > 0;
  kit.contacts = state.people.map((userId) => ({ userId }));
  syncGroupButtons();
}

function syncGroupButtons() {
  const n = [...state.selected].filter((u) => state.people.includes(u)).length;
  $('group-video').disabled = n < 2;
  $('group-audio').disabled = n < 2;
}

$('add-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  addPeople($('add-user').value.split(',').map((u) => u.trim()));
  $('add-user').value = '';
});

/** Calls userIds: one is a 1v1 call, several a group call. */
async function call(userIds, type) {
  try {
    if (userIds.length === 1) await kit.call({ userId: userIds[0], type });
    else await kit.groupCall({ userIdList: userIds, type });
  } catch (err) {
    fail(err);
  }
}

$('group-video').addEventListener('click', () => call([...state.selected], MediaType.VIDEO));
$('group-audio').addEventListener('click', () => call([...state.selected], MediaType.AUDIO));

// ---- kit settings and history ----

function applySettings() {
  kit.enableMuteMode($('mute-mode').checked);
  kit.enableIncomingBanner($('banner').checked);
  kit.enableFloatWindow($('float-window').checked);
}
for (const id of ['mute-mode', 'banner', 'float-window']) $(id).addEventListener('change', applySettings);

async function refreshHistory() {
  try {
    await history.refresh();
    const others = history.records.flatMap((r) => [r.caller, ...(r.invitees || [])]).filter((u) => u !== state.userId);
    addPeople([...new Set(others)].reverse());
  } catch (err) {
    fail(err);
  }
}

kit.addEventListener('kitError', (ev) => events.push({ name: 'kitError', payload: ev.detail, at: Date.now() }));
history.addEventListener('callback', (ev) => call(ev.detail.userIdList, ev.detail.type));
kit.addEventListener('afterCalling', () => refreshHistory());
kit.addEventListener('beforeCalling', (ev) => addPeople(ev.detail.userIdList));

// ---- session ----

engine.on('onConnectionStateChanged', (ev) => {
  state.connection = ev.state === 'connected' ? 'online' : ev.state;
  const el = $('connection');
  el.textContent = t(state.connection);
  el.className = `pill ${ev.state === 'connected' ? 'pill-on' : ev.state === 'reconnecting' ? 'pill-wait' : 'pill-off'}`;
});
engine.on('onKickedOffline', () => { toast('Signed in elsewhere'); show('signin'); });
engine.on('onUserSigExpired', () => toast('Your userSig expired: sign in again'));
engine.on('onError', (ev) => toast(`Error ${ev.code}: ${ev.message}`));

for (const name of EVENTS) {
  engine.on(name, (payload) => {
    events.push({ name, payload, at: Date.now() });
    if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
  });
}

const browserLang = (navigator.language || '').toLowerCase().startsWith('zh') ? 'zh-cn' : 'en';
setLanguage(pageOptions.get('lang') === 'zh-cn' ? 'zh-cn' : browserLang);
show('signin');
