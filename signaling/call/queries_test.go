package call

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestPendingInvitations covers D9: a session logging in while its invitation rings gets
// onCallReceived with the remaining time.
func TestPendingInvitations(t *testing.T) {
	c1 := call1Single
	tests := []struct {
		name string
		now  time.Time
		user string
		want []Event
	}{
		{"D9 ringing invitee gets the invitation with the remaining time", at(12), "bob", []Event{ev("bob", nReceived, c1.received(alice, 18, "bob"))}},
		{"D9 remaining time rounds up", at(12.5), "bob", []Event{ev("bob", nReceived, c1.received(alice, 18, "bob"))}},
		{"D9 one second before the deadline", at(29.2), "bob", []Event{ev("bob", nReceived, c1.received(alice, 1, "bob"))}},
		{"D9 nothing once the deadline passed", at(30), "bob", nil},
		{"D9 nothing for the caller", at(1), "alice", nil},
		{"D9 nothing for an idle user", at(1), "carol", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.single(0, alice, "bob")
			wantEvents(t, h.m.PendingInvitations(tt.now, tt.user), tt.want)
		})
	}
}

// TestCallRecords covers D22: one record per user who took part or was invited, with role
// and result, when the call ends; a busy invitee (erin) is listed among the invitees but has
// no record of its own: it never heard of the call (D10, D109).
func TestCallRecords(t *testing.T) {
	h := newHarness(t)
	h.single(0, frank, "erin") // erin is busy for call-2
	h.ok(h.m.Call(at(1), CallRequest{Caller: alice, Invitees: []string{"bob", "carol", "dave", "erin"}, GroupID: "g1",
		MediaType: protocol.MediaTypeAudio, Kind: KindGroup}))
	h.accept(11, "bob", "")
	h.ok(h.m.Reject(at(12), "carol", ""))
	h.ok(h.m.Join(at(21), Profile{UserID: "gina"}, "", "call-2"))
	h.ok(h.m.Tick(at(31)), nil) // dave and erin's own call-1 invitation time out
	h.hangup(41, "gina")
	out := h.hangup(51, "bob")
	g := cx{id: "call-2", room: protocol.IntRoom(1002), media: protocol.MediaTypeAudio, scene: protocol.SceneGroup, group: "g1"}
	inv := []string{"bob", "carol", "dave", "erin"}
	wantRecords(t, out.Records, []protocol.CallRecord{
		record(g, "alice", "alice", inv, roleCaller, protocol.CallResultOutgoing, at(11), 40),
		record(g, "bob", "alice", inv, roleCalled, protocol.CallResultIncoming, at(11), 40),
		record(g, "carol", "alice", inv, roleCalled, protocol.CallResultMissed, at(1), 0),
		record(g, "dave", "alice", inv, roleCalled, protocol.CallResultMissed, at(1), 0),
		record(g, "gina", "alice", inv, roleCalled, protocol.CallResultIncoming, at(21), 20),
	})
	if len(out.Ended) != 1 {
		t.Fatalf("ended = %+v", out.Ended)
	}
	want := CallSummary{CallID: "call-2", RoomID: g.room, Scene: g.scene, MediaType: g.media, GroupID: "g1", Caller: "alice",
		Invitees: inv, Outcome: OutcomeAnswered, CreatedAt: at(1), BeganAt: at(11), EndedAt: at(51), Records: out.Records}
	if !reflect.DeepEqual(out.Ended[0], want) {
		t.Errorf("summary\n got %+v\nwant %+v", out.Ended[0], want)
	}
	if b, err := json.Marshal(out.Records[0]); err != nil || string(b) != `{"callId":"call-2","userId":"alice","caller":"alice","invitees":["bob","carol","dave","erin"],"scene":0,"mediaType":1,"groupId":"g1","roomId":1002,"role":1,"result":3,"beginTime":`+jsonInt(at(11).Unix())+`,"totalTime":40}` {
		t.Errorf("record JSON = %s %v", b, err)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestQueriesAndNames covers the read-only API.
func TestQueriesAndNames(t *testing.T) {
	h := newHarness(t)
	if _, ok := h.m.Snapshot("call-1"); ok {
		t.Errorf("snapshot of a missing call")
	}
	if _, ok := h.m.NextDeadline(); ok {
		t.Errorf("deadline on an empty machine")
	}
	h.single(0, alice, "bob")
	h.group(1, carol, "dave", "erin")
	h.accept(2, "dave", "s9")
	ids := h.m.CallIDs()
	sort.Strings(ids)
	if !reflect.DeepEqual(ids, []string{"call-1", "call-2"}) {
		t.Errorf("CallIDs = %v", ids)
	}
	s, ok := h.m.Snapshot("call-2")
	want := Snapshot{
		CallID: "call-2", RoomID: protocol.IntRoom(1002), Scene: protocol.SceneGroup, MediaType: protocol.MediaTypeVideo,
		GroupID: "g1", Caller: "carol", State: Active, CreatedAt: at(1), BeganAt: at(2), Invited: []string{"dave", "erin"},
		Members: []MemberSnapshot{
			{UserID: "carol", State: InCall, Role: roleCaller, Began: at(2)},
			{UserID: "dave", State: InCall, Role: roleCalled, Inviter: "carol", Session: "s9", Began: at(2)},
			{UserID: "erin", State: Ringing, Role: roleCalled, Inviter: "carol", Deadline: at(31)},
		},
	}
	if !ok || !reflect.DeepEqual(s, want) {
		t.Errorf("snapshot\n got %+v\nwant %+v", s, want)
	}
	if !h.m.RoomInUse(protocol.IntRoom(1002)) || h.m.RoomInUse(protocol.IntRoom(1003)) {
		t.Errorf("RoomInUse(1002) = %v, RoomInUse(1003) = %v", h.m.RoomInUse(protocol.IntRoom(1002)), h.m.RoomInUse(protocol.IntRoom(1003)))
	}
	if got := h.m.UserState("dave"); got != (UserStatus{State: InCall, CallID: "call-2", Session: "s9"}) {
		t.Errorf("UserState = %+v", got)
	}
	names := map[string]string{
		Idle.String(): "Idle", Dialing.String(): "Dialing", Ringing.String(): "Ringing", InCall.String(): "InCall",
		State(9).String(): "State(?)", JoinRoom.String(): "JoinRoom", LeaveRoom.String(): "LeaveRoom", ActionKind(0).String(): "ActionKind(?)",
	}
	for got, want := range names {
		if got != want {
			t.Errorf("name %q, want %q", got, want)
		}
	}
}

// TestConfigDefaults checks that zero fields take the defaults and set ones are kept.
func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Config
		want Config
	}{
		{"zero config is the default", Config{}, DefaultConfig()},
		{"set fields are kept", Config{DefaultTimeout: time.Minute, MinTimeout: time.Second, MaxTimeout: time.Hour, MaxMembers: 5},
			Config{DefaultTimeout: time.Minute, MinTimeout: time.Second, MaxTimeout: time.Hour, MaxMembers: 5}},
		{"a cap below two takes the default", Config{MaxMembers: 1}, DefaultConfig()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.withDefaults(); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	m := New(Config{DefaultTimeout: 45 * time.Second}, &fakeIDs{})
	if _, err := m.Call(at(0), CallRequest{Caller: alice, Invitees: []string{"bob"}, MediaType: protocol.MediaTypeAudio}); err != nil {
		t.Fatal(err)
	}
	if d, _ := m.NextDeadline(); !d.Equal(at(45)) {
		t.Errorf("deadline %v, want %v", d, at(45))
	}
}

// TestRemainingSeconds covers D285: the timeout of an onCallReceived is the time left
// rounded up, never 0 while the invitation still rings (its timer may run late, D215).
func TestRemainingSeconds(t *testing.T) {
	deadline := t0.Add(30 * time.Second)
	tests := []struct {
		name string
		now  time.Time
		want int
	}{
		{"at the start", t0, 30},
		{"a millisecond in", t0.Add(time.Millisecond), 30},
		{"half way", t0.Add(15 * time.Second), 15},
		{"the last millisecond", deadline.Add(-time.Millisecond), 1},
		{"at the deadline, timer not yet run", deadline, 1},
		{"past it, timer late", deadline.Add(2 * time.Second), 1},
	}
	for _, tc := range tests {
		if got := RemainingSeconds(deadline, tc.now); got != tc.want {
			t.Errorf("%s: RemainingSeconds = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestOfflineReport covers D286: the invitee-offline report of an invitation is handed out
// once; a new invitation of the same user (re-invited after a reject) is reported anew.
func TestOfflineReport(t *testing.T) {
	h := newHarness(t)
	h.group(0, alice, "bob", "carol")
	h.accept(1, "carol", "")
	steps := []struct {
		name  string
		act   func()
		now   float64
		user  string
		first bool
	}{
		{"D286 a ringing invitee is reported", nil, 2, "bob", true},
		{"D286 not twice", nil, 3, "bob", false},
		{"D286 not a member in the call", nil, 3, "carol", false},
		{"D286 not an idle user", nil, 3, "dave", false},
		{"D286 re-invited after a reject: reported anew", func() {
			h.ok(h.m.Reject(at(4), "bob", ""))
			h.ok(h.m.InviteUser(at(5), carol, []string{"bob"}, 0))
		}, 6, "bob", true},
		{"D286 not after its deadline", nil, 40, "bob", false},
	}
	for _, s := range steps {
		if s.act != nil {
			s.act()
		}
		ev, first := h.m.OfflineReport(at(s.now), s.user)
		if first != s.first {
			t.Fatalf("%s: first = %v, want %v", s.name, first, s.first)
		}
		if first && (ev.Name != protocol.EventCallReceived || ev.To != s.user || ev.RingsUntil.IsZero()) {
			t.Errorf("%s: event %+v, want the user's onCallReceived with its deadline", s.name, ev)
		}
	}
}
