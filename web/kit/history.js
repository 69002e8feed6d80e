// <parley-call-history>: the user's recent calls (queryRecentCalls) with a call-back
// button per call. Dispatches 'callback' ({userIdList, type}) when the user picks one; an
// app passes that to <parley-call-kit>'s call or groupCall.

import { languageKey, translator } from './i18n.js';
import { icon } from './icons.js';
import { kitStyleSheet } from './styles.js';

/** CallResult of a record (signaling/protocol, D22). */
const RESULT = { MISSED: 1, INCOMING: 2, OUTGOING: 3 };

const HISTORY_CSS = `
:host { display: block; font-family: var(--parley-kit-font); color: var(--parley-kit-fg); background: var(--parley-kit-bg);
  border-radius: var(--parley-kit-radius); padding: 14px; }
h2 { margin: 0; font-size: 1.05rem; display: flex; justify-content: space-between; align-items: center; }
ol { list-style: none; margin: 10px 0 0; padding: 0; display: flex; flex-direction: column; gap: 4px; }
li { display: grid; grid-template-columns: 1fr auto auto; gap: 10px; align-items: center; padding: 8px 6px;
  border-top: 1px solid rgba(255, 255, 255, 0.1); }
.who { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.meta { display: block; color: var(--parley-kit-muted); font-size: 0.8rem; font-weight: 400; }
.missed .who { color: #fca5a5; }
.empty { color: var(--parley-kit-muted); margin: 10px 0 0; }
`;

let historySheet = null;

export class ParleyCallHistory extends HTMLElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    if (!historySheet) {
      historySheet = new CSSStyleSheet();
      historySheet.replaceSync(HISTORY_CSS);
    }
    root.adoptedStyleSheets = [kitStyleSheet(), historySheet];
    root.innerHTML = `<h2><span data-ref="title"></span><button type="button" class="icon-btn" data-action="refresh">${icon('refresh')}</button></h2>
      <ol data-ref="list"></ol><p class="empty" data-ref="empty" hidden></p>`;
    this._title = root.querySelector('[data-ref="title"]');
    this._list = root.querySelector('[data-ref="list"]');
    this._empty = root.querySelector('[data-ref="empty"]');
    this._t = translator('en');
    this._lang = 'en';
    this._engine = null;
    this._userId = '';
    /** @type {object[]} the records shown (newest first) */
    this.records = [];
    root.addEventListener('click', (ev) => {
      const b = ev.target.closest('button');
      if (!b) return;
      if (b.dataset.action === 'refresh') this.refresh();
      if (b.dataset.callback) {
        const rec = this.records[Number(b.dataset.callback)];
        this.dispatchEvent(new CustomEvent('callback', { detail: { userIdList: others(rec, this._userId), type: rec.mediaType } }));
      }
    });
    this._render();
  }

  /** @param {{engine: object, userId: string}} opts */
  init(opts) {
    this._engine = opts.engine;
    this._userId = opts.userId;
  }

  /** @param {string} lang 'en' or 'zh-cn' */
  setLanguage(lang) {
    const key = languageKey(lang);
    this._lang = key;
    this._t = translator(key);
    this._render();
  }

  /**
   * Loads the history again.
   * @param {{begin?: number, end?: number, resultType?: number}} [query]
   */
  async refresh(query) {
    if (!this._engine) return;
    const res = await this._engine.queryRecentCalls(query || {});
    this.records = (res && res.records) || [];
    this._render();
  }

  _render() {
    const t = this._t;
    this._title.textContent = t('history');
    const refresh = this.shadowRoot.querySelector('[data-action="refresh"]');
    refresh.setAttribute('aria-label', t('refresh'));
    refresh.title = t('refresh');
    this._list.textContent = '';
    this._list.setAttribute('aria-label', t('history'));
    this._empty.hidden = this.records.length > 0;
    this._empty.textContent = t('historyEmpty');
    const fmtTime = new Intl.DateTimeFormat(this._lang === 'zh-cn' ? 'zh-CN' : 'en', { dateStyle: 'short', timeStyle: 'short' });
    this.records.forEach((rec, i) => {
      const li = document.createElement('li');
      li.dataset.callId = rec.callId;
      li.classList.toggle('missed', rec.result === RESULT.MISSED);
      const who = document.createElement('span');
      who.className = 'who';
      const people = others(rec, this._userId);
      who.textContent = people.join(', ');
      const meta = document.createElement('span');
      meta.className = 'meta';
      const dir = rec.result === RESULT.MISSED ? t('missedShort') : rec.result === RESULT.OUTGOING ? t('outgoing') : t('incoming');
      meta.textContent = `${dir} · ${t(rec.mediaType === 1 ? 'audioShort' : 'videoShort')}`;
      who.appendChild(meta);
      const when = document.createElement('span');
      when.className = 'meta';
      const mins = Math.floor((rec.totalTime || 0) / 60);
      when.textContent = `${fmtTime.format(new Date((rec.beginTime || 0) * 1000))} · ${mins}:${String((rec.totalTime || 0) % 60).padStart(2, '0')}`;
      const back = document.createElement('button');
      back.type = 'button';
      back.className = 'icon-btn';
      back.dataset.callback = String(i);
      back.innerHTML = icon('accept');
      const backLabel = t('callBack', { name: people.join(', ') });
      back.setAttribute('aria-label', backLabel);
      back.title = backLabel;
      li.append(who, when, back);
      this._list.appendChild(li);
    });
  }
}

/** The people of a record other than userId. */
function others(rec, userId) {
  return [rec.caller, ...(rec.invitees || [])].filter((u) => u && u !== userId);
}

if (!customElements.get('parley-call-history')) customElements.define('parley-call-history', ParleyCallHistory);
