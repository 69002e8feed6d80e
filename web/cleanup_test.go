package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// sdkPageJS(user) makes the page an app of its own on the server's origin: it imports the
// SDK, counts every capture track and PeerConnection the page makes, keeps every event the
// engine reports in window.app.events and logs in as user with a dev userSig. The app
// itself never closes a device: what is left open is the SDK's doing.
const sdkPageJS = `(async (user) => {
  ` + mediaCounterJS + `;
  const { tracks, pcs } = window.mediaCounter;
  const { ParleyCallEngine } = await import('/sdk/parley.js');
  const res = await fetch('/dev/usersig', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({userId: user})});
  const sig = await res.json();
  const engine = ParleyCallEngine.createInstance({url: location.origin.replace('http', 'ws') + '/ws'});
  const events = [];
  for (const name of ['onCallReceived', 'onCallBegin', 'onCallEnd', 'onCallCancelled', 'onUserLineBusy', 'onKickedOffline', 'onError']) {
    engine.on(name, (p) => events.push({name, p}));
  }
  window.app = {
    engine, events,
    has: (name) => events.some((e) => e.name === name),
    live: () => tracks.filter((t) => t.readyState === 'live').map((t) => t.kind).sort().join(','),
    openPCs: () => pcs.filter((pc) => pc.signalingState !== 'closed').length,
  };
  await engine.login({sdkAppId: sig.sdkAppId, userId: user, userSig: sig.userSig});
  return true;
})`

// sdkPage opens the lab page's origin in b and runs sdkPageJS as user there.
func sdkPage(b *browser, baseURL, user string) {
	b.t.Helper()
	b.do(chromedp.Navigate(baseURL + labPath))
	eval[bool](b, fmt.Sprintf("%s(%q)", sdkPageJS, user))
}

// openDevicesJS opens the camera and the microphone, as an app does at onCallBegin.
const openDevicesJS = `Promise.all([app.engine.openCamera({element: document.body}), app.engine.openMicrophone()]).then(() => true)`

// TestBrowserSDKCallEndClosesDevices: the devices the app opened for a call stop when the
// call ends for the user, however it ends, without the app closing them (D210): the hangup
// of either side, a reject of a ringing call whose invitee had opened its camera, a caller's
// camera of a cancelled call, a session kicked by a login elsewhere. No PeerConnection stays.
func TestBrowserSDKCallEndClosesDevices(t *testing.T) {
	srv := startTestServer(t, true)
	bs := newBrowsers(t, "alice", "bob", "bob2")
	alice, bob, bob2 := bs[0], bs[1], bs[2]
	sdkPage(alice, srv.URL, "alice")
	sdkPage(bob, srv.URL, "bob")
	left := func(what string, bs ...*browser) {
		t.Helper()
		for _, b := range bs {
			if !poll(b, `app.live() === '' && app.openPCs() === 0`, 10*time.Second) {
				t.Errorf("%s: %s still has capture tracks %q and %d PeerConnections", what, b.name, eval[string](b, `app.live()`), eval[int](b, `app.openPCs()`))
			}
		}
	}
	call := func() {
		t.Helper()
		eval[bool](bob, `app.events.length = 0, true`)
		eval[bool](alice, `app.events.length = 0, app.engine.call({userId: 'bob', mediaType: 2}).then(() => true)`)
		waitFor[bool](bob, "the invitation", `app.has('onCallReceived')`, 20*time.Second)
	}
	inCall := func() {
		t.Helper()
		call()
		eval[bool](bob, `app.engine.accept().then(() => `+openDevicesJS+`)`)
		waitFor[bool](alice, "onCallBegin", `app.has('onCallBegin')`, 20*time.Second)
		eval[bool](alice, openDevicesJS)
		for _, b := range []*browser{alice, bob} {
			if got := eval[string](b, `app.live()`); got != "audio,video" {
				t.Fatalf("%s in the call captures %q, want audio,video", b.name, got)
			}
		}
	}

	inCall()
	eval[bool](alice, `app.engine.hangup().then(() => true)`)
	waitFor[bool](bob, "onCallEnd", `app.has('onCallEnd')`, 20*time.Second)
	left("alice hung up", alice, bob)

	inCall()
	eval[bool](bob, `app.engine.hangup().then(() => true)`)
	waitFor[bool](alice, "onCallEnd", `app.has('onCallEnd')`, 20*time.Second)
	left("bob hung up", alice, bob)

	eval[bool](alice, openDevicesJS) // the caller's own preview, then the call
	call()
	eval[bool](bob, openDevicesJS+`.then(() => app.engine.reject()).then(() => true)`)
	waitFor[bool](alice, "onCallCancelled", `app.has('onCallCancelled')`, 20*time.Second)
	left("bob rejected", alice, bob)

	inCall()
	sdkPage(bob2, srv.URL, "bob")
	waitFor[bool](bob, "onKickedOffline", `app.has('onKickedOffline')`, 20*time.Second)
	left("bob was kicked", bob)
	waitFor[bool](alice, "onCallEnd", `app.has('onCallEnd')`, 20*time.Second)
	left("bob was kicked", alice)
	for _, b := range []*browser{alice, bob} {
		if got := eval[string](b, `JSON.stringify(app.events.filter((e) => e.name === 'onError'))`); got != "[]" {
			t.Errorf("%s: onError %s", b.name, got)
		}
	}
}

// holdCapturesJS makes the page's getUserMedia wait until window.captures.release(): a
// camera or microphone that takes its time to open, as a busy machine's does.
const holdCapturesJS = `(() => {
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  const held = [];
  navigator.mediaDevices.getUserMedia = (c) => new Promise((resolve) => held.push(resolve)).then(() => gum(c));
  window.captures = {held: () => held.length, release: () => { for (const r of held.splice(0)) r(); return true; }};
  return true;
})()`

// TestBrowserSDKCallEndStopsOpeningDevices: a camera and a microphone still opening when
// their call ends are closed with it (D210, D333): the opens fail with INVALID_STATE once
// the capture arrives and its tracks stop; no device stays on. When the next call's opens
// come while the ended call's captures still run, they get devices of their own: exactly
// one live camera and microphone, the engine's, none of which the ended call's opens got.
func TestBrowserSDKCallEndStopsOpeningDevices(t *testing.T) {
	srv := startTestServer(t, true)
	bs := newBrowsers(t, "alice", "bob")
	alice, bob := bs[0], bs[1]
	sdkPage(alice, srv.URL, "alice")
	sdkPage(bob, srv.URL, "bob")
	eval[bool](alice, holdCapturesJS)
	// open(name) opens both devices as an app does for its call; window[name] settles with
	// what each open gave: the track's id, or the error's code.
	open := func(name string) {
		t.Helper()
		eval[bool](alice, fmt.Sprintf(`(window[%q] = Promise.allSettled([app.engine.openCamera({element: document.body}), app.engine.openMicrophone()])
		  .then((rs) => rs.map((r) => r.status === 'fulfilled' ? r.value.id : r.reason.code)), true)`, name))
	}
	wantStale := func(name string) {
		t.Helper()
		if got := eval[[]any](alice, "window."+name); len(got) != 2 || got[0] != float64(-7) || got[1] != float64(-7) {
			t.Errorf("the opens of the ended call gave %v, want [-7 -7] (INVALID_STATE)", got)
		}
	}

	// The call ends while its devices open.
	eval[bool](alice, `app.engine.call({userId: 'bob', mediaType: 2}).then(() => true)`)
	open("first")
	waitFor[bool](alice, "both captures waiting", `captures.held() === 2`, 10*time.Second)
	eval[bool](alice, `app.engine.hangup().then(() => true)`)
	eval[bool](alice, `captures.release()`)
	wantStale("first")
	if !poll(alice, `app.live() === '' && app.engine._local.video === null && app.engine._local.audio === null`, 10*time.Second) {
		t.Errorf("after a call that ended while its devices opened alice captures %q", eval[string](alice, `app.live()`))
		eval[bool](alice, `Promise.all([app.engine.closeCamera(), app.engine.closeMicrophone()]).then(() => true)`) // the next part on its own
	}

	// The next call opens its devices while the ended call's captures still run.
	eval[bool](alice, `app.engine.call({userId: 'bob', mediaType: 2}).then(() => true)`)
	open("stale")
	waitFor[bool](alice, "both captures waiting", `captures.held() === 2`, 10*time.Second)
	eval[bool](alice, `app.engine.hangup().then(() => true)`)
	eval[bool](alice, `app.engine.call({userId: 'bob', mediaType: 2}).then(() => true)`)
	open("next")
	eval[bool](alice, `captures.release()`)
	wantStale("stale")
	type opened struct{ Next, Stale []any }
	got := eval[opened](alice, `(async () => ({next: await window.next, stale: await window.stale}))()`)
	e := `app.engine._local`
	if len(got.Next) != 2 || got.Next[0] != eval[string](alice, e+`.video ? `+e+`.video.id : ''`) || got.Next[1] != eval[string](alice, e+`.audio ? `+e+`.audio.id : ''`) {
		t.Errorf("the next call's opens gave %v, want the engine's camera and microphone", got.Next)
	}
	if live := eval[string](alice, `app.live()`); live != "audio,video" {
		t.Errorf("alice in the next call captures %q, want audio,video", live)
	}
	eval[bool](alice, `app.engine.hangup().then(() => true)`)
	if !poll(alice, `app.live() === '' && app.openPCs() === 0`, 10*time.Second) {
		t.Errorf("after the next call alice captures %q with %d PeerConnections", eval[string](alice, `app.live()`), eval[int](alice, `app.openPCs()`))
	}
	for _, b := range bs {
		if got := eval[string](b, `JSON.stringify(app.events.filter((e) => e.name === 'onError'))`); got != "[]" {
			t.Errorf("%s: onError %s", b.name, got)
		}
	}
}
