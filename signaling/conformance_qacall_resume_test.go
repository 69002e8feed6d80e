package signaling_test

// Scenario checks of invitations to users whose sockets drop while they ring (QA round
// "leftover"). See spec_conformance_test.go for the tracer.

import (
	"context"
	"encoding/json"
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
