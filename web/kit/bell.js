// Ringtone (incoming call) and ringback (outgoing call) of <parley-call-kit>. Without a
// bell file the tones are synthesized with Web Audio, so the kit ships no audio assets; an
// app's own file (setCallingBell) plays in a loop instead of the incoming tone.

/** Tone patterns: [frequencies in Hz, on ms, off ms]. */
const PATTERNS = {
  incoming: { freqs: [880, 660], on: 900, off: 1100 },
  outgoing: { freqs: [425], on: 1000, off: 3000 },
};

export class Bell {
  constructor() {
    /** @type {'' | 'incoming' | 'outgoing'} the tone that is sounding now */
    this.playing = '';
    /** URL of the app's incoming bell; '' → the synthesized tone */
    this.url = '';
    /** @type {AudioContext|null} */
    this._ctx = null;
    this._timer = 0;
    /** @type {HTMLAudioElement|null} */
    this._audio = null;
  }

  /**
   * Starts kind's tone (stopping another). Browsers may block sound before the page had a
   * user gesture: then the tone stays silent and playing stays ''.
   * @param {'incoming'|'outgoing'} kind
   */
  async start(kind) {
    this.stop();
    if (kind === 'incoming' && this.url) {
      const audio = new Audio(this.url);
      audio.loop = true;
      this._audio = audio;
      try {
        await audio.play();
        if (this._audio === audio) this.playing = kind;
      } catch {
        // autoplay refused, or the file cannot play: stay silent
      }
      return;
    }
    const Ctx = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!Ctx) return;
    if (!this._ctx) this._ctx = new Ctx();
    const ctx = this._ctx;
    if (ctx.state === 'suspended') await ctx.resume().catch(() => {});
    if (ctx.state !== 'running') return;
    const { freqs, on, off } = PATTERNS[kind];
    const beep = () => {
      const gain = ctx.createGain();
      gain.gain.value = 0.08;
      gain.connect(ctx.destination);
      const end = ctx.currentTime + on / 1000;
      freqs.forEach((f, i) => {
        const osc = ctx.createOscillator();
        osc.frequency.value = f;
        osc.connect(gain);
        const start = ctx.currentTime + (i * on) / 1000 / freqs.length;
        osc.start(start);
        osc.stop(freqs.length > 1 ? start + on / 1000 / freqs.length : end);
      });
    };
    beep();
    this._timer = setInterval(beep, on + off);
    this.playing = kind;
  }

  /** Stops any tone. */
  stop() {
    clearInterval(this._timer);
    this._timer = 0;
    if (this._audio) {
      this._audio.pause();
      this._audio.src = '';
      this._audio = null;
    }
    this.playing = '';
  }

  /** Stops and releases the audio context. */
  close() {
    this.stop();
    if (this._ctx) this._ctx.close().catch(() => {});
    this._ctx = null;
  }
}
