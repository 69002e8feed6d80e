package web

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// mediaCounterJS, run in a document before its own scripts, counts what the page makes:
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

type mediaLeft struct {
	OpenPCs int    `json:"openPCs"`
	MadePCs int    `json:"madePCs"`
	Live    string `json:"live"`
}

// countMedia runs mediaCounterJS in every document b opens from now on.
func countMedia(b *browser) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: mediaCounterJS})
		return err
	}))
}

// kitHandlersJS counts the handlers registered on the demo page's engine.
const kitHandlersJS = `[...window.parleyDemo.engine._handlers.values()].reduce((n, s) => n + s.size, 0)`

// localPlayingJS: the kit's own tile shows a playing camera.
func framesGrowJS(b *browser, userID string) {
	b.t.Helper()
	v := fmt.Sprintf(`%s.querySelector('video')`, tileJS(userID))
	n := waitFor[int](b, userID+"'s tile decoding", fmt.Sprintf(`(() => { const t = %s; return t && !t.classList.contains('no-video') && %s.videoWidth > 0 ? %s.getVideoPlaybackQuality().totalVideoFrames : 0; })()`, tileJS(userID), v, v), kitWait)
	waitFor[bool](b, userID+"'s tile decoding more frames", fmt.Sprintf(`%s.getVideoPlaybackQuality().totalVideoFrames > %d + 10`, v, n), kitWait)
}

// TestKitSwitchMediaTypeBothWays: a 1v1 video call through the kit goes to audio with the
// kit's button (both kits show an audio call, the cameras close) and back to video from
// the other side (D18: both directions, either side): both kits show a video call again,
// both cameras open and each tile decodes the other's frames. After the hangup the kit
// places a second call on the same page; when that ends too, no PeerConnection, capture
// track or engine handler is left over from the two calls.
func TestKitSwitchMediaTypeBothWays(t *testing.T) {
	srv := startTestServer(t, true)
	bs := newBrowsers(t, "alice", "bob")
	alice, bob := bs[0], bs[1]
	for _, b := range bs {
		countMedia(b)
		kitSignIn(b, srv.URL, b.name)
	}
	handlers := eval[int](alice, kitHandlersJS)

	videoCall := func() {
		t.Helper()
		eval[bool](alice, kitJS+`.call({userId: 'bob', type: 2}).then(() => true)`)
		waitKitStatus(bob, "BE_INVITED")
		kitClick(bob, "accept")
		for _, pair := range [][2]*browser{{alice, bob}, {bob, alice}} {
			waitKitStatus(pair[0], "CALLING_C2C_VIDEO")
			framesGrowJS(pair[0], pair[1].name)
		}
	}
	videoCall()

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
		framesGrowJS(me, other.name)
	}
	kitClick(alice, "hangup")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
	}

	// The kit used a second time on the same page.
	videoCall()
	kitClick(bob, "hangup")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
		if !poll(b, `(() => { const m = `+mediaLeftJS+`; return m.openPCs === 0 && m.live === ''; })()`, kitWait) {
			t.Errorf("%s: after two calls the page holds %+v", b.name, eval[mediaLeft](b, mediaLeftJS))
		}
	}
	if got := eval[int](alice, kitHandlersJS); got != handlers {
		t.Errorf("alice's engine has %d handlers after two calls, %d before", got, handlers)
	}
	kitNoErrors(t, alice, bob)
}
