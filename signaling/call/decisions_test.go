package call

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestProductDecisions covers spec §9 rows D4, D6–D18 (D15 joins/leaves and D19
// availability are room events; the machine only emits the room actions).
func TestProductDecisions(t *testing.T) {
	c1 := call1Single
	g1 := call1Group
	c2 := cx{id: "call-2", room: protocol.IntRoom(1002), media: protocol.MediaTypeVideo, scene: protocol.SceneSingle}
	audio, video := protocol.MediaTypeAudio, protocol.MediaTypeVideo
	ringing := func(h *harness) { h.single(0, alice, "bob") }
	groupRinging := func(h *harness) { h.group(0, alice, "bob", "carol") }
	groupOneIn := func(h *harness) {
		groupRinging(h)
		h.accept(5, "bob", "")
	}
	sceneIs := func(callID string, scene protocol.Scene, group string) func(t *testing.T, h *harness, out Output) {
		return func(t *testing.T, h *harness, out Output) {
			s, ok := h.m.Snapshot(callID)
			if !ok || s.Scene != scene || s.GroupID != group {
				t.Errorf("snapshot %+v, want scene %d group %q", s, scene, group)
			}
		}
	}
	deadlineIs := func(d time.Time) func(t *testing.T, h *harness, out Output) {
		return func(t *testing.T, h *harness, out Output) { wantDeadline(t, h.m, d) }
	}
	calls := func(sec float64, invitees []string, chatGroup string) func(m *Machine) (Output, error) {
		return func(m *Machine) (Output, error) {
			return m.Call(at(sec), CallRequest{Caller: alice, Invitees: invitees, ChatGroupID: chatGroup, MediaType: video, Kind: KindCalls})
		}
	}
	withTimeout := func(timeout int) func(m *Machine) (Output, error) {
		return func(m *Machine) (Output, error) {
			return m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob"}, MediaType: video, Timeout: timeout, Kind: KindSingle})
		}
	}
	cases := []scenario{
		// D4 multi-device.
		{
			name:  "D4 answered elsewhere",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Accept(at(5), "bob", "s1", 0) },
			events: []Event{
				evExcept("bob", "s1", nCancelled, c1.cancelled("bob", "answeredElsewhere", roleCalled)),
				ev("alice", nAccept, c1.user("bob")),
				ev("alice", nBegin, c1.begin(roleCaller)),
				evOnly("bob", "s1", nBegin, c1.begin(roleCalled)),
			},
			actions: []RoomAction{c1.join("alice", ""), c1.join("bob", "s1")},
			check: func(t *testing.T, h *harness, out Output) {
				if st := h.m.UserState("bob"); st.Session != "s1" {
					t.Errorf("session = %q", st.Session)
				}
			},
		},
		{
			name:  "D4 rejected elsewhere",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Reject(at(5), "bob", "s2") },
			events: []Event{
				ev("alice", nReject, c1.user("bob")),
				evOnly("bob", "s2", nCancelled, c1.cancelled("bob", "reject", roleCalled)),
				evExcept("bob", "s2", nCancelled, c1.cancelled("bob", "rejectedElsewhere", roleCalled)),
				ev("alice", nCancelled, c1.cancelled("alice", "reject", roleCaller)),
			},
		},
		{
			name:  "D4 ignored on one session stops ringing on all",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Ignore(at(5), "bob", "s2") },
			events: []Event{
				ev("alice", nBusy, c1.user("bob")),
				evOnly("bob", "s2", nCancelled, c1.cancelled("bob", "ignore", roleCalled)),
				evExcept("bob", "s2", nCancelled, c1.cancelled("bob", "rejectedElsewhere", roleCalled)),
				ev("alice", nCancelled, c1.cancelled("alice", "busy", roleCaller)),
			},
		},
		{
			name: "D4 later events go to the accepting session only",
			setup: func(h *harness) {
				ringing(h)
				h.accept(5, "bob", "s1")
			},
			act: func(m *Machine) (Output, error) { return m.Hangup(at(9), "alice") },
			events: []Event{
				ev("alice", nEnd, c1.end(roleCaller, 4, "alice")),
				evOnly("bob", "s1", nEnd, c1.end(roleCalled, 4, "alice")),
			},
			actions: []RoomAction{c1.leave("alice", ""), c1.leave("bob", "s1")},
		},
		{
			name: "D4 the caller's events go to the session that called",
			setup: func(h *harness) {
				h.ok(h.m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob"}, MediaType: video, Kind: KindSingle, Session: "a1"}))
			},
			act: func(m *Machine) (Output, error) { return m.Accept(at(5), "bob", "", 0) },
			events: []Event{
				evOnly("alice", "a1", nAccept, c1.user("bob")),
				evOnly("alice", "a1", nBegin, c1.begin(roleCaller)),
				ev("bob", nBegin, c1.begin(roleCalled)),
			},
			actions: []RoomAction{c1.join("alice", "a1"), c1.join("bob", "")},
			check: func(t *testing.T, h *harness, out Output) {
				if st := h.m.UserState("alice"); st.Session != "a1" {
					t.Errorf("caller session = %q", st.Session)
				}
			},
		},
		{
			name:  "D4 a joiner's call events go to the session that joined",
			setup: groupOneIn,
			act:   func(m *Machine) (Output, error) { return m.Join(at(7), erin, "e1", "call-1") },
			events: []Event{
				evOnly("erin", "e1", nBegin, g1.begin(roleCalled)),
			},
			actions: []RoomAction{g1.join("erin", "e1")},
		},
		{
			name:  "D4 a ringing user joining from one session stops the others ringing",
			setup: groupOneIn,
			act:   func(m *Machine) (Output, error) { return m.Join(at(7), carol, "c2", "call-1") },
			events: []Event{
				evExcept("carol", "c2", nCancelled, g1.cancelled("carol", "answeredElsewhere", roleCalled)),
				ev("alice", nAccept, g1.user("carol")),
				ev("bob", nAccept, g1.user("carol")),
				evOnly("carol", "c2", nBegin, g1.begin(roleCalled)),
			},
			actions: []RoomAction{g1.join("carol", "c2")},
		},
		// D6 identity.
		{
			name:  "D6 every call gets its own callId and allocated room",
			setup: ringing,
			act: func(m *Machine) (Output, error) {
				return m.Call(at(1), CallRequest{Caller: carol, Invitees: []string{"dave"}, MediaType: video, Kind: KindSingle})
			},
			events: []Event{ev("dave", nReceived, c2.received(carol, 30, "dave"))},
			check: func(t *testing.T, h *harness, out Output) {
				if out.CallID != "call-2" || out.RoomID != protocol.IntRoom(1002) || h.ids.rooms != 2 {
					t.Errorf("out = %q %v", out.CallID, out.RoomID)
				}
			},
		},
		{
			name: "D6 the caller's room is used as given",
			act: func(m *Machine) (Output, error) {
				return m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob"}, MediaType: video, Kind: KindSingle,
					RoomID: protocol.StrRoom("team room")})
			},
			events: []Event{ev("bob", nReceived, cx{id: "call-1", room: protocol.StrRoom("team room"), media: video, scene: protocol.SceneSingle}.received(alice, 30, "bob"))},
			check: func(t *testing.T, h *harness, out Output) {
				if h.ids.rooms != 0 || out.RoomID != protocol.StrRoom("team room") {
					t.Errorf("room = %v, allocations %d", out.RoomID, h.ids.rooms)
				}
			},
		},
		// D7 entry points.
		{
			name: "D7 call() is a 1v1 call",
			act: func(m *Machine) (Output, error) {
				return m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob"}, GroupID: "ignored", MediaType: video, Kind: KindSingle})
			},
			events: []Event{ev("bob", nReceived, c1.received(alice, 30, "bob"))},
			check:  sceneIs("call-1", protocol.SceneSingle, ""),
		},
		{
			name: "D7 groupCall() is a group call with its groupId",
			act: func(m *Machine) (Output, error) {
				return m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob"}, GroupID: "g1", MediaType: video, Kind: KindGroup})
			},
			events: []Event{ev("bob", nReceived, g1.received(alice, 30, "bob"))},
			check:  sceneIs("call-1", protocol.SceneGroup, "g1"),
		},
		{
			name:   "D7 calls() with one callee and no chatGroupId is 1v1",
			act:    calls(0, []string{"bob"}, ""),
			events: []Event{ev("bob", nReceived, c1.received(alice, 30, "bob"))},
			check:  sceneIs("call-1", protocol.SceneSingle, ""),
		},
		{
			name:   "D7 calls() with a chatGroupId is a group call",
			act:    calls(0, []string{"bob"}, "g1"),
			events: []Event{ev("bob", nReceived, g1.received(alice, 30, "bob"))},
			check:  sceneIs("call-1", protocol.SceneGroup, "g1"),
		},
		{
			name: "D7 calls() with two callees is a group call without group",
			act:  calls(0, []string{"bob", "carol"}, ""),
			events: []Event{
				ev("bob", nReceived, cx{id: "call-1", room: protocol.IntRoom(1001), media: video, scene: protocol.SceneGroup}.received(alice, 30, "bob", "carol")),
				ev("carol", nReceived, cx{id: "call-1", room: protocol.IntRoom(1001), media: video, scene: protocol.SceneGroup}.received(alice, 30, "bob", "carol")),
			},
			check: sceneIs("call-1", protocol.SceneGroup, ""),
		},
		{
			name: "D7 call() with two callees fails",
			act: func(m *Machine) (Output, error) {
				return m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob", "carol"}, MediaType: video, Kind: KindSingle})
			},
			err: ErrTooManyInvitees,
		},
		{
			name:   "D7 duplicate invitees count once",
			act:    calls(0, []string{"bob", "bob"}, ""),
			events: []Event{ev("bob", nReceived, c1.received(alice, 30, "bob"))},
			check:  sceneIs("call-1", protocol.SceneSingle, ""),
		},
		// D8 timeouts.
		{name: "D8 timeout 0 means 30 s", act: withTimeout(0), events: []Event{ev("bob", nReceived, c1.received(alice, 30, "bob"))}, check: deadlineIs(at(30))},
		{name: "D8 timeout 10 s", act: withTimeout(10), events: []Event{ev("bob", nReceived, c1.received(alice, 10, "bob"))}, check: deadlineIs(at(10))},
		{name: "D8 timeout 600 s", act: withTimeout(600), events: []Event{ev("bob", nReceived, c1.received(alice, 600, "bob"))}, check: deadlineIs(at(600))},
		{name: "D8 timeout 9 s fails", act: withTimeout(9), err: ErrInvalidTimeout},
		{name: "D8 timeout 601 s fails", act: withTimeout(601), err: ErrInvalidTimeout},
		{name: "D8 negative timeout fails", act: withTimeout(-1), err: ErrInvalidTimeout},
		{name: "D8 huge timeout fails", act: withTimeout(1 << 40), err: ErrInvalidTimeout},
		{
			name: "D8 each invitee's timer runs from its invitation",
			setup: func(h *harness) {
				h.ok(h.m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob", "carol"}, GroupID: "g1", MediaType: video, Timeout: 60, Kind: KindGroup}))
				h.accept(5, "bob", "")
				h.ok(h.m.InviteUser(at(20), bob, []string{"dave"}, 15))
			},
			act: func(m *Machine) (Output, error) { return m.Tick(at(35)), nil },
			events: []Event{
				ev("alice", nNoResp, g1.user("dave")),
				ev("bob", nNoResp, g1.user("dave")),
				ev("carol", nNoResp, g1.user("dave")),
				ev("dave", nCancelled, g1.cancelled("dave", "timeout", roleCalled)),
			},
			check: deadlineIs(at(60)),
		},
		// D10 busy.
		{
			name:  "D10 busy 1v1: a ringing callee is busy",
			setup: func(h *harness) { h.single(0, dave, "bob") },
			act: func(m *Machine) (Output, error) {
				return m.Call(at(1), CallRequest{Caller: alice, Invitees: []string{"bob"}, MediaType: video, Kind: KindSingle})
			},
			events: []Event{
				ev("alice", nBusy, c2.user("bob")),
				ev("alice", nCancelled, c2.cancelled("alice", "busy", roleCaller)),
			},
			check: func(t *testing.T, h *harness, out Output) {
				wantState(t, h.m, "bob", Ringing, "call-1")
				wantDeadline(t, h.m, at(30))
			},
		},
		{
			name:  "D10 busy 1v1: a dialing callee is busy",
			setup: func(h *harness) { h.single(0, bob, "dave") },
			act: func(m *Machine) (Output, error) {
				return m.Call(at(1), CallRequest{Caller: alice, Invitees: []string{"bob"}, MediaType: video, Kind: KindSingle})
			},
			events: []Event{
				ev("alice", nBusy, c2.user("bob")),
				ev("alice", nCancelled, c2.cancelled("alice", "busy", roleCaller)),
			},
		},
		{
			name: "D10 busy group: every invitee busy ends the call",
			setup: func(h *harness) {
				h.single(0, dave, "bob")
				h.accept(1, "bob", "")
				h.single(2, erin, "carol")
			},
			act: func(m *Machine) (Output, error) {
				return m.Call(at(3), CallRequest{Caller: alice, Invitees: []string{"bob", "carol"}, GroupID: "g1", MediaType: video, Kind: KindGroup})
			},
			events: []Event{
				ev("alice", nBusy, cx{id: "call-3", room: protocol.IntRoom(1003), media: video, scene: protocol.SceneGroup, group: "g1"}.user("bob")),
				ev("alice", nBusy, cx{id: "call-3", room: protocol.IntRoom(1003), media: video, scene: protocol.SceneGroup, group: "g1"}.user("carol")),
				ev("alice", nCancelled, cx{id: "call-3", room: protocol.IntRoom(1003), media: video, scene: protocol.SceneGroup, group: "g1"}.cancelled("alice", "busy", roleCaller)),
			},
		},
		{name: "D10 a ringing caller is busy", setup: func(h *harness) { h.single(0, bob, "alice") }, act: calls(1, []string{"carol"}, ""), err: ErrCallerBusy},
		{name: "D10 a dialing caller is busy", setup: ringing, act: calls(1, []string{"carol"}, ""), err: ErrCallerBusy},
		{
			name:  "D10 a caller in a call is busy",
			setup: func(h *harness) { ringing(h); h.accept(1, "bob", "") },
			act:   calls(2, []string{"carol"}, ""),
			err:   ErrCallerBusy,
		},
		// D11 ignore in a group.
		{
			name:  "D11 ignore in group: everyone else sees line busy",
			setup: groupRinging,
			act:   func(m *Machine) (Output, error) { return m.Ignore(at(3), "bob", "") },
			events: []Event{
				ev("alice", nBusy, g1.user("bob")),
				ev("carol", nBusy, g1.user("bob")),
				ev("bob", nCancelled, g1.cancelled("bob", "ignore", roleCalled)),
			},
		},
		// D13 busy at inviteUser.
		{
			name: "D13 busy invitee of inviteUser: every member sees line busy",
			setup: func(h *harness) {
				groupOneIn(h)
				h.single(6, frank, "dave")
			},
			act: func(m *Machine) (Output, error) { return m.InviteUser(at(10), alice, []string{"dave", "erin"}, 0) },
			events: []Event{
				ev("erin", nReceived, g1.received(alice, 30, "carol", "erin")),
				ev("alice", nBusy, g1.user("dave")),
				ev("bob", nBusy, g1.user("dave")),
				ev("carol", nBusy, g1.user("dave")),
				ev("erin", nBusy, g1.user("dave")),
				ev("alice", nInvitees, g1.invitees("carol", "erin")),
				ev("bob", nInvitees, g1.invitees("carol", "erin")),
			},
			check: func(t *testing.T, h *harness, out Output) {
				if len(out.Invited) != 1 || out.Invited[0] != "erin" {
					t.Errorf("invited = %v", out.Invited)
				}
				wantState(t, h.m, "dave", Ringing, "call-2")
			},
		},
		// D16 totalTime from each user's begin.
		{
			name: "D16 totalTime counts from each user's own begin",
			setup: func(h *harness) {
				groupRinging(h)
				h.accept(10, "bob", "")
				h.accept(20, "carol", "")
				h.hangup(70, "alice")
			},
			act: func(m *Machine) (Output, error) { return m.Hangup(at(80.9), "carol") },
			events: []Event{
				ev("carol", nEnd, g1.end(roleCalled, 60, "carol")),
				ev("bob", nEnd, g1.end(roleCalled, 70, "carol")),
			},
			actions: []RoomAction{g1.leave("carol", ""), g1.leave("bob", "")},
			check: func(t *testing.T, h *harness, out Output) {
				inv := []string{"bob", "carol"}
				wantRecords(t, out.Records, []protocol.CallRecord{
					record(g1, "alice", "alice", inv, roleCaller, protocol.CallResultOutgoing, at(10), 60),
					record(g1, "bob", "alice", inv, roleCalled, protocol.CallResultIncoming, at(10), 70),
					record(g1, "carol", "alice", inv, roleCalled, protocol.CallResultIncoming, at(20), 60),
				})
			},
		},
		// D17 inviteUser and join.
		{name: "D17 inviteUser by an idle user fails", act: func(m *Machine) (Output, error) { return m.InviteUser(at(0), alice, []string{"bob"}, 0) }, err: ErrNotInCall},
		{name: "D17 inviteUser by a dialing caller fails", setup: groupRinging, act: func(m *Machine) (Output, error) { return m.InviteUser(at(1), alice, []string{"dave"}, 0) }, err: ErrNotInCall},
		{name: "D17 inviteUser by a ringing invitee fails", setup: groupOneIn, act: func(m *Machine) (Output, error) { return m.InviteUser(at(6), carol, []string{"dave"}, 0) }, err: ErrNotInCall},
		{name: "D17 inviteUser of oneself fails", setup: groupOneIn, act: func(m *Machine) (Output, error) { return m.InviteUser(at(6), bob, []string{"dave", "bob"}, 0) }, err: ErrSelfInvite},
		{name: "D17 inviteUser of nobody fails", setup: groupOneIn, act: func(m *Machine) (Output, error) { return m.InviteUser(at(6), bob, nil, 0) }, err: ErrNoInvitees},
		{name: "D17 inviteUser with a bad timeout fails", setup: groupOneIn, act: func(m *Machine) (Output, error) { return m.InviteUser(at(6), bob, []string{"dave"}, 700) }, err: ErrInvalidTimeout},
		{
			name:  "D17 inviteUser skips users already in the call",
			setup: groupOneIn,
			act:   func(m *Machine) (Output, error) { return m.InviteUser(at(6), bob, []string{"carol", "alice"}, 0) },
			check: func(t *testing.T, h *harness, out Output) {
				if out.Invited == nil || len(out.Invited) != 0 {
					t.Errorf("invited = %#v, want an empty list", out.Invited)
				}
			},
		},
		{
			name: "D17 inviteUser in a 1v1 call makes it a group call",
			setup: func(h *harness) {
				ringing(h)
				h.accept(5, "bob", "")
			},
			act: func(m *Machine) (Output, error) { return m.InviteUser(at(10), alice, []string{"carol"}, 0) },
			events: []Event{
				ev("carol", nReceived, cx{id: "call-1", room: protocol.IntRoom(1001), media: video, scene: protocol.SceneGroup}.received(alice, 30, "carol")),
				ev("alice", nInvitees, c1.invitees("carol")),
				ev("bob", nInvitees, c1.invitees("carol")),
			},
			check: sceneIs("call-1", protocol.SceneGroup, ""),
		},
		{name: "D17 join of an unknown call fails", act: func(m *Machine) (Output, error) { return m.Join(at(0), erin, "", "nope") }, err: ErrNoSuchCall},
		{name: "D17 join of an unanswered call fails", setup: groupRinging, act: func(m *Machine) (Output, error) { return m.Join(at(1), erin, "", "call-1") }, err: ErrNoSuchCall},
		{
			name:  "D17 join of a 1v1 call fails",
			setup: func(h *harness) { ringing(h); h.accept(1, "bob", "") },
			act:   func(m *Machine) (Output, error) { return m.Join(at(2), erin, "", "call-1") },
			err:   ErrNoSuchCall,
		},
		{name: "D17 joinInGroupCall of another group fails", setup: groupOneIn, act: func(m *Machine) (Output, error) {
			return m.JoinInGroupCall(at(6), erin, "", protocol.IntRoom(1001), "g2", 0)
		}, err: ErrNoSuchCall},
		{name: "D17 joinInGroupCall of another room fails", setup: groupOneIn, act: func(m *Machine) (Output, error) {
			return m.JoinInGroupCall(at(6), erin, "", protocol.StrRoom("1001"), "g1", 0)
		}, err: ErrNoSuchCall},
		{name: "D17 joinInGroupCall with a bad media type fails", setup: groupOneIn, act: func(m *Machine) (Output, error) {
			return m.JoinInGroupCall(at(6), erin, "", protocol.IntRoom(1001), "g1", 5)
		}, err: ErrInvalidMediaType},
		{
			name:  "D17 joinInGroupCall with audio takes the call's media type",
			setup: groupOneIn,
			act: func(m *Machine) (Output, error) {
				return m.JoinInGroupCall(at(6), erin, "", protocol.IntRoom(1001), "g1", audio)
			},
			events:  []Event{ev("erin", nBegin, g1.begin(roleCalled))},
			actions: []RoomAction{g1.join("erin", "")},
		},
		{
			name: "D17 join while in another call fails",
			setup: func(h *harness) {
				groupOneIn(h)
				h.single(6, erin, "frank")
			},
			act: func(m *Machine) (Output, error) { return m.Join(at(7), erin, "", "call-1") },
			err: ErrAlreadyInCall,
		},
		{name: "D17 join of one's own call fails", setup: groupOneIn, act: func(m *Machine) (Output, error) { return m.Join(at(7), bob, "", "call-1") }, err: ErrAlreadyInCall},
		{
			name:  "D17 join while ringing for that call accepts it",
			setup: groupOneIn,
			act:   func(m *Machine) (Output, error) { return m.Join(at(7), carol, "", "call-1") },
			events: []Event{
				ev("alice", nAccept, g1.user("carol")),
				ev("bob", nAccept, g1.user("carol")),
				ev("carol", nBegin, g1.begin(roleCalled)),
			},
			actions: []RoomAction{g1.join("carol", "")},
		},
		{
			name: "D17 the earliest of two group calls in one room and group is joined",
			setup: func(h *harness) {
				h.ok(h.m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob"}, GroupID: "g1", RoomID: protocol.IntRoom(1002), MediaType: video, Kind: KindGroup}))
				h.accept(1, "bob", "")
				h.ok(h.m.Call(at(2), CallRequest{Caller: carol, Invitees: []string{"dave"}, GroupID: "g1", RoomID: protocol.IntRoom(1002), MediaType: video, Kind: KindGroup}))
				h.accept(3, "dave", "")
			},
			act: func(m *Machine) (Output, error) {
				return m.JoinInGroupCall(at(4), erin, "", protocol.IntRoom(1002), "g1", 0)
			},
			events:  []Event{ev("erin", nBegin, cx{id: "call-1", room: protocol.IntRoom(1002), media: video, scene: protocol.SceneGroup, group: "g1"}.begin(roleCalled))},
			actions: []RoomAction{cx{id: "call-1", room: protocol.IntRoom(1002), media: video}.join("erin", "")},
		},
		{
			name: "D17 a caller who left may join again as caller",
			setup: func(h *harness) {
				h.group(0, alice, "bob", "carol")
				h.accept(1, "bob", "")
				h.accept(2, "carol", "")
				h.hangup(3, "alice")
			},
			act:     func(m *Machine) (Output, error) { return m.Join(at(4), alice, "", "call-1") },
			events:  []Event{ev("alice", nBegin, g1.begin(roleCaller))},
			actions: []RoomAction{g1.join("alice", "")},
		},
		// D18 media type.
		{
			name:  "D18 voice answer of a video call is accept plus switch",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Accept(at(5), "bob", "", audio) },
			events: []Event{
				ev("alice", nAccept, c1.user("bob")),
				ev("bob", nChanged, c1.changed(video, audio)),
				ev("alice", nChanged, c1.changed(video, audio)),
				ev("alice", nBegin, c1.withMedia(audio).begin(roleCaller)),
				ev("bob", nBegin, c1.withMedia(audio).begin(roleCalled)),
			},
			actions: []RoomAction{c1.withMedia(audio).join("alice", ""), c1.withMedia(audio).join("bob", "")},
		},
		{
			name:  "D18 accept with the call's own media type is a plain accept",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.Accept(at(5), "bob", "", video) },
			events: []Event{
				ev("alice", nAccept, c1.user("bob")),
				ev("alice", nBegin, c1.begin(roleCaller)),
				ev("bob", nBegin, c1.begin(roleCalled)),
			},
			actions: []RoomAction{c1.join("alice", ""), c1.join("bob", "")},
		},
		{name: "D18 voice answer in a group call fails", setup: groupRinging, act: func(m *Machine) (Output, error) { return m.Accept(at(5), "bob", "", audio) }, err: ErrGroupMediaSwitch},
		{name: "D18 accept with an invalid media type fails", setup: ringing, act: func(m *Machine) (Output, error) { return m.Accept(at(5), "bob", "", 3) }, err: ErrInvalidMediaType},
		{
			name: "D18 callee upgrades an audio call to video",
			setup: func(h *harness) {
				h.ok(h.m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob"}, MediaType: audio, Kind: KindSingle}))
				h.accept(1, "bob", "")
			},
			act: func(m *Machine) (Output, error) { return m.SwitchMediaType(at(2), "bob", video) },
			events: []Event{
				ev("bob", nChanged, c1.changed(audio, video)),
				ev("alice", nChanged, c1.changed(audio, video)),
			},
		},
		{
			name:  "D18 ringing callee may switch while inviting",
			setup: ringing,
			act:   func(m *Machine) (Output, error) { return m.SwitchMediaType(at(2), "bob", audio) },
			events: []Event{
				ev("bob", nChanged, c1.changed(video, audio)),
				ev("alice", nChanged, c1.changed(video, audio)),
			},
		},
		{name: "D18 switching to the current type changes nothing", setup: ringing, act: func(m *Machine) (Output, error) { return m.SwitchMediaType(at(2), "alice", video) }},
		{name: "D18 switching to an invalid type fails", setup: ringing, act: func(m *Machine) (Output, error) { return m.SwitchMediaType(at(2), "alice", 0) }, err: ErrInvalidMediaType},
		{name: "D18 switching when idle fails", act: func(m *Machine) (Output, error) { return m.SwitchMediaType(at(2), "alice", audio) }, err: ErrNotInCall},
		{name: "D18 switching in a group call fails", setup: groupRinging, act: func(m *Machine) (Output, error) { return m.SwitchMediaType(at(2), "alice", audio) }, err: ErrGroupMediaSwitch},
		{
			name: "D18 switching after a 1v1 call became a group call fails",
			setup: func(h *harness) {
				ringing(h)
				h.accept(1, "bob", "")
				h.ok(h.m.InviteUser(at(2), bob, []string{"carol"}, 0))
			},
			act: func(m *Machine) (Output, error) { return m.SwitchMediaType(at(3), "alice", audio) },
			err: ErrGroupMediaSwitch,
		},
	}
	runScenarios(t, cases)
}
