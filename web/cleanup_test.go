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
