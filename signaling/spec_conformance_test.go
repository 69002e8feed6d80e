package signaling_test

// Black-box conformance checks of the call service against the product decisions D3–D18 and
// D22 of docs/decisions.md and against signaling/PROTOCOL.md (RoomIds, call methods). Every
// check drives real WebSocket clients through the real server and compares, per user,
// the exact sequence of call events (names, order and payload members) with the spec's.
//
// Absence is proven without sleeping: events a request causes are queued to the other
// sessions before that request's response, so after a round trip on a connection (a
// barrier) everything the server produced for it earlier is in its log.

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// callEventNames are the events of the call layer (PROTOCOL.md §5.2). Room and media
// events (onUserJoin, availability, volume, quality) come from the rooms' goroutines and
// are checked with waits instead.
var callEventNames = map[string]bool{
	protocol.EventCallReceived:               true,
	protocol.EventCallCancelled:              true,
	protocol.EventCallBegin:                  true,
	protocol.EventCallEnd:                    true,
	protocol.EventCallMediaTypeChanged:       true,
	protocol.EventUserAccept:                 true,
	protocol.EventUserReject:                 true,
	protocol.EventUserNoResponse:             true,
	protocol.EventUserLineBusy:               true,
	protocol.EventGroupCallInviteeListUpdate: true,
	protocol.EventKickedOffline:              true,
}

// wantEvent is an expected call event: its name and the payload members to compare (the
// others are not checked).
type wantEvent struct {
	name   string
	fields map[string]any
}

// ev builds a wantEvent from name and member/value pairs.
func ev(name string, kv ...any) wantEvent {
	if len(kv)%2 != 0 {
		panic("ev: odd member/value list")
	}
	w := wantEvent{name: name, fields: map[string]any{}}
	for i := 0; i < len(kv); i += 2 {
		w.fields[kv[i].(string)] = kv[i+1]
	}
	return w
}

// tracer remembers, per connection, up to which event the sequence was already checked.
type tracer struct {
	t    *testing.T
	seen map[*client.Conn]uint64
}

func newTracer(t *testing.T) *tracer { return &tracer{t: t, seen: map[*client.Conn]uint64{}} }

// barrier makes a round trip on c.
func barrier(t *testing.T, c *client.Conn) {
	t.Helper()
	if _, err := c.QueryRecentCalls(ctxT(t, 10*time.Second), protocol.QueryRecentCallsParams{}); err != nil {
		t.Fatalf("%s: barrier: %v", c.UserID(), err)
	}
}

// expect checks that c's call events since the last expect on c are exactly want, in
// order. It makes a barrier round trip first, so nothing the server already produced for
// c is missed.
func (tr *tracer) expect(c *client.Conn, want ...wantEvent) {
	tr.t.Helper()
	barrier(tr.t, c)
	tr.check(c, want...)
}

// check is expect without the barrier (for a connection the server closed).
func (tr *tracer) check(c *client.Conn, want ...wantEvent) {
	t := tr.t
	t.Helper()
	var got []client.Event
	last := tr.seen[c]
	for _, e := range c.Events() {
		if e.Seq <= tr.seen[c] {
			continue
		}
		last = e.Seq
		if callEventNames[e.Name] {
			got = append(got, e)
		}
	}
	tr.seen[c] = last
	if len(got) != len(want) {
		t.Fatalf("%s: call events %s, want %s", c.UserID(), describe(got), describeWant(want))
	}
	for i, w := range want {
		if got[i].Name != w.name {
			t.Fatalf("%s: call event #%d is %s, want %s\ngot:  %s\nwant: %s", c.UserID(), i, got[i].Name, w.name, describe(got), describeWant(want))
		}
		var payload map[string]any
		if err := json.Unmarshal(got[i].Params, &payload); err != nil {
			t.Fatalf("%s: %s payload %s: %v", c.UserID(), w.name, got[i].Params, err)
		}
		for member, value := range w.fields {
			wantJSON, _ := json.Marshal(value)
			var wantValue any
			_ = json.Unmarshal(wantJSON, &wantValue)
			if gotValue, ok := payload[member]; !ok || !reflect.DeepEqual(gotValue, wantValue) {
				t.Fatalf("%s: %s.%s = %v (present %v), want %s\npayload: %s", c.UserID(), w.name, member, gotValue, ok, wantJSON, got[i].Params)
			}
		}
	}
}

func describe(evs []client.Event) string {
	parts := make([]string, len(evs))
	for i, e := range evs {
		parts[i] = e.Name + string(e.Params)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func describeWant(ws []wantEvent) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		b, _ := json.Marshal(w.fields)
		parts[i] = w.name + string(b)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// users logs in one connection per name, each name prefixed to keep subtests apart.
func (st *stack) users(t *testing.T, prefix string, names ...string) []*client.Conn {
	t.Helper()
	out := make([]*client.Conn, len(names))
	for i, n := range names {
		out[i] = st.login(t, prefix+n)
	}
	return out
}

// accepted makes callee accept and waits until caller's onCallBegin arrived.
func accepted(t *testing.T, caller, callee *client.Conn) {
	t.Helper()
	if err := callee.Accept(ctxT(t, 10*time.Second), 0); err != nil {
		t.Fatalf("%s accept: %v", callee.UserID(), err)
	}
	waitFor[protocol.CallBeginEvent](t, caller, protocol.EventCallBegin, nil)
}

// kicked waits for c's onKickedOffline and its socket's close with 4007 (D4).
func kicked(ctx context.Context, t *testing.T, c *client.Conn) {
	t.Helper()
	waitFor[protocol.KickedOfflineEvent](t, c, protocol.EventKickedOffline, nil)
	closedWith(ctx, t, c, 4007)
}

// closedWith waits (until ctx ends) for the server to close c's socket with code.
func closedWith(ctx context.Context, t *testing.T, c *client.Conn, code int) {
	t.Helper()
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatalf("%s: the socket stays open, want close %d", c.UserID(), code)
	}
	if got, _ := c.CloseStatus(); got != code {
		t.Fatalf("%s: socket closed with %d, want %d", c.UserID(), got, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const (
	audio = protocol.MediaTypeAudio
	video = protocol.MediaTypeVideo
)

// TestSpecSingleCall checks the 1v1 rows of spec §5.3 and decisions D6–D8, D10–D12, D16,
// D18 with exact event sequences for both sides.
func TestSpecSingleCall(t *testing.T)        { specSingleCall(t, newStack) }
func TestClusterSpecSingleCall(t *testing.T) { specSingleCall(t, newClusterStack) }

func specSingleCall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 120*time.Second)

	t.Run("§5.3#1 invitation payload, D5 caller profile, D8 default timeout", func(t *testing.T) {
		us := st.users(t, "s1", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		must(t, alice.SetSelfInfo(ctx, "Alice A", "https://img.example/a.png"))
		started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{UserData: `{"k":1}`})
		must(t, err)
		if started.CallID == "" || started.RoomID.Str != "" || started.RoomID.Int < 1 || started.RoomID.Int > 2147483647 {
			t.Fatalf("call result %+v: want a callId and an allocated integer room (D6)", started)
		}
		tr.expect(bob, ev(protocol.EventCallReceived,
			"callId", started.CallID, "callerId", alice.UserID(), "calleeIdList", []string{bob.UserID()},
			"groupId", "", "mediaType", 2, "userData", `{"k":1}`, "roomId", started.RoomID, "scene", 2, "role", 2,
			"callerNickname", "Alice A", "callerAvatar", "https://img.example/a.png", "timeout", 30))
		tr.expect(alice)
		// D5: a changed profile shows in the next invitation.
		must(t, alice.Hangup(ctx))
		must(t, alice.SetSelfInfo(ctx, "Alice B", ""))
		again, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		if again.CallID == started.CallID {
			t.Fatalf("two calls share callId %s (D6)", again.CallID)
		}
		tr.expect(bob,
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID()),
			ev(protocol.EventCallReceived, "callId", again.CallID, "callerNickname", "Alice B", "callerAvatar", "", "mediaType", 1))
		must(t, alice.Hangup(ctx))
	})

	t.Run("§5.3#3 accept, #9 hangup by the callee, D14 D16 totalTime", func(t *testing.T) {
		us := st.users(t, "s2", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{})
		must(t, err)
		must(t, bob.Accept(ctx, 0))
		tr.expect(alice,
			ev(protocol.EventUserAccept, "callId", started.CallID, "userId", bob.UserID()),
			ev(protocol.EventCallBegin, "callId", started.CallID, "roomId", started.RoomID, "mediaType", 2, "role", 1))
		tr.expect(bob,
			ev(protocol.EventCallReceived, "callId", started.CallID),
			ev(protocol.EventCallBegin, "callId", started.CallID, "roomId", started.RoomID, "mediaType", 2, "role", 2))
		st.clock.Advance(5 * time.Second)
		must(t, bob.Hangup(ctx))
		end := func(role int) wantEvent {
			return ev(protocol.EventCallEnd, "callId", started.CallID, "roomId", started.RoomID, "mediaType", 2, "role", role, "userId", bob.UserID())
		}
		tr.expect(bob, end(2))
		tr.expect(alice, end(1))
		for _, c := range []*client.Conn{alice, bob} {
			for _, e := range c.Events() {
				if e.Name != protocol.EventCallEnd {
					continue
				}
				var ce protocol.CallEndEvent
				must(t, e.Decode(&ce))
				if ce.TotalTime < 5 || ce.TotalTime > 60 {
					t.Fatalf("%s: totalTime %d, want the 5 s the call lasted (whole seconds)", c.UserID(), ce.TotalTime)
				}
			}
		}
		// D22: both have a record of it.
		for _, tc := range []struct {
			c      *client.Conn
			role   protocol.Role
			result protocol.CallResult
		}{{alice, protocol.RoleCaller, protocol.CallResultOutgoing}, {bob, protocol.RoleCalled, protocol.CallResultIncoming}} {
			recs, err := tc.c.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{ResultType: tc.result})
			must(t, err)
			if len(recs.Records) != 1 {
				t.Fatalf("%s: records %+v", tc.c.UserID(), recs.Records)
			}
			r := recs.Records[0]
			if r.CallID != started.CallID || r.UserID != tc.c.UserID() || r.Caller != alice.UserID() ||
				!slices.Equal(r.Invitees, []string{bob.UserID()}) || r.Scene != protocol.SceneSingle || r.MediaType != video ||
				r.GroupID != "" || r.RoomID != started.RoomID || r.Role != tc.role || r.Result != tc.result || r.TotalTime < 5 {
				t.Fatalf("%s: record %+v", tc.c.UserID(), r)
			}
			other := protocol.CallResultMissed
			if recs, _ := tc.c.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{ResultType: other}); len(recs.Records) != 0 {
				t.Fatalf("%s: missed records %+v", tc.c.UserID(), recs.Records)
			}
		}
		// §5.2: the call is over; both are idle and can call again.
		if _, err := bob.Call(ctx, alice.UserID(), audio, protocol.CallParams{}); err != nil {
			t.Fatalf("call after the end: %v", err)
		}
		must(t, bob.Hangup(ctx))
	})

	t.Run("§5.3#4 reject, D13", func(t *testing.T) {
		us := st.users(t, "s3", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		must(t, bob.Reject(ctx))
		tr.expect(alice,
			ev(protocol.EventUserReject, "callId", started.CallID, "userId", bob.UserID()),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "reason", "reject",
				"roomId", started.RoomID, "mediaType", 1, "role", 1))
		tr.expect(bob,
			ev(protocol.EventCallReceived),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob.UserID(), "reason", "reject",
				"roomId", started.RoomID, "mediaType", 1, "role", 2))
	})

	t.Run("§5.3#5 ignore, D11", func(t *testing.T) {
		us := st.users(t, "s4", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		must(t, bob.Ignore(ctx))
		tr.expect(alice,
			ev(protocol.EventUserLineBusy, "callId", started.CallID, "userId", bob.UserID()),
			ev(protocol.EventCallCancelled, "userId", alice.UserID(), "role", 1))
		tr.expect(bob,
			ev(protocol.EventCallReceived),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob.UserID(), "reason", "ignore", "role", 2))
	})

	t.Run("§5.3#7 cancel, D12", func(t *testing.T) {
		us := st.users(t, "s5", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{})
		must(t, err)
		must(t, alice.Hangup(ctx))
		tr.expect(alice, ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "reason", "cancel", "role", 1))
		tr.expect(bob,
			ev(protocol.EventCallReceived),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "reason", "cancel", "role", 2, "mediaType", 2))
		wantCode(t, bob.Accept(ctx, 0), protocol.CodeNoCallRinging)
	})

	t.Run("§5.3#2 D10 busy callee in a call is untouched", func(t *testing.T) {
		us := st.users(t, "s6", "alice", "bob", "carol", "dave")
		alice, bob, carol, dave := us[0], us[1], us[2], us[3]
		tr := newTracer(t)
		_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin))
		busy, err := carol.Call(ctx, bob.UserID(), video, protocol.CallParams{})
		must(t, err)
		tr.expect(carol,
			ev(protocol.EventUserLineBusy, "callId", busy.CallID, "userId", bob.UserID()),
			ev(protocol.EventCallCancelled, "callId", busy.CallID, "userId", carol.UserID(), "reason", "busy", "role", 1))
		tr.expect(bob)
		tr.expect(alice)
		// The busy call ended: carol is idle again; bob's call goes on.
		if _, err := carol.Call(ctx, dave.UserID(), audio, protocol.CallParams{}); err != nil {
			t.Fatalf("caller not idle after a busy callee: %v", err)
		}
		must(t, carol.Hangup(ctx))
		must(t, bob.SwitchCallMediaType(ctx, video))
		tr.expect(alice, ev(protocol.EventCallMediaTypeChanged, "oldMediaType", 1, "newMediaType", 2))
		must(t, alice.Hangup(ctx))
		tr.expect(bob, ev(protocol.EventCallMediaTypeChanged), ev(protocol.EventCallEnd, "userId", alice.UserID(), "mediaType", 2))
	})

	t.Run("D10 a ringing callee is busy and keeps ringing", func(t *testing.T) {
		us := st.users(t, "s7", "alice", "bob", "carol")
		alice, bob, carol := us[0], us[1], us[2]
		tr := newTracer(t)
		first, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		_, err = carol.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		tr.expect(carol, ev(protocol.EventUserLineBusy, "userId", bob.UserID()), ev(protocol.EventCallCancelled, "userId", carol.UserID()))
		tr.expect(bob, ev(protocol.EventCallReceived, "callId", first.CallID))
		tr.expect(alice)
		must(t, bob.Accept(ctx, 0))
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "callId", first.CallID))
		must(t, bob.Hangup(ctx))
	})

	t.Run("D18 switch while ringing by the callee, both directions", func(t *testing.T) {
		us := st.users(t, "s8", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{})
		must(t, err)
		must(t, bob.SwitchCallMediaType(ctx, audio))
		changed := ev(protocol.EventCallMediaTypeChanged, "callId", started.CallID, "oldMediaType", 2, "newMediaType", 1)
		tr.expect(bob, ev(protocol.EventCallReceived, "mediaType", 2), changed)
		tr.expect(alice, changed)
		must(t, alice.SwitchCallMediaType(ctx, video))
		up := ev(protocol.EventCallMediaTypeChanged, "oldMediaType", 1, "newMediaType", 2)
		tr.expect(alice, up)
		tr.expect(bob, up)
		must(t, bob.Accept(ctx, 0))
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "mediaType", 2))
		tr.expect(bob, ev(protocol.EventCallBegin, "mediaType", 2))
		must(t, alice.Hangup(ctx))
	})

	t.Run("D18 voice answer of a video call", func(t *testing.T) {
		us := st.users(t, "s9", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{})
		must(t, err)
		must(t, bob.Accept(ctx, audio))
		changed := ev(protocol.EventCallMediaTypeChanged, "callId", started.CallID, "oldMediaType", 2, "newMediaType", 1)
		tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob.UserID()), changed, ev(protocol.EventCallBegin, "mediaType", 1, "role", 1))
		tr.expect(bob, ev(protocol.EventCallReceived), changed, ev(protocol.EventCallBegin, "mediaType", 1, "role", 2))
		must(t, alice.Hangup(ctx))
		tr.expect(bob, ev(protocol.EventCallEnd, "mediaType", 1, "role", 2))
	})

	t.Run("§4 D6 room ids given by the caller", func(t *testing.T) {
		us := st.users(t, "s10", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		cases := []struct {
			name string
			room any
			want protocol.RoomID
		}{
			{"integer", 4321, protocol.IntRoom(4321)},
			{"integer maximum", 2147483647, protocol.IntRoom(2147483647)},
			{"string of allowed characters", "Room 1!#$%&()+-:;<=.>?@[]^_{}|~,", protocol.StrRoom("Room 1!#$%&()+-:;<=.>?@[]^_{}|~,")},
			{"string 123 is not integer 123", "123", protocol.StrRoom("123")},
			{"object with both: the integer wins", map[string]any{"intRoomId": 777, "strRoomId": "abc"}, protocol.IntRoom(777)},
			{"object with intRoomId 0 uses the string", map[string]any{"intRoomId": 0, "strRoomId": "abc"}, protocol.StrRoom("abc")},
		}
		for _, tc := range cases {
			var res protocol.CallStartResult
			err := alice.Request(ctx, protocol.MethodCall, map[string]any{
				"userId": bob.UserID(), "mediaType": 1, "params": map[string]any{"roomId": tc.room},
			}, &res)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if res.RoomID != tc.want {
				t.Fatalf("%s: result roomId %s, want %s", tc.name, res.RoomID, tc.want)
			}
			tr.expect(bob, ev(protocol.EventCallReceived, "roomId", tc.want))
			must(t, bob.Accept(ctx, 0))
			tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "roomId", tc.want))
			must(t, alice.Hangup(ctx))
			tr.expect(bob, ev(protocol.EventCallBegin, "roomId", tc.want), ev(protocol.EventCallEnd, "roomId", tc.want))
			tr.expect(alice, ev(protocol.EventCallEnd, "roomId", tc.want))
		}
		for _, absent := range []any{0, "", map[string]any{"intRoomId": 0, "strRoomId": ""}} {
			var res protocol.CallStartResult
			must(t, alice.Request(ctx, protocol.MethodCall, map[string]any{
				"userId": bob.UserID(), "mediaType": 1, "params": map[string]any{"roomId": absent},
			}, &res))
			if res.RoomID.Str != "" || res.RoomID.Int < 1 {
				t.Fatalf("roomId %v: got room %s, want an allocated integer room", absent, res.RoomID)
			}
			must(t, alice.Hangup(ctx))
		}
	})

	t.Run("D8 timeout bounds", func(t *testing.T) {
		us := st.users(t, "s11", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		for _, timeout := range []int{10, 600} {
			_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{Timeout: timeout})
			must(t, err)
			tr.expect(bob, ev(protocol.EventCallReceived, "timeout", timeout))
			must(t, alice.Hangup(ctx))
			tr.expect(bob, ev(protocol.EventCallCancelled))
			tr.expect(alice, ev(protocol.EventCallCancelled, "userId", alice.UserID(), "reason", "cancel"))
		}
		for _, timeout := range []int{-1, 1, 9, 601, 1 << 30} {
			_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{Timeout: timeout})
			wantCode(t, err, protocol.CodeInvalidTimeout)
			_, err = alice.GroupCall(ctx, "g", []string{bob.UserID()}, audio, protocol.CallParams{Timeout: timeout})
			wantCode(t, err, protocol.CodeInvalidTimeout)
		}
		tr.expect(bob)
		tr.expect(alice)
	})
}
