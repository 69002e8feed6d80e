package web

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// previewOpenJS is true once the page's camera is open and live; it keeps the track in
// window.__previewTrack for checking later that it was stopped.
const previewOpenJS = `(() => {
  const v = window.parleyDemo.engine._local.video;
  if (!v || v.readyState !== 'live') return false;
  window.__previewTrack = v;
  return true;
})()`

// previewClosedJS is true when the page's camera is closed and the preview's track stopped.
const previewClosedJS = `window.parleyDemo.engine._local.video === null && window.__previewTrack.readyState === 'ended'`

// TestBrowserRingingPreview: with the SDK's ringingPreview (the lab's ?ringingPreview=1)
// a ringing video call opens the invitee's camera and the caller's while nothing is sent
// (no packet leaves either page, the server receives none of their media), and the SDK
// closes both cameras when the call ends without an accept: the callee rejects, the
// caller cancels, the call times out (the server's minimum call timeout, 10 s).
func TestBrowserRingingPreview(t *testing.T) {
	srv := startTestServer(t, true)
	srv.Held.start()
	bs := newBrowsers(t, "alice", "bob")
	alice, bob := bs[0], bs[1]
	for _, b := range bs {
		signInAt(b, srv.URL+labPath+"?ringingPreview=1", b.name)
	}
	tests := []struct {
		name   string
		place  func()
		end    func()
		reason string // bob's onCallCancelled reason
	}{
		{"callee rejects", func() { placeCall(alice, "bob") }, func() { eval[bool](bob, `(document.getElementById('reject').click(), true)`) }, "reject"},
		{"caller cancels", func() { placeCall(alice, "bob") }, func() { eval[bool](alice, `(document.getElementById('hangup').click(), true)`) }, "cancel"},
		{"call times out", func() {
			eval[bool](alice, `(window.parleyDemo.engine.call({userId: 'bob', mediaType: 2, timeout: 10}).catch(() => {}), true)`)
		}, func() {}, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := eval[int](bob, eventCountJS("onCallCancelled", ""))
			tt.place()
			waitFor[bool](bob, "the ringing dialog", `document.getElementById('ringing').open`, 20*time.Second)
			for _, b := range bs {
				waitFor[bool](b, "the ringing preview's camera", previewOpenJS, 20*time.Second)
				waitFor[bool](b, "the early media session connected", earlyConnectedJS, 20*time.Second)
			}
			for _, b := range bs {
				if st := eval[ringingState](b, ringingStateJS); st.PacketsSent != 0 {
					t.Fatalf("%s sent %d packets while ringing: %+v", b.name, st.PacketsSent, st)
				}
				if n := srv.Held.count(b.name); n != 0 {
					t.Fatalf("the server received %d tracks of %s while ringing", n, b.name)
				}
			}
			tt.end()
			waitFor[bool](bob, "onCallCancelled "+tt.reason, eventCountJS("onCallCancelled", `p.reason === '`+tt.reason+`'`)+` > 0 && `+eventCountJS("onCallCancelled", "")+` > `+itoa(before), 30*time.Second)
			for _, b := range bs {
				waitFor[bool](b, "the preview's camera closed", previewClosedJS, 20*time.Second)
				waitFor[bool](b, "no call", `window.parleyDemo.engine.currentCall === null`, 20*time.Second)
			}
			for _, b := range bs {
				if n := srv.Held.count(b.name); n != 0 {
					t.Fatalf("the server received %d tracks of %s before an accept", n, b.name)
				}
			}
			checkNoErrors(t, bs...)
		})
	}
}

// encodingLogJS records in the page, from now on, the simulcast encodings' active flags
// of every video sender setParameters (rid:active, comma separated), in
// window.__encodings.
const encodingLogJS = `(() => {
  window.__encodings = [];
  if (window.__encodingsHooked) return true;
  window.__encodingsHooked = true;
  const set = RTCRtpSender.prototype.setParameters;
  RTCRtpSender.prototype.setParameters = function (params, ...rest) {
    if (this.track && this.track.kind === 'video' && params.encodings && params.encodings.length > 1) {
      window.__encodings.push(params.encodings.map((e) => e.rid + ':' + (e.active !== false)).join(','));
    }
    return set.call(this, params, ...rest);
  };
  return true;
})()`

// TestBrowserRingingPreviewFullLayerLater: when a call with the ringing preview begins,
// the held video sender starts its smaller simulcast layers (q, h) and the full-size one
// (f) only in a later setParameters (D170), on both sides of a 1v1 call; both still
// receive each other's video.
func TestBrowserRingingPreviewFullLayerLater(t *testing.T) {
	srv := startTestServer(t, true)
	bs := newBrowsers(t, "alice", "bob")
	alice, bob := bs[0], bs[1]
	for _, b := range bs {
		signInAt(b, srv.URL+labPath+"?ringingPreview=1", b.name)
		eval[bool](b, encodingLogJS)
	}
	startPollers(alice, bob)
	placeCall(alice, "bob")
	waitFor[bool](bob, "the ringing dialog", `document.getElementById('ringing').open`, 20*time.Second)
	for _, b := range bs {
		waitFor[bool](b, "the ringing preview's camera", previewOpenJS, 20*time.Second)
		waitFor[bool](b, "the early media session connected", earlyConnectedJS, 20*time.Second)
	}
	t0 := eval[float64](bob, acceptJS)
	waitFirstFrames(t, bob, t0, t0, "alice")
	waitFirstFrames(t, alice, t0, t0, "bob")
	for _, b := range bs {
		waitFor[bool](b, "the full layer activated", `window.__encodings.some((s) => s.includes('f:true'))`, 20*time.Second)
		log := eval[[]string](b, `window.__encodings`)
		first := slices.IndexFunc(log, func(s string) bool { return strings.Contains(s, ":true") })
		if first < 0 || log[first] != "q:true,h:true,f:false" {
			t.Fatalf("%s: the first encodings activated were %v, want q and h without f (all: %q)", b.name, log[max(first, 0):min(first+1, len(log))], log)
		}
	}
	hangUpAll(alice, bob)
	checkNoErrors(t, bs...)
}
