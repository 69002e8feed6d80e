package web

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testwait"
)

// ignoreJS calls the page's ignore() and keeps how it settled in window.ignored: "ok", or
// the error's code.
const ignoreJS = `(() => {
	window.ignored = '';
	window.parleyDemo.engine.ignore().then(() => { window.ignored = 'ok'; }, (e) => { window.ignored = String(e.code); });
	return true;
})()`

// TestBrowserIgnoreAcrossADrop: an ignore the socket drops with is carried out once, as
// reject (D329). alice calls bob; bob's page ignores the invitation two ways: once the
// server took it (alice got onUserLineBusy) and before its answer reaches the page, the
// socket drops; and while bob's socket is down. Each time the SDK resumes the session, the
// ignore resolves, bob's page gets onCallCancelled "ignore" and is idle, alice gets the
// server's answer to an ignore exactly once (onUserLineBusy, onCallCancelled "busy"), and
// bob's page reports no error. Then bob ignores while offline for longer than the
// reconnect grace: the ignore fails with RESUME_FAILED and the call is reported cancelled
// (reason disconnect). Before, the ignore failed with -2 "connection lost" or -1 "not
// connected" and, made while the socket was down, was never sent: alice's call rang on.
func TestBrowserIgnoreAcrossADrop(t *testing.T) {
	srv := startTestServer(t, true)
	bs := signedInBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	const wait = 30 * time.Second
	offline := func(what string) {
		t.Helper()
		eval[bool](bob, goOfflineJS(false))
		waitFor[int](bob, what+": the reconnecting state", eventCountJS("onConnectionStateChanged", `p.state === 'reconnecting'`), wait)
	}
	ways := map[string]func(what string){
		"the answer lost": func(what string) {
			eval[bool](bob, pauseJS)
			eval[bool](bob, ignoreJS)
			waitFor[int](alice, what+": onUserLineBusy", eventCountJS("onUserLineBusy", ""), wait)
			eval[bool](bob, `(window.parleyDemo.engine._rpc._ws.close(3000, 'network lost'), true)`)
		},
		"the socket down": func(what string) {
			offline(what)
			eval[bool](bob, ignoreJS)
			eval[bool](bob, goOnlineJS)
		},
	}
	for _, way := range []string{"the answer lost", "the socket down"} {
		what := "ignore, " + way
		ringBob(alice, bob, what)
		ways[way](what)
		waitFor[bool](bob, what+": the ignore carried out", `window.ignored === 'ok' && window.parleyDemo.engine.callStatus === 'idle' && `+
			`window.parleyDemo.state.view === 'lobby' && window.parleyDemo.engine._rpc.isOpen && !window.parleyDemo.engine._reconnecting`, wait)
		waitFor[bool](alice, what+": alice idle", `window.parleyDemo.engine.callStatus === 'idle'`, wait)
		if got := eval[int](bob, eventCountJS("onCallCancelled", `p.reason === 'ignore' && p.userId === 'bob'`)); got != 1 {
			t.Errorf("%s: bob's page got %d onCallCancelled (ignore), want 1: %s", what, got, eval[string](bob, `JSON.stringify(window.parleyDemo.events)`))
		}
		for name, cond := range map[string]string{"onUserLineBusy": `p.userId === 'bob'`, "onCallCancelled": `p.reason === 'busy'`} {
			if got, all := eval[int](alice, eventCountJS(name, cond)), eval[int](alice, eventCountJS(name, "")); got != 1 || all != 1 {
				t.Errorf("%s: alice got %d %s as the server answers an ignore (%d in all), want exactly 1", what, got, name, all)
			}
		}
		if got := eval[string](bob, `JSON.stringify(window.parleyDemo.events.filter((e) => e.name === 'error' || e.name === 'onError'))`); got != "[]" {
			t.Fatalf("%s: bob's page reports %s (%s)", what, got, eval[string](bob, engineStateJS))
		}
	}

	// Ignore while offline beyond the reconnect grace: no session to carry it out.
	what := "ignore after the grace"
	ringBob(alice, bob, what)
	offline(what)
	eval[bool](bob, ignoreJS)
	testwait.For(t, wait, what+": the server to end bob's session", func() bool { return srv.Sessions() == 1 })
	eval[bool](bob, goOnlineJS)
	waitFor[bool](bob, what+": the ignore failed and the call was reported lost", `window.ignored === '-6' && `+
		eventCountJS("onCallCancelled", `p.reason === 'disconnect'`)+` === 1 && window.parleyDemo.engine.callStatus === 'idle'`, wait)
	waitFor[int](alice, what+": onCallCancelled", eventCountJS("onCallCancelled", ""), wait)
	checkNoErrors(t, alice)
}
