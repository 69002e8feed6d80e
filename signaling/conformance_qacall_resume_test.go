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
