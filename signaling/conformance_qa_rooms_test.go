package signaling_test

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestQALeaveRoomOfACall checks leaveRoom (PROTOCOL.md §4.3) on a call's room with D12,
// D15 and D16: leaving the room of a call one is in is a hangup (both sides get
// onCallEnd, and the room is left); leaving a room entered early with prepareCall leaves
// the invitation ringing (and the dialing caller dialing), and an accept still begins the
// call.
func TestQALeaveRoomOfACall(t *testing.T) { qaLeaveRoomOfACall(t, newStack) }

func qaLeaveRoomOfACall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)

	t.Run("in the call: a hangup", func(t *testing.T) {
		us := st.users(t, "ql1", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		must(t, bob.LeaveRoom(ctx))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", bob.UserID(), "role", 2))
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", bob.UserID(), "role", 1))
		wantCode(t, bob.Hangup(ctx), protocol.CodeNotInCall)
		wantCode(t, bob.LeaveRoom(ctx), protocol.CodeNotInRoom)
	})

	t.Run("prepared early: still ringing", func(t *testing.T) {
		us := st.users(t, "ql2", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
		for _, c := range []*client.Conn{alice, bob} {
			_, err := c.PrepareCall(ctx, started.CallID)
			must(t, err)
			must(t, c.LeaveRoom(ctx))
		}
		tr.expect(alice)
		tr.expect(bob, ev(protocol.EventCallReceived, "callId", started.CallID))
		must(t, bob.Accept(ctx, 0))
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "callId", started.CallID))
		tr.expect(bob, ev(protocol.EventCallBegin, "callId", started.CallID))
		// Both are in the call's room again (a room method works; outside a room it is 4002).
		must(t, alice.StopRemoteView(ctx, bob.UserID()))
		must(t, bob.StopRemoteView(ctx, alice.UserID()))
		must(t, alice.Hangup(ctx))
	})
}
