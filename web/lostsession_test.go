package web

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testwait"
)

// goOfflineJS drops the page's socket and keeps the SDK from connecting a new one until
// goOnlineJS, as a phone without network. With forget, the SDK's next login is not a resume
// (its resumeToken is forgotten): an ordinary login that replaces the waiting session.
func goOfflineJS(forget bool) string {
	js := `(() => {
	const e = window.parleyDemo.engine;
	const connect = Object.getPrototypeOf(e)._connect;
	window.offline = true;
	e._connect = function () { return window.offline ? Promise.reject(new Error('offline')) : connect.call(this); };
	if (FORGET) e._session.resumeToken = 'forgotten';
	e._rpc._ws.close(3000, 'network lost');
	return true;
})()`
	return strings.ReplaceAll(js, "FORGET", strconv.FormatBool(forget))
}

const goOnlineJS = `(window.offline = false, true)`

// TestBrowserInvitationOutlivesALostSession: what the SDK reports of an invitation when
// its session could not be resumed (D320). The page of bob (alone in his browser, no
// multi-device) loses its network three times, each time long enough for the server to
// end or replace his session, and comes back with RESUME_FAILED:
//   - ringing, and the reconnect grace runs out: the server turned the invitation down for
//     alice (onUserReject, D28), and bob's SDK reports it cancelled (reason "disconnect",
//     D282), idle;
//   - idle, and alice calls after the grace ran out: the server keeps the invitation for
//     bob's next login (D9), whose session gets it before the login's result. The SDK rings
//     (no onCallCancelled, callStatus waiting) and bob's accept begins the call. Before, it
//     took the invitation for one of the lost session and reported it cancelled
//     ("disconnect") at the login's result, while the server rang it on for alice;
//   - ringing, and the page's next login is an ordinary one while the old session still
//     waits for a resume: the new session takes the invitation over (D110), and the SDK
//     keeps the call ringing (no onCallCancelled) and answers it.
func TestBrowserInvitationOutlivesALostSession(t *testing.T) {
	srv := startTestServer(t, true)
	bs := signedInBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	const wait = 30 * time.Second
	callJS := `(async () => {
		await window.parleyDemo.engine.call({ userId: 'bob', mediaType: 1, params: { timeout: 120 } });
		return true;
	})()`
	clear := func() {
		for _, b := range bs {
			eval[bool](b, `(window.parleyDemo.events.length = 0, true)`)
		}
	}
	offline := func(forget bool) {
		t.Helper()
		eval[bool](bob, goOfflineJS(forget))
		waitFor[int](bob, "the reconnecting state", eventCountJS("onConnectionStateChanged", `p.state === 'reconnecting'`), wait)
		if !forget { // the reconnect grace (10 s) runs out
			testwait.For(t, wait, "the server to end bob's session", func() bool { return srv.Sessions() == 1 })
		}
	}
	backWithoutResume := func(what string) {
		t.Helper()
		eval[bool](bob, goOnlineJS)
		waitFor[bool](bob, what+": the new session", eventCountJS("onConnectionStateChanged", `p.state === 'connected'`)+` === 1 && `+
			eventCountJS("onError", `p.code === -6`)+` === 1`, wait)
	}
	ringsAndConnects := func(what string) {
		t.Helper()
		waitFor[int](bob, what+": the invitation", eventCountJS("onCallReceived", ""), wait)
		if n := eval[int](bob, eventCountJS("onCallCancelled", "")); n != 0 {
			t.Fatalf("%s: bob's SDK reported the ringing call cancelled %d times: %s", what, n,
				eval[string](bob, `JSON.stringify(window.parleyDemo.events.filter((e) => e.name === 'onCallCancelled'))`))
		}
		if s := eval[string](bob, `window.parleyDemo.engine.callStatus`); s != "waiting" {
			t.Fatalf("%s: bob's callStatus is %q, want waiting", what, s)
		}
		eval[bool](bob, `(async () => { await window.parleyDemo.engine.accept(); return true; })()`)
		for _, b := range bs {
			waitFor[int](b, what+": onCallBegin", eventCountJS("onCallBegin", ""), wait)
		}
		eval[bool](alice, `(async () => { await window.parleyDemo.engine.hangup(); return true; })()`)
		for _, b := range bs {
			waitFor[int](b, what+": onCallEnd", eventCountJS("onCallEnd", ""), wait)
		}
	}

	// Ringing, and the grace runs out: the invitation is over on both sides.
	eval[bool](alice, callJS)
	waitFor[int](bob, "onCallReceived", eventCountJS("onCallReceived", ""), wait)
	clear()
	offline(false)
	waitFor[bool](alice, "onUserReject and onCallCancelled", eventCountJS("onUserReject", `p.userId === 'bob'`)+` === 1 && `+
		eventCountJS("onCallCancelled", `p.userId === 'alice'`)+` === 1`, wait)
	backWithoutResume("grace over while ringing")
	waitFor[bool](bob, "the call reported lost", eventCountJS("onCallCancelled", `p.reason === 'disconnect' && p.userId === 'bob'`)+` === 1 && `+
		`window.parleyDemo.engine.callStatus === 'idle'`, wait)
	checkNoErrors(t, alice)
	clear()

	// Idle, and the call comes after the grace ran out.
	offline(false)
	eval[bool](alice, callJS)
	backWithoutResume("a call while offline")
	ringsAndConnects("a call while offline")
	checkNoErrors(t, alice)
	clear()

	// Ringing, and a login that is not a resume takes the invitation over.
	eval[bool](alice, callJS)
	waitFor[int](bob, "onCallReceived", eventCountJS("onCallReceived", ""), wait)
	clear()
	offline(true)
	backWithoutResume("a new session while ringing")
	ringsAndConnects("a new session while ringing")
	checkNoErrors(t, alice)
}
