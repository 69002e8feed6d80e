package web

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Accept → first decoded remote frame, in Chromium through the SDK and the demo page, with
// the SDK's early media on and off and its ringing preview in the same run (issue 14). The
// figures are logged (t.Logf) and go to docs/performance.md; the test fails only on
// functional errors: no frame within firstFrameLimit, media before accept, a device opened
// while ringing (without the preview), or an early media session that did not connect.

const (
	// firstFrameLimit is how long a page may take to decode every other member's video
	// after the accept before the test fails (a generous bound: the test asserts
	// behaviour, not speed).
	firstFrameLimit = 20 * time.Second
	// ringTime is how long a callee lets the call ring before it accepts, as a person
	// does; with early media the PeerConnections must be connected by then too.
	ringTime = 2 * time.Second
	// firstFrameCalls is how many calls of each kind run with early media on and off.
	firstFrameCalls = 5
	// startBitrateEnv, when set, is the SDK's startBitrateKbps for the run (0: Chromium's
	// own start), to compare the size of the first frames.
	startBitrateEnv = "PARLEY_START_BITRATE_KBPS"
)

// firstFramePollerJS (re)starts a timeline recorder in the page, in ms of
// performance.timeOrigin + performance.now() (comparable across the browsers of one
// machine): when the call began (onCallBegin), when the publisher and subscriber
// PeerConnections were first connected, when each other user's video was announced
// (onUserVideoAvailable), and, from the SDK's getStats polled every 20 ms, when each other
// user's audio was first received and its video first decoded (framesDecoded > 0, with the
// frame size then). The SDK's remote tracks map the stats' trackIdentifier to the user.
const firstFramePollerJS = `(() => {
  const e = window.parleyDemo.engine;
  const now = () => performance.timeOrigin + performance.now();
  if (window.__ff) clearInterval(window.__ff.timer);
  const ff = { begin: 0, pub: 0, sub: 0, cam: 0, mic: 0, enc: 0, avail: {}, track: {}, rtp: {}, audio: {}, video: {}, timer: 0 };
  window.__ff = ff;
  if (!window.__ffHooked) {
    window.__ffHooked = true;
    e.on('onCallBegin', () => { if (!window.__ff.begin) window.__ff.begin = now(); });
    e.on('onUserVideoAvailable', (p) => {
      if (p.isVideoAvailable && !window.__ff.avail[p.userId]) window.__ff.avail[p.userId] = now();
    });
  }
  let busy = false;
  ff.timer = setInterval(async () => {
    if (busy || !e._media) return;
    busy = true;
    try {
      const pcs = e._media.peerConnections;
      if (!ff.pub && pcs.publisher.connectionState === 'connected') ff.pub = now();
      if (!ff.sub && pcs.subscriber.connectionState === 'connected') ff.sub = now();
      if (!ff.cam && pcs.publisher.getSenders().some((x) => x.track && x.track.kind === 'video')) ff.cam = now();
      if (!ff.mic && pcs.publisher.getSenders().some((x) => x.track && x.track.kind === 'audio')) ff.mic = now();
      const s = await e.getStats();
      if (!s) return;
      const t = now();
      const owner = {};
      for (const [userId, r] of e._remote) {
        if (r.video) owner[r.video.id] = userId;
        if (r.audio) owner[r.audio.id] = userId;
        if (r.video && !ff.track[userId]) ff.track[userId] = t;
      }
      if (!ff.enc) s.publisher.forEach((r) => {
        if (r.type === 'outbound-rtp' && r.kind === 'video' && (r.framesEncoded || 0) > 0) ff.enc = t;
      });
      s.subscriber.forEach((r) => {
        if (r.type !== 'inbound-rtp') return;
        const user = owner[r.trackIdentifier] || '?';
        if (r.kind === 'video' && (r.packetsReceived || 0) > 0 && !ff.rtp[user]) ff.rtp[user] = t;
        if (r.kind === 'video' && (r.framesDecoded || 0) > 0 && !ff.video[user]) {
          ff.video[user] = { t, w: r.frameWidth || 0, h: r.frameHeight || 0 };
        }
        if (r.kind === 'audio' && (r.packetsReceived || 0) > 0 && !ff.audio[user]) ff.audio[user] = t;
      });
    } finally {
      busy = false;
    }
  }, 20);
  return true;
})()`

// pageTimeline is what firstFramePollerJS recorded (0: not yet).
type pageTimeline struct {
	Begin float64            `json:"begin"`
	Pub   float64            `json:"pub"`
	Sub   float64            `json:"sub"`
	Cam   float64            `json:"cam"`
	Mic   float64            `json:"mic"`
	Enc   float64            `json:"enc"`
	Avail map[string]float64 `json:"avail"`
	Track map[string]float64 `json:"track"`
	RTP   map[string]float64 `json:"rtp"`
	Audio map[string]float64 `json:"audio"`
	Video map[string]struct {
		T float64 `json:"t"`
		W int     `json:"w"`
		H int     `json:"h"`
	} `json:"video"`
}

// acceptJS takes the time and clicks the ringing dialog's Accept (the demo's handler calls
// the SDK's accept() synchronously).
const acceptJS = `(() => {
  const t = performance.timeOrigin + performance.now();
  document.getElementById('accept').click();
  return t;
})()`

// ringingStateJS describes a ringing page's media: whether a device is open, how many
// publisher senders carry a track, how many RTP packets the publisher sent, and the early
// media session's connection states.
const ringingStateJS = `(async () => {
  const e = window.parleyDemo.engine;
  const pcs = e._media ? e._media.peerConnections : null;
  let packetsSent = 0;
  if (pcs) (await pcs.publisher.getStats()).forEach((r) => { if (r.type === 'outbound-rtp') packetsSent += r.packetsSent || 0; });
  return {
    packetsSent,
    deviceOpen: !!(e._local.audio || e._local.video),
    sendingTracks: pcs ? pcs.publisher.getSenders().filter((s) => s.track).length : 0,
    senders: pcs ? pcs.publisher.getSenders().length : 0,
    early: !!e._media,
    publisher: pcs ? pcs.publisher.connectionState : '',
    subscriber: pcs ? pcs.subscriber.connectionState : '',
  };
})()`

type ringingState struct {
	PacketsSent   int    `json:"packetsSent"`
	DeviceOpen    bool   `json:"deviceOpen"`
	SendingTracks int    `json:"sendingTracks"`
	Senders       int    `json:"senders"`
	Early         bool   `json:"early"`
	Publisher     string `json:"publisher"`
	Subscriber    string `json:"subscriber"`
}

// firstFrameRun is one page's timeline in one call, in ms from its reference accept
// (negative: before it; NaN: never): ms is the first decoded frame of every other member
// (the last of them), the others are the steps on the way.
type firstFrameRun struct {
	ms     float64
	height int // height of that last first frame
	steps  [len(timelineSteps)]float64
	tl     pageTimeline
}

// timelineSteps name firstFrameRun.steps: onCallBegin, publisher and subscriber
// PeerConnection connected, every other member's video announced, and its audio received.
var timelineSteps = [...]string{"begin", "pub up", "sub up", "video on", "audio in"}

// TestBrowserAcceptToFirstFrame: 1v1 and 3-party video calls from the demo page, each
// firstFrameCalls times with early media on, off, and on with the ringing preview
// (ffModes, interleaved). 1v1: bob accepts after ringTime; both measure from that accept
// to the first decoded frame of the other. Group: alice calls bob and carol, who accept
// one right after the other; each invitee measures from its own accept to both others'
// first frames, alice from the later accept. While ringing, an invitee has no device open
// (with the ringing preview: every page's camera is open), no page sends a packet and the
// server receives none; with early media its PeerConnections (and the caller's) are
// connected; no page decodes or receives anything before the accept.
func TestBrowserAcceptToFirstFrame(t *testing.T) {
	srv := startTestServer(t, true)
	pages := newBrowsers(t, "alice", "bob", "carol")
	alice, bob, carol := pages[0], pages[1], pages[2]
	mode := map[*browser]string{}
	query := url.Values{}
	if kbps := os.Getenv(startBitrateEnv); kbps != "" {
		query.Set("startBitrateKbps", kbps)
		t.Logf("startBitrateKbps %s", kbps)
	}
	use := func(m ffMode, bs ...*browser) {
		q := maps.Clone(query)
		if !m.early {
			q.Set("earlyMedia", "0")
		}
		if m.preview {
			q.Set("ringingPreview", "1")
		}
		page := srv.URL + labPath + "?" + q.Encode()
		for _, b := range bs {
			if mode[b] != page {
				signInAt(b, page, b.name)
				mode[b] = page
			}
		}
	}

	results := map[string][]firstFrameRun{}
	record := func(key string, r firstFrameRun) { results[key] = append(results[key], r) }
	srv.Held.start()
	for i := range len(ffModes) * firstFrameCalls {
		m := ffModeOf(i)
		use(m, pages...)
		label := m.label
		callee, caller := oneToOneCall(t, srv, alice, bob, m)
		t.Logf("1v1 call %d, early media %s: bob %.0f ms (%dp), alice %.0f ms (%dp)", i/len(ffModes)+1, label, callee.ms, callee.height, caller.ms, caller.height)
		record("1v1 callee "+label, callee)
		record("1v1 caller "+label, caller)
	}
	for i := range len(ffModes) * firstFrameCalls {
		m := ffModeOf(i)
		use(m, pages...)
		label := m.label
		runs := groupCall(t, srv, alice, bob, carol, m)
		t.Logf("group call %d, early media %s: alice %.0f ms, bob %.0f ms, carol %.0f ms", i/len(ffModes)+1, label, runs[0].ms, runs[1].ms, runs[2].ms)
		record("group caller "+label, runs[0])
		record("group invitees "+label, runs[1])
		record("group invitees "+label, runs[2])
	}

	keys := make([]string, 0, len(results))
	for k := range results {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	t.Logf("accept → first decoded remote frame, ms (group: every other member's video); p50 of the steps on the way (%s):", strings.Join(timelineSteps[:], ", "))
	for _, k := range keys {
		ms := make([]float64, len(results[k]))
		heights := map[int]int{}
		steps := make([]string, len(timelineSteps))
		for i, r := range results[k] {
			ms[i] = r.ms
			heights[r.height]++
		}
		for j := range timelineSteps {
			v := make([]float64, len(results[k]))
			for i, r := range results[k] {
				v[i] = r.steps[j]
			}
			steps[j] = fmt.Sprintf("%.0f", percentile(v, 50))
		}
		t.Logf("  %-20s p50 %5.0f  p95 %5.0f  n %2d  steps %s  first frame heights %v", k, percentile(ms, 50), percentile(ms, 95), len(ms), strings.Join(steps, " / "), heights)
	}
	checkNoErrors(t, pages...)
}

// ffMode is how the pages' SDKs set up a call: early media on or off, and the ringing
// preview (ringingPreview: the camera opens while the call rings, with early media).
type ffMode struct {
	label          string
	early, preview bool
}

var ffModes = [...]ffMode{{"on", true, false}, {"off", false, false}, {"preview", true, true}}

// ffModeOf is the mode of the i-th call: each round of len(ffModes) calls has every mode
// once, in an order that rotates from round to round (as many of each, spread evenly).
func ffModeOf(i int) ffMode {
	return ffModes[(i+i/len(ffModes))%len(ffModes)]
}

// oneToOneCall has alice video-call bob, bob accept after ringTime, waits until both
// decode each other, and hangs up. It returns bob's and alice's accept → first frame.
func oneToOneCall(t *testing.T, srv *testServer, alice, bob *browser, m ffMode) (callee, caller firstFrameRun) {
	t.Helper()
	startPollers(alice, bob)
	placeCall(alice, "bob")
	ringUntilAccept(t, srv, alice, m, bob)
	t0 := eval[float64](bob, acceptJS)
	callee = waitFirstFrames(t, bob, t0, t0, "alice")
	caller = waitFirstFrames(t, alice, t0, t0, "bob")
	hangUpAll(alice, bob)
	return callee, caller
}

// groupCall has alice video-call bob and carol, both accept after ringTime, one right
// after the other; it waits until everyone decodes both others and everyone hangs up. It
// returns alice's (from the later accept), bob's and carol's (from their own) times.
func groupCall(t *testing.T, srv *testServer, alice, bob, carol *browser, m ffMode) []firstFrameRun {
	t.Helper()
	startPollers(alice, bob, carol)
	placeCall(alice, "bob, carol")
	ringUntilAccept(t, srv, alice, m, bob, carol)
	tBob := eval[float64](bob, acceptJS)
	tCarol := eval[float64](carol, acceptJS)
	first := math.Min(tBob, tCarol)
	runs := []firstFrameRun{
		waitFirstFrames(t, alice, first, math.Max(tBob, tCarol), "bob", "carol"),
		waitFirstFrames(t, bob, first, tBob, "alice", "carol"),
		waitFirstFrames(t, carol, first, tCarol, "alice", "bob"),
	}
	logTimelines(t, first, []*browser{alice, bob, carol}, runs)
	hangUpAll(alice, bob, carol)
	return runs
}

func startPollers(bs ...*browser) {
	for _, b := range bs {
		eval[bool](b, firstFramePollerJS)
	}
}

func placeCall(caller *browser, callees string) {
	caller.do(
		chromedp.SetValue(chromedp.CSS("#callee"), callees),
		chromedp.Click(chromedp.CSS("#call-video")),
	)
}

// ringUntilAccept waits until every invitee's page rings, checks that no invitee opened a
// device (with the ringing preview: that every page's camera is open) and that no page
// sends a track, and lets the call ring for ringTime; with early media it also waits until
// the caller's and every invitee's publisher PeerConnection is connected. The server must
// have received no media of anyone while ringing (srv.Held, once started).
func ringUntilAccept(t *testing.T, srv *testServer, caller *browser, m ffMode, invitees ...*browser) {
	t.Helper()
	early := m.early
	start := time.Now()
	for _, b := range invitees {
		waitFor[bool](b, "the ringing dialog", `document.getElementById('ringing').open`, 20*time.Second)
	}
	for _, b := range append([]*browser{caller}, invitees...) {
		if m.preview {
			waitFor[bool](b, "the ringing preview's camera", `(() => { const v = window.parleyDemo.engine._local.video; return !!v && v.readyState === 'live'; })()`, 20*time.Second)
		}
		if early {
			waitFor[bool](b, "the early media session connected",
				`(() => { const e = window.parleyDemo.engine; return !!e._media && e._media.peerConnections.publisher.connectionState === 'connected'; })()`,
				20*time.Second)
		}
	}
	if d := ringTime - time.Since(start); d > 0 {
		time.Sleep(d) // the callee looks at the ringing dialog before answering
	}
	for _, b := range append([]*browser{caller}, invitees...) {
		st := eval[ringingState](b, ringingStateJS)
		// The ringing preview's camera is on the held video sender (all encodings inactive).
		if st.PacketsSent != 0 || st.SendingTracks > map[bool]int{false: 0, true: 1}[m.preview] {
			t.Fatalf("%s: a track is sent while ringing: %+v", b.name, st)
		}
		if n := srv.Held.count(b.name); n != 0 {
			t.Fatalf("%s: the server received %d of its tracks while the call rang", b.name, n)
		}
		if b == caller {
			continue
		}
		if st.DeviceOpen != m.preview {
			t.Fatalf("%s: while ringing a device is open = %v, want %v (ringing preview): %+v", b.name, st.DeviceOpen, m.preview, st)
		}
		if st.Early != early {
			t.Fatalf("%s: early media session while ringing = %v, want %v: %+v", b.name, st.Early, early, st)
		}
		if early && st.Senders < 2 {
			t.Fatalf("%s: the early publisher has %d senders, want audio and video: %+v", b.name, st.Senders, st)
		}
	}
}

// waitFirstFrames waits until b decoded the video of every user of others and returns the
// time from ref to the last of those first frames. Nothing may have been decoded or
// received before firstAccept (the earliest accept of the call).
func waitFirstFrames(t *testing.T, b *browser, firstAccept, ref float64, others ...string) firstFrameRun {
	t.Helper()
	cond := make([]string, len(others))
	for i, u := range others {
		cond[i] = fmt.Sprintf("!!window.__ff.video[%q]", u)
	}
	if !poll(b, strings.Join(cond, " && "), firstFrameLimit) {
		b.dumpOutput()
		t.Fatalf("%s: no video of all of %v within %s of the accept: %s", b.name, others, firstFrameLimit, eval[string](b, `JSON.stringify(window.__ff)`))
	}
	var tl pageTimeline
	if err := json.Unmarshal([]byte(eval[string](b, `JSON.stringify(window.__ff)`)), &tl); err != nil {
		t.Fatal(err)
	}
	for user, v := range tl.Video {
		if v.T < firstAccept {
			t.Fatalf("%s decoded %s's video %.0f ms before the accept", b.name, user, firstAccept-v.T)
		}
	}
	for user, at := range tl.Audio {
		if at < firstAccept {
			t.Fatalf("%s received %s's audio %.0f ms before the accept", b.name, user, firstAccept-at)
		}
	}
	since := func(at float64) float64 {
		if at == 0 {
			return math.NaN()
		}
		return at - ref
	}
	run := firstFrameRun{ms: math.Inf(-1), tl: tl}
	run.steps = [len(timelineSteps)]float64{since(tl.Begin), since(tl.Pub), since(tl.Sub), math.Inf(-1), math.Inf(-1)}
	for _, u := range others {
		v := tl.Video[u]
		if ms := v.T - ref; ms >= run.ms {
			run.ms, run.height = ms, v.H
		}
		run.steps[3] = max(run.steps[3], since(tl.Avail[u]))
		run.steps[4] = max(run.steps[4], since(tl.Audio[u]))
	}
	return run
}

// hangUpAll hangs every page up and waits until each is back in the lobby without media.
func hangUpAll(bs ...*browser) {
	for _, b := range bs {
		// Atomically in the page: the call may end for b (the others left) at any moment.
		eval[bool](b, `window.parleyDemo.state.view === 'incall' && (document.getElementById('hangup').click(), true)`)
	}
	for _, b := range bs {
		waitFor[bool](b, "the lobby without media after the call",
			`window.parleyDemo.state.view === 'lobby' && window.parleyDemo.engine._media === null && window.parleyDemo.engine.currentCall === null`,
			20*time.Second)
	}
}

// percentile is the nearest-rank p-th percentile of ms, NaNs (never happened) left out.
func percentile(ms []float64, p float64) float64 {
	s := slices.DeleteFunc(slices.Clone(ms), math.IsNaN)
	if len(s) == 0 {
		return math.NaN()
	}
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank-1, 0)]
}

// keyframeStatsJS sums up a page's keyframes: per simulcast layer it encoded, keyframes
// encoded and keyframe requests (PLI) received; per user it receives, keyframes decoded and
// PLIs sent.
const keyframeStatsJS = `(async () => {
  const e = window.parleyDemo.engine;
  const s = await e.getStats();
  if (!s) return '';
  const owner = {};
  for (const [userId, r] of e._remote) if (r.video) owner[r.video.id] = userId;
  const out = [];
  s.publisher.forEach((r) => {
    if (r.type === 'outbound-rtp' && r.kind === 'video') out.push(r.rid + ' kf ' + (r.keyFramesEncoded || 0) + ' pli ' + (r.pliCount || 0));
  });
  s.subscriber.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') out.push('<-' + (owner[r.trackIdentifier] || '?') + ' kf ' + (r.keyFramesDecoded || 0) + ' pli ' + (r.pliCount || 0) + ' ' + (r.frameHeight || 0) + 'p');
  });
  return out.sort().join(', ');
})()`

// logTimelines logs where the time of one call went, in ms from the call's first accept:
// per page its onCallBegin, camera on its sender, first encoded frame and microphone on its
// sender; per page and other member, that member's video track, first video packet, first
// decoded frame and first audio packet;
// and the pages' keyframe counters (keyframeStatsJS).
func logTimelines(t *testing.T, first float64, bs []*browser, runs []firstFrameRun) {
	t.Helper()
	at := func(v float64) string {
		if v == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f", v-first)
	}
	for i, b := range bs {
		tl := runs[i].tl
		line := fmt.Sprintf("%s: begin %s cam %s enc %s mic %s;", b.name, at(tl.Begin), at(tl.Cam), at(tl.Enc), at(tl.Mic))
		for _, o := range slices.Sorted(maps.Keys(tl.Video)) {
			line += fmt.Sprintf(" <-%s avail %s track %s rtp %s dec %s (%dp) audio %s;", o, at(tl.Avail[o]), at(tl.Track[o]), at(tl.RTP[o]), at(tl.Video[o].T), tl.Video[o].H, at(tl.Audio[o]))
		}
		t.Logf("  %s [%s]", line, eval[string](b, keyframeStatsJS))
	}
}
