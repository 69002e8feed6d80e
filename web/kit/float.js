// The float window of <parley-call-kit>: the browser's Picture-in-Picture window for the
// main video where the browser has one and the video plays, else the kit's own mini view,
// which the user drags with the pointer or moves with the arrow keys.

/**
 * Tries to show video in the browser's Picture-in-Picture window.
 * @param {HTMLVideoElement|null} video
 * @returns {Promise<boolean>} whether the video is in Picture-in-Picture now
 */
export async function enterPictureInPicture(video) {
  if (!video || !document.pictureInPictureEnabled || !video.srcObject || video.readyState < 1) return false;
  if (video.disablePictureInPicture) return false;
  try {
    await video.requestPictureInPicture();
    return document.pictureInPictureElement === video;
  } catch {
    return false; // no user gesture, or the browser refused
  }
}

/** Leaves Picture-in-Picture when one of elements is in it. */
export async function exitPictureInPicture(...elements) {
  const el = document.pictureInPictureElement;
  if (el && elements.includes(el)) await document.exitPictureInPicture().catch(() => {});
}

/** Pixels an arrow key moves the mini view. */
const KEY_STEP = 24;

/**
 * Makes the fixed-position el draggable with the pointer and movable with the arrow keys,
 * kept inside the viewport. Clicks on buttons inside el are not drags.
 * @param {HTMLElement} el
 * @returns {() => void} removes the listeners
 */
export function makeDraggable(el) {
  let start = null;
  const place = (left, top) => {
    const maxX = window.innerWidth - el.offsetWidth;
    const maxY = window.innerHeight - el.offsetHeight;
    el.style.left = `${Math.max(0, Math.min(maxX, left))}px`;
    el.style.top = `${Math.max(0, Math.min(maxY, top))}px`;
    el.style.right = 'auto';
    el.style.bottom = 'auto';
  };
  const down = (ev) => {
    if (ev.button !== 0 || ev.target.closest('button')) return;
    const r = el.getBoundingClientRect();
    start = { x: ev.clientX - r.left, y: ev.clientY - r.top, id: ev.pointerId };
    el.setPointerCapture(ev.pointerId);
    el.style.cursor = 'grabbing';
  };
  const move = (ev) => {
    if (!start || ev.pointerId !== start.id) return;
    place(ev.clientX - start.x, ev.clientY - start.y);
  };
  const up = (ev) => {
    if (!start || ev.pointerId !== start.id) return;
    start = null;
    el.style.cursor = '';
  };
  const key = (ev) => {
    const d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[ev.key];
    if (!d || ev.target !== el) return;
    ev.preventDefault();
    const r = el.getBoundingClientRect();
    place(r.left + d[0] * KEY_STEP, r.top + d[1] * KEY_STEP);
  };
  el.addEventListener('pointerdown', down);
  el.addEventListener('pointermove', move);
  el.addEventListener('pointerup', up);
  el.addEventListener('pointercancel', up);
  el.addEventListener('keydown', key);
  return () => {
    el.removeEventListener('pointerdown', down);
    el.removeEventListener('pointermove', move);
    el.removeEventListener('pointerup', up);
    el.removeEventListener('pointercancel', up);
    el.removeEventListener('keydown', key);
  };
}
