package signaling_test

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestQARenewalIsALogin checks D2 with D3 (spec §9): a login with a fresh userSig on a
// logged-in connection (what an app does on onUserSigExpired, re-initialising as the
// TUICallEngine docs say) is a successful login, so onSdkReady comes again, before the
// result; the session, its call and its resume token stay.
func TestQARenewalIsALogin(t *testing.T) {
	st := newStack(t, manyInvitations, func(c *signalingConfig) { c.Auth.SigExpiryGrace = time.Minute })
	ctx := ctxT(t, 30*time.Second)
	us := st.users(t, "qs", "alice", "bob")
	alice, bob := us[0], us[1]
	first, _ := bob.LoginResult()
	started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
	must(t, err)
	accepted(t, alice, bob)

	for _, ttl := range []time.Duration{2 * time.Hour, 3 * time.Hour} {
		before := bob.EventCount(protocol.EventSdkReady)
		res, err := bob.Login(ctx, protocolDevApp, bob.UserID(), sig(t, bob.UserID(), ttl))
		must(t, err)
		// The result came after onSdkReady: it is already there, no wait.
		if got := bob.EventCount(protocol.EventSdkReady); got != before+1 {
			t.Fatalf("renewal with a userSig of %v: onSdkReady %d times, want %d before the result", ttl, got, before+1)
		}
		if res.ResumeToken != first.ResumeToken || res.ExpiresAt <= first.ExpiresAt {
			t.Fatalf("renewal result %+v: want the same resume token %s and a later expiry than %d", res, first.ResumeToken, first.ExpiresAt)
		}
	}
	tr := newTracer(t)
	must(t, bob.Hangup(ctx))
	tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin),
		ev(protocol.EventCallEnd, "callId", started.CallID, "userId", bob.UserID()))
}
