package web

import (
	"testing"
)

// pauseJS makes the page's SDK keep what its socket receives, in order, until resumeJS:
// a click then crosses an end the server already sent (the messages are on the wire).
const pauseJS = `(() => {
	const r = window.parleyDemo.engine._rpc;
	window.received = [];
	r._receive = (data) => window.received.push(data);
	return true;
})()`

const resumeJS = `(() => {
	const r = window.parleyDemo.engine._rpc;
	delete r._receive; // the SDK's own again
	window.received.forEach((data) => r._receive(data));
	return true;
})()`

// keptErrorJS is whether the paused page holds the error answer to one of its requests.
const keptErrorJS = `window.received.some((data) => JSON.parse(data).error !== undefined)`

// TestKitLateAnswers: a click of the kit that crosses the end of the call on the wire — the
// callee answers or rejects as the caller cancels, a party hangs up or switches to video
// as the other hangs up — is not an error (D321): the server answers it 3002 or 3003 after the end event, the kit
// shows that end (the call screen closes) and reports no error (no kitError, no error
// toast). Before, each showed "Error: … no ringing invitation" or "… not in a call".
func TestKitLateAnswers(t *testing.T) {
	srv := startTestServer(t, true)
	bs := kitBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	ring := func() {
		t.Helper()
		eval[bool](alice, kitJS+`.call({userId: 'bob', type: 1}).then(() => true)`)
		waitKitStatus(bob, "BE_INVITED")
	}
	crossing := func(who *browser, click string, end func()) {
		t.Helper()
		eval[bool](who, pauseJS)
		end()
		kitClick(who, click)
		waitFor[bool](who, "the server's answer to "+click, keptErrorJS, kitWait)
		eval[bool](who, resumeJS)
		for _, b := range bs {
			waitKitStatus(b, "IDLE")
		}
	}
	// endBy has b end the call with a click and waits until the server handled it: b heard
	// its own end event (the kit closes its screen before that).
	endBy := func(b *browser, event string) func() {
		return func() {
			t.Helper()
			n := eval[int](b, eventCountJS(event, ""))
			kitClick(b, "hangup")
			waitFor[bool](b, "the server's "+event, eventCountJS(event, "")+" > "+itoa(n), kitWait)
		}
	}
	cancel := endBy(alice, "onCallCancelled")

	ring()
	crossing(bob, "accept", cancel)
	ring()
	crossing(bob, "reject", cancel)
	ring()
	kitClick(bob, "accept")
	waitKitStatus(alice, "CALLING_C2C_AUDIO")
	bobHangsUp := endBy(bob, "onCallEnd")
	crossing(alice, "hangup", bobHangsUp)
	ring()
	kitClick(bob, "accept")
	waitKitStatus(alice, "CALLING_C2C_AUDIO")
	crossing(alice, "toVideo", bobHangsUp)
	kitNoErrors(t, alice, bob)
}
