package web

import (
	"testing"
	"time"
)

// earlyConnectedJS is true once the page's early media session has both PeerConnections
// connected; it keeps them in window.__earlyPCs for checking later that they were closed.
const earlyConnectedJS = `(() => {
  const m = window.parleyDemo.engine._media;
  if (!m) return false;
  const pcs = m.peerConnections;
  window.__earlyPCs = pcs;
  return pcs.publisher.connectionState === 'connected' && pcs.subscriber.connectionState === 'connected';
})()`

// earlyClosedJS is true when the page has no media session and the early one's
// PeerConnections are closed.
const earlyClosedJS = `window.parleyDemo.engine._media === null &&
  window.__earlyPCs.publisher.connectionState === 'closed' && window.__earlyPCs.subscriber.connectionState === 'closed'`

// TestBrowserEarlyMediaEnds: a video call whose early media sessions are connected on both
// sides (the server pre-connects the subscribers) ends before anyone accepted; both SDKs
// close their early PeerConnections and return to the lobby without an error.
func TestBrowserEarlyMediaEnds(t *testing.T) {
	srv := startTestServer(t, true)
	bs := signedInBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	tests := []struct {
		name   string
		who    *browser
		button string
		reason string // bob's onCallCancelled reason
	}{
		{"callee rejects", bob, "reject", "reject"},
		{"caller cancels", alice, "hangup", "cancel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			placeCall(alice, "bob")
			waitFor[bool](bob, "the ringing dialog", `document.getElementById('ringing').open`, 20*time.Second)
			for _, b := range bs {
				waitFor[bool](b, "the early PeerConnections connected", earlyConnectedJS, 20*time.Second)
			}
			before := eval[int](bob, eventCountJS("onCallCancelled", ""))
			eval[bool](tt.who, `(document.getElementById('`+tt.button+`').click(), true)`)
			waitFor[bool](bob, "onCallCancelled", eventCountJS("onCallCancelled", `p.reason === '`+tt.reason+`'`)+` > 0 && `+eventCountJS("onCallCancelled", "")+` > `+itoa(before), 20*time.Second)
			for _, b := range bs {
				waitFor[bool](b, "the early PeerConnections closed", earlyClosedJS, 20*time.Second)
				waitFor[bool](b, "the lobby", `window.parleyDemo.state.view === 'lobby' && !document.getElementById('ringing').open`, 20*time.Second)
			}
			checkNoErrors(t, bs...)
		})
	}
}

// TestBrowserEarlyMediaFallback: when prepareCall fails (here each page's SDK gets
// "method not found", as from a server without it) the call goes on without early media:
// nothing is built while ringing, both sides see each other after the accept, no error
// is reported.
func TestBrowserEarlyMediaFallback(t *testing.T) {
	srv := startTestServer(t, true)
	bs := signedInBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	for _, b := range bs {
		eval[bool](b, `(() => { const e = window.parleyDemo.engine, req = e._request.bind(e);
		  window.prepareCalls = 0;
		  e._request = (m, p) => {
		    if (m !== 'prepareCall') return req(m, p);
		    window.prepareCalls++;
		    return Promise.reject(Object.assign(new Error('prepareCall: method not found'), { code: -32601 }));
		  };
		  return true; })()`)
	}
	startPollers(alice, bob)
	placeCall(alice, "bob")
	ringUntilAccept(t, srv, alice, ffModes[1], bob) // checks that bob's SDK built no media session
	for _, b := range bs {
		if n := eval[int](b, `window.prepareCalls`); n != 1 {
			t.Fatalf("%s's SDK sent prepareCall %d times, want 1", b.name, n)
		}
		if eval[bool](b, `window.parleyDemo.engine._media !== null`) {
			t.Fatalf("%s has a media session while ringing after prepareCall failed", b.name)
		}
	}
	t0 := eval[float64](bob, acceptJS)
	waitFirstFrames(t, bob, t0, t0, "alice")
	waitFirstFrames(t, alice, t0, t0, "bob")
	hangUpAll(alice, bob)
	checkNoErrors(t, bs...)
}
