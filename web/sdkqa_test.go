package web

import (
	"testing"
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
// call rings on both; the first tab accepts and the call connects with video there, the
// second tab's kit goes back to IDLE without calling it missed (onCallCancelled, reason
// answeredElsewhere). Alice's next call, rejected on the second tab, stops ringing on the
// first as well.
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
	eval[bool](tab2, reasons)

	eval[bool](alice, kitJS+`.call({userId: 'bob', type: 2}).then(() => true)`)
	waitKitStatus(bob, "BE_INVITED")
	waitKitStatus(tab2, "BE_INVITED")
	kitClick(bob, "accept")
	waitKitStatus(tab2, "IDLE")
	if got := eval[string](tab2, `window.afterCalling.join()`); got == "missed" {
		t.Errorf("the second tab calls the call answered on the first %q", got)
	}
	for _, pair := range [][2]*browser{{alice, bob}, {bob, alice}} {
		waitKitStatus(pair[0], "CALLING_C2C_VIDEO")
		waitFramesGrow(pair[0], pair[1].name)
	}
	kitClick(alice, "hangup")
	waitKitStatus(bob, "IDLE")

	eval[bool](alice, kitJS+`.call({userId: 'bob', type: 2}).then(() => true)`)
	waitKitStatus(bob, "BE_INVITED")
	waitKitStatus(tab2, "BE_INVITED")
	kitClick(tab2, "reject")
	for _, b := range bs {
		waitKitStatus(b, "IDLE")
	}
}
