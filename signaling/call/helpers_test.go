package call

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// fakeIDs hands out call-1, call-2, … and integer rooms 1001, 1002, ….
type fakeIDs struct {
	calls, rooms int
	// fixedCallID, when set, is returned by every NewCallID (to provoke a collision).
	fixedCallID string
}

func (f *fakeIDs) NewCallID() string {
	if f.fixedCallID != "" {
		return f.fixedCallID
	}
	f.calls++
	return fmt.Sprintf("call-%d", f.calls)
}

func (f *fakeIDs) AllocateRoomID() protocol.RoomID {
	f.rooms++
	return protocol.IntRoom(int64(1000 + f.rooms))
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// at is t0 plus sec seconds.
func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

var (
	alice = Profile{UserID: "alice", Nickname: "Alice", Avatar: "https://img.example/alice.png"}
	bob   = Profile{UserID: "bob", Nickname: "Bob", Avatar: "https://img.example/bob.png"}
	carol = Profile{UserID: "carol", Nickname: "Carol"}
	dave  = Profile{UserID: "dave", Nickname: "Dave"}
	erin  = Profile{UserID: "erin", Nickname: "Erin"}
	frank = Profile{UserID: "frank", Nickname: "Frank"}
)

// harness drives a Machine and fails the test on unexpected errors.
type harness struct {
	t   *testing.T
	m   *Machine
	ids *fakeIDs
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ids := &fakeIDs{}
	return &harness{t: t, m: New(DefaultConfig(), ids), ids: ids}
}

// ok fails the test when err is not nil and returns out.
func (h *harness) ok(out Output, err error) Output {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("unexpected error: %v", err)
	}
	checkInvariants(h.t, h.m)
	return out
}

// single starts a 1v1 video call from caller to callee at sec.
func (h *harness) single(sec float64, caller Profile, callee string) Output {
	h.t.Helper()
	return h.ok(h.m.Call(at(sec), CallRequest{Caller: caller, Invitees: []string{callee}, MediaType: protocol.MediaTypeVideo, Kind: KindSingle}))
}

// group starts a video groupCall in group "g1" at sec.
func (h *harness) group(sec float64, caller Profile, invitees ...string) Output {
	h.t.Helper()
	return h.ok(h.m.Call(at(sec), CallRequest{Caller: caller, Invitees: invitees, GroupID: "g1", MediaType: protocol.MediaTypeVideo, Kind: KindGroup}))
}

// cx builds the expected payloads of one call.
type cx struct {
	id    string
	room  protocol.RoomID
	media protocol.MediaType
	scene protocol.Scene
	group string
}

var (
	call1Single = cx{id: "call-1", room: protocol.IntRoom(1001), media: protocol.MediaTypeVideo, scene: protocol.SceneSingle}
	call1Group  = cx{id: "call-1", room: protocol.IntRoom(1001), media: protocol.MediaTypeVideo, scene: protocol.SceneGroup, group: "g1"}
)

func (c cx) withMedia(m protocol.MediaType) cx { c.media = m; return c }

func (c cx) received(inviter Profile, timeout int, callees ...string) protocol.CallReceivedEvent {
	return protocol.CallReceivedEvent{
		CallID: c.id, CallerID: inviter.UserID, CalleeIDList: callees, GroupID: c.group,
		MediaType: c.media, RoomID: c.room, Scene: c.scene, Role: protocol.RoleCalled,
		CallerNickname: inviter.Nickname, CallerAvatar: inviter.Avatar, Timeout: timeout,
	}
}

func (c cx) cancelled(by, reason string, role protocol.Role) protocol.CallCancelledEvent {
	return protocol.CallCancelledEvent{CallID: c.id, UserID: by, Reason: reason, RoomID: c.room, MediaType: c.media, Role: role}
}

func (c cx) begin(role protocol.Role) protocol.CallBeginEvent {
	return protocol.CallBeginEvent{CallID: c.id, RoomID: c.room, MediaType: c.media, Role: role}
}

func (c cx) end(role protocol.Role, total int64, by string) protocol.CallEndEvent {
	return protocol.CallEndEvent{CallID: c.id, RoomID: c.room, MediaType: c.media, Role: role, TotalTime: total, UserID: by}
}

func (c cx) user(u string) protocol.UserEvent { return protocol.UserEvent{CallID: c.id, UserID: u} }

func (c cx) changed(from, to protocol.MediaType) protocol.CallMediaTypeChangedEvent {
	return protocol.CallMediaTypeChangedEvent{CallID: c.id, OldMediaType: from, NewMediaType: to}
}

func (c cx) invitees(ids ...string) protocol.InviteeListUpdateEvent {
	return protocol.InviteeListUpdateEvent{CallID: c.id, UserIDList: ids}
}

func (c cx) join(u, session string) RoomAction {
	return RoomAction{Kind: JoinRoom, UserID: u, Session: session, RoomID: c.room, CallID: c.id, MediaType: c.media}
}

func (c cx) leave(u, session string) RoomAction {
	return RoomAction{Kind: LeaveRoom, UserID: u, Session: session, RoomID: c.room, CallID: c.id, MediaType: c.media}
}

// ev is an event to all sessions of to.
func ev(to, name string, payload any) Event { return Event{To: to, Name: name, Payload: payload} }

// evOnly is an event to one session.
func evOnly(to, session, name string, payload any) Event {
	return Event{To: to, OnlySession: session, Name: name, Payload: payload}
}

// evExcept is an event to all sessions but one.
func evExcept(to, session, name string, payload any) Event {
	return Event{To: to, ExceptSession: session, Name: name, Payload: payload}
}

const (
	nReceived  = protocol.EventCallReceived
	nCancelled = protocol.EventCallCancelled
	nBegin     = protocol.EventCallBegin
	nEnd       = protocol.EventCallEnd
	nChanged   = protocol.EventCallMediaTypeChanged
	nAccept    = protocol.EventUserAccept
	nReject    = protocol.EventUserReject
	nNoResp    = protocol.EventUserNoResponse
	nBusy      = protocol.EventUserLineBusy
	nInvitees  = protocol.EventGroupCallInviteeListUpdate
	roleCaller = protocol.RoleCaller
	roleCalled = protocol.RoleCalled
)

// describeEvents prints events one per line for failure messages.
func describeEvents(evs []Event) string {
	var b strings.Builder
	for i, e := range evs {
		p, _ := json.Marshal(e.Payload)
		fmt.Fprintf(&b, "  %d: to=%s only=%q except=%q %s %s\n", i, e.To, e.OnlySession, e.ExceptSession, e.Name, p)
	}
	return b.String()
}

// wantEvents compares events exactly (order, recipient, sessions, names, payloads); the
// deadline an invitation carries is checked by withoutDeadlines.
func wantEvents(t *testing.T, got, want []Event) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if got = withoutDeadlines(t, got); !reflect.DeepEqual(got, want) {
		t.Errorf("events differ\ngot:\n%swant:\n%s", describeEvents(got), describeEvents(want))
	}
}

// withoutDeadlines checks that every onCallReceived, and nothing else, carries its
// invitation's deadline (RingsUntil, D285), and returns the events without it.
func withoutDeadlines(t *testing.T, evs []Event) []Event {
	t.Helper()
	out := make([]Event, len(evs))
	for i, e := range evs {
		if (e.Name == protocol.EventCallReceived) == e.RingsUntil.IsZero() {
			t.Errorf("event #%d %s has RingsUntil %v", i, e.Name, e.RingsUntil)
		}
		e.RingsUntil = time.Time{}
		out[i] = e
	}
	return out
}

// wantActions compares room actions exactly.
func wantActions(t *testing.T, got, want []RoomAction) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("actions differ\ngot:  %+v\nwant: %+v", got, want)
	}
}

// wantErr checks that err wraps target (nil target: no error).
func wantErr(t *testing.T, err, target error) {
	t.Helper()
	switch {
	case target == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case target != nil && !errors.Is(err, target):
		t.Fatalf("error = %v, want %v", err, target)
	}
}

// wantState checks a user's state and call.
func wantState(t *testing.T, m *Machine, u string, s State, callID string) {
	t.Helper()
	got := m.UserState(u)
	if got.State != s || got.CallID != callID {
		t.Errorf("UserState(%s) = %v %q, want %v %q", u, got.State, got.CallID, s, callID)
	}
}
