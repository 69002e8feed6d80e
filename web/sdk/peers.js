// Parley SDK — the two PeerConnections of one room session (signaling/PROTOCOL.md §6).
//
// MediaSession owns a publisher RTCPeerConnection (the client offers with the `offer`
// request; the answer is its result) and a subscriber RTCPeerConnection (the server offers
// with the `offer` notification; the client replies with the `answer` request). Both
// trickle candidates with `trickle`. Trickle race: local candidates wait until the
// offer/answer they follow was written to the socket, and remote candidates wait until the
// remote description they belong to is set. Negotiations of one PeerConnection run one at
// a time on a promise chain. For early media, prepare adds send transceivers before any
// device is open; setTrack later fills them with replaceTrack, without renegotiating.

import { ErrorCode } from './enums.js';
import { ParleyError, SdkErrorCode } from './rpc.js';

/** Simulcast layers, lowest first (rids q/h/f as the SFU expects). */
const SIMULCAST_LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

/**
 * How long after a held video sender is released (the call began with the ringing
 * preview) its full-size simulcast layer starts: the smaller layers first (D170).
 */
const FULL_LAYER_DELAY_MS = 1000;

/**
 * How long a PeerConnection may stay at ICE "new" with its remote description set before
 * the session restarts ICE (D341): no candidate pair was ever formed, so candidates of one
 * side never reached the other, and nothing else would ever change that.
 */
const ICE_STALL_MS = 8000;
/** Restarts for a stall in a row, before a connection: then it is left to the app. */
const MAX_STALL_RESTARTS = 3;

/** A camera at least this wide is published as three simulcast layers. */
export const SIMULCAST_MIN_WIDTH = 640;

/**
 * How many simulcast encodings Chromium (libwebrtc) encodes for a width×height capture:
 * its VP8 simulcast table allows 3 layers from 960×540 pixels, 2 from 480×270, else 1, and
 * leaves the highest encodings beyond that count unencoded even while they are active (a
 * 640×360 camera with three encodings sends only q and h: D76).
 * @param {number} width
 * @param {number} height
 * @returns {number}
 */
function encodedLayerCount(width, height) {
  const px = width * height;
  return px >= 960 * 540 ? 3 : px >= 480 * 270 ? 2 : 1;
}

/**
 * The settings (SIMULCAST_LAYERS entries) of the encodings with these rids when Chromium
 * encodes count of them: the encoded ones carry the whole picture, ½ and ¼ from the
 * highest down, so the largest layer the server sees is the full capture; the ones beyond
 * get the full layer's settings (they are not encoded).
 * @param {(string|undefined)[]} rids
 * @param {number} count
 */
function fittedLayers(rids, count) {
  const shift = SIMULCAST_LAYERS.length - count;
  return rids.map((rid) => {
    const i = Math.max(0, SIMULCAST_LAYERS.findIndex((l) => l.rid === rid));
    return { ...SIMULCAST_LAYERS[Math.min(i + shift, SIMULCAST_LAYERS.length - 1)] };
  });
}

/** Video codecs whose send bitrate the start-bitrate hint applies to (not rtx, red, ulpfec). */
const VIDEO_CODECS = /^(VP8|VP9|H264|AV1)$/i;

/**
 * Adds Chromium's start-bitrate hint (x-google-start-bitrate, kbit/s) to every video codec
 * of a remote description. Chromium reads a send codec's parameters from the remote
 * description, so this sets where its bandwidth estimate starts when it sends to that
 * peer: the first frames are encoded at that rate instead of Chromium's default 300 kbit/s
 * ramp. Other browsers ignore the parameter. kbps 0 returns sdp unchanged.
 * @param {string} sdp
 * @param {number} kbps
 * @returns {string}
 */
export function withStartBitrate(sdp, kbps) {
  if (!kbps || typeof sdp !== 'string') return sdp;
  const param = `x-google-start-bitrate=${Math.round(kbps)}`;
  const lines = sdp.split('\r\n');
  const out = [];
  let video = false;
  /** payload types of the current video section's codecs that need the hint */
  let pending = new Map(); // pt → index in out of its rtpmap line
  const flush = () => {
    // Codecs without an fmtp line get one right after their rtpmap line (from the end, so
    // the recorded indexes stay valid).
    for (const [pt, at] of [...pending].sort((a, b) => b[1] - a[1])) out.splice(at + 1, 0, `a=fmtp:${pt} ${param}`);
    pending = new Map();
  };
  for (const line of lines) {
    if (line.startsWith('m=')) {
      flush();
      video = line.startsWith('m=video');
      out.push(line);
      continue;
    }
    if (video) {
      const rtpmap = /^a=rtpmap:(\d+) ([^/]+)\//.exec(line);
      if (rtpmap && VIDEO_CODECS.test(rtpmap[2])) {
        pending.set(rtpmap[1], out.length);
      }
      const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
      if (fmtp && pending.has(fmtp[1])) {
        pending.delete(fmtp[1]);
        if (!fmtp[2].includes('x-google-start-bitrate')) {
          out.push(fmtp[2].trim() === '' ? `a=fmtp:${fmtp[1]} ${param}` : `${line};${param}`);
          continue;
        }
      }
    }
    out.push(line);
  }
  flush();
  return out.join('\r\n');
}

/**
 * One PeerConnection with its candidate queues.
 */
class Leg {
  /**
   * @param {'publisher'|'subscriber'} target
   * @param {RTCConfiguration} config
   * @param {(target: string, c: RTCIceCandidateInit) => void} sendCandidate
   * @param {(err: ParleyError) => void} onError
   */
  constructor(target, config, sendCandidate, onError) {
    this.target = target;
    this.pc = new RTCPeerConnection(config);
    this.chain = Promise.resolve();
    /** local candidates may go out (the description they follow was sent) */
    this.localSent = false;
    /** @type {RTCIceCandidateInit[]} */
    this.localQueue = [];
    /** remote candidates may be applied (the remote description is set) */
    this.remoteReady = false;
    /** @type {RTCIceCandidateInit[]} */
    this.remoteQueue = [];
    this._send = sendCandidate;
    this._onError = onError;
    this.pc.onicecandidate = (ev) => {
      if (!ev.candidate || !ev.candidate.candidate) return; // end of gathering: not signalled
      const c = ev.candidate.toJSON();
      if (this.localSent) this._send(target, c);
      else this.localQueue.push(c);
    };
  }

  /** Runs fn after every earlier negotiation step of this PeerConnection. */
  serial(fn) {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => {});
    return next;
  }

  /** The description was written to the socket: release the queued local candidates. */
  markLocalSent() {
    this.localSent = true;
    const q = this.localQueue;
    this.localQueue = [];
    for (const c of q) this._send(this.target, c);
  }

  /** The remote description is set: apply the queued remote candidates. */
  async markRemoteReady() {
    this.remoteReady = true;
    const q = this.remoteQueue;
    this.remoteQueue = [];
    for (const c of q) await this._addCandidate(c);
  }

  /** @param {RTCIceCandidateInit} c */
  async addRemoteCandidate(c) {
    if (!this.remoteReady) {
      this.remoteQueue.push(c);
      return;
    }
    await this._addCandidate(c);
  }

  async _addCandidate(c) {
    // A candidate of an earlier ICE generation (e.g. for an answer the socket lost, D323)
    // belongs to no description: Chromium refuses it.
    const ufrag = c.usernameFragment || (/ ufrag (\S+)/.exec(c.candidate || '') || [])[1];
    const desc = this.pc.remoteDescription;
    if (ufrag && desc && !desc.sdp.includes(`a=ice-ufrag:${ufrag}\r\n`)) return;
    if (c.sdpMid != null && desc && !desc.sdp.includes(`a=mid:${c.sdpMid}\r\n`)) {
      // The offer taken back gave its mids away and the next one numbered anew, while the
      // server names the first m-line's mid it knew: all media share one bundled
      // transport, the first m-line's (max-bundle).
      c = { candidate: c.candidate, sdpMLineIndex: 0, usernameFragment: ufrag };
    }
    try {
      await this.pc.addIceCandidate(c.candidate ? c : null);
    } catch (err) {
      // A candidate of an older ICE generation is harmless; report it for debugging.
      this._onError(new ParleyError(SdkErrorCode.NEGOTIATION, `${this.target}: add ICE candidate: ${err.message}`));
    }
  }

  close() {
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.oniceconnectionstatechange = null;
    this.pc.close();
  }
}

/**
 * The media of one room: publishes local tracks, receives everyone else's.
 */
export class MediaSession {
  /**
   * @param {{
   *   request: (method: string, params: object) => Promise<any>,
   *   iceServers: RTCIceServer[],
   *   iceTransportPolicy: RTCIceTransportPolicy,
   *   simulcast: boolean,
   *   startBitrateKbps: number,
   *   sendLimits?: {maxBitrate?: number, maxFramerate?: number},
   *   onRemoteTrack: (userId: string, track: MediaStreamTrack) => void,
   *   onRemoteTrackGone: (userId: string, track: MediaStreamTrack) => void,
   *   onError: (err: ParleyError) => void,
   * }} opts
   */
  constructor(opts) {
    this._request = opts.request;
    this._simulcast = opts.simulcast;
    this._startBitrateKbps = opts.startBitrateKbps || 0;
    this._onRemoteTrack = opts.onRemoteTrack;
    this._onRemoteTrackGone = opts.onRemoteTrackGone;
    this._onError = opts.onError;
    this._closed = false;
    /** a publisher offer was made (restartIce renegotiates from then on) */
    this._offered = false;
    /** the subscriber's last answer was lost with the socket (resendLostAnswer) */
    this._answerLost = false;
    /** @type {MediaStream} the stream all published tracks belong to */
    this._localStream = new MediaStream();
    /** @type {{audio: RTCRtpTransceiver|null, video: RTCRtpTransceiver|null}} */
    this._transceivers = { audio: null, video: null };
    /** @type {{maxBitrate?: number, maxFramerate?: number}} video limits of setSendLimits */
    this._sendLimits = opts.sendLimits || {};
    /** the encodedLayerCount the simulcast encodings are fitted to (_fitEncodings) */
    this._encodedLayers = SIMULCAST_LAYERS.length;
    /**
     * The video sender's encodings are all inactive until releaseVideo (prepare's
     * holdVideo): a track on it sends nothing.
     */
    this._videoHeld = false;
    /**
     * The simulcast layer releaseVideo starts later (rid), and whether it is still to be
     * activated then (the server may pause it meanwhile); null when none waits.
     * @type {{rid: string|undefined, active: boolean}|null}
     */
    this._deferred = null;
    this._deferTimer = 0;
    const config = {
      iceServers: opts.iceServers, iceTransportPolicy: opts.iceTransportPolicy, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require',
    };
    const send = (target, c) => this._sendCandidate(target, c);
    this._pub = new Leg('publisher', config, send, opts.onError);
    this._sub = new Leg('subscriber', config, send, opts.onError);
    this._sub.pc.ontrack = (ev) => this._remoteTrack(ev);
    /** the ICE stall check's timer (_watchStall) and the restarts it made in a row */
    this._stallTimer = 0;
    this._stallRestarts = 0;
    this._pub.pc.oniceconnectionstatechange = () => {
      const state = this._pub.pc.iceConnectionState;
      if (state === 'connected' || state === 'completed') this._stallRestarts = 0;
      if (state === 'failed') this.restartIce();
    };
  }

  /** @returns {boolean} whether video is published with simulcast layers */
  get simulcastActive() {
    const t = this._transceivers.video;
    return !!t && t.sender.getParameters().encodings.length > 1;
  }

  /**
   * Publishes track as the session's audio or video, replaces the current one, or (track
   * null) stops sending that kind without renegotiating.
   * @param {'audio'|'video'} kind
   * @param {MediaStreamTrack|null} track
   * @returns {Promise<void>}
   */
  async setTrack(kind, track) {
    if (this._closed) return;
    const existing = this._transceivers[kind];
    if (existing && track && existing.sender.track === track) return; // on it already (a held sender's preview, D151)
    if (existing) {
      for (const t of this._localStream.getTracks()) {
        if (t.kind === kind) this._localStream.removeTrack(t);
      }
      if (track) this._localStream.addTrack(track);
      await existing.sender.replaceTrack(track);
      if (kind === 'video' && track) await this._senderTransaction((sender) => this._fitEncodings(sender));
      return;
    }
    if (!track) return;
    this._addTransceiver(kind, track, track.getSettings().width || 0);
    await this.negotiatePublisher(false);
    if (this._closed) return;
    if (kind === 'video') await this._senderTransaction((sender) => this._fitEncodings(sender));
  }

  /**
   * Early media: adds a send transceiver for each kind, with the track of tracks[kind] or
   * none yet, and negotiates the publisher once, so ICE and DTLS finish before any device
   * is open. setTrack later puts the device's track on its sender (replaceTrack, no
   * renegotiation).
   * @param {{kinds: ('audio'|'video')[], videoWidth: number, tracks: {audio?: MediaStreamTrack|null, video?: MediaStreamTrack|null}, holdVideo?: boolean}} p
   *   videoWidth is the camera width to expect (it decides simulcast when there is no track yet);
   *   holdVideo makes every video encoding inactive until releaseVideo: a track put on the
   *   sender meanwhile (setTrack) sends nothing, and its first frame is encoded sooner once
   *   released (D151)
   * @returns {Promise<void>}
   */
  async prepare(p) {
    if (this._closed) return;
    for (const kind of p.kinds) {
      if (this._transceivers[kind]) continue;
      const track = p.tracks[kind] || null;
      this._addTransceiver(kind, track, track ? track.getSettings().width || 0 : p.videoWidth, kind === 'video' && !!p.holdVideo);
    }
    await this.negotiatePublisher(false);
  }

  /** @returns {boolean} whether the video sender's encodings are held inactive (prepare's holdVideo) */
  get videoHeld() {
    return this._videoHeld;
  }

  /**
   * Ends prepare's holdVideo: the video sender's encodings become active, as at a first
   * publish (the server pauses again what nobody views, D76) — all but the full-size
   * simulcast layer, which follows FULL_LAYER_DELAY_MS later (D170): the first frames the
   * others can start on are the small layers', and every member's encoder starts without
   * the largest picture while all of them start at once. No-op when not held.
   * @returns {Promise<void>}
   */
  releaseVideo() {
    if (!this._videoHeld) return Promise.resolve();
    this._videoHeld = false;
    return this._senderTransaction(async (sender) => {
      const params = sender.getParameters();
      if (!params.encodings || params.encodings.length === 0) return;
      const size = sender.track ? sender.track.getSettings() : {};
      const count = size.width && size.height ? encodedLayerCount(size.width, size.height) : this._encodedLayers;
      // The full-size layer is the highest one Chromium encodes (fittedLayers); alone, a
      // picture has nothing smaller to start on.
      const full = params.encodings.length > 1 && count > 1 ? params.encodings[Math.min(count, params.encodings.length) - 1].rid : undefined;
      for (const enc of params.encodings) enc.active = enc.rid !== full;
      await sender.setParameters(params);
      if (full === undefined || this._closed) return;
      this._deferred = { rid: full, active: true };
      this._deferTimer = setTimeout(() => this._releaseDeferred(), FULL_LAYER_DELAY_MS);
    });
  }

  /** Activates the layer releaseVideo deferred, unless the server asked to pause it meanwhile. */
  _releaseDeferred() {
    const deferred = this._deferred;
    this._deferred = null;
    this._deferTimer = 0;
    if (!deferred || !deferred.active) return;
    this.setSimulcastLayers([{ rid: deferred.rid, active: true }]).catch(() => {}); // a closed session's sender is gone with it
  }

  /**
   * Adds the publisher transceiver of kind, sending track (or nothing yet when null);
   * video at least SIMULCAST_MIN_WIDTH wide gets the simulcast layers; held video gets
   * them all inactive (prepare's holdVideo).
   */
  _addTransceiver(kind, track, width, held = false) {
    if (track) this._localStream.addTrack(track);
    /** @type {RTCRtpTransceiverInit} */
    const init = { direction: 'sendonly', streams: [this._localStream] };
    if (kind === 'video') {
      const simulcast = this._simulcast && width >= SIMULCAST_MIN_WIDTH;
      const limited = !!(this._sendLimits.maxBitrate || this._sendLimits.maxFramerate);
      if (simulcast || limited) init.sendEncodings = withSendLimits(simulcast ? SIMULCAST_LAYERS : [{}], this._sendLimits);
      if (held) {
        init.sendEncodings = (init.sendEncodings || [{}]).map((enc) => ({ ...enc, active: false }));
        this._videoHeld = true;
      }
    }
    this._transceivers[kind] = this._pub.pc.addTransceiver(track || kind, init);
  }

  /**
   * Limits the published video (setVideoEncoderParams): maxBitrate (bit/s) caps the full
   * layer and every lower layer at its default or at maxBitrate, whichever is less;
   * maxFramerate caps every layer. Applied now with setParameters (no renegotiation), with
   * the layers fitted to the camera's current size (_fitEncodings), and to a video
   * transceiver added later. 0 or undefined: no limit of the kind.
   * @param {{maxBitrate?: number, maxFramerate?: number}} limits
   * @returns {Promise<void>}
   */
  setSendLimits(limits) {
    this._sendLimits = { ...this._sendLimits, ...limits };
    return this._senderTransaction((sender) => this._fitEncodings(sender));
  }

  /**
   * Sets the video encodings' send limits and, with simulcast, fits the layers to the size
   * of the track sent (encodedLayerCount, fittedLayers: scale and bitrate per layer). When
   * the count of layers Chromium encodes changed, every layer is resumed, as at the first
   * publish: the server's pauses (onPublishLayersChanged) were decided on the old layers
   * (it may have paused the layer that now carries the full picture while it still asks
   * for one Chromium no longer encodes), and it pauses again what nobody views once it sees
   * the new sizes (D76).
   * @param {RTCRtpSender} sender
   */
  async _fitEncodings(sender) {
    const params = sender.getParameters();
    if (!params.encodings || params.encodings.length === 0) return;
    const simulcast = params.encodings.length > 1;
    let layers = [{}];
    if (simulcast) {
      const size = sender.track ? sender.track.getSettings() : {};
      const count = size.width && size.height ? encodedLayerCount(size.width, size.height) : this._encodedLayers;
      if (count !== this._encodedLayers) {
        this._encodedLayers = count;
        // held: releaseVideo resumes them; its deferred full layer follows at its time
        if (!this._videoHeld) for (const enc of params.encodings) enc.active = !this._deferred || enc.rid !== this._deferred.rid;
      }
      layers = fittedLayers(params.encodings.map((e) => e.rid), count);
    }
    const want = withSendLimits(layers, this._sendLimits);
    const keys = simulcast ? ['maxBitrate', 'maxFramerate', 'scaleResolutionDownBy'] : ['maxBitrate', 'maxFramerate'];
    params.encodings.forEach((enc, i) => {
      for (const key of keys) {
        if (want[i][key] === undefined) delete enc[key];
        else enc[key] = want[i][key];
      }
    });
    await sender.setParameters(params);
  }

  /**
   * Runs fn on the video sender after every earlier parameter change: getParameters /
   * setParameters is a transaction per sender, and overlapping transactions fail.
   * @param {(sender: RTCRtpSender) => Promise<void>} fn
   * @returns {Promise<void>}
   */
  _senderTransaction(fn) {
    const run = (this._paramChain || Promise.resolve()).then(() => {
      const t = this._transceivers.video;
      if (this._closed || !t) return undefined;
      return fn(t.sender);
    });
    this._paramChain = run.catch(() => {});
    return run;
  }

  /**
   * Turns simulcast layers on and off as the server asks (onPublishLayersChanged): the
   * browser stops encoding a layer nobody views and resumes it when someone does. Layers the
   * server does not name keep their state. No renegotiation is needed.
   * @param {{rid: string, active: boolean}[]} layers
   * @returns {Promise<void>}
   */
  setSimulcastLayers(layers) {
    return this._senderTransaction((sender) => this._applySimulcastLayers(sender, layers));
  }

  /**
   * @param {RTCRtpSender} sender
   * @param {{rid: string, active: boolean}[]} layers
   */
  async _applySimulcastLayers(sender, layers) {
    if (!Array.isArray(layers) || this._videoHeld) return; // held: nothing may go out; releaseVideo resumes all
    const params = sender.getParameters();
    if (!params.encodings || params.encodings.length < 2) return;
    let changed = false;
    for (const enc of params.encodings) {
      const want = layers.find((l) => l.rid === enc.rid);
      if (want && this._deferred && this._deferred.rid === enc.rid) {
        this._deferred.active = want.active; // releaseVideo's deferred layer: at its time
        continue;
      }
      if (want && enc.active !== want.active) {
        enc.active = want.active;
        changed = true;
      }
    }
    if (changed) await sender.setParameters(params);
  }

  /**
   * Sends a publisher offer and applies the server's answer.
   * @param {boolean} iceRestart
   * @returns {Promise<void>}
   */
  negotiatePublisher(iceRestart) {
    const leg = this._pub;
    return leg.serial(async () => {
      if (this._closed) return;
      try {
        leg.localSent = false;
        leg.remoteReady = false;
        this._offered = true; // from now on a restart offers again, even if this one is lost
        const offer = await leg.pc.createOffer({ iceRestart });
        await leg.pc.setLocalDescription(offer);
        const pending = this._request('offer', { target: 'publisher', sdp: { type: 'offer', sdp: offer.sdp } });
        leg.markLocalSent(); // the offer is on the wire
        const result = await pending;
        if (this._closed) return;
        const answer = result.sdp || {};
        await leg.pc.setRemoteDescription({ type: answer.type, sdp: withStartBitrate(answer.sdp, this._startBitrateKbps) });
        await leg.markRemoteReady();
        this._watchStall();
      } catch (err) {
        // The session ended while the offer was on the wire (a call cancelled while its
        // early offer was answered: the server tore the PeerConnection down first, D75):
        // there is nothing left to report.
        if (this._closed) return;
        // An offer without its answer (the socket dropped with it) is taken back: the next
        // offer, the resume's ICE restart, starts from a stable state. Chromium's ICE
        // restart offered over a pending offer never checked its candidate pairs (D323).
        if (leg.pc.signalingState === 'have-local-offer') {
          await leg.pc.setLocalDescription({ type: 'rollback' }).catch(() => {});
          leg.remoteQueue = []; // the server's candidates for the lost answer
        }
        throw asNegotiationError('publisher', err);
      }
    });
  }

  /**
   * Restarts ICE when a PeerConnection is still at ICE "new" ICE_STALL_MS after the
   * publisher's answer (D341): its remote description is set, yet no candidate pair
   * formed, so one side's candidates never reached the other (a server or a browser that
   * dropped them, a message lost with the socket). The restart gathers and trickles anew on
   * both PeerConnections (the server restarts the subscriber with the publisher). At most
   * MAX_STALL_RESTARTS in a row; a connection starts the count again.
   */
  _watchStall() {
    clearTimeout(this._stallTimer);
    this._stallTimer = setTimeout(() => {
      if (this._closed || this._stallRestarts >= MAX_STALL_RESTARTS) return;
      const stalled = [this._pub, this._sub].some((leg) => leg.pc.remoteDescription && leg.pc.iceConnectionState === 'new');
      if (!stalled) return;
      this._stallRestarts++;
      this.restartIce();
    }, ICE_STALL_MS);
  }

  /** Restarts ICE on the publisher (the side this client offers on). */
  restartIce() {
    if (this._closed || !this._offered) return Promise.resolve();
    return this.negotiatePublisher(true).catch((err) => this._onError(err));
  }

  /**
   * Applies a server offer on the subscriber and answers it.
   * @param {RTCSessionDescriptionInit} sdp
   * @returns {Promise<void>}
   */
  handleOffer(sdp) {
    const leg = this._sub;
    leg.remoteReady = false; // candidates from now on belong to this offer: hold them until it is applied
    return leg.serial(async () => {
      if (this._closed) return;
      try {
        leg.localSent = false;
        await leg.pc.setRemoteDescription(sdp);
        await leg.markRemoteReady();
        const answer = await leg.pc.createAnswer();
        await leg.pc.setLocalDescription(answer);
        this._answerLost = false;
        const pending = this._request('answer', { target: 'subscriber', sdp: { type: 'answer', sdp: answer.sdp } });
        leg.markLocalSent();
        await pending;
      } catch (err) {
        if (isAnsweredAlready(err)) return; // an offer the resume replayed after its answer had reached the server
        this._answerLost = isLost(err);
        throw asNegotiationError('subscriber', err);
      }
    });
  }

  /**
   * Sends the subscriber's last answer again when the socket dropped with it: the server
   * waits for it before it offers again, its ICE restart too (D323). A server that had it
   * refuses the copy, which changes nothing.
   * @returns {Promise<void>}
   */
  resendLostAnswer() {
    const leg = this._sub;
    return leg.serial(async () => {
      const desc = leg.pc.localDescription;
      if (this._closed || !this._answerLost || !desc || desc.type !== 'answer') return;
      this._answerLost = false;
      await this._request('answer', { target: 'subscriber', sdp: { type: 'answer', sdp: desc.sdp } }).catch(() => {});
    });
  }

  /**
   * A server candidate for one of the PeerConnections.
   * @param {'publisher'|'subscriber'} target
   * @param {RTCIceCandidateInit} candidate
   */
  handleTrickle(target, candidate) {
    if (this._closed) return Promise.resolve();
    const leg = target === 'subscriber' ? this._sub : this._pub;
    return leg.addRemoteCandidate(candidate);
  }

  /**
   * Both PeerConnections' statistics.
   * @returns {Promise<{publisher: RTCStatsReport, subscriber: RTCStatsReport}>}
   */
  async getStats() {
    const [publisher, subscriber] = await Promise.all([this._pub.pc.getStats(), this._sub.pc.getStats()]);
    return { publisher, subscriber };
  }

  /** @returns {{publisher: RTCPeerConnection, subscriber: RTCPeerConnection}} */
  get peerConnections() {
    return { publisher: this._pub.pc, subscriber: this._sub.pc };
  }

  /** Closes both PeerConnections. Idempotent. Local tracks are not stopped. */
  close() {
    if (this._closed) return;
    this._closed = true;
    clearTimeout(this._deferTimer);
    clearTimeout(this._stallTimer);
    this._pub.close();
    this._sub.close();
  }

  _sendCandidate(target, c) {
    if (this._closed) return;
    const candidate = { candidate: c.candidate };
    if (c.sdpMid != null) candidate.sdpMid = c.sdpMid;
    if (c.sdpMLineIndex != null) candidate.sdpMLineIndex = c.sdpMLineIndex;
    if (c.usernameFragment != null) candidate.usernameFragment = c.usernameFragment;
    this._request('trickle', { target, candidate }).catch((err) => {
      if (err.code !== SdkErrorCode.CONNECTION_LOST && err.code !== SdkErrorCode.NOT_CONNECTED) this._onError(err);
    });
  }

  /** @param {RTCTrackEvent} ev */
  _remoteTrack(ev) {
    const stream = ev.streams[0];
    if (!stream) return; // the server always sets the stream id (= publisher's userId)
    const userId = stream.id;
    const track = ev.track;
    this._onRemoteTrack(userId, track);
    const gone = () => {
      if (this._closed) return;
      this._onRemoteTrackGone(userId, track);
    };
    stream.addEventListener('removetrack', (e) => {
      if (e.track === track) gone();
    });
    track.addEventListener('ended', gone, { once: true });
  }
}

/**
 * The send encodings of layers (lowest first) under limits: maxBitrate caps the full layer
 * (the last, or one at scale 1) and lowers any other layer's default above it;
 * maxFramerate caps all.
 * @param {RTCRtpEncodingParameters[]} layers
 * @param {{maxBitrate?: number, maxFramerate?: number}} limits
 * @returns {RTCRtpEncodingParameters[]}
 */
function withSendLimits(layers, limits) {
  return layers.map((l, i) => {
    const enc = { ...l };
    if (limits.maxBitrate) {
      const full = i === layers.length - 1 || enc.scaleResolutionDownBy === 1;
      enc.maxBitrate = full ? limits.maxBitrate : Math.min(enc.maxBitrate || limits.maxBitrate, limits.maxBitrate);
    }
    if (limits.maxFramerate) enc.maxFramerate = limits.maxFramerate;
    return enc;
  });
}

/** @returns {boolean} whether err says the socket dropped with the request */
/**
 * Whether err is the server's answer to a subscriber answer when its offer was answered
 * already (4004, sfu's "no offer awaits an answer"): a copy of an offer that reached the
 * page again across a resume; the server keeps the answer it has, nothing is wrong.
 */
function isAnsweredAlready(err) {
  return !!err && err.code === ErrorCode.NEGOTIATION_FAILED && /no offer awaits an answer/.test(String(err.message));
}

function isLost(err) {
  return !!err && (err.code === SdkErrorCode.CONNECTION_LOST || err.code === SdkErrorCode.NOT_CONNECTED || err.code === ErrorCode.NOT_LOGGED_IN);
}

/** Wraps a failure of a local WebRTC step (server errors keep their code). */
function asNegotiationError(target, err) {
  if (err instanceof ParleyError) return err;
  return new ParleyError(SdkErrorCode.NEGOTIATION, `${target} negotiation: ${err && err.message ? err.message : err}`);
}
