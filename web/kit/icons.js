// Line icons of <parley-call-kit> (24×24 SVG paths drawn for the kit; stroke = currentColor).

const PATHS = {
  mic: '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/>',
  micOff: '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3M4 4l16 16"/>',
  cam: '<rect x="3" y="6" width="13" height="12" rx="2"/><path d="M16 10l5-3v10l-5-3z"/>',
  camOff: '<rect x="3" y="6" width="13" height="12" rx="2"/><path d="M16 10l5-3v10l-5-3zM3 3l18 18"/>',
  speaker: '<path d="M4 9h4l5-4v14l-5-4H4z"/><path d="M16 9a4 4 0 0 1 0 6M18.5 6.5a8 8 0 0 1 0 11"/>',
  speakerOff: '<path d="M4 9h4l5-4v14l-5-4H4z"/><path d="M17 9l5 6M22 9l-5 6"/>',
  switchCam: '<rect x="3" y="6" width="18" height="13" rx="2"/><path d="M9 12a3 3 0 0 1 5.5-1.6M15 13a3 3 0 0 1-5.5 1.6M14.5 8v2.5H12M9.5 17v-2.5H12"/>',
  settings: '<circle cx="12" cy="12" r="3"/><path d="M12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1L7 17M17 7l2.1-2.1"/>',
  audio: '<path d="M5 4h4l2 5-3 2a11 11 0 0 0 5 5l2-3 5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 6a2 2 0 0 1 2-2z"/>',
  addUser: '<circle cx="9" cy="8" r="4"/><path d="M2 21a7 7 0 0 1 14 0M19 8v6M16 11h6"/>',
  hangup: '<path d="M3 14c5-5 13-5 18 0l-2 3-4-1.5v-3a10 10 0 0 0-6 0v3L5 17z"/>',
  accept: '<path d="M5 4h4l2 5-3 2a11 11 0 0 0 5 5l2-3 5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 6a2 2 0 0 1 2-2z"/>',
  minimize: '<path d="M4 14h6v6M10 14l-7 7M20 10h-6V4M14 10l7-7"/>',
  restore: '<path d="M14 4h6v6M20 4l-7 7M10 20H4v-6M4 20l7-7"/>',
  fullscreen: '<path d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5"/>',
  exitFullscreen: '<path d="M9 4v5H4M15 4v5h5M9 20v-5H4M15 20v-5h5"/>',
  grid: '<rect x="3" y="3" width="7" height="7"/><rect x="14" y="3" width="7" height="7"/><rect x="3" y="14" width="7" height="7"/><rect x="14" y="14" width="7" height="7"/>',
  speakerView: '<rect x="3" y="3" width="18" height="12"/><rect x="3" y="18" width="5" height="3"/><rect x="10" y="18" width="4" height="3"/><rect x="16" y="18" width="5" height="3"/>',
  refresh: '<path d="M20 5v5h-5"/><path d="M20 10a8 8 0 1 0 1 5"/>',
  close: '<path d="M6 6l12 12M18 6L6 18"/>',
};

/**
 * The SVG markup of an icon (aria-hidden: the button carries the label).
 * @param {keyof typeof PATHS} name
 */
export function icon(name) {
  return `<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">${PATHS[name] || ''}</svg>`;
}
