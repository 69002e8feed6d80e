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

// deviceRequestsJS records, in window.deviceRequests, the device requests the page's SDK
// sends on an open socket (those it tries while the socket is down are left out). The one
// named by window.limitNext is answered as the server answers one over
// limits.device_toggles_per_minute (6001, retry after 500 ms) instead of going out.
const deviceRequestsJS = `(() => {
	const e = window.parleyDemo.engine;
	const request = Object.getPrototypeOf(e)._request;
	window.deviceRequests = [];
	window.limitNext = '';
	e._request = function (method, params) {
		if (/^(open|close)(Camera|Microphone)$/.test(method) && this._rpc && this._rpc.isOpen) {
			window.deviceRequests.push(method);
			if (window.limitNext === method) {
				window.limitNext = '';
				return Promise.reject(Object.assign(new Error('rate limited: deviceToggles, retry later'), { code: 6001, data: { limit: 'deviceToggles', retryAfterMs: 500 } }));
			}
		}
		return request.call(this, method, params);
	};
	return true;
})()`

// toggleJS runs the page's device calls in order (each awaited) and keeps their errors in
// window.toggleErrors.
func toggleJS(calls string) string {
	return `(async () => {
	const e = window.parleyDemo.engine;
	const video = document.getElementById('local-video');
	window.toggleErrors = [];
	for (const call of [` + calls + `]) {
		try { await call(); } catch (err) { window.toggleErrors.push(err.code + ' ' + err.message); }
	}
	return true;
})()`
}

// TestBrowserDeviceStateAfterResume: device changes made while the socket is down reach
// the others after the resume, as the page's state of then (D330). In alice's video call
// with bob, bob's page loses its network, turns the camera off, on and off again and the
// microphone off, and comes back: alice gets onUserVideoAvailable(false) and
// onUserAudioAvailable(false) once each (no true between: the SDK sent one closeCamera and
// one closeMicrophone, not the toggles) and her page stops viewing bob. Offline again,
// bob turns both on (the camera on, off, on): alice gets both available once each, views
// bob again and decodes his video. Before, the requests failed with -1 "not connected" and
// alice kept seeing bob's old state. Last, bob turns the camera off while offline and the
// first closeCamera after the resume is rate limited (6001, as the server answers one over
// limits.device_toggles_per_minute): the SDK sends it again after the retryAfterMs and
// alice gets bob's video unavailable.
func TestBrowserDeviceStateAfterResume(t *testing.T) {
	srv := startTestServer(t, true)
	alice, bob := startVideoCall(t, srv)
	const wait = 30 * time.Second
	waitMediaFlowing(t, alice)
	eval[bool](bob, deviceRequestsJS)
	across := func(what, calls string) {
		t.Helper()
		eval[bool](alice, `(window.parleyDemo.events.length = 0, true)`)
		eval[bool](bob, `(window.parleyDemo.events.length = 0, window.deviceRequests.length = 0, true)`)
		eval[bool](bob, goOfflineJS(false))
		waitFor[int](bob, what+": the reconnecting state", eventCountJS("onConnectionStateChanged", `p.state === 'reconnecting'`), wait)
		eval[bool](bob, toggleJS(calls))
		if got := eval[string](bob, `JSON.stringify(window.toggleErrors)`); got != "[]" {
			t.Errorf("%s: bob's device calls failed: %s", what, got)
		}
		eval[bool](bob, goOnlineJS)
		waitFor[bool](bob, what+": the connection back", `window.parleyDemo.engine._rpc.isOpen && !window.parleyDemo.engine._reconnecting`, wait)
	}
	// availability waits until alice got exactly one event of each kind about bob, with on.
	availability := func(what string, on bool) {
		t.Helper()
		cond := `p.userId === 'bob'`
		is := map[bool]string{true: "", false: "!"}[on]
		waitFor[bool](alice, what+": bob's availability", eventCountJS("onUserVideoAvailable", cond+` && `+is+`p.isVideoAvailable`)+` === 1 && `+
			eventCountJS("onUserAudioAvailable", cond+` && `+is+`p.isAudioAvailable`)+` === 1`, wait)
		for _, name := range []string{"onUserVideoAvailable", "onUserAudioAvailable"} {
			if got := eval[int](alice, eventCountJS(name, cond)); got != 1 {
				t.Errorf("%s: alice got %d %s about bob, want 1: %s", what, got, name, eval[string](alice, `JSON.stringify(window.parleyDemo.events.filter((e) => e.name.endsWith('Available')))`))
			}
		}
	}
	sent := func(what, want string) {
		t.Helper()
		waitFor[bool](bob, what+": the SDK's device requests", `window.deviceRequests.slice().sort().join() === '`+want+`'`, wait)
	}

	what := "off while offline"
	across(what, `() => e.closeCamera(), () => e.openCamera({ element: video }), () => e.closeCamera(), () => e.closeMicrophone()`)
	availability(what, false)
	sent(what, "closeCamera,closeMicrophone")
	waitFor[bool](alice, what+": bob's tile without video and microphone", `(() => { const c = document.getElementById('tile-bob').classList; return c.contains('no-video') && c.contains('muted-mic'); })()`, wait)
	waitFor[bool](alice, what+": alice no longer views bob", `!window.parleyDemo.state.viewing.has('bob')`, wait)

	what = "on while offline"
	across(what, `() => e.openCamera({ element: video }), () => e.closeCamera(), () => e.openCamera({ element: video }), () => e.openMicrophone({ audioProcessing: false })`)
	availability(what, true)
	sent(what, "openCamera,openMicrophone")
	waitFor[bool](alice, what+": bob's tile with video and microphone", `(() => { const c = document.getElementById('tile-bob').classList; return !c.contains('no-video') && !c.contains('muted-mic'); })()`, wait)
	waitMediaFlowing(t, alice)
	waitHearing(t, alice)

	what = "off while offline, rate limited"
	eval[bool](bob, `(window.limitNext = 'closeCamera', true)`)
	across(what, `() => e.closeCamera()`)
	waitFor[int](alice, what+": bob's video unavailable", eventCountJS("onUserVideoAvailable", `p.userId === 'bob' && !p.isVideoAvailable`), wait)
	sent(what, "closeCamera,closeCamera")
	if got := eval[int](alice, eventCountJS("onUserVideoAvailable", "")+` + `+eventCountJS("onUserAudioAvailable", "")); got != 1 {
		t.Errorf("%s: alice got %d availability events, want 1", what, got)
	}
	checkNoErrors(t, alice, bob)
}
