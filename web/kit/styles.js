// The style sheet of <parley-call-kit>'s shadow root. It is adopted as a constructed
// CSSStyleSheet, which a page's Content-Security-Policy without 'unsafe-inline' allows.
// Theme it from the page with the custom properties of :host (see web/README.md).

export const KIT_CSS = `
:host {
  --parley-kit-bg: #111827;
  --parley-kit-fg: #f9fafb;
  --parley-kit-muted: #9ca3af;
  --parley-kit-tile-bg: #1f2937;
  --parley-kit-accent: #2563eb;
  --parley-kit-accept: #16a34a;
  --parley-kit-danger: #dc2626;
  --parley-kit-button-bg: rgba(255, 255, 255, 0.14);
  --parley-kit-button-off-bg: #f9fafb;
  --parley-kit-button-off-fg: #111827;
  --parley-kit-radius: 14px;
  --parley-kit-font: system-ui, -apple-system, "Segoe UI", Roboto, "PingFang SC", "Microsoft YaHei", sans-serif;
  --parley-kit-z-index: 1000;
  --parley-kit-mini-width: 240px;
  --parley-kit-focus: #facc15;
  display: none;
  font-family: var(--parley-kit-font);
  color: var(--parley-kit-fg);
}
:host([data-status]:not([data-status="IDLE"])), :host([data-banner]), :host([data-toast]) { display: block; }
:host([data-status]:not([data-status="IDLE"]):not([inline])) {
  position: fixed; inset: 0; z-index: var(--parley-kit-z-index);
}
:host([inline]) { position: relative; width: 100%; height: 100%; min-height: 420px; }
:host([data-minimized]) { position: static; inset: auto; min-height: 0; height: 0; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
button { font: inherit; color: inherit; cursor: pointer; }
button:focus-visible, select:focus-visible, input:focus-visible, .mini:focus-visible {
  outline: 3px solid var(--parley-kit-focus); outline-offset: 2px;
}
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

.screen { position: absolute; inset: 0; background: var(--parley-kit-bg); display: flex; flex-direction: column; }

/* incoming */
.incoming { align-items: center; justify-content: center; gap: 14px; text-align: center; padding: 24px; }
.incoming .avatar-big { width: 112px; height: 112px; font-size: 2.6rem; }
.incoming h2 { margin: 6px 0 0; font-size: 1.5rem; font-weight: 600; }
.incoming p { margin: 0; color: var(--parley-kit-muted); }
.answer-row { display: flex; gap: 34px; margin-top: 36px; flex-wrap: wrap; justify-content: center; }

.avatar-big, .tile .avatar span {
  display: flex; align-items: center; justify-content: center; border-radius: 50%;
  background: var(--parley-kit-accent); color: #fff; font-weight: 600; overflow: hidden;
}
.avatar-big img, .tile .avatar img { width: 100%; height: 100%; object-fit: cover; }

/* buttons */
.btn { display: flex; flex-direction: column; align-items: center; gap: 6px; background: none; border: 0; padding: 0; min-width: 64px; }
.btn .icon {
  width: 56px; height: 56px; border-radius: 50%; display: flex; align-items: center; justify-content: center;
  background: var(--parley-kit-button-bg);
}
.btn.off .icon { background: var(--parley-kit-button-off-bg); color: var(--parley-kit-button-off-fg); }
.btn .label { font-size: 0.74rem; color: var(--parley-kit-fg); max-width: 96px; line-height: 1.2; }
.btn.accept .icon { background: var(--parley-kit-accept); }
.btn.danger .icon { background: var(--parley-kit-danger); }
.btn:disabled { opacity: 0.4; cursor: default; }
.btn svg { width: 26px; height: 26px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
.icon-btn { background: var(--parley-kit-button-bg); border: 0; border-radius: 10px; width: 38px; height: 38px; display: inline-flex; align-items: center; justify-content: center; }
.icon-btn svg { width: 20px; height: 20px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }

/* call */
.top { display: flex; align-items: center; gap: 10px; padding: 12px 16px; z-index: 2; }
.top .title { flex: 1; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.top .duration { font-variant-numeric: tabular-nums; color: var(--parley-kit-muted); }
.stage { position: relative; flex: 1; min-height: 0; margin: 0 12px; }
.controls {
  display: flex; flex-wrap: wrap; justify-content: center; gap: 14px 18px; padding: 14px 12px 18px; z-index: 2;
}
.dialing-info {
  position: absolute; inset: 0; display: flex; flex-direction: column; align-items: center; justify-content: center;
  gap: 10px; z-index: 1; pointer-events: none; text-shadow: 0 1px 3px rgba(0, 0, 0, 0.7);
}
.dialing-info .avatar-big { width: 96px; height: 96px; font-size: 2.2rem; }
.dialing-info .who { font-size: 1.35rem; font-weight: 600; }
.dialing-info .what { color: var(--parley-kit-fg); opacity: 0.85; }
.avatars { display: flex; gap: 8px; }

/* tiles */
.tile { position: relative; background: var(--parley-kit-tile-bg); border-radius: var(--parley-kit-radius); overflow: hidden; min-height: 0; }
.tile video { width: 100%; height: 100%; object-fit: cover; display: block; background: #000; }
.tile.local video { transform: scaleX(-1); }
.tile .avatar { position: absolute; inset: 0; display: none; align-items: center; justify-content: center; }
.tile .avatar span { width: 30%; max-width: 96px; aspect-ratio: 1; font-size: 1.6rem; }
.tile.no-video video { visibility: hidden; }
.tile.no-video .avatar { display: flex; }
.tile.ringing::after {
  content: attr(data-ringing); position: absolute; top: 8px; left: 10px; font-size: 0.8rem;
  background: rgba(0, 0, 0, 0.55); padding: 2px 8px; border-radius: 999px;
}
.tile.speaking { box-shadow: inset 0 0 0 3px var(--parley-kit-accept); }
.info {
  position: absolute; left: 0; right: 0; bottom: 0; display: flex; align-items: center; gap: 8px;
  padding: 6px 10px; background: linear-gradient(transparent, rgba(0, 0, 0, 0.7)); font-size: 0.82rem;
}
.info .name { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.info .mic-off { display: none; color: #fca5a5; }
.tile.muted-mic .mic-off { display: inline; }
.volume { width: 46px; height: 5px; border-radius: 3px; background: rgba(255, 255, 255, 0.25); overflow: hidden; }
.volume i { display: block; height: 100%; width: 0; background: #4ade80; transition: width 0.2s; }
.quality { display: inline-flex; align-items: flex-end; gap: 2px; height: 13px; }
.quality i { display: block; width: 3px; background: rgba(255, 255, 255, 0.3); border-radius: 1px; }
.quality i:nth-child(1) { height: 25%; } .quality i:nth-child(2) { height: 50%; }
.quality i:nth-child(3) { height: 75%; } .quality i:nth-child(4) { height: 100%; }
.quality i.lit { background: #4ade80; }
.quality.poor i.lit { background: #facc15; }
.quality.bad i.lit { background: #f87171; }

/* layouts */
.stage.dialing .tile.local { position: absolute; inset: 0; }
.stage.dialing .tile:not(.local) { display: none; }
.stage.one .tile:not(.local) { position: absolute; inset: 0; }
.stage.one .tile.local {
  position: absolute; right: 14px; top: 14px; width: 24%; min-width: 120px; max-width: 280px; aspect-ratio: 16 / 9; z-index: 1;
  box-shadow: 0 4px 18px rgba(0, 0, 0, 0.5); cursor: pointer;
}
.stage.one.swapped .tile.local { inset: 0; width: auto; max-width: none; min-width: 0; aspect-ratio: auto; z-index: 0; cursor: default; }
.stage.one.swapped .tile:not(.local) {
  inset: 14px 14px auto auto; width: 24%; min-width: 120px; max-width: 280px; height: auto; aspect-ratio: 16 / 9; z-index: 1;
}
.stage.grid { display: grid; gap: 8px; grid-template-columns: repeat(var(--cols, 2), 1fr); grid-auto-rows: 1fr; }
.stage.speaker { display: grid; gap: 8px; grid-template-rows: 1fr 22%; grid-template-columns: repeat(8, 1fr); }
.stage.speaker .tile { grid-row: 2; }
.stage.speaker .tile.main { grid-row: 1; grid-column: 1 / -1; }

/* panels */
.panel {
  position: absolute; right: 16px; bottom: 120px; width: min(340px, calc(100% - 32px)); max-height: 60%; overflow: auto;
  background: #0b1220; border: 1px solid rgba(255, 255, 255, 0.15); border-radius: 12px; padding: 14px; z-index: 3;
  display: flex; flex-direction: column; gap: 10px;
}
.panel h3 { margin: 0; font-size: 1rem; display: flex; justify-content: space-between; align-items: center; }
.panel label { display: flex; flex-direction: column; gap: 4px; font-size: 0.85rem; color: var(--parley-kit-muted); }
.panel select, .panel input {
  font: inherit; padding: 7px 9px; border-radius: 8px; border: 1px solid rgba(255, 255, 255, 0.2);
  background: #111827; color: var(--parley-kit-fg);
}
.panel ul { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 6px; }
.panel li { display: flex; justify-content: space-between; gap: 8px; font-size: 0.9rem; }
.panel li .state { color: var(--parley-kit-muted); }
.panel form { display: flex; gap: 8px; }
.panel form input { flex: 1; min-width: 0; }
.text-btn { background: var(--parley-kit-accent); border: 0; border-radius: 8px; padding: 7px 12px; color: #fff; }
.contacts { display: flex; flex-wrap: wrap; gap: 6px; }
.contacts button { background: var(--parley-kit-button-bg); border: 0; border-radius: 999px; padding: 4px 10px; font-size: 0.82rem; }

/* mini (float) window */
.mini {
  position: fixed; right: 20px; bottom: 20px; width: var(--parley-kit-mini-width); aspect-ratio: 4 / 3;
  background: var(--parley-kit-bg); border-radius: var(--parley-kit-radius); overflow: hidden; z-index: var(--parley-kit-z-index);
  box-shadow: 0 10px 30px rgba(0, 0, 0, 0.45); cursor: grab; touch-action: none; user-select: none;
}
.mini .tile { position: absolute; inset: 0; border-radius: 0; }
.mini .mini-bar {
  position: absolute; left: 0; right: 0; top: 0; display: flex; align-items: center; gap: 8px; padding: 6px 8px;
  background: linear-gradient(rgba(0, 0, 0, 0.7), transparent); font-size: 0.8rem; z-index: 1;
}
.mini .mini-bar .duration { flex: 1; font-variant-numeric: tabular-nums; }

/* banner */
.banner {
  position: fixed; top: 16px; left: 50%; transform: translateX(-50%); width: min(440px, calc(100% - 24px));
  background: var(--parley-kit-bg); border-radius: var(--parley-kit-radius); padding: 12px 14px; z-index: var(--parley-kit-z-index);
  display: flex; align-items: center; gap: 12px; box-shadow: 0 10px 30px rgba(0, 0, 0, 0.45);
}
.banner .avatar-big { width: 48px; height: 48px; font-size: 1.2rem; flex: none; }
.banner .text { flex: 1; min-width: 0; }
.banner .text strong { display: block; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.banner .text span { color: var(--parley-kit-muted); font-size: 0.85rem; }
.banner .btn .icon { width: 42px; height: 42px; }
.banner .btn .label { display: none; }

.toast {
  position: absolute; left: 50%; top: 64px; transform: translateX(-50%); background: rgba(0, 0, 0, 0.75);
  padding: 8px 14px; border-radius: 8px; font-size: 0.9rem; z-index: 4;
}
/* No call screen (the call ended, or it is minimized): the toast alone, over the page (D212). */
:host([data-toast][data-status="IDLE"]:not([data-banner])) { min-height: 0; height: 0; }
:host([data-status="IDLE"]) .toast, :host([data-minimized]) .toast {
  position: fixed; top: 16px; z-index: var(--parley-kit-z-index); color: #fff;
}

@media (max-width: 560px) {
  .controls { gap: 10px 8px; }
  .btn .icon { width: 48px; height: 48px; }
  .btn { min-width: 56px; }
}
`;

let sheet = null;

/** The kit's shared constructed style sheet (one per page). */
export function kitStyleSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(KIT_CSS);
  }
  return sheet;
}
