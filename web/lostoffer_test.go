package web

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// dropWithOfferJS makes the page's socket drop right after the next publisher offer went
// out, before its answer comes back: the offer's request fails with "connection lost".
const dropWithOfferJS = `(() => {
	const e = window.parleyDemo.engine;
	const request = Object.getPrototypeOf(e)._request;
	e._request = function (method, params) {
		const pending = request.call(this, method, params);
		if (method === 'offer' && params.target === 'publisher') {
			delete e._request; // once
			this._rpc._ws.close(3000, 'network lost');
		}
		return pending;
	};
	return true;
})()`

// engineStateJS describes the page's call and PeerConnections.
const engineStateJS = `(() => {
	const e = window.parleyDemo.engine;
	const m = e._media;
	const pc = (leg) => leg.pc.signalingState + '/' + leg.pc.connectionState;
	return JSON.stringify({ status: e.callStatus, early: !!e._prep, mic: !!e._local.audio,
		publisher: m && pc(m._pub), subscriber: m && pc(m._sub),
		sending: m && m._pub.pc.getSenders().map((s) => s.track && s.track.kind) });
})()`

// bothConnectedJS: the page's publisher and subscriber PeerConnections are connected.
const bothConnectedJS = `(() => {
	const m = window.parleyDemo.engine._media;
	return !!m && m._pub.pc.connectionState === 'connected' && m._sub.pc.connectionState === 'connected';
})()`

// TestBrowserResumeOverAnUnansweredOffer: the socket drops with a publisher offer on the
// wire (D322). bob's SDK offers on its publisher as alice's call rings (early media), and
// the socket drops before the answer; the SDK resumes the session and restarts ICE. bob
// accepts, and the publisher connects: alice hears bob. Before, the ICE restart was
// offered over the unanswered offer (have-local-offer), and Chromium never checked the new
// candidate pairs: the publisher stayed "connecting" and alice heard nothing.
func TestBrowserResumeOverAnUnansweredOffer(t *testing.T) {
	srv := startTestServer(t, true)
	bs := signedInBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	const wait = 30 * time.Second
	eval[bool](bob, dropWithOfferJS)
	alice.do(chromedp.SetValue(chromedp.CSS("#callee"), "bob"), chromedp.Click(chromedp.CSS("#call-audio")))
	waitFor[bool](bob, "the ringing dialog", `document.getElementById('ringing').open`, wait)
	waitFor[bool](bob, "the connection back", eventCountJS("onConnectionStateChanged", `p.state === 'reconnecting'`)+` === 1 && `+
		eventCountJS("onConnectionStateChanged", `p.state === 'connected'`)+` >= 2`, wait)
	bob.do(chromedp.Click(chromedp.CSS("#accept")))
	for _, b := range bs {
		waitFor[int](b, "onCallBegin", eventCountJS("onCallBegin", ""), wait)
	}
	if !poll(bob, bothConnectedJS, wait) {
		t.Fatalf("bob's PeerConnections did not connect after the resume: %s", eval[string](bob, engineStateJS))
	}
	waitHearing(t, alice)
	waitHearing(t, bob)
	eval[bool](alice, `(async () => { await window.parleyDemo.engine.hangup(); return true; })()`)
	for _, b := range bs {
		waitFor[int](b, "onCallEnd", eventCountJS("onCallEnd", ""), wait)
	}
	checkNoErrors(t, alice, bob)
}
