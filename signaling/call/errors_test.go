package call

import (
	"errors"
	"testing"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestInputErrors checks every sentinel error and that a failed input changes nothing.
func TestInputErrors(t *testing.T) {
	video := protocol.MediaTypeVideo
	ringing := func(h *harness) { h.single(0, alice, "bob") }
	talking := func(h *harness) { ringing(h); h.accept(1, "bob", "") }
	callReq := func(invitees ...string) CallRequest {
		return CallRequest{Caller: alice, Invitees: invitees, GroupID: "g1", MediaType: video, Kind: KindGroup}
	}
	cases := []scenario{
		{name: "accept with nothing ringing", act: func(m *Machine) (Output, error) { return m.Accept(at(1), "bob", "", 0) }, err: ErrNotRinging},
		{name: "accept while in call", setup: talking, act: func(m *Machine) (Output, error) { return m.Accept(at(2), "bob", "", 0) }, err: ErrNotRinging},
		{name: "accept by the dialing caller", setup: ringing, act: func(m *Machine) (Output, error) { return m.Accept(at(2), "alice", "", 0) }, err: ErrNotRinging},
		{name: "reject with nothing ringing", act: func(m *Machine) (Output, error) { return m.Reject(at(1), "bob", "") }, err: ErrNotRinging},
		{name: "reject while in call", setup: talking, act: func(m *Machine) (Output, error) { return m.Reject(at(2), "bob", "s1") }, err: ErrNotRinging},
		{name: "ignore with nothing ringing", act: func(m *Machine) (Output, error) { return m.Ignore(at(1), "bob", "") }, err: ErrNotRinging},
		{name: "hangup when idle", act: func(m *Machine) (Output, error) { return m.Hangup(at(1), "bob") }, err: ErrNotInCall},
		{name: "disconnect when idle", setup: ringing, act: func(m *Machine) (Output, error) { return m.Disconnect(at(1), "carol", "logout") }, err: ErrNotInCall},
		{name: "call with an invalid media type", act: func(m *Machine) (Output, error) {
			return m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob"}, MediaType: 0})
		}, err: ErrInvalidMediaType},
		{name: "call with no invitees", act: func(m *Machine) (Output, error) { return m.Call(at(0), callReq()) }, err: ErrNoInvitees},
		{name: "call inviting oneself", act: func(m *Machine) (Output, error) { return m.Call(at(0), callReq("bob", "alice")) }, err: ErrSelfInvite},
		{
			name: "call with more invitees than the cap",
			act: func(m *Machine) (Output, error) {
				ids := make([]string, 33)
				for i := range ids {
					ids[i] = "u" + string(rune('a'+i%26)) + string(rune('a'+i/26))
				}
				return m.Call(at(0), callReq(ids...))
			},
			err: ErrTooManyInvitees,
		},
		{
			name:  "IDSource returning a callId in use",
			setup: func(h *harness) { ringing(h); h.ids.fixedCallID = "call-1" },
			act: func(m *Machine) (Output, error) {
				return m.Call(at(1), CallRequest{Caller: carol, Invitees: []string{"dave"}, MediaType: video})
			},
			err: errCallIDInUse,
		},
	}
	runScenarios(t, cases)
}

// TestMembershipCap checks Config.MaxMembers on inviteUser and join.
func TestMembershipCap(t *testing.T) {
	cfg := Config{MaxMembers: 3}
	newFull := func(t *testing.T) *Machine {
		m := New(cfg, &fakeIDs{})
		mustOK(t)(m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob", "carol"}, GroupID: "g1", MediaType: protocol.MediaTypeVideo, Kind: KindGroup}))
		mustOK(t)(m.Accept(at(1), "bob", "", 0))
		return m
	}
	tests := []struct {
		name string
		act  func(m *Machine) (Output, error)
	}{
		{"inviteUser beyond the cap", func(m *Machine) (Output, error) { return m.InviteUser(at(2), bob, []string{"dave"}, 0) }},
		{"join beyond the cap", func(m *Machine) (Output, error) { return m.Join(at(2), dave, "", "call-1") }},
		{"call beyond the cap", func(m *Machine) (Output, error) {
			return m.Call(at(2), CallRequest{Caller: dave, Invitees: []string{"erin", "frank", "gina"}, MediaType: protocol.MediaTypeVideo, Kind: KindCalls})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newFull(t)
			before := dump(m)
			_, err := tt.act(m)
			if !errors.Is(err, ErrTooManyInvitees) {
				t.Fatalf("err = %v", err)
			}
			checkInvariants(t, m)
			if d := dump(m); len(d.Users) != len(before.Users) {
				t.Errorf("state changed")
			}
		})
	}
}

// mustOK returns a checker that fails t on error.
func mustOK(t *testing.T) func(Output, error) Output {
	return func(out Output, err error) Output {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return out
	}
}
