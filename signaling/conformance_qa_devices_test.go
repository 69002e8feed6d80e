package signaling_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestQAMultiDeviceRinging checks D4 (spec §9) with PROTOCOL.md §3 and §4.2 ("a ringing
// invitee's hangup is a reject"): whichever way one session of a multi-device user turns
// an invitation down, that session hears its own reason and the user's other sessions hear
// "rejectedElsewhere"; the caller sees the decline once.
func TestQAMultiDeviceRinging(t *testing.T)        { qaMultiDeviceRinging(t, newStack) }
func TestClusterQAMultiDeviceRinging(t *testing.T) { qaMultiDeviceRinging(t, newClusterStack) }

func qaMultiDeviceRinging(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
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

// TestQAOtherSessionIsNotInTheCall checks D4 with PROTOCOL.md §3 ("its other sessions are
// not in the call"): a multi-device user's session that did not call, accept or join cannot
// hang up, switch the media of, invite into, or prepare (D162) the call another of its
// sessions is in (3003), whether that session dials or talks; the call and its events stay
// as they were.
func TestQAOtherSessionIsNotInTheCall(t *testing.T) { qaOtherSessionIsNotInTheCall(t, newStack) }
func TestClusterQAOtherSessionIsNotInTheCall(t *testing.T) {
	qaOtherSessionIsNotInTheCall(t, newClusterStack)
}

func qaOtherSessionIsNotInTheCall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qo", "alice", "bob", "carol")
	alice1, bob, carol := us[0], us[1], us[2]
	must(t, alice1.EnableMultiDeviceAbility(ctx, true))
	alice2 := st.login(t, alice1.UserID())
	tr := newTracer(t)
	started, err := alice1.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
	must(t, err)
	acts := []struct {
		name string
		do   func() error
	}{
		{"hangup", func() error { return alice2.Hangup(ctx) }},
		{"switchCallMediaType", func() error { return alice2.SwitchCallMediaType(ctx, video) }},
		{"inviteUser", func() error {
			_, err := alice2.InviteUser(ctx, []string{carol.UserID()}, protocol.CallParams{})
			return err
		}},
		{"prepareCall", func() error { // D162: it would enter the call's room early
			_, err := alice2.PrepareCall(ctx, started.CallID)
			return err
		}},
	}
	for _, phase := range []string{"dialing", "in the call"} {
		if phase == "in the call" {
			accepted(t, alice1, bob)
		}
		for _, a := range acts {
			t.Run(phase+": "+a.name, func(t *testing.T) {
				wantCode(t, a.do(), protocol.CodeNotInCall)
			})
		}
	}
	tr.expect(alice2)
	tr.expect(carol)
	tr.expect(bob, ev(protocol.EventCallReceived, "mediaType", 1), ev(protocol.EventCallBegin, "mediaType", 1))
	must(t, alice1.Hangup(ctx))
	tr.expect(alice1, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "callId", started.CallID),
		ev(protocol.EventCallEnd, "callId", started.CallID, "userId", alice1.UserID()))
	tr.expect(alice2)
}

// TestQAMultiDeviceTurnedOff checks D4 with D178: multi-device off means one session per
// user, so enableMultiDeviceAbility(false) keeps the session that sent it and kicks the
// user's others (onKickedOffline, close 4007), as a new login would. A ringing invitation
// then rings on the remaining session only; a call another session was in ends for the
// other side as when that session leaves (D28).
func TestQAMultiDeviceTurnedOff(t *testing.T) { qaMultiDeviceTurnedOff(t, newStack) }
func TestClusterQAMultiDeviceTurnedOff(t *testing.T) {
	qaMultiDeviceTurnedOff(t, newClusterStack)
}

func qaMultiDeviceTurnedOff(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	t.Run("while ringing", func(t *testing.T) {
		alice, bob1, bob2, tr, started := callMultiDevice(ctx, t, st, "qmo1", video)
		bob3 := st.login(t, bob1.UserID()) // the invitation rings on it too (D9)
		must(t, bob2.EnableMultiDeviceAbility(ctx, false))
		kicked(ctx, t, bob1)
		kicked(ctx, t, bob3)
		tr.expect(alice)
		must(t, bob2.Accept(ctx, 0))
		tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob1.UserID()), ev(protocol.EventCallBegin, "callId", started.CallID))
		tr.expect(bob2, ev(protocol.EventCallReceived, "callId", started.CallID), ev(protocol.EventCallBegin, "callId", started.CallID))
		bob4 := st.login(t, bob1.UserID()) // off now: a login kicks again
		kicked(ctx, t, bob2)
		tr.expect(bob4)
	})
	t.Run("another session in a call", func(t *testing.T) {
		alice, bob1, bob2, tr, started := callMultiDevice(ctx, t, st, "qmo2", audio)
		accepted(t, alice, bob1)
		must(t, bob2.EnableMultiDeviceAbility(ctx, false))
		kicked(ctx, t, bob1)
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", bob1.UserID()))
		tr.expect(bob2, ev(protocol.EventCallReceived), ev(protocol.EventCallCancelled, "reason", "answeredElsewhere"))
		_, err := alice.Call(ctx, bob1.UserID(), audio, protocol.CallParams{})
		must(t, err)
		tr.expect(bob2, ev(protocol.EventCallReceived))
	})
}

// callMultiDevice logs in prefix+"alice" and prefix+"bob" on two sessions with
// multi-device on, and has alice call bob.
func callMultiDevice(ctx context.Context, t *testing.T, st *stack, prefix string, media protocol.MediaType) (alice, bob1, bob2 *client.Conn, tr *tracer, started protocol.CallStartResult) {
	t.Helper()
	us := st.users(t, prefix, "alice", "bob")
	alice, bob1 = us[0], us[1]
	tr = newTracer(t)
	must(t, bob1.EnableMultiDeviceAbility(ctx, true))
	bob2 = st.login(t, bob1.UserID())
	started, err := alice.Call(ctx, bob1.UserID(), media, protocol.CallParams{})
	must(t, err)
	return alice, bob1, bob2, tr, started
}
