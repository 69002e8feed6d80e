package signaling_test

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestQARenewalIsALogin checks D2 with D3 (spec §9): a login with a fresh userSig on a
// logged-in connection (what an app does on onUserSigExpired, re-initialising as the
// TUICallEngine docs say) is a successful login, so onSdkReady comes again, before the
// result; the session, its call and its resume token stay.
func TestQARenewalIsALogin(t *testing.T) { qaRenewalIsALogin(t, newStack) }

func qaRenewalIsALogin(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
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

// TestQAKickedSessionActsNoMore checks D4 with D108: a request the kicked session's socket
// sent, that the server handles after the kick (here: while the kicked session's effects
// are still running, before its socket closes), does nothing and is answered 1007 (or not
// at all, once the socket closed). Before, it ran as the user: a `call` from the dead
// session started a call nobody could hang up (the new session was "not in the call").
func TestQAKickedSessionActsNoMore(t *testing.T) { qaKickedSessionActsNoMore(t, newStack) }

func qaKickedSessionActsNoMore(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	gate := newHookGate(t, "qkalice")
	st.service.SetBeforeJoin(gate.Hook)
	us := st.users(t, "qk", "alice", "bob", "carol")
	alice, bob, carol := us[0], us[1], us[2]
	tr := newTracer(t)
	_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
	must(t, err)
	must(t, bob.Accept(ctx, 0)) // alice's room join now waits in the hook
	gate.Wait(t, ctx, "alice's join of the call's room")
	ghost := make(chan error, 1)
	go func() {
		_, err := alice.Call(ctx, carol.UserID(), audio, protocol.CallParams{})
		ghost <- err
	}()
	alice2 := st.login(t, alice.UserID()) // kicks alice while her effects wait
	gate.Open()
	err = <-ghost
	if perr, ok := protocolError(err); err == nil || ok && perr.Code != protocol.CodeKicked {
		t.Fatalf("the kicked session's call: %v, want 1007 or no answer", err)
	}
	waitUntil(t, ctx, "the kicked connection is gone", func() bool { return st.connCount() == 3 })
	tr.expect(carol)
	if _, err := alice2.Call(ctx, carol.UserID(), audio, protocol.CallParams{}); err != nil {
		t.Fatalf("the new session's call: %v (the user is busy in a call of the dead session?)", err)
	}
	tr.expect(carol, ev(protocol.EventCallReceived, "callerId", alice.UserID()))
	must(t, alice2.Hangup(ctx))
}

// TestQARingingSurvivesAFreshLogin checks D9 with D4 and D28 (D110): a ringing invitee whose
// socket was lost (the app died) and who logs in again without its resume token within
// signaling.reconnect_grace is an invitee with no online session that logs in while its
// timer runs (D9): the new session gets the invitation, the caller hears nothing and the
// call still begins on accept. Before, the fresh login kicked the lost session as if it
// had rejected (D28): the caller got onUserReject and the call ended.
func TestQARingingSurvivesAFreshLogin(t *testing.T) { qaRingingSurvivesAFreshLogin(t, newStack) }

func qaRingingSurvivesAFreshLogin(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations, func(c *signalingConfig) { c.Signaling.ReconnectGrace = time.Minute })
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qf", "alice", "bob")
	alice, bob := us[0], us[1]
	tr := newTracer(t)
	started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{Timeout: 60})
	must(t, err)
	tr.expect(bob, ev(protocol.EventCallReceived, "callId", started.CallID))
	bob.Abort()
	waitUntil(t, ctx, "the server noticed bob's lost socket", func() bool { return st.connCount() == 1 })

	bob2 := st.login(t, bob.UserID()) // no resume token: an app that restarted
	tr.expect(alice)
	got := waitFor[protocol.CallReceivedEvent](t, bob2, protocol.EventCallReceived, nil)
	if got.CallID != started.CallID || got.Timeout < 1 || got.Timeout > 60 {
		t.Fatalf("bob's new session got %+v, want the invitation of %s with the seconds left", got, started.CallID)
	}
	accepted(t, alice, bob2)
	tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob.UserID()), ev(protocol.EventCallBegin, "callId", started.CallID))
	must(t, alice.Hangup(ctx))
	tr.expect(bob2, ev(protocol.EventCallReceived, "callId", started.CallID), ev(protocol.EventCallBegin, "callId", started.CallID),
		ev(protocol.EventCallEnd, "callId", started.CallID))
}

// TestQAResumeAfterTheGrace checks the Resume rule of PROTOCOL.md §1 with D28: a client
// that comes back after signaling.reconnect_grace, with its resumeToken and lastSeq, gets
// a new session, not an error: the result's resumeToken is not the one it sent, which is
// how it learns that its call ended meanwhile (the other side heard it leave). Nothing of
// the old session is replayed, and the user is idle.
func TestQAResumeAfterTheGrace(t *testing.T) { qaResumeAfterTheGrace(t, newStack) }

func qaResumeAfterTheGrace(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations, func(c *signalingConfig) { c.Signaling.ReconnectGrace = 300 * time.Millisecond })
	ctx := ctxT(t, 30*time.Second)
	us := st.users(t, "qg", "alice", "bob")
	alice, bob := us[0], us[1]
	tr := newTracer(t)
	started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
	must(t, err)
	accepted(t, alice, bob)
	old, _ := alice.LoginResult()
	lastSeq := alice.LastSeq()
	alice.Abort()
	tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin))
	waitFor(t, bob, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.UserID == alice.UserID() })

	again := st.dial(t)
	res, err := again.Resume(ctx, protocolDevApp, alice.UserID(), sig(t, alice.UserID(), time.Hour), old.ResumeToken, lastSeq)
	must(t, err)
	if res.ResumeToken == old.ResumeToken || res.ResumeToken == "" {
		t.Fatalf("resume after the grace: token %q, want a new one (not %q)", res.ResumeToken, old.ResumeToken)
	}
	tr.expect(again)
	wantCode(t, again.Hangup(ctx), protocol.CodeNotInCall)
	_, err = again.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
	must(t, err)
	tr.expect(bob, ev(protocol.EventCallEnd, "callId", started.CallID, "userId", alice.UserID()),
		ev(protocol.EventCallReceived, "callerId", alice.UserID()))
}

// TestQANewSessionRejoinsAtOnce checks D4 with D275: a user whose new login kicked the
// session that was in a room joins that room at once on the new session, even while the
// kicked session's leave (a PeerConnection close, here held in a hook) has not run yet:
// the join waits for it. Before, the join was refused with 4003 "already in that room on
// another session" (TestLimitRequestRates/negotiations on a busy machine).
func TestQANewSessionRejoinsAtOnce(t *testing.T) {
	st := newStack(t)
	ctx := ctxT(t, 60*time.Second)
	gate := newHookGate(t, "qnalice")
	st.service.SetBeforeLeave(gate.Hook)
	rid := protocol.StrRoom("qn-room")
	alice := st.login(t, "qnalice")
	must(t, joinRoomGranted(ctx, t, alice, rid))
	alice2 := st.login(t, alice.UserID()) // kicks alice: her leave waits in the hook
	gate.Wait(t, ctx, "the kicked session's leave")
	joined := joinRoomAsync(ctx, t, alice2, rid)
	select {
	case err := <-joined:
		t.Fatalf("the new session's join answered while the kicked one was still in the room: %v", err)
	case <-time.After(100 * time.Millisecond): // time for the join to reach the server
	}
	gate.Open()
	if err := <-joined; err != nil {
		t.Fatalf("the new session's join: %v", err)
	}
}

// TestQAKickDuringJoinLeavesNoOneBehind checks D108 with D275: a session kicked while its
// joinRoom request is joining (here held in a hook) does not stay in the room once the
// join completes: its exit ran before it had a participant, so the join itself leaves.
// Before, the dead session stayed in the room for good and the user's new session got 4003
// for it.
func TestQAKickDuringJoinLeavesNoOneBehind(t *testing.T) {
	st, gate := newStack(t), newHookGate(t, "qdalice")
	st.service.SetBeforeJoin(gate.Hook)
	ctx, rid := ctxT(t, 60*time.Second), protocol.StrRoom("qd-room")
	alice := st.login(t, "qdalice")
	first := joinRoomAsync(ctx, t, alice, rid)
	gate.Wait(t, ctx, "the first join")
	alice2 := st.login(t, alice.UserID()) // kicks alice while she joins
	gate.Open()
	if err := <-first; err == nil {
		t.Fatal("the kicked session's join succeeded")
	}
	id, err := room.NewStringID("qd-room")
	must(t, err)
	id = id.InApp(signaling.DevSDKAppID)
	waitUntil(t, ctxT(t, 20*time.Second), "the kicked session out of the room", func() bool {
		r, ok := st.service.Rooms().Room(id)
		return !ok || r.Participant(alice.UserID()) == nil
	})
	must(t, joinRoomGranted(ctx, t, alice2, rid))
}
