package web

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-rtc/parley/internal/testwait"
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

// legsJS describes the ICE of the page's PeerConnections (shown when a test fails).
const legsJS = `(async () => {
	const m = window.parleyDemo.engine._media;
	if (!m) return 'no media session';
	const ufrag = (d) => d ? (d.sdp.match(/a=ice-ufrag:(\S+)/) || [])[1] : '-';
	const out = {};
	for (const [name, leg] of [['publisher', m._pub], ['subscriber', m._sub]]) {
		const pairs = [];
		(await leg.pc.getStats()).forEach((r) => {
			if (r.type === 'candidate-pair') pairs.push(r.state + ' req=' + r.requestsSent + ' resp=' + r.responsesReceived);
		});
		out[name] = { ice: leg.pc.iceConnectionState, local: ufrag(leg.pc.localDescription), remote: ufrag(leg.pc.remoteDescription),
			queued: leg.remoteQueue.length, remoteReady: leg.remoteReady, pairs };
	}
	return JSON.stringify(out);
})()`

// bothConnectedJS: the page's publisher and subscriber PeerConnections are connected.
const bothConnectedJS = `(() => {
	const m = window.parleyDemo.engine._media;
	return !!m && m._pub.pc.connectionState === 'connected' && m._sub.pc.connectionState === 'connected';
})()`

// ringBob clears both pages' events and has alice audio-call bob on the lab page; it returns
// once bob's ringing dialog is open.
func ringBob(alice, bob *browser, what string) {
	for _, b := range []*browser{alice, bob} {
		eval[bool](b, `(window.parleyDemo.events.length = 0, true)`)
	}
	alice.do(chromedp.SetValue(chromedp.CSS("#callee"), "bob"), chromedp.Click(chromedp.CSS("#call-audio")))
	waitFor[bool](bob, what+": the ringing dialog", `document.getElementById('ringing').open`, 30*time.Second)
}

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
		t.Fatalf("bob's PeerConnections did not connect after the resume: %s %s", eval[string](bob, engineStateJS), eval[string](bob, legsJS))
	}
	waitHearing(t, alice)
	waitHearing(t, bob)
	eval[bool](alice, `(async () => { await window.parleyDemo.engine.hangup(); return true; })()`)
	for _, b := range bs {
		waitFor[int](b, "onCallEnd", eventCountJS("onCallEnd", ""), wait)
	}
	checkNoErrors(t, alice, bob)
}

// TestBrowserCallRequestsAcrossADrop: an accept, reject or hangup the socket drops with is
// carried out once (D322). bob clicks Accept on alice's audio call on the lab page, Reject
// on another, Hang up in a third, each two ways: once the server took the click (alice got
// its effect) and before its answer reaches the page, the socket drops — the SDK resumes
// the session, whose replay (or the server's "too late" answer to the repeat) says the
// request was taken; and while bob's socket is down — the SDK sends it once the session is
// resumed. The call begins and both hear each other, or it is turned down or ends on both
// sides; bob's page reports no error. Then bob accepts while offline for longer than the
// reconnect grace: the accept fails with RESUME_FAILED and the call is reported cancelled
// (reason disconnect). Before, each request failed with -2 "connection lost" or -1 "not
// connected", and bob's page left a call the server had begun or still rang, or stayed in
// one it had ended.
func TestBrowserCallRequestsAcrossADrop(t *testing.T) {
	srv := startTestServer(t, true)
	bs := signedInBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	const wait = 30 * time.Second
	// Each way runs bob's click; effect is the event the server's handling gives alice.
	ways := map[string]func(click chromedp.Action[chromedp.Void], effect string){
		"the answer lost": func(click chromedp.Action[chromedp.Void], effect string) {
			eval[bool](bob, pauseJS)
			bob.do(click)
			waitFor[int](alice, effect, eventCountJS(effect, ""), wait)
			eval[bool](bob, `(window.parleyDemo.engine._rpc._ws.close(3000, 'network lost'), true)`)
		},
		"the socket down": func(click chromedp.Action[chromedp.Void], _ string) {
			eval[bool](bob, goOfflineJS(false))
			waitFor[int](bob, "the reconnecting state", eventCountJS("onConnectionStateChanged", `p.state === 'reconnecting'`), wait)
			bob.do(click)
			eval[bool](bob, goOnlineJS)
		},
	}
	click := func(id string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS("#" + id)) }
	noErrors := func(what string) {
		t.Helper()
		if got := eval[string](bob, `JSON.stringify(window.parleyDemo.events.filter((e) => e.name === 'error' || e.name === 'onError'))`); got != "[]" {
			t.Fatalf("%s: bob's page reports %s (%s)", what, got, eval[string](bob, engineStateJS))
		}
	}
	began := func(what string) {
		t.Helper()
		for _, b := range bs {
			waitFor[int](b, what+": onCallBegin", eventCountJS("onCallBegin", ""), wait)
		}
		if !poll(bob, bothConnectedJS, wait) {
			t.Fatalf("%s: bob's PeerConnections did not connect: %s %s", what, eval[string](bob, engineStateJS), eval[string](bob, legsJS))
		}
		waitHearing(t, alice)
		waitHearing(t, bob)
	}
	idle := func(what string) {
		t.Helper()
		waitFor[bool](bob, what+": bob idle", `window.parleyDemo.engine.callStatus === 'idle' && window.parleyDemo.state.view === 'lobby'`, wait)
		waitFor[bool](alice, what+": alice idle", `window.parleyDemo.engine.callStatus === 'idle'`, wait)
		waitFor[bool](bob, what+": the connection back", `window.parleyDemo.engine._rpc.isOpen && !window.parleyDemo.engine._reconnecting`, wait)
		noErrors(what)
	}
	for _, way := range []string{"the answer lost", "the socket down"} {
		what := "accept, " + way
		ringBob(alice, bob, what)
		ways[way](click("accept"), "onCallBegin")
		began(what)
		noErrors(what)
		eval[bool](alice, `(async () => { await window.parleyDemo.engine.hangup(); return true; })()`)
		idle(what)

		what = "reject, " + way
		ringBob(alice, bob, what)
		ways[way](click("reject"), "onUserReject")
		waitFor[int](alice, what+": onCallCancelled", eventCountJS("onCallCancelled", ""), wait)
		idle(what)

		what = "hangup, " + way
		ringBob(alice, bob, what)
		bob.do(click("accept"))
		began(what)
		ways[way](click("hangup"), "onCallEnd")
		for _, b := range bs {
			waitFor[int](b, what+": onCallEnd", eventCountJS("onCallEnd", ""), wait)
		}
		idle(what)
	}

	// Accept while offline beyond the reconnect grace: no session to carry it out.
	what := "accept after the grace"
	ringBob(alice, bob, what)
	eval[bool](bob, goOfflineJS(false))
	waitFor[int](bob, what+": the reconnecting state", eventCountJS("onConnectionStateChanged", `p.state === 'reconnecting'`), wait)
	bob.do(click("accept"))
	testwait.For(t, wait, what+": the server to end bob's session", func() bool { return srv.Sessions() == 1 })
	eval[bool](bob, goOnlineJS)
	waitFor[bool](bob, what+": the accept failed and the call was reported lost",
		eventCountJS("error", `p.code === -6 && p.message.startsWith('accept')`)+` === 1 && `+
			eventCountJS("onCallCancelled", `p.reason === 'disconnect'`)+` === 1 && window.parleyDemo.engine.callStatus === 'idle'`, wait)
	waitFor[int](alice, what+": onCallCancelled", eventCountJS("onCallCancelled", ""), wait)
	checkNoErrors(t, alice)
}

// dropFirstGenerationJS makes the page lose every publisher candidate, its own and the
// server's, until it offers new ICE credentials: both sides' candidates of the first
// generation never arrive. It counts the publisher offers.
const dropFirstGenerationJS = `(() => {
	const e = window.parleyDemo.engine;
	const proto = Object.getPrototypeOf(e);
	const ufrag = (sdp) => (sdp.match(/a=ice-ufrag:(\S+)/) || [])[1];
	window.stall = { first: null, restarted: false, offers: 0, dropped: 0 };
	const s = window.stall;
	const request = proto._request;
	e._request = function (method, params) {
		if (method === 'offer' && params.target === 'publisher') {
			s.offers++;
			const u = ufrag(params.sdp.sdp);
			if (s.first === null) s.first = u;
			else if (u !== s.first) s.restarted = true;
		}
		if (method === 'trickle' && params.target === 'publisher' && !s.restarted) {
			s.dropped++;
			return Promise.resolve({});
		}
		return request.call(this, method, params);
	};
	const apply = proto._applySignal;
	e._applySignal = function (media, method, params) {
		if (method === 'trickle' && params.target === 'publisher' && !s.restarted) {
			s.dropped++;
			return;
		}
		return apply.call(this, media, method, params);
	};
	return true;
})()`

// TestBrowserICEStallRestarts: every publisher candidate of alice's first ICE generation
// is lost, hers and the server's (D341). Her publisher's ICE stays "new": no candidate
// pair ever forms, and the browser would wait forever. The SDK restarts ICE once the
// publisher has stalled for a while; the new generation's candidates arrive, and bob
// hears alice. Before, the call began and alice was never heard.
func TestBrowserICEStallRestarts(t *testing.T) {
	srv := startTestServer(t, true)
	bs := signedInBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	const wait = 45 * time.Second
	eval[bool](alice, dropFirstGenerationJS)
	alice.do(chromedp.SetValue(chromedp.CSS("#callee"), "bob"), chromedp.Click(chromedp.CSS("#call-audio")))
	waitFor[bool](bob, "the ringing dialog", `document.getElementById('ringing').open`, wait)
	bob.do(chromedp.Click(chromedp.CSS("#accept")))
	for _, b := range bs {
		waitFor[int](b, "onCallBegin", eventCountJS("onCallBegin", ""), wait)
	}
	if !poll(alice, bothConnectedJS, wait) {
		t.Fatalf("alice's PeerConnections did not connect: %s %s %s", eval[string](alice, engineStateJS), eval[string](alice, legsJS),
			eval[string](alice, `JSON.stringify(window.stall)`))
	}
	if !eval[bool](alice, `window.stall.restarted && window.stall.dropped > 0`) {
		t.Fatalf("the page never restarted ICE, or lost no candidate: %s", eval[string](alice, `JSON.stringify(window.stall)`))
	}
	waitHearing(t, bob)
	waitHearing(t, alice)
	eval[bool](alice, `(async () => { await window.parleyDemo.engine.hangup(); return true; })()`)
	for _, b := range bs {
		waitFor[int](b, "onCallEnd", eventCountJS("onCallEnd", ""), wait)
	}
	checkNoErrors(t, alice, bob)
}

// sentCallIDsJS records the callId of every call request the page sends, by method.
const sentCallIDsJS = `(() => {
	const proto = Object.getPrototypeOf(window.parleyDemo.engine);
	const request = proto._request;
	window.sentCallIds = [];
	proto._request = function (method, params) {
		if (['accept', 'reject', 'ignore', 'hangup', 'inviteUser', 'switchCallMediaType'].includes(method)) {
			window.sentCallIds.push(method + ':' + (params.callId || '-'));
		}
		return request.call(this, method, params);
	};
	return true;
})()`

// TestBrowserCallRequestsNameTheirCall: the SDK's accept, switchCallMediaType and hangup
// name the call they are for (D338), so one that reaches the server after its call ended
// does not act on the user's next call.
func TestBrowserCallRequestsNameTheirCall(t *testing.T) {
	srv := startTestServer(t, true)
	bs := signedInBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	const wait = 30 * time.Second
	for _, b := range bs {
		eval[bool](b, sentCallIDsJS)
	}
	alice.do(chromedp.SetValue(chromedp.CSS("#callee"), "bob"), chromedp.Click(chromedp.CSS("#call-audio")))
	waitFor[bool](bob, "the ringing dialog", `document.getElementById('ringing').open`, wait)
	callID := eval[string](bob, `window.parleyDemo.events.find((e) => e.name === 'onCallReceived').payload.callId`)
	bob.do(chromedp.Click(chromedp.CSS("#accept")))
	for _, b := range bs {
		waitFor[int](b, "onCallBegin", eventCountJS("onCallBegin", ""), wait)
	}
	eval[bool](bob, `(async () => { await window.parleyDemo.engine.switchCallMediaType(2); return true; })()`)
	for _, b := range bs {
		waitFor[int](b, "onCallMediaTypeChanged", eventCountJS("onCallMediaTypeChanged", ""), wait)
	}
	eval[bool](alice, `(async () => { await window.parleyDemo.engine.hangup(); return true; })()`)
	for _, b := range bs {
		waitFor[int](b, "onCallEnd", eventCountJS("onCallEnd", ""), wait)
	}
	for _, c := range []struct {
		b    *browser
		want string
	}{
		{bob, "accept:" + callID + ",switchCallMediaType:" + callID},
		{alice, "hangup:" + callID},
	} {
		if got := eval[string](c.b, `window.sentCallIds.join(',')`); got != c.want {
			t.Errorf("the page sent %s, want %s", got, c.want)
		}
	}
	checkNoErrors(t, alice, bob)
}
