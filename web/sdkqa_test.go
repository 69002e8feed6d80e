package web

import (
	"context"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/parley-rtc/parley/internal/testwait"
)

// TestKitLogoutMidCall: alice's app logs out in the middle of a kit video call: her kit
// goes back to IDLE with her devices and PeerConnections closed, bob's kit ends the call.
func TestKitLogoutMidCall(t *testing.T) {
	srv := startTestServer(t, true)
	bs := countedKitBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	kitVideoCall(alice, bob)
	eval[bool](alice, `window.parleyDemo.engine.logout().then(() => true)`)
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
		waitNothingLeft(t, b, "after alice's logout")
	}
}

// TestKitMultiDevice: bob is signed in on two tabs with the multi-device ability on. Alice's
// call rings on both; one tab accepts and the call connects with video there, the other
// tab's kit goes back to IDLE without calling it missed (onCallCancelled, reason
// answeredElsewhere) and keeps no PeerConnection. Only one of the tabs connects early
// (prepareCall: one session per user, PROTOCOL.md §4.2): the call is answered once on
// that tab and once on the other, whose answer takes the early one out of the room first.
// Alice's next call, rejected on the second tab, stops ringing on the first as well.
func TestKitMultiDevice(t *testing.T) {
	srv := startTestServer(t, true)
	bs := newBrowsers(t, "alice", "bob", "bob-tab2")
	alice, bob, tab2 := bs[0], bs[1], bs[2]
	kitSignIn(alice, srv.URL, "alice")
	kitSignIn(bob, srv.URL, "bob")
	eval[bool](bob, `window.parleyDemo.engine.enableMultiDeviceAbility(true).then(() => true)`)
	kitSignIn(tab2, srv.URL, "bob")
	eval[bool](tab2, `window.parleyDemo.engine.enableMultiDeviceAbility(true).then(() => true)`)
	if n := eval[int](bob, eventCountJS("onKickedOffline", "")); n != 0 {
		t.Fatalf("bob's first tab was kicked by the second with the multi-device ability on")
	}
	reasons := `(window.afterCalling = window.afterCalling || [], ` + kitJS + `.addEventListener('afterCalling', (e) => window.afterCalling.push(e.detail.reason)), true)`
	eval[bool](bob, reasons)
	eval[bool](tab2, reasons)
	const prepared = `!!window.parleyDemo.engine._prep`
	for _, early := range []bool{true, false} {
		eval[bool](alice, kitJS+`.call({userId: 'bob', type: 2}).then(() => true)`)
		waitKitStatus(bob, "BE_INVITED")
		waitKitStatus(tab2, "BE_INVITED")
		testwait.For(t, kitWait, "one of bob's tabs to connect early", func() bool { return eval[bool](bob, prepared) || eval[bool](tab2, prepared) })
		accepting, other := bob, tab2
		if eval[bool](bob, prepared) != early {
			accepting, other = tab2, bob
		}
		eval[bool](other, `(window.afterCalling.length = 0, true)`)
		kitClick(accepting, "accept")
		waitKitStatus(other, "IDLE")
		if got := eval[string](other, `window.afterCalling.join()`); got == "missed" {
			t.Errorf("early %v: the tab that did not answer calls the call answered on the other %q", early, got)
		}
		waitFor[bool](other, "no PeerConnection on the tab that did not answer", `window.parleyDemo.engine._media === null`, kitWait)
		waitKitStatus(alice, "CALLING_C2C_VIDEO")
		waitKitStatus(accepting, "CALLING_C2C_VIDEO")
		waitFramesGrow(alice, "bob")
		waitFramesGrow(accepting, "alice")
		kitClick(alice, "hangup")
		waitKitStatus(accepting, "IDLE")
	}

	eval[bool](alice, kitJS+`.call({userId: 'bob', type: 2}).then(() => true)`)
	waitKitStatus(bob, "BE_INVITED")
	waitKitStatus(tab2, "BE_INVITED")
	kitClick(tab2, "reject")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
	}
}

// revokeCamera takes the camera permission of origin back in b, as a user does in the
// browser's site settings: Chromium ends the page's live camera tracks.
func revokeCamera(b *browser, origin string) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "camera"}, Setting: cdpbrowser.PermissionSettingDenied, Origin: origin,
		})
		return err
	}))
}

// TestKitCameraRevokedMidCall: bob takes the camera permission back in the middle of a
// kit video call, so Chromium ends his camera track. His SDK closes the camera (D284):
// alice hears onUserVideoAvailable(bob, false) and her kit shows bob's avatar instead of a
// frozen picture; bob's page gets onError code -4 naming the camera, his kit reports it
// and offers to turn the camera on; the call goes on (alice still hears bob).
func TestKitCameraRevokedMidCall(t *testing.T) {
	srv := startTestServer(t, true)
	bs := kitBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]
	kitVideoCall(alice, bob)
	revokeCamera(bob, srv.URL)
	waitFor[bool](alice, "bob's video unavailable", eventCountJS("onUserVideoAvailable", "p.userId === 'bob' && p.isVideoAvailable === false")+` > 0`, kitWait)
	waitFor[bool](alice, "bob's avatar", tileJS("bob")+`.classList.contains('no-video')`, kitWait)
	waitFor[bool](bob, "onError for the camera", eventCountJS("onError", "p.code === -4 && p.device === 'camera'")+` === 1`, kitWait)
	waitFor[bool](bob, "the kit's error", `window.parleyDemo.events.some((e) => e.name === 'kitError' && e.payload.code === -4)`, kitWait)
	waitFor[bool](bob, "the camera button offering the camera", `(`+kitButtonJS("camera")+`).getAttribute('aria-label') === 'Turn camera on'`, kitWait)
	if got := eval[bool](bob, `window.parleyDemo.engine._local.video === null`); !got {
		t.Errorf("bob's SDK still holds the ended camera")
	}
	waitHearing(t, alice)
	kitClick(alice, "hangup")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
	}
}
