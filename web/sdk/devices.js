// Parley SDK — devices and views: the device list, capturing a device (getUserMedia) and
// the constraints of a chosen one, audio playback devices, the <video> of a view, how it
// renders (fill mode, rotation) and the playback callbacks of a remote view. Helpers
// without state of their own; the engine (parley.js) keeps the choices.

import { ErrorCode } from './enums.js';
import { ParleyError, SdkErrorCode } from './rpc.js';

/** Device types of getDeviceList and switchDevice, with the MediaDeviceInfo.kind of each. */
const DEVICE_KINDS = Object.freeze({ camera: 'videoinput', microphone: 'audioinput', speaker: 'audiooutput' });

/**
 * @typedef {'camera'|'microphone'|'speaker'} DeviceType
 * @typedef {{deviceId: string, groupId: string, label: string, type: DeviceType}} DeviceInfo
 * @typedef {{cameras: DeviceInfo[], microphones: DeviceInfo[], speakers: DeviceInfo[]}} DeviceList
 * @typedef {{fillMode?: 'fill'|'fit', rotation?: 0|90|180|270}} RenderParams
 * @typedef {{onPlaying?: (ev: {userId: string}) => void, onLoading?: (ev: {userId: string}) => void,
 *   onError?: (ev: {userId: string, code: number, message: string}) => void}} ViewCallbacks
 */

/**
 * Checks a device type of getDeviceList / switchDevice.
 * @param {unknown} type
 * @param {string} method for the error message
 * @returns {DeviceType}
 */
export function checkDeviceType(type, method) {
  if (typeof type === 'string' && Object.hasOwn(DEVICE_KINDS, type)) return /** @type {DeviceType} */ (type);
  throw new ParleyError(ErrorCode.INVALID_PARAMS, `${method}: deviceType must be 'camera', 'microphone' or 'speaker'`);
}

/**
 * The page's devices (navigator.mediaDevices.enumerateDevices). Labels are empty until the
 * page was granted a camera or microphone once (the browser's rule).
 * @returns {Promise<DeviceList>}
 */
export async function listDevices() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) {
    throw new ParleyError(SdkErrorCode.MEDIA_DEVICE, 'enumerateDevices is not available (a secure origin is required)');
  }
  const out = { cameras: [], microphones: [], speakers: [] };
  const lists = { videoinput: out.cameras, audioinput: out.microphones, audiooutput: out.speakers };
  for (const d of await navigator.mediaDevices.enumerateDevices()) {
    const list = lists[d.kind];
    if (!list) continue;
    const type = /** @type {DeviceType} */ (Object.keys(DEVICE_KINDS).find((k) => DEVICE_KINDS[k] === d.kind));
    list.push({ deviceId: d.deviceId, groupId: d.groupId, label: d.label, type });
  }
  return out;
}

/**
 * The capture constraints that pick a camera: a deviceId, or a facing mode ('front' is
 * the user's side, 'back' the environment) as the browser can best match it.
 * @param {'front'|'back'|{deviceId?: string, facingMode?: 'user'|'environment'}} camera
 * @returns {MediaTrackConstraints}
 */
export function cameraChoice(camera) {
  if (camera === 'front' || camera === 'back') return { facingMode: { ideal: camera === 'back' ? 'environment' : 'user' } };
  if (camera && typeof camera === 'object') {
    if (typeof camera.deviceId === 'string' && camera.deviceId !== '') return { deviceId: { exact: camera.deviceId } };
    if (camera.facingMode === 'user' || camera.facingMode === 'environment') return { facingMode: { ideal: camera.facingMode } };
  }
  throw new ParleyError(ErrorCode.INVALID_PARAMS, "switchCamera: give 'front', 'back', {facingMode: 'user'|'environment'} or {deviceId}");
}

/** @returns {boolean} whether this browser can choose an audio output (HTMLMediaElement.setSinkId) */
export function canSelectSpeaker() {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

/**
 * Plays el on the audio output deviceId ('' the default one).
 * @param {HTMLMediaElement} el
 * @param {string} deviceId
 * @returns {Promise<void>}
 */
export async function setSpeaker(el, deviceId) {
  try {
    await /** @type {any} */ (el).setSinkId(deviceId);
  } catch (err) {
    throw new ParleyError(SdkErrorCode.MEDIA_DEVICE, `setSinkId: ${err.name}: ${err.message}`);
  }
}

/**
 * Checks setVideoRenderParams' members.
 * @param {RenderParams} p
 * @returns {RenderParams}
 */
export function checkRenderParams(p) {
  const out = {};
  if (p.fillMode !== undefined) {
    if (p.fillMode !== 'fill' && p.fillMode !== 'fit') {
      throw new ParleyError(ErrorCode.INVALID_PARAMS, "setVideoRenderParams: fillMode must be 'fill' or 'fit'");
    }
    out.fillMode = p.fillMode;
  }
  if (p.rotation !== undefined) {
    if (![0, 90, 180, 270].includes(p.rotation)) {
      throw new ParleyError(ErrorCode.INVALID_PARAMS, 'setVideoRenderParams: rotation must be 0, 90, 180 or 270');
    }
    out.rotation = p.rotation;
  }
  return out;
}

/**
 * Renders el as params say: 'fill' covers the element (cropping), 'fit' shows the whole
 * frame (bars); rotation turns the picture clockwise.
 * @param {HTMLVideoElement} el
 * @param {RenderParams|undefined} params
 */
export function applyRenderParams(el, params) {
  if (!params) return;
  if (params.fillMode) el.style.objectFit = params.fillMode === 'fill' ? 'cover' : 'contain';
  if (params.rotation !== undefined) el.style.transform = params.rotation ? `rotate(${params.rotation}deg)` : '';
}

/**
 * Reports the playback of a remote view: onLoading now (and whenever playback stalls or
 * the track is gone), onPlaying when frames play, onError when the element fails.
 * @param {HTMLVideoElement} el
 * @param {string} userId
 * @param {ViewCallbacks} cb
 * @returns {() => void} stops reporting
 */
export function watchPlayback(el, userId, cb) {
  const ac = new AbortController();
  const call = (fn, ev) => {
    if (!fn) return;
    try {
      fn(ev);
    } catch (err) {
      console.error('parley: a startRemoteView callback threw', err); // eslint-disable-line no-console
    }
  };
  const loading = () => call(cb.onLoading, { userId });
  const opts = { signal: ac.signal };
  el.addEventListener('playing', () => call(cb.onPlaying, { userId }), opts);
  el.addEventListener('waiting', loading, opts);
  el.addEventListener('emptied', loading, opts);
  el.addEventListener('error', () => {
    const e = el.error;
    call(cb.onError, { userId, code: SdkErrorCode.MEDIA_DEVICE, message: e ? `media error ${e.code}: ${e.message}` : 'media error' });
  }, opts);
  if (el.paused || el.readyState < 3) loading();
  else call(cb.onPlaying, { userId });
  return () => ac.abort();
}

/** getUserMedia for one kind, with errors as ParleyError(MEDIA_DEVICE). */
export async function captureTrack(constraints) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new ParleyError(SdkErrorCode.MEDIA_DEVICE, 'getUserMedia is not available (a secure origin is required)');
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    return stream.getTracks()[0];
  } catch (err) {
    throw new ParleyError(SdkErrorCode.MEDIA_DEVICE, `getUserMedia: ${err.name}: ${err.message}`);
  }
}

/**
 * The <video> to render into: the element itself, or a <video> child created in it.
 * @param {ViewElement} el
 * @returns {HTMLVideoElement}
 */
export function videoElementFor(el) {
  const node = typeof el === 'string' ? document.getElementById(el) : el;
  if (!node) throw new ParleyError(ErrorCode.INVALID_PARAMS, `no element ${el}`);
  if (node instanceof HTMLVideoElement) return node;
  let video = node.querySelector('video');
  if (!video) {
    video = document.createElement('video');
    video.style.width = '100%';
    video.style.height = '100%';
    node.appendChild(video);
  }
  return video;
}

/** Plays track in a media element (video elements stay muted: audio has its own). */
export function attachTrack(el, track) {
  if (el instanceof HTMLVideoElement) {
    el.muted = true;
    el.playsInline = true;
  }
  el.autoplay = true;
  el.srcObject = new MediaStream([track]);
  const p = el.play();
  if (p && p.catch) p.catch(() => {}); // autoplay policies: playback starts on the next gesture
}
