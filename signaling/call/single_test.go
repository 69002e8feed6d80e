package call

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestSingleCallTransitions covers spec §5.3 (1v1), rows 1–10 and 14. Rows 11–13 and 15
// (camera/microphone availability, volume and quality, userSig expiry) belong to the room
// and session layers, not to the call machine.
func TestSingleCallTransitions(t *testing.T) {
	c1 := call1Single
	c2 := cx{id: "call-2", room: protocol.IntRoom(1002), media: protocol.MediaTypeVideo, scene: protocol.SceneSingle}
	push := json.RawMessage(`{"title":"call","iOSPushType":1}`)
	invitees := []string{"bob"}
	none := time.Time{}
	ringing := func(h *harness) { h.single(0, alice, "bob") }
	talking := func(h *harness) {
		h.single(0, alice, "bob")
		h.accept(5, "bob", "")
	}
	cases := []scenario{
		{
			name: "5.3#1 call invites the callee",
			act: func(m *Machine) (Output, error) {
				return m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob"}, MediaType: protocol.MediaTypeVideo,
					UserData: "hello", OfflinePushInfo: push, Kind: KindSingle})
			},
			events: []Event{ev("bob", nReceived, func() protocol.CallReceivedEvent {
				r := c1.received(alice, 30, "bob")
				r.UserData, r.OfflinePushInfo = "hello", push
				return r
			}())},
			check: func(t *testing.T, h *harness, out Output) {
				if out.CallID != "call-1" || out.RoomID != protocol.IntRoom(1001) {
					t.Errorf("out = %q %v", out.CallID, out.RoomID)
				}
				wantState(t, h.m, "alice", Dialing, "call-1")
				wantState(t, h.m, "bob", Ringing, "call-1")
				wantDeadline(t, h.m, at(30))
				if len(out.Began)+len(out.Ended)+len(out.Records) != 0 {
					t.Errorf("unexpected summaries/records: %+v", out)
				}
			},
		},
		{
			name: "5.3#2 callee busy in another call (D10)",
			setup: func(h *harness) {
				h.single(0, carol, "bob")
				h.accept(1, "bob", "")
			},
			act: func(m *Machine) (Output, error) {
				return m.Call(at(2), CallRequest{Caller: alice, Invitees: []string{"bob"}, MediaType: protocol.MediaTypeVideo, Kind: KindSingle})
			},
			events: []Event{
				ev("alice", nBusy, c2.user("bob")),
				ev("alice", nCancelled, c2.cancelled("alice", "busy", roleCaller)),
			},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "alice", Idle, "")
				wantState(t, h.m, "bob", InCall, "call-1")
				wantState(t, h.m, "carol", InCall, "call-1")
				wantRecords(t, out.Records, []protocol.CallRecord{
					record(c2, "alice", "alice", invitees, roleCaller, protocol.CallResultOutgoing, at(2), 0),
				}) // busy bob is an invitee of alice's record, with none of his own (D109)
				if len(out.Ended) != 1 || out.Ended[0].Outcome != OutcomeUnanswered || out.CallID != "call-2" {
					t.Errorf("ended = %+v", out.Ended)
				}
				if _, ok := h.m.Snapshot("call-2"); ok {
					t.Errorf("call-2 still exists")
				}
			},
		},
		{
			name:  "5.3#3 callee accepts",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Accept(at(5), "bob", "", 0) },
			events: []Event{
				ev("alice", nAccept, c1.user("bob")),
				ev("alice", nBegin, c1.begin(roleCaller)),
				ev("bob", nBegin, c1.begin(roleCalled)),
			},
			actions: []RoomAction{c1.join("alice", ""), c1.join("bob", "")},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "alice", InCall, "call-1")
				wantState(t, h.m, "bob", InCall, "call-1")
				wantDeadline(t, h.m, none)
				if len(out.Began) != 1 || out.Began[0].CallID != "call-1" || !out.Began[0].BeganAt.Equal(at(5)) || out.Began[0].Caller != "alice" {
					t.Errorf("began = %+v", out.Began)
				}
				s, _ := h.m.Snapshot("call-1")
				if s.State != Active || !s.BeganAt.Equal(at(5)) {
					t.Errorf("snapshot = %+v", s)
				}
			},
		},
		{
			name:  "5.3#4 callee rejects",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Reject(at(5), "bob", "") },
			events: []Event{
				ev("alice", nReject, c1.user("bob")),
				ev("bob", nCancelled, c1.cancelled("bob", "reject", roleCalled)),
				ev("alice", nCancelled, c1.cancelled("alice", "reject", roleCaller)),
			},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "alice", Idle, "")
				wantState(t, h.m, "bob", Idle, "")
				wantDeadline(t, h.m, none)
				wantRecords(t, out.Records, []protocol.CallRecord{
					record(c1, "alice", "alice", invitees, roleCaller, protocol.CallResultOutgoing, at(0), 0),
					record(c1, "bob", "alice", invitees, roleCalled, protocol.CallResultMissed, at(0), 0),
				})
			},
		},
		{
			name:  "5.3#5 callee ignores (D11)",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Ignore(at(5), "bob", "") },
			events: []Event{
				ev("alice", nBusy, c1.user("bob")),
				ev("bob", nCancelled, c1.cancelled("bob", "ignore", roleCalled)),
				ev("alice", nCancelled, c1.cancelled("alice", "busy", roleCaller)),
			},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "bob", Idle, "")
				if len(out.Ended) != 1 || out.Ended[0].Outcome != OutcomeUnanswered {
					t.Errorf("ended = %+v", out.Ended)
				}
			},
		},
		{
			name:  "5.3#6 callee does not answer in time",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Tick(at(30)), nil },
			events: []Event{
				ev("alice", nNoResp, c1.user("bob")),
				ev("bob", nCancelled, c1.cancelled("bob", "timeout", roleCalled)),
				ev("alice", nCancelled, c1.cancelled("alice", "timeout", roleCaller)),
			},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "alice", Idle, "")
				wantDeadline(t, h.m, none)
				if len(out.Records) != 2 {
					t.Errorf("records = %+v", out.Records)
				}
			},
		},
		{
			name:  "5.3#6 nothing happens before the deadline",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Tick(at(29.999)), nil },
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "bob", Ringing, "call-1")
				wantDeadline(t, h.m, at(30))
			},
		},
		{
			name:  "5.3#7 caller cancels before answer (D12)",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Hangup(at(3), "alice") },
			events: []Event{
				ev("alice", nCancelled, c1.cancelled("alice", "cancel", roleCaller)),
				ev("bob", nCancelled, c1.cancelled("alice", "cancel", roleCalled)),
			},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "alice", Idle, "")
				wantState(t, h.m, "bob", Idle, "")
				wantDeadline(t, h.m, none)
				if len(out.Ended) != 1 || out.Ended[0].Outcome != OutcomeCancelled || !out.Ended[0].EndedAt.Equal(at(3)) {
					t.Errorf("ended = %+v", out.Ended)
				}
			},
		},
		{
			name:  "5.3#8 callee fails to receive the call (disconnect while ringing)",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Disconnect(at(3), "bob", "") },
			events: []Event{
				ev("alice", nReject, c1.user("bob")),
				ev("bob", nCancelled, c1.cancelled("bob", "disconnect", roleCalled)),
				ev("alice", nCancelled, c1.cancelled("alice", "disconnect", roleCaller)),
			},
		},
		{
			name:  "5.3#9 callee hangs up in call",
			setup: talking,
			act:   func(m *Machine) (Output, error) { return m.Hangup(at(65.7), "bob") },
			events: []Event{
				ev("bob", nEnd, c1.end(roleCalled, 60, "bob")),
				ev("alice", nEnd, c1.end(roleCaller, 60, "bob")),
			},
			actions: []RoomAction{c1.leave("bob", ""), c1.leave("alice", "")},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "alice", Idle, "")
				wantState(t, h.m, "bob", Idle, "")
				wantRecords(t, out.Records, []protocol.CallRecord{
					record(c1, "alice", "alice", invitees, roleCaller, protocol.CallResultOutgoing, at(5), 60),
					record(c1, "bob", "alice", invitees, roleCalled, protocol.CallResultIncoming, at(5), 60),
				})
				if len(out.Ended) != 1 || out.Ended[0].Outcome != OutcomeAnswered || !out.Ended[0].BeganAt.Equal(at(5)) {
					t.Errorf("ended = %+v", out.Ended)
				}
			},
		},
		{
			name:  "5.3#9 caller hangs up in call",
			setup: talking,
			act:   func(m *Machine) (Output, error) { return m.Hangup(at(9), "alice") },
			events: []Event{
				ev("alice", nEnd, c1.end(roleCaller, 4, "alice")),
				ev("bob", nEnd, c1.end(roleCalled, 4, "alice")),
			},
			actions: []RoomAction{c1.leave("alice", ""), c1.leave("bob", "")},
		},
		{
			name:  "5.3#9 a clock that went backwards counts zero seconds",
			setup: talking,
			act:   func(m *Machine) (Output, error) { return m.Hangup(at(4), "alice") },
			events: []Event{
				ev("alice", nEnd, c1.end(roleCaller, 0, "alice")),
				ev("bob", nEnd, c1.end(roleCalled, 0, "alice")),
			},
			actions: []RoomAction{c1.leave("alice", ""), c1.leave("bob", "")},
		},
		{
			name:  "5.3#10 callee switches to audio in call (D18)",
			setup: talking,
			act:   func(m *Machine) (Output, error) { return m.SwitchMediaType(at(10), "bob", protocol.MediaTypeAudio) },
			events: []Event{
				ev("bob", nChanged, c1.changed(protocol.MediaTypeVideo, protocol.MediaTypeAudio)),
				ev("alice", nChanged, c1.changed(protocol.MediaTypeVideo, protocol.MediaTypeAudio)),
			},
			check: func(t *testing.T, h *harness, out Output) {
				if s, _ := h.m.Snapshot("call-1"); s.MediaType != protocol.MediaTypeAudio {
					t.Errorf("media = %d", s.MediaType)
				}
			},
		},
		{
			name:  "5.3#10 caller switches to audio while inviting (D18)",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.SwitchMediaType(at(1), "alice", protocol.MediaTypeAudio) },
			events: []Event{
				ev("alice", nChanged, c1.changed(protocol.MediaTypeVideo, protocol.MediaTypeAudio)),
				ev("bob", nChanged, c1.changed(protocol.MediaTypeVideo, protocol.MediaTypeAudio)),
			},
		},
		{
			name:  "5.3#14 caller kicked while in call ends it as a hangup (D4)",
			setup: talking,
			act:   func(m *Machine) (Output, error) { return m.Disconnect(at(20), "alice", "kicked") },
			events: []Event{
				ev("alice", nEnd, c1.end(roleCaller, 15, "alice")),
				ev("bob", nEnd, c1.end(roleCalled, 15, "alice")),
			},
			actions: []RoomAction{c1.leave("alice", ""), c1.leave("bob", "")},
		},
		{
			name:  "5.3#14 caller logs out while dialing cancels the call",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Disconnect(at(2), "alice", "logout") },
			events: []Event{
				ev("alice", nCancelled, c1.cancelled("alice", "logout", roleCaller)),
				ev("bob", nCancelled, c1.cancelled("alice", "logout", roleCalled)),
			},
		},
		{
			name:  "5.3#14 callee kicked while ringing rejects",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Disconnect(at(2), "bob", "kicked") },
			events: []Event{
				ev("alice", nReject, c1.user("bob")),
				ev("bob", nCancelled, c1.cancelled("bob", "kicked", roleCalled)),
				ev("alice", nCancelled, c1.cancelled("alice", "kicked", roleCaller)),
			},
		},
		{
			name:  "5.3#4 hangup while ringing rejects",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Hangup(at(2), "bob") },
			events: []Event{
				ev("alice", nReject, c1.user("bob")),
				ev("bob", nCancelled, c1.cancelled("bob", "reject", roleCalled)),
				ev("alice", nCancelled, c1.cancelled("alice", "reject", roleCaller)),
			},
		},
	}
	runScenarios(t, cases)
}
