// Devices of <parley-call-kit>: the lists for the device picker and switching a device
// during a call. The kit uses the engine's device methods when it has them and the
// browser's APIs with openCamera / openMicrophone otherwise.

/** @typedef {{deviceId: string, label: string}} DeviceInfo */

/**
 * The cameras, microphones and speakers the browser lists (labels appear once the page
 * has camera or microphone permission).
 * @returns {Promise<{videoinput: DeviceInfo[], audioinput: DeviceInfo[], audiooutput: DeviceInfo[]}>}
 */
export async function listDevices() {
  const out = { videoinput: [], audioinput: [], audiooutput: [] };
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return out;
  for (const d of await navigator.mediaDevices.enumerateDevices()) {
    if (!out[d.kind] || d.deviceId === '') continue;
    out[d.kind].push({ deviceId: d.deviceId, label: d.label || `${d.kind} ${out[d.kind].length + 1}` });
  }
  return out;
}

/** @returns {boolean} whether media elements can play on a chosen speaker */
export function canSelectSpeaker() {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

/** The deviceId of a live track ('' when unknown). */
export function trackDeviceId(track) {
  return (track && track.getSettings && track.getSettings().deviceId) || '';
}

/**
 * Switches kind's device to deviceId while the call runs.
 * @param {object} engine the ParleyCallEngine
 * @param {'videoinput'|'audioinput'|'audiooutput'} kind
 * @param {string} deviceId
 * @param {{element: HTMLVideoElement, audioProcessing: boolean}} local where the camera shows
 */
export async function switchDevice(engine, kind, deviceId, local) {
  if (kind === 'audiooutput') {
    if (typeof engine.selectAudioPlaybackDevice === 'function') await engine.selectAudioPlaybackDevice(deviceId);
    return;
  }
  if (typeof engine.switchDevice === 'function') {
    await engine.switchDevice({ deviceType: kind === 'videoinput' ? 'camera' : 'microphone', deviceId });
    return;
  }
  // Without the engine's switchDevice: stop the device and open the chosen one; the SDK
  // puts the new track on the same sender (replaceTrack, no renegotiation).
  if (kind === 'videoinput') {
    await engine.closeCamera();
    await engine.openCamera({ element: local.element, deviceId });
  } else {
    await engine.closeMicrophone();
    await engine.openMicrophone({ deviceId, audioProcessing: local.audioProcessing });
  }
}
