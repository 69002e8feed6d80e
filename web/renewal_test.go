package web

import (
	"testing"
	"time"
)

// TestBrowserRenewalThenResume: the SDK of an app that renews its userSig on the same
// socket (a login, as on onUserSigExpired) and then loses the socket resumes without
// replaying what it already had: no ghost invitation pops up. The SDK starts a login with
// lastSeq 0 and takes the seq of the onSdkReady that every login brings (D3); a renewal
// without one resumed with lastSeq 0 and got the whole kept history again.
func TestBrowserRenewalThenResume(t *testing.T) {
	srv := startTestServer(t, true)
	bs := signedInBrowsers(t, srv, "alice", "bob")
	alice, bob := bs[0], bs[1]

	// bob calls alice and cancels: alice's history holds an invitation and its cancel.
	eval[bool](bob, `(async () => {
		const e = window.parleyDemo.engine;
		await e.call({ userId: 'alice', mediaType: 1 });
		await e.hangup();
		return true;
	})()`)
	waitFor[int](alice, "onCallCancelled", eventCountJS("onCallCancelled", ""), 20*time.Second)
	waitFor[bool](alice, "the ringing dialog closed", `!document.getElementById('ringing').open`, 20*time.Second)

	// A renewal login on the same socket, then a dropped socket.
	eval[bool](alice, `(async () => {
		const e = window.parleyDemo.engine;
		await e.login({ ...e._credentials });
		return true;
	})()`)
	token := eval[string](alice, `window.parleyDemo.engine._session.resumeToken`)
	eval[bool](alice, `(window.parleyDemo.engine._rpc._ws.close(3000, 'network change'), true)`)
	waitFor[bool](alice, "the connection back", eventCountJS("onConnectionStateChanged", `p.state === 'connected'`)+" >= 2", 30*time.Second)
	// The resume's onSdkReady follows whatever it replays.
	waitFor[bool](alice, "the resume's onSdkReady", eventCountJS("onSdkReady", "")+" >= 3", 30*time.Second)
	if got := eval[string](alice, `window.parleyDemo.engine._session.resumeToken`); got != token {
		t.Fatalf("the session was not resumed: resume token %q, want %q", got, token)
	}
	for _, name := range []string{"onCallReceived", "onCallCancelled"} {
		if n := eval[int](alice, eventCountJS(name, "")); n != 1 {
			t.Errorf("alice got %s %d times, want once (replayed after the resume)", name, n)
		}
	}
	if eval[bool](alice, `document.getElementById('ringing').open`) {
		t.Errorf("a ghost invitation rings after the resume")
	}
	checkNoErrors(t, alice, bob)
}
