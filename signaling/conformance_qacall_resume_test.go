package signaling_test

// Scenario checks of invitations to users whose sockets drop while they ring (QA round
// "leftover"). See spec_conformance_test.go for the tracer.

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestQACallResumeReplaysTimeLeft checks D285: an invitation replayed to a session that
// resumes within the reconnect grace states the seconds left, as one taken over by a fresh
// login does (D110), for a 1v1 and a group call.
func TestQACallResumeReplaysTimeLeft(t *testing.T) { qaCallResumeReplaysTimeLeft(t, newStack) }
func TestClusterQACallResumeReplaysTimeLeft(t *testing.T) {
	qaCallResumeReplaysTimeLeft(t, newClusterStack)
}

func qaCallResumeReplaysTimeLeft(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qrt", "alice", "bob", "carol", "dave")
	alice, bob, carol, dave := us[0], us[1], us[2], us[3]
	const ring, passed = 60, 20
	params := protocol.CallParams{Timeout: ring}
	for _, c := range []*client.Conn{bob, dave} {
		c.Abort()
	}
	testwait.For(t, 10*time.Second, "the server to see both sockets lost", func() bool { return st.detachedSessions() == 2 })
	single, err := alice.Call(ctx, bob.UserID(), audio, params)
	must(t, err)
	group, err := carol.GroupCall(ctx, "qrt-g", []string{dave.UserID()}, audio, params)
	must(t, err)
	st.clock.Advance(passed * time.Second)

	for _, tc := range []struct {
		c      *client.Conn
		callID string
	}{{bob, single.CallID}, {dave, group.CallID}} {
		again := resumeSession(ctx, t, st, tc.c)
		barrier(t, again)
		timeout := lastInvitationTimeout(t, again, tc.callID)
		if timeout < 1 || timeout > ring-passed {
			t.Errorf("%s: the replayed onCallReceived says timeout %d, want the seconds left (1..%d)", tc.c.UserID(), timeout, ring-passed)
		}
	}
}

// resumeSession resumes c's session, whose socket was lost, on a new connection.
func resumeSession(ctx context.Context, t *testing.T, st *stack, c *client.Conn) *client.Conn {
	t.Helper()
	login, _ := c.LoginResult()
	again := st.dial(t)
	_, err := again.Resume(ctx, protocolDevApp, c.UserID(), sig(t, c.UserID(), time.Hour), login.ResumeToken, c.LastSeq())
	must(t, err)
	return again
}

// lastInvitationTimeout is the timeout of the last onCallReceived of callID c got.
func lastInvitationTimeout(t *testing.T, c *client.Conn, callID string) int {
	t.Helper()
	timeout := -1
	for _, e := range c.Events() {
		var inv protocol.CallReceivedEvent
		if e.Name == protocol.EventCallReceived && json.Unmarshal(e.Params, &inv) == nil && inv.CallID == callID {
			timeout = inv.Timeout
		}
	}
	if timeout < 0 {
		t.Fatalf("%s: no onCallReceived of %s", c.UserID(), callID)
	}
	return timeout
}

// TestQACallRingingUserGoesOffline checks D286: a ringing user whose last online session
// goes (a logout with another device's socket lost, or the only session's socket lost
// after the invitation reached it) is reported to the invitee-offline hook then, so its
// app server can push; each invitation once, also when a resumed session loses its socket
// again.
func TestQACallRingingUserGoesOffline(t *testing.T) { qaCallRingingUserGoesOffline(t, newStack) }
func TestClusterQACallRingingUserGoesOffline(t *testing.T) {
	qaCallRingingUserGoesOffline(t, newClusterStack)
}

func qaCallRingingUserGoesOffline(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qgo", "alice", "bob", "carol", "dave")
	alice, bob1, carol, dave := us[0], us[1], us[2], us[3]
	must(t, bob1.EnableMultiDeviceAbility(ctx, true))
	bob := bob1.UserID() // the client forgets it on logout
	bob2 := st.login(t, bob)
	bob2.Abort()
	testwait.For(t, 10*time.Second, "the server to see bob2's socket lost", func() bool { return st.detachedSessions() == 1 })
	params := protocol.CallParams{Timeout: protocol.MaxCallTimeout}
	multi, err := alice.Call(ctx, bob, audio, params)
	must(t, err)
	single, err := carol.Call(ctx, dave.UserID(), audio, params)
	must(t, err)
	tr := newTracer(t)
	tr.expect(bob1, ev(protocol.EventCallReceived, "callId", multi.CallID))
	tr.expect(dave, ev(protocol.EventCallReceived, "callId", single.CallID))
	reports := func(callID, invitee string, want int) {
		t.Helper()
		testwait.For(t, 10*time.Second, fmt.Sprintf("%d invitee-offline reports of %s", want, invitee), func() bool { return st.offlineReports(callID, invitee) >= want })
		if got := st.offlineReports(callID, invitee); got != want {
			t.Fatalf("%d invitee-offline reports of %s in %s, want %d", got, invitee, callID, want)
		}
	}
	reports(multi.CallID, bob, 0) // bob1 is online
	reports(single.CallID, dave.UserID(), 0)

	must(t, bob1.Logout(ctx)) // bob2, whose socket is lost, is the only one left ringing
	reports(multi.CallID, bob, 1)
	dave.Abort()
	reports(single.CallID, dave.UserID(), 1)

	// Resumed and lost again: the same invitations are not reported twice.
	for _, c := range []*client.Conn{bob2, dave} {
		again := resumeSession(ctx, t, st, c)
		barrier(t, again)
		again.Abort()
	}
	testwait.For(t, 10*time.Second, "the server to see the resumed sockets lost", func() bool { return st.detachedSessions() == 2 })
	barrier(t, alice)
	reports(multi.CallID, bob, 1)
	reports(single.CallID, dave.UserID(), 1)
	must(t, alice.Hangup(ctx))
	must(t, carol.Hangup(ctx))
}

// TestQACallResumeCatchesUp checks the Resume rule of PROTOCOL.md §1 for what happens to a
// call while a party's socket is lost (a phone in a tunnel, within the reconnect grace):
// the resumed session hears exactly the call events it missed, in order, and is then in
// the state they say. A ringing device of a multi-device user whose other device answered
// hears answeredElsewhere and is not in the call; a ringing invitee whose caller cancelled
// hears the cancel; a user in a call the other side hung up hears onCallEnd; a dialing
// caller hears the accept, the begin and a media switch, and talks on.
func TestQACallResumeCatchesUp(t *testing.T)        { qaCallResumeCatchesUp(t, newStack) }
func TestClusterQACallResumeCatchesUp(t *testing.T) { qaCallResumeCatchesUp(t, newClusterStack) }

func qaCallResumeCatchesUp(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	lose := func(c *client.Conn) {
		t.Helper()
		barrier(t, c)
		before := st.detachedSessionsOf(c.UserID()) // the earlier subtests' sessions end at any moment
		c.Abort()
		testwait.For(t, 10*time.Second, "the server to see "+c.UserID()+"'s socket lost", func() bool { return st.detachedSessionsOf(c.UserID()) == before+1 })
	}
	// calling starts a video call from prefix+"alice" to prefix+"bob".
	calling := func(t *testing.T, prefix string) (alice, bob *client.Conn, tr *tracer, callID string) {
		t.Helper()
		us := st.users(t, prefix, "alice", "bob")
		started, err := us[0].Call(ctx, us[1].UserID(), video, protocol.CallParams{})
		must(t, err)
		return us[0], us[1], newTracer(t), started.CallID
	}

	t.Run("answered on the other device", func(t *testing.T) {
		us := st.users(t, "qca", "alice", "bob")
		alice, bob1 := us[0], us[1]
		must(t, bob1.EnableMultiDeviceAbility(ctx, true))
		bob2 := st.login(t, bob1.UserID())
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob1.UserID(), video, protocol.CallParams{})
		must(t, err)
		tr.expect(bob1, ev(protocol.EventCallReceived, "callId", started.CallID))
		lose(bob1)
		must(t, bob2.Accept(ctx, 0))
		again := resumeSession(ctx, t, st, bob1)
		tr.expect(again, ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob1.UserID(), "reason", "answeredElsewhere"))
		wantCode(t, again.Hangup(ctx), protocol.CodeNotInCall)
		must(t, alice.Hangup(ctx))
		tr.expect(bob2, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin), ev(protocol.EventCallEnd, "userId", alice.UserID()))
		tr.expect(again)
	})

	t.Run("cancelled while ringing", func(t *testing.T) {
		alice, bob, tr, id := calling(t, "qcc")
		tr.expect(bob, ev(protocol.EventCallReceived, "callId", id))
		lose(bob)
		must(t, alice.Hangup(ctx))
		again := resumeSession(ctx, t, st, bob)
		tr.expect(again, ev(protocol.EventCallCancelled, "callId", id, "userId", alice.UserID(), "reason", "cancel"))
		wantCode(t, again.Accept(ctx, 0), protocol.CodeNoCallRinging)
	})

	t.Run("hung up by the other side", func(t *testing.T) {
		alice, bob, tr, id := calling(t, "qch")
		accepted(t, alice, bob)
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin))
		lose(bob)
		must(t, alice.Hangup(ctx))
		again := resumeSession(ctx, t, st, bob)
		tr.expect(again, ev(protocol.EventCallEnd, "callId", id, "userId", alice.UserID(), "role", 2))
		wantCode(t, again.Hangup(ctx), protocol.CodeNotInCall)
	})

	t.Run("answered while dialing", func(t *testing.T) {
		alice, bob, tr, id := calling(t, "qcd")
		lose(alice)
		must(t, bob.Accept(ctx, 0))
		must(t, bob.SwitchCallMediaType(ctx, audio))
		again := resumeSession(ctx, t, st, alice)
		tr.expect(again, ev(protocol.EventUserAccept, "callId", id, "userId", bob.UserID()),
			ev(protocol.EventCallBegin, "callId", id, "role", 1, "mediaType", 2),
			ev(protocol.EventCallMediaTypeChanged, "callId", id, "oldMediaType", 2, "newMediaType", 1))
		must(t, again.Hangup(ctx))
		tr.expect(again, ev(protocol.EventCallEnd, "callId", id, "userId", alice.UserID(), "mediaType", 1))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin), ev(protocol.EventCallMediaTypeChanged),
			ev(protocol.EventCallEnd, "userId", alice.UserID(), "mediaType", 1))
	})
}
