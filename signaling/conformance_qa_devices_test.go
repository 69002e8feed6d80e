package signaling_test

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestQAMultiDeviceRinging checks D4 (spec §9) with PROTOCOL.md §3 and §4.2 ("a ringing
// invitee's hangup is a reject"): whichever way one session of a multi-device user turns
// an invitation down, that session hears its own reason and the user's other sessions hear
// "rejectedElsewhere"; the caller sees the decline once.
func TestQAMultiDeviceRinging(t *testing.T) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	tests := []struct {
		name     string
		decline  func(*testing.T, *client.Conn) error
		reason   string // on the declining session
		noticeTo string // what the caller gets
	}{
		{"hangup while ringing", func(_ *testing.T, c *client.Conn) error { return c.Hangup(ctx) }, "reject", protocol.EventUserReject},
		{"reject", func(_ *testing.T, c *client.Conn) error { return c.Reject(ctx) }, "reject", protocol.EventUserReject},
		{"ignore", func(_ *testing.T, c *client.Conn) error { return c.Ignore(ctx) }, "ignore", protocol.EventUserLineBusy},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			us := st.users(t, "qmd"+itoa(i), "alice", "bob")
			alice, bob1 := us[0], us[1]
			tr := newTracer(t)
			must(t, bob1.EnableMultiDeviceAbility(ctx, true))
			bob2 := st.login(t, bob1.UserID())
			started, err := alice.Call(ctx, bob1.UserID(), video, protocol.CallParams{})
			must(t, err)
			tr.expect(bob2, ev(protocol.EventCallReceived, "callId", started.CallID))
			tr.expect(bob1, ev(protocol.EventCallReceived, "callId", started.CallID))
			must(t, tc.decline(t, bob1))
			tr.expect(bob1, ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob1.UserID(), "reason", tc.reason))
			tr.expect(bob2, ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob1.UserID(), "reason", "rejectedElsewhere"))
			tr.expect(alice, ev(tc.noticeTo, "userId", bob1.UserID()),
				ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "role", 1))
			wantCode(t, bob2.Accept(ctx, 0), protocol.CodeNoCallRinging)
		})
	}
}
