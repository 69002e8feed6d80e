package call

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestGroupCallTransitions covers spec §5.4, rows G1–G11.
func TestGroupCallTransitions(t *testing.T) {
	c1 := call1Group
	c2 := cx{id: "call-2", room: protocol.IntRoom(1002), media: protocol.MediaTypeVideo, scene: protocol.SceneGroup, group: "g1"}
	none := time.Time{}
	ringing := func(h *harness) { h.group(0, alice, "bob", "carol") }
	oneIn := func(h *harness) {
		h.group(0, alice, "bob", "carol")
		h.accept(5, "bob", "")
	}
	allIn := func(h *harness) {
		oneIn(h)
		h.accept(6, "carol", "")
	}
	cases := []scenario{
		{
			name: "G1 groupCall invites every invitee",
			act: func(m *Machine) (Output, error) {
				return m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob", "carol"}, GroupID: "g1",
					MediaType: protocol.MediaTypeVideo, Kind: KindGroup})
			},
			events: []Event{
				ev("bob", nReceived, c1.received(alice, 30, "bob", "carol")),
				ev("carol", nReceived, c1.received(alice, 30, "bob", "carol")),
			},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "alice", Dialing, "call-1")
				wantState(t, h.m, "carol", Ringing, "call-1")
				wantDeadline(t, h.m, at(30))
			},
		},
		{
			name:  "G2 first invitee accepts (D14)",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Accept(at(5), "bob", "", 0) },
			events: []Event{
				ev("alice", nAccept, c1.user("bob")),
				ev("carol", nAccept, c1.user("bob")),
				ev("alice", nBegin, c1.begin(roleCaller)),
				ev("bob", nBegin, c1.begin(roleCalled)),
			},
			actions: []RoomAction{c1.join("alice", ""), c1.join("bob", "")},
			check: func(t *testing.T, h *harness, out Output) {
				if len(out.Began) != 1 {
					t.Errorf("began = %+v", out.Began)
				}
				wantState(t, h.m, "carol", Ringing, "call-1")
				wantDeadline(t, h.m, at(30))
			},
		},
		{
			name:  "G2 second invitee accepts (D14)",
			setup: oneIn,
			act:   func(m *Machine) (Output, error) { return m.Accept(at(8), "carol", "", 0) },
			events: []Event{
				ev("alice", nAccept, c1.user("carol")),
				ev("bob", nAccept, c1.user("carol")),
				ev("carol", nBegin, c1.begin(roleCalled)),
			},
			actions: []RoomAction{c1.join("carol", "")},
			check: func(t *testing.T, h *harness, out Output) {
				if len(out.Began) != 0 {
					t.Errorf("began again: %+v", out.Began)
				}
				wantDeadline(t, h.m, none)
			},
		},
		{
			name:  "G3 reject in group goes to every participant",
			setup: oneIn,
			act:   func(m *Machine) (Output, error) { return m.Reject(at(8), "carol", "") },
			events: []Event{
				ev("alice", nReject, c1.user("carol")),
				ev("bob", nReject, c1.user("carol")),
				ev("carol", nCancelled, c1.cancelled("carol", "reject", roleCalled)),
			},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "alice", InCall, "call-1")
				wantState(t, h.m, "bob", InCall, "call-1")
				wantState(t, h.m, "carol", Idle, "")
				if len(out.Records) != 0 {
					t.Errorf("records before the call ended: %+v", out.Records)
				}
			},
		},
		{
			name:  "G3 reject in group goes to pending invitees too (D13)",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Reject(at(3), "bob", "") },
			events: []Event{
				ev("alice", nReject, c1.user("bob")),
				ev("carol", nReject, c1.user("bob")),
				ev("bob", nCancelled, c1.cancelled("bob", "reject", roleCalled)),
			},
		},
		{
			name: "G3 last pending invitee rejects: the call ends for the caller",
			setup: func(h *harness) {
				ringing(h)
				h.ok(h.m.Reject(at(3), "bob", ""))
			},
			act: func(m *Machine) (Output, error) { return m.Reject(at(4), "carol", "") },
			events: []Event{
				ev("alice", nReject, c1.user("carol")),
				ev("carol", nCancelled, c1.cancelled("carol", "reject", roleCalled)),
				ev("alice", nCancelled, c1.cancelled("alice", "reject", roleCaller)),
			},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "alice", Idle, "")
				if len(out.Records) != 3 || len(out.Ended) != 1 || out.Ended[0].Outcome != OutcomeUnanswered {
					t.Errorf("records %+v ended %+v", out.Records, out.Ended)
				}
			},
		},
		{
			name:  "G4 invitee times out in an active group call",
			setup: oneIn,
			act:   func(m *Machine) (Output, error) { return m.Tick(at(30)), nil },
			events: []Event{
				ev("alice", nNoResp, c1.user("carol")),
				ev("bob", nNoResp, c1.user("carol")),
				ev("carol", nCancelled, c1.cancelled("carol", "timeout", roleCalled)),
			},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "bob", InCall, "call-1")
				wantDeadline(t, h.m, none)
			},
		},
		{
			name:  "G4 every invitee times out: the call ends",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Tick(at(31)), nil },
			events: []Event{
				ev("alice", nNoResp, c1.user("bob")),
				ev("carol", nNoResp, c1.user("bob")),
				ev("bob", nCancelled, c1.cancelled("bob", "timeout", roleCalled)),
				ev("alice", nNoResp, c1.user("carol")),
				ev("carol", nCancelled, c1.cancelled("carol", "timeout", roleCalled)),
				ev("alice", nCancelled, c1.cancelled("alice", "timeout", roleCaller)),
			},
		},
		{
			name: "G5 busy invitee is dropped from a group call",
			setup: func(h *harness) {
				h.single(0, dave, "carol")
			},
			act: func(m *Machine) (Output, error) {
				return m.Call(at(1), CallRequest{Caller: alice, Invitees: []string{"bob", "carol"}, GroupID: "g1",
					MediaType: protocol.MediaTypeVideo, Kind: KindGroup})
			},
			events: []Event{
				ev("bob", nReceived, c2.received(alice, 30, "bob")),
				ev("alice", nBusy, c2.user("carol")),
				ev("bob", nBusy, c2.user("carol")),
			},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "carol", Ringing, "call-1")
				wantState(t, h.m, "bob", Ringing, "call-2")
				s, _ := h.m.Snapshot("call-2")
				if len(s.Members) != 2 || len(s.Invited) != 2 {
					t.Errorf("snapshot = %+v", s)
				}
			},
		},
		{
			name:  "G6 participant invites another user",
			setup: oneIn,
			act:   func(m *Machine) (Output, error) { return m.InviteUser(at(10), bob, []string{"dave"}, 0) },
			events: []Event{
				ev("dave", nReceived, c1.received(bob, 30, "carol", "dave")),
				ev("alice", nInvitees, c1.invitees("carol", "dave")),
				ev("bob", nInvitees, c1.invitees("carol", "dave")),
			},
			check: func(t *testing.T, h *harness, out Output) {
				if len(out.Invited) != 1 || out.Invited[0] != "dave" {
					t.Errorf("invited = %v", out.Invited)
				}
				if h.ids.rooms != 1 {
					t.Errorf("inviteUser allocated a room")
				}
				s, _ := h.m.Snapshot("call-1")
				last := s.Members[len(s.Members)-1]
				if last.UserID != "dave" || last.Inviter != "bob" || !last.Deadline.Equal(at(40)) {
					t.Errorf("dave = %+v", last)
				}
			},
		},
		{
			name:  "G7 joinInGroupCall enters an active group call",
			setup: oneIn,
			act: func(m *Machine) (Output, error) {
				return m.JoinInGroupCall(at(10), erin, "", protocol.IntRoom(1001), "g1", protocol.MediaTypeVideo)
			},
			events:  []Event{ev("erin", nBegin, c1.begin(roleCalled))},
			actions: []RoomAction{c1.join("erin", "")},
			check: func(t *testing.T, h *harness, out Output) {
				if out.CallID != "call-1" || out.RoomID != protocol.IntRoom(1001) {
					t.Errorf("out = %q %v", out.CallID, out.RoomID)
				}
				wantState(t, h.m, "erin", InCall, "call-1")
			},
		},
		{
			name:    "G7 join by callId enters an active group call",
			setup:   oneIn,
			act:     func(m *Machine) (Output, error) { return m.Join(at(10), erin, "", "call-1") },
			events:  []Event{ev("erin", nBegin, c1.begin(roleCalled))},
			actions: []RoomAction{c1.join("erin", "")},
		},
		{
			name:    "G8 participant hangs up, the others go on",
			setup:   allIn,
			act:     func(m *Machine) (Output, error) { return m.Hangup(at(16), "bob") },
			events:  []Event{ev("bob", nEnd, c1.end(roleCalled, 11, "bob"))},
			actions: []RoomAction{c1.leave("bob", "")},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "alice", InCall, "call-1")
				wantState(t, h.m, "carol", InCall, "call-1")
				if len(out.Ended) != 0 {
					t.Errorf("ended = %+v", out.Ended)
				}
			},
		},
		{
			name: "G8 the user left alone gets onCallEnd (D16)",
			setup: func(h *harness) {
				h.group(0, alice, "bob")
				h.accept(5, "bob", "")
			},
			act: func(m *Machine) (Output, error) { return m.Hangup(at(15), "alice") },
			events: []Event{
				ev("alice", nEnd, c1.end(roleCaller, 10, "alice")),
				ev("bob", nEnd, c1.end(roleCalled, 10, "alice")),
			},
			actions: []RoomAction{c1.leave("alice", ""), c1.leave("bob", "")},
		},
		{
			name: "G8 alone with an invitee ringing: the call ends when it times out (D16)",
			setup: func(h *harness) {
				oneIn(h)
				h.hangup(10, "bob")
			},
			act: func(m *Machine) (Output, error) { return m.Tick(at(30)), nil },
			events: []Event{
				ev("alice", nNoResp, c1.user("carol")),
				ev("carol", nCancelled, c1.cancelled("carol", "timeout", roleCalled)),
				ev("alice", nEnd, c1.end(roleCaller, 25, "carol")),
			},
			actions: []RoomAction{c1.leave("alice", "")},
		},
		{
			name:  "G9 caller cancels a group call",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Hangup(at(2), "alice") },
			events: []Event{
				ev("alice", nCancelled, c1.cancelled("alice", "cancel", roleCaller)),
				ev("bob", nCancelled, c1.cancelled("alice", "cancel", roleCalled)),
				ev("carol", nCancelled, c1.cancelled("alice", "cancel", roleCalled)),
			},
		},
		{
			name: "G10 nobody left in call: the invitees still ring and may answer (D16, D216)",
			setup: func(h *harness) {
				h.group(0, alice, "bob", "carol", "dave")
				h.accept(5, "bob", "")
				h.hangup(10, "alice")
			},
			act: func(m *Machine) (Output, error) { return m.Hangup(at(20), "bob") },
			events: []Event{
				ev("bob", nEnd, c1.end(roleCalled, 15, "bob")),
			},
			actions: []RoomAction{c1.leave("bob", "")},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "carol", Ringing, c1.id)
				out = h.ok(h.m.Reject(at(21), "carol", ""))
				wantEvents(t, out.Events, []Event{
					ev("dave", nReject, c1.user("carol")),
					ev("carol", nCancelled, c1.cancelled("carol", "reject", roleCalled)),
				})
				// dave answers into a call nobody is in and nobody else rings: it ends at once.
				out = h.ok(h.m.Accept(at(22), "dave", "", 0))
				wantEvents(t, out.Events, []Event{
					ev("dave", nBegin, c1.begin(roleCalled)),
					ev("dave", nEnd, c1.end(roleCalled, 0, "dave")),
				})
				wantActions(t, out.Actions, []RoomAction{c1.join("dave", ""), c1.leave("dave", "")})
				if len(out.Records) != 4 || len(out.Ended) != 1 {
					t.Errorf("records = %+v, ended = %+v", out.Records, out.Ended)
				}
				wantState(t, h.m, "dave", Idle, "")
			},
		},
		{
			name:  "G11 switchCallMediaType in a group call fails (D18)",
			setup: oneIn,
			act:   func(m *Machine) (Output, error) { return m.SwitchMediaType(at(10), "bob", protocol.MediaTypeAudio) },
			err:   ErrGroupMediaSwitch,
		},
	}
	runScenarios(t, cases)
}
