// Strings of <parley-call-kit>, by language. Labels of buttons say the action the button
// takes ("Turn camera off"), never a state that could be read either way.

/** @type {Record<string, Record<string, string>>} */
export const STRINGS = {
  en: {
    incomingVideo: 'Video call', incomingAudio: 'Audio call', incomingGroup: 'Group call',
    isCalling: '{name} is calling you', invitedBy: '{name} invites you to a group call',
    accept: 'Accept', answerVoice: 'Answer with voice', reject: 'Reject', hangup: 'Hang up', cancel: 'Cancel call',
    calling: 'Calling {name}…', waiting: 'Waiting for others to answer…', connected: 'Call connected',
    micOff: 'Mute microphone', micOn: 'Unmute microphone',
    camOff: 'Turn camera off', camOn: 'Turn camera on',
    speakerOff: 'Mute speaker', speakerOn: 'Unmute speaker',
    switchCamera: 'Switch camera', devices: 'Choose devices', closeDevices: 'Close device settings',
    toAudio: 'Switch to audio call', toVideo: 'Switch to video call', invite: 'Add people', closeInvite: 'Close the member list',
    minimize: 'Minimize call', restore: 'Restore call',
    fullscreen: 'Enter full screen', exitFullscreen: 'Exit full screen',
    gridView: 'Show everyone in a grid', speakerView: 'Show the active speaker',
    camera: 'Camera', microphone: 'Microphone', speaker: 'Speaker',
    members: 'Members', joined: 'in the call', ringing: 'ringing…', you: '{name} (you)',
    inviteHint: 'User IDs, comma-separated', inviteSend: 'Invite',
    noVideo: 'Camera off', micMuted: 'microphone off',
    quality: 'Network: {q}', q0: 'unknown', q1: 'excellent', q2: 'good', q3: 'poor', q4: 'bad', q5: 'very bad', q6: 'down',
    volume: 'Volume {v}%',
    ended: 'Call ended', rejected: '{name} rejected the call', noResponse: '{name} did not answer',
    busy: '{name} is busy', cancelled: 'Call cancelled', missed: 'Missed call from {name}',
    duration: 'Call duration {t}', dragHint: 'Drag to move; press Enter to restore',
    history: 'Recent calls', historyEmpty: 'No calls yet', refresh: 'Refresh',
    callBack: 'Call {name} back', outgoing: 'Outgoing', incoming: 'Incoming', missedShort: 'Missed',
    videoShort: 'video', audioShort: 'audio', deleteRecord: 'Delete this call from the history',
    errorPrefix: 'Error: {message}', bannerTitle: 'Incoming call',
  },
  'zh-cn': {
    incomingVideo: '视频通话', incomingAudio: '语音通话', incomingGroup: '群组通话',
    isCalling: '{name} 邀请你通话', invitedBy: '{name} 邀请你加入群组通话',
    accept: '接听', answerVoice: '转语音接听', reject: '拒绝', hangup: '挂断', cancel: '取消通话',
    calling: '正在呼叫 {name}…', waiting: '等待对方接听…', connected: '通话已接通',
    micOff: '关闭麦克风', micOn: '打开麦克风',
    camOff: '关闭摄像头', camOn: '打开摄像头',
    speakerOff: '关闭扬声器', speakerOn: '打开扬声器',
    switchCamera: '切换摄像头', devices: '选择设备', closeDevices: '关闭设备设置',
    toAudio: '切换到语音通话', toVideo: '切换到视频通话', invite: '添加成员', closeInvite: '关闭成员列表',
    minimize: '最小化通话', restore: '恢复通话',
    fullscreen: '进入全屏', exitFullscreen: '退出全屏',
    gridView: '宫格视图', speakerView: '演讲者视图',
    camera: '摄像头', microphone: '麦克风', speaker: '扬声器',
    members: '成员', joined: '通话中', ringing: '等待接听…', you: '{name}（我）',
    inviteHint: '用户 ID，用逗号分隔', inviteSend: '邀请',
    noVideo: '摄像头已关闭', micMuted: '麦克风已关闭',
    quality: '网络：{q}', q0: '未知', q1: '极好', q2: '好', q3: '一般', q4: '差', q5: '很差', q6: '断开',
    volume: '音量 {v}%',
    ended: '通话结束', rejected: '{name} 拒绝了通话', noResponse: '{name} 无应答',
    busy: '{name} 忙线中', cancelled: '通话已取消', missed: '{name} 的未接来电',
    duration: '通话时长 {t}', dragHint: '拖动以移动；按回车键恢复',
    history: '最近通话', historyEmpty: '暂无通话记录', refresh: '刷新',
    callBack: '回拨 {name}', outgoing: '呼出', incoming: '呼入', missedShort: '未接',
    videoShort: '视频', audioShort: '语音', deleteRecord: '删除这条通话记录',
    errorPrefix: '错误：{message}', bannerTitle: '来电',
  },
};

/** Language tags accepted by setLanguage, mapped onto STRINGS' keys. */
const ALIASES = { en: 'en', 'en-us': 'en', 'en-gb': 'en', zh: 'zh-cn', 'zh-cn': 'zh-cn', 'zh-hans': 'zh-cn' };

/**
 * The STRINGS key for a language tag; undefined when the kit has no such language.
 * @param {string} lang
 */
export function normalizeLanguage(lang) {
  return ALIASES[String(lang || '').toLowerCase()];
}

/**
 * The STRINGS key for lang, or a RangeError naming the languages the kit has.
 * @param {string} lang
 */
export function languageKey(lang) {
  const key = normalizeLanguage(lang);
  if (!key) throw new RangeError(`setLanguage: unsupported language ${lang} (${Object.keys(STRINGS).join(', ')})`);
  return key;
}

/**
 * A translator for lang: t('calling', {name: 'bob'}).
 * @param {string} lang a STRINGS key
 */
export function translator(lang) {
  const table = STRINGS[lang] || STRINGS.en;
  return (key, vars) => {
    let s = table[key] ?? STRINGS.en[key] ?? key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
    return s;
  };
}
