package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// mediaCounterJS, run in a document before its own scripts (or by sdkPageJS), counts what the page makes:
// window.mediaCounter.tracks (every capture track of getUserMedia) and .pcs (every
// RTCPeerConnection). mediaLeftJS reads what is left of them.
const mediaCounterJS = `(() => {
  if (window.mediaCounter) return;
  const tracks = [], pcs = [];
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (c) => { const s = await gum(c); tracks.push(...s.getTracks()); return s; };
  const PC = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...a) { const pc = new PC(...a); pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = PC.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, PC);
  window.mediaCounter = {tracks, pcs};
})()`

// mediaLeftJS is what the page holds: its open PeerConnections, its live capture tracks
// (kinds, sorted) and the PeerConnections it made in all.
const mediaLeftJS = `({openPCs: mediaCounter.pcs.filter((pc) => pc.signalingState !== 'closed').length,
  madePCs: mediaCounter.pcs.length,
  live: mediaCounter.tracks.filter((t) => t.readyState === 'live').map((t) => t.kind).sort().join(',')})`

// countMedia runs mediaCounterJS in every document b opens from now on.
func countMedia(b *browser) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: mediaCounterJS})
		return err
	}))
}

// countedKitBrowsers is kitBrowsers whose pages count their media (countMedia).
func countedKitBrowsers(t *testing.T, srv *testServer, names ...string) []*browser {
	t.Helper()
	bs := newBrowsers(t, names...)
	for _, b := range bs {
		countMedia(b)
		kitSignIn(b, srv.URL, b.name)
	}
	return bs
}

// waitNothingLeft waits until b's page holds no open PeerConnection and no live capture
// track (countMedia), and fails the test (after what, with the page's kit and engine
// state) when it still does after kitWait.
func waitNothingLeft(t *testing.T, b *browser, what string) {
	t.Helper()
	if !poll(b, `(() => { const m = `+mediaLeftJS+`; return m.openPCs === 0 && m.live === ''; })()`, kitWait) {
		t.Errorf("%s: %s holds what its page shows: %s", what, b.name, eval[string](b, kitEngineStateJS))
	}
}

// kitEngineStateJS is, as JSON, what a test that failed on a kit page wants to know: the
// kit's call state, the engine's call, early media and devices (each track's state, a
// capture under way, whether the preview element shows a stream) and what the page holds.
const kitEngineStateJS = `JSON.stringify((() => {
  const k = window.parleyDemo.kit._s, e = window.parleyDemo.engine, l = e._local;
  const track = (t) => t ? t.kind + ' ' + t.readyState + ' ' + t.id : null;
  return {kit: {phase: k.phase, callId: k.callId, mediaType: k.mediaType, camOn: k.camOn, micOn: k.micOn},
    engine: {call: e._call, status: e._status, prep: e._prep, media: !!e._media, reconnecting: e._reconnecting,
      unannounced: [...e._unannounced], preview: e._preview},
    devices: {video: track(l.video), audio: track(l.audio), opening: {video: !!(l._opening && l._opening.video), audio: !!(l._opening && l._opening.audio)},
      view: l.view ? track(l.view.srcObject && l.view.srcObject.getVideoTracks()[0]) : 'none'},
    page: ` + mediaLeftJS + `};
})())`

// kitHandlersJS counts the handlers registered on the demo page's engine.
const kitHandlersJS = `[...window.parleyDemo.engine._handlers.values()].reduce((n, s) => n + s.size, 0)`

// waitFramesGrow waits until b's kit tile of userID plays video and decodes 10 more frames.
func waitFramesGrow(b *browser, userID string) {
	b.t.Helper()
	v := fmt.Sprintf(`%s.querySelector('video')`, tileJS(userID))
	n := waitFor[int](b, userID+"'s tile decoding", fmt.Sprintf(`(() => { const t = %s; return t && !t.classList.contains('no-video') && %s.videoWidth > 0 ? %s.getVideoPlaybackQuality().totalVideoFrames : 0; })()`, tileJS(userID), v, v), kitWait)
	waitFor[bool](b, userID+"'s tile decoding more frames", fmt.Sprintf(`%s.getVideoPlaybackQuality().totalVideoFrames > %d + 10`, v, n), kitWait)
}

// kitVideoCall: caller's kit video-calls callee, whose kit accepts; both kits show the
// call and decode the other's video.
func kitVideoCall(caller, callee *browser) {
	caller.t.Helper()
	eval[bool](caller, fmt.Sprintf(`%s.call({userId: %q, type: 2}).then(() => true)`, kitJS, callee.name))
	waitKitStatus(callee, "BE_INVITED")
	kitClick(callee, "accept")
	for _, pair := range [][2]*browser{{caller, callee}, {callee, caller}} {
		waitKitStatus(pair[0], "CALLING_C2C_VIDEO")
		waitFramesGrow(pair[0], pair[1].name)
	}
}

// TestKitSwitchMediaTypeBothWays: a 1v1 video call through the kit goes to audio with the
// kit's button (both kits show an audio call, the cameras close) and back to video from
// the other side (D18: both directions, either side): both kits show a video call again,
// both cameras open and each tile decodes the other's frames. After the hangup the kit
// places a second call on the same page; when that ends too, no PeerConnection, capture
// track or engine handler is left over from the two calls.
func TestKitSwitchMediaTypeBothWays(t *testing.T) {
	srv := startTestServer(t, true)
	bs := countedKitBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	handlers := eval[int](alice, kitHandlersJS)

	kitVideoCall(alice, bob)

	kitClick(alice, "toAudio")
	for _, b := range bs {
		waitKitStatus(b, "CALLING_C2C_AUDIO")
		waitFor[bool](b, "the camera closed", `window.parleyDemo.engine._local.video === null`, kitWait)
	}
	kitClick(bob, "toVideo")
	for _, pair := range [][2]*browser{{alice, bob}, {bob, alice}} {
		me, other := pair[0], pair[1]
		waitKitStatus(me, "CALLING_C2C_VIDEO")
		waitFor[bool](me, "the camera open again", `!!window.parleyDemo.engine._local.video && `+kitJS+`._s.camOn`, kitWait)
		waitFramesGrow(me, other.name)
	}
	kitClick(alice, "hangup")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
	}

	// The kit used a second time on the same page.
	kitVideoCall(alice, bob)
	kitClick(bob, "hangup")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
		waitNothingLeft(t, b, "after two calls")
	}
	if got := eval[int](alice, kitHandlersJS); got != handlers {
		t.Errorf("alice's engine has %d handlers after two calls, %d before", got, handlers)
	}
	kitNoErrors(t, alice, bob)
}

// denyCameraJS makes the page's getUserMedia refuse every request for a camera as a user
// who blocked it does (NotAllowedError); the microphone still opens.
const denyCameraJS = `(() => {
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => c && c.video
    ? Promise.reject(new DOMException('Permission denied', 'NotAllowedError'))
    : gum(c);
  return true;
})()`

// TestKitCameraDenied: bob blocked his camera. He accepts alice's video call: his kit
// reports the documented media device error (kitError, code -4, naming NotAllowedError)
// once and shows it, the call goes on: alice hears bob and sees his avatar, bob sees and
// hears alice, bob's camera button offers to turn the camera on; the call ends cleanly.
// The same holds for the video call bob places next.
func TestKitCameraDenied(t *testing.T) {
	srv := startTestServer(t, true)
	bs := kitBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	eval[bool](bob, denyCameraJS)

	eval[bool](alice, kitJS+`.call({userId: 'bob', type: 2}).then(() => true)`)
	waitKitStatus(bob, "BE_INVITED")
	kitClick(bob, "accept")
	for _, b := range bs {
		waitKitStatus(b, "CALLING_C2C_VIDEO")
	}
	type kitErr struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	kitErrorsJS := `window.parleyDemo.events.filter((e) => e.name === 'kitError').map((e) => e.payload)`
	waitFor[bool](bob, "the kit's error", kitErrorsJS+`.length > 0`, kitWait)
	errs := eval[[]kitErr](bob, kitErrorsJS)
	if len(errs) != 1 || errs[0].Code != -4 || !strings.Contains(errs[0].Message, "NotAllowedError") {
		t.Errorf("bob's kit reported %+v, want one error of code -4 (MEDIA_DEVICE) naming NotAllowedError", errs)
	}
	waitHearing(t, alice)
	waitHearing(t, bob)
	waitFramesGrow(bob, "alice")
	waitFor[bool](alice, "bob's avatar", tileJS("bob")+` && `+tileJS("bob")+`.classList.contains('no-video')`, kitWait)
	waitFor[bool](bob, "the camera button offering the camera", `(`+kitButtonJS("camera")+`).getAttribute('aria-label') === 'Turn camera on'`, kitWait)
	if got := eval[string](bob, `window.parleyDemo.engine._local.audio ? window.parleyDemo.engine._local.audio.readyState : 'none'`); got != "live" {
		t.Errorf("bob's microphone: %s, want live", got)
	}
	kitClick(alice, "hangup")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
	}

	// Bob places a video call himself: the same error, the same audio call.
	eval[bool](bob, kitJS+`.call({userId: 'alice', type: 2}).then(() => true)`)
	waitFor[bool](bob, "the kit's second error", kitErrorsJS+`.length === 2 && `+kitErrorsJS+`[1].code === -4`, kitWait)
	waitKitStatus(alice, "BE_INVITED")
	kitClick(alice, "accept")
	waitKitStatus(bob, "CALLING_C2C_VIDEO")
	waitHearing(t, alice)
	waitFramesGrow(bob, "alice")
	waitFor[bool](alice, "bob's avatar", tileJS("bob")+` && `+tileJS("bob")+`.classList.contains('no-video')`, kitWait)
	kitClick(bob, "hangup")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
	}
	checkNoErrors(t, alice)
}

// TestKitReloadMidCall: bob reloads the page in the middle of a video call and signs in
// again. His new session replaces the old one (the server's duplicate login rule): the
// call ends for alice (onUserLeave of bob, then onCallEnd; her kit back to IDLE) and bob's
// new page is idle, not busy: alice's next call rings there and connects with video.
func TestKitReloadMidCall(t *testing.T) {
	srv := startTestServer(t, true)
	bs := kitBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	kitVideoCall(alice, bob)
	kitSignIn(bob, srv.URL, "bob") // navigates: the page reloads
	waitKitStatus(alice, "IDLE")
	heard := eval[string](alice, `window.parleyDemo.events.filter((e) => e.name === 'onCallEnd' || (e.name === 'onUserLeave' && e.payload.userId === 'bob')).map((e) => e.name).join(',')`)
	if heard != "onUserLeave,onCallEnd" {
		t.Errorf("alice heard %s of bob's reload, want onUserLeave,onCallEnd", heard)
	}
	waitKitStatus(bob, "IDLE")
	kitVideoCall(alice, bob)
	kitClick(bob, "hangup")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
	}
	kitNoErrors(t, alice, bob)
}

// TestBrowserSDKErrorCodes: what an app gets back from the SDK's methods used wrongly is a
// ParleyError (an Error) with the code documented for it (signaling/PROTOCOL.md §7 and the
// SDK's SdkErrorCode): before a login the methods fail with 1001 (not logged in) as the
// server's do (D281; -1, "not connected", before), after destroyInstance with -7.
func TestBrowserSDKErrorCodes(t *testing.T) {
	srv := startTestServer(t, true)
	b := newBrowsers(t, "alice")[0]
	sdkPage(b, srv.URL, "alice")
	eval[bool](b, `import('/sdk/parley.js').then(({ ParleyCallEngine }) => {
	  window.fresh = ParleyCallEngine.createInstance({url: location.origin.replace('http', 'ws') + '/ws'});
	  window.gone = ParleyCallEngine.createInstance({url: location.origin.replace('http', 'ws') + '/ws'});
	  gone.destroyInstance();
	  return true;
	})`)
	tests := []struct {
		name, call string
		code       int
	}{
		{"call before login", `fresh.call({userId: 'bob', mediaType: 2})`, 1001},
		{"hangup before login", `fresh.hangup()`, 1001},
		{"startRemoteView before login", `fresh.startRemoteView({userId: 'bob', element: document.body})`, 1001},
		{"setSelfInfo before login", `fresh.setSelfInfo({nickname: 'A'})`, 1001},
		{"call after destroyInstance", `gone.call({userId: 'bob', mediaType: 2})`, -7},
		{"call yourself", `app.engine.call({userId: 'alice', mediaType: 2})`, 3005},
		{"media type 3", `app.engine.call({userId: 'bob', mediaType: 3})`, 3008},
		{"timeout 5 s", `app.engine.call({userId: 'bob', mediaType: 2, timeout: 5})`, 3001},
		{"bad userId", `app.engine.call({userId: 'b o b', mediaType: 2})`, 1005},
		{"no callee", `app.engine.calls({userIdList: [], mediaType: 2})`, 3010},
		{"accept nothing ringing", `app.engine.accept()`, 3002},
		{"hangup outside a call", `app.engine.hangup()`, 3003},
		{"switch outside a call", `app.engine.switchCallMediaType(1)`, 3003},
		{"join no call", `app.engine.join({callId: 'nope'})`, 3004},
		{"startRemoteView outside a room", `app.engine.startRemoteView({userId: 'bob', element: document.body})`, 4002},
		{"nickname too long", `app.engine.setSelfInfo({nickname: 'x'.repeat(600)})`, 2001},
		{"avatar not a URL", `app.engine.setSelfInfo({avatar: 'notaurl'})`, 2002},
		{"openCamera into no element", `app.engine.openCamera({element: '#nope'})`, -32602},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eval[string](b, `(async () => { try { await `+tt.call+`; return 'resolved'; }
			  catch (err) { return (err instanceof Error && err.name === 'ParleyError' ? '' : 'not a ParleyError ') + err.code + ' ' + err.message; } })()`)
			if !strings.HasPrefix(got, fmt.Sprintf("%d ", tt.code)) {
				t.Errorf("%s: %s, want code %d", tt.call, got, tt.code)
			}
		})
	}
}

// TestKitGroupSpeakerAndLeave: alice video-calls bob and carol through the kit; alice and
// carol mute their microphones, so bob alone speaks: every kit's volume meters show bob
// above zero and the muted two at zero, and the speaker view puts bob on top (on alice's
// and carol's kits; bob's own shows one of the others). Carol hangs up: alice and bob hear
// onUserLeave, her tile goes from their kits, the call goes on between the two with video.
func TestKitGroupSpeakerAndLeave(t *testing.T) {
	srv := startTestServer(t, true)
	bs := kitBrowsers(t, srv, "alice", "bob", "carol")
	alice, bob, carol := bs[0], bs[1], bs[2]
	eval[bool](alice, kitJS+`.groupCall({userIdList: ['bob', 'carol'], type: 2}).then(() => true)`)
	for _, b := range []*browser{bob, carol} {
		waitKitStatus(b, "BE_INVITED")
		kitClick(b, "accept")
	}
	for _, b := range bs {
		waitKitStatus(b, "CALLING_GROUP_VIDEO")
		for _, o := range bs {
			if o != b {
				waitFramesGrow(b, o.name)
			}
		}
	}
	for _, b := range []*browser{alice, carol} {
		kitClick(b, "mic")
		waitFor[bool](b, "the microphone muted", `(`+kitButtonJS("mic")+`).getAttribute('aria-label') === 'Unmute microphone'`, kitWait)
	}
	volumeJS := func(userID string) string {
		return `Number(` + tileJS(userID) + `.querySelector('.volume').getAttribute('aria-valuenow'))`
	}
	for _, b := range bs {
		waitFor[bool](b, "bob loud, alice and carol silent", volumeJS("bob")+` > 0 && `+volumeJS("alice")+` === 0 && `+volumeJS("carol")+` === 0`, kitWait)
	}
	for _, b := range []*browser{alice, carol} {
		kitClick(b, "layout")
		waitFor[bool](b, "bob on top of the speaker view", kitJS+`.shadowRoot.querySelector('.stage').classList.contains('speaker') && `+kitJS+`.shadowRoot.querySelector('.stage .tile.main').dataset.userId === 'bob'`, kitWait)
	}

	kitClick(carol, "hangup")
	waitKitStatus(carol, "IDLE")
	for _, b := range []*browser{alice, bob} {
		waitFor[bool](b, "carol's tile gone", `!`+tileJS("carol"), kitWait)
		if got := eval[int](b, eventCountJS("onUserLeave", "p.userId === 'carol'")); got != 1 {
			t.Errorf("%s heard onUserLeave of carol %d times, want 1", b.name, got)
		}
		if got := eval[string](b, kitJS+`.status`); got != "CALLING_GROUP_VIDEO" {
			t.Errorf("%s: the kit is %s after carol left, want CALLING_GROUP_VIDEO", b.name, got)
		}
		if n := eval[int](b, kitJS+`.shadowRoot.querySelectorAll('.stage .tile').length`); n != 2 {
			t.Errorf("%s: %d tiles after carol left, want 2", b.name, n)
		}
	}
	waitFramesGrow(alice, "bob")
	waitFramesGrow(bob, "alice")
	kitClick(bob, "hangup")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
	}
	kitNoErrors(t, bs...)
}

// dropNetwork takes the namespace's loopback (the only network of the browsers and the
// server, main_test.go) down for d and up again: every packet and connection attempt
// between them fails meanwhile, as in a network outage.
func dropNetwork(t *testing.T, d time.Duration) {
	t.Helper()
	if os.Getenv(netnsEnv) == "" {
		t.Fatal("dropNetwork outside the test's private network namespace")
	}
	ip := func(state string) {
		if out, err := exec.Command("ip", "link", "set", "lo", state).CombinedOutput(); err != nil {
			t.Fatalf("ip link set lo %s: %v: %s", state, err, out)
		}
	}
	ip("down")
	time.Sleep(d) // the outage itself
	ip("up")
}

// TestKitNetworkDrop: the network of a 1v1 kit video call drops. After 8 s (longer than
// the server's ICE disconnected timeout, within the reconnect grace) the call is the same
// call on both sides (no onCallEnd, the kits still in the call) and each side decodes the
// other's video and hears the other again. After 45 s (past the server's keep-alive and
// reconnect grace, so the server ended alice's session and the call) both kits are back to
// IDLE, both pages heard onCallEnd (alice's SDK reports it itself, reason "disconnect",
// D282), alice's devices are closed, and the next call works.
func TestKitNetworkDrop(t *testing.T) {
	tests := []struct {
		name    string
		outage  time.Duration
		resumes bool
	}{
		{"8s resumes", 8 * time.Second, true},
		{"45s ends", 45 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startTestServer(t, true)
			bs := kitBrowsers(t, srv, "alice", "bob")
			alice, bob := bs[0], bs[1]
			kitVideoCall(alice, bob)
			dropNetwork(t, tt.outage)
			if !tt.resumes {
				for _, b := range bs {
					waitKitStatus(b, "IDLE")
					waitFor[bool](b, "onCallEnd", eventCountJS("onCallEnd", "")+` === 1`, kitWait)
					waitFor[bool](b, "the devices closed", `window.parleyDemo.engine._local.video === null && window.parleyDemo.engine._local.audio === null`, kitWait)
				}
				if got := eval[string](alice, `window.parleyDemo.events.find((e) => e.name === 'onCallEnd').payload.reason`); got != "disconnect" {
					t.Errorf("alice's onCallEnd has reason %q, want disconnect", got)
				}
				kitVideoCall(alice, bob)
			}
			for _, pair := range [][2]*browser{{alice, bob}, {bob, alice}} {
				me, other := pair[0], pair[1]
				waitFramesGrow(me, other.name)
				waitHearing(t, me)
				if got := eval[string](me, kitJS+`.status`); got != "CALLING_C2C_VIDEO" {
					t.Errorf("%s: the kit is %s after the outage", me.name, got)
				}
				if n := eval[int](me, eventCountJS("onCallEnd", "")); tt.resumes && n != 0 {
					t.Errorf("%s: the call ended in the outage", me.name)
				}
			}
			kitClick(alice, "hangup")
			for _, b := range bs {
				waitKitStatus(b, "IDLE")
			}
		})
	}
}

// TestKitSecondTabKicks: alice is in a kit video call with bob and signs in again in a
// second tab (multi-device off): the first tab hears onKickedOffline, its kit goes back to
// IDLE with its camera, microphone and PeerConnections closed and the page back to the
// sign-in form; bob's kit ends the call (onCallEnd); the second tab then calls bob and both
// see each other.
func TestKitSecondTabKicks(t *testing.T) {
	srv := startTestServer(t, true)
	bs := newBrowsers(t, "alice", "bob", "alice-tab2")
	alice, bob, tab2 := bs[0], bs[1], bs[2]
	countMedia(alice)
	kitSignIn(alice, srv.URL, "alice")
	kitSignIn(bob, srv.URL, "bob")
	kitVideoCall(alice, bob)

	kitSignIn(tab2, srv.URL, "alice")
	waitFor[bool](alice, "onKickedOffline", eventCountJS("onKickedOffline", "")+` === 1`, kitWait)
	waitKitStatus(alice, "IDLE")
	waitFor[bool](alice, "the sign-in form", `window.parleyDemo.state.view === 'signin'`, kitWait)
	waitNothingLeft(t, alice, "kicked")
	waitKitStatus(bob, "IDLE")
	waitFor[bool](bob, "onCallEnd", eventCountJS("onCallEnd", "")+` === 1`, kitWait)

	tab2.name = "alice" // the tile of the second tab is alice's
	kitVideoCall(tab2, bob)
	kitClick(bob, "hangup")
	for _, b := range []*browser{tab2, bob} {
		waitKitStatus(b, "IDLE")
	}
	kitNoErrors(t, bob, tab2)
}

// TestKitHangupWhileDevicesOpen: a kit call hung up while its camera and microphone are
// still opening leaves no live capture track and no open PeerConnection: alice cancels in
// the same task as her call, bob hangs up in the same task as his accept, and a video call
// switched to audio while ringing connects as audio with no camera on either side.
func TestKitHangupWhileDevicesOpen(t *testing.T) {
	srv := startTestServer(t, true)
	bs := countedKitBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	nothingLeft := func(what string) {
		t.Helper()
		for _, b := range bs {
			waitKitStatus(b, "IDLE")
			waitNothingLeft(t, b, what)
		}
	}
	eval[bool](alice, `(() => { const p = `+kitJS+`.call({userId: 'bob', type: 2}); `+kitJS+`.hangup(); return p.then(() => true, () => true); })()`)
	nothingLeft("a call cancelled at once")

	eval[bool](alice, kitJS+`.call({userId: 'bob', type: 2}).then(() => true)`)
	waitKitStatus(bob, "BE_INVITED")
	eval[bool](bob, `(() => { const p = `+kitJS+`.accept(); `+kitJS+`.hangup(); return p.then(() => true, () => true); })()`)
	nothingLeft("a call hung up at its accept")

	eval[bool](alice, kitJS+`.call({userId: 'bob', type: 2}).then(() => true)`)
	waitKitStatus(bob, "BE_INVITED")
	// While the call rings each look that finds no preview keeps the page's state: after the
	// call's timeout the kit is idle again and its state says nothing about the preview.
	previewJS := `(() => { if (` + tilePlayingJS("alice") + `) return true; if (` + kitJS + `._s.phase === 'dialing') window.lastRingingState = ` + kitEngineStateJS + `; return false; })()`
	if !poll(alice, previewJS, kitWait) {
		t.Fatalf("alice's preview does not play in the third call; her page while it rang: %s; now: %s", eval[string](alice, `window.lastRingingState || 'none'`), eval[string](alice, kitEngineStateJS))
	}
	kitClick(alice, "toAudio")
	waitFor[bool](bob, "an audio call ringing", kitJS+`._s.mediaType === 1`, kitWait)
	kitClick(bob, "accept")
	for _, b := range bs {
		waitKitStatus(b, "CALLING_C2C_AUDIO")
		waitHearing(t, b)
		if !poll(b, `window.parleyDemo.engine._local.video === null && mediaCounter.tracks.filter((t) => t.kind === 'video' && t.readyState === 'live').length === 0`, kitWait) {
			t.Errorf("%s: a camera is live in the audio call", b.name)
		}
	}
	kitClick(bob, "hangup")
	nothingLeft("an audio call")
	kitNoErrors(t, alice, bob)
}

// TestKitJoinGroupCall: carol rejects alice's group video call with bob, then joins it
// while it runs with the kit's join({callId}) (TUICallKit's joinInGroupCall; D283): her kit
// shows the group call with alice's and bob's video, theirs show hers; she hangs up and
// their call goes on.
func TestKitJoinGroupCall(t *testing.T) {
	srv := startTestServer(t, true)
	bs := kitBrowsers(t, srv, "alice", "bob", "carol")
	alice, bob, carol := bs[0], bs[1], bs[2]
	eval[bool](alice, kitJS+`.groupCall({userIdList: ['bob', 'carol'], type: 2}).then(() => true)`)
	waitKitStatus(carol, "BE_INVITED")
	kitClick(carol, "reject")
	waitKitStatus(carol, "IDLE")
	waitKitStatus(bob, "BE_INVITED")
	kitClick(bob, "accept")
	for _, b := range []*browser{alice, bob} {
		waitKitStatus(b, "CALLING_GROUP_VIDEO")
	}
	callID := eval[string](alice, `window.parleyDemo.events.find((e) => e.name === 'onCallBegin').payload.callId`)

	eval[bool](carol, fmt.Sprintf(`%s.join({callId: %q}).then(() => true)`, kitJS, callID))
	for _, b := range bs {
		waitKitStatus(b, "CALLING_GROUP_VIDEO")
		for _, o := range bs {
			if o != b {
				waitFramesGrow(b, o.name)
			}
		}
	}
	kitClick(carol, "hangup")
	waitKitStatus(carol, "IDLE")
	for _, b := range []*browser{alice, bob} {
		waitFor[bool](b, "carol's tile gone", `!`+tileJS("carol"), kitWait)
	}
	waitFramesGrow(alice, "bob")
	kitClick(alice, "hangup")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
	}
	kitNoErrors(t, bs...)
}
