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
	"fmt"
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

// TestSpecGroupCall checks §5.4 G1–G3, G6–G9 and D7, D10, D11, D13, D14, D16–D18 for group
// calls.
func TestSpecGroupCall(t *testing.T)        { specGroupCall(t, newStack) }
func TestClusterSpecGroupCall(t *testing.T) { specGroupCall(t, newClusterStack) }

func specGroupCall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 120*time.Second)

	t.Run("G1 G2 G3 G6 G7 G8 D16 a group call from start to end", func(t *testing.T) {
		us := st.users(t, "g1", "alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank")
		alice, bob, carol, dave, erin, frank, gina, hank := us[0], us[1], us[2], us[3], us[4], us[5], us[6], us[7]
		tr := newTracer(t)
		must(t, alice.SetSelfInfo(ctx, "Alice", ""))
		must(t, bob.SetSelfInfo(ctx, "Bob", "https://img.example/bob.png"))
		started, err := alice.GroupCall(ctx, "team-1", []string{bob.UserID(), carol.UserID()}, audio, protocol.CallParams{UserData: "agenda"})
		must(t, err)
		id := started.CallID
		both := []string{bob.UserID(), carol.UserID()}
		for _, c := range []*client.Conn{bob, carol} {
			tr.expect(c, ev(protocol.EventCallReceived, "callId", id, "callerId", alice.UserID(), "calleeIdList", both,
				"groupId", "team-1", "mediaType", 1, "userData", "agenda", "roomId", started.RoomID, "scene", 0, "role", 2,
				"callerNickname", "Alice", "timeout", 30))
		}
		tr.expect(alice)

		// G2 / D14: bob accepts; alice and the pending carol hear onUserAccept.
		must(t, bob.Accept(ctx, 0))
		tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob.UserID()), ev(protocol.EventCallBegin, "callId", id, "role", 1, "mediaType", 1, "roomId", started.RoomID))
		tr.expect(bob, ev(protocol.EventCallBegin, "callId", id, "role", 2, "mediaType", 1, "roomId", started.RoomID))
		tr.expect(carol, ev(protocol.EventUserAccept, "callId", id, "userId", bob.UserID()))

		// G3 / D13: carol rejects; everyone else hears it; the call goes on.
		must(t, carol.Reject(ctx))
		for _, c := range []*client.Conn{alice, bob} {
			tr.expect(c, ev(protocol.EventUserReject, "callId", id, "userId", carol.UserID()))
		}
		tr.expect(carol, ev(protocol.EventCallCancelled, "callId", id, "userId", carol.UserID(), "reason", "reject", "role", 2))

		// G6 / D6 / D17: bob (not the caller) invites dave, a busy frank and a member; the
		// requested room is ignored.
		_, err = frank.Call(ctx, gina.UserID(), audio, protocol.CallParams{})
		must(t, err)
		res, err := bob.InviteUser(ctx, []string{dave.UserID(), frank.UserID(), alice.UserID()}, protocol.CallParams{RoomID: protocol.IntRoom(999)})
		must(t, err)
		if !slices.Equal(res.UserIDList, []string{dave.UserID()}) {
			t.Fatalf("inviteUser result %v, want [dave] (busy and present users are not invited)", res.UserIDList)
		}
		tr.expect(dave, ev(protocol.EventCallReceived, "callId", id, "callerId", bob.UserID(), "calleeIdList", []string{dave.UserID()},
			"groupId", "team-1", "roomId", started.RoomID, "scene", 0, "mediaType", 1, "callerNickname", "Bob",
			"callerAvatar", "https://img.example/bob.png"),
			ev(protocol.EventUserLineBusy, "userId", frank.UserID()))
		for _, c := range []*client.Conn{alice, bob} {
			tr.expect(c,
				ev(protocol.EventUserLineBusy, "callId", id, "userId", frank.UserID()),
				ev(protocol.EventGroupCallInviteeListUpdate, "callId", id, "userIdList", []string{dave.UserID()}))
		}
		tr.expect(gina, ev(protocol.EventCallReceived, "callerId", frank.UserID()))
		tr.expect(frank)
		must(t, frank.Hangup(ctx))
		tr.expect(gina, ev(protocol.EventCallCancelled, "userId", frank.UserID(), "reason", "cancel"))

		// D11: dave ignores; the others hear line busy.
		must(t, dave.Ignore(ctx))
		for _, c := range []*client.Conn{alice, bob} {
			tr.expect(c, ev(protocol.EventUserLineBusy, "userId", dave.UserID()))
		}
		tr.expect(dave, ev(protocol.EventCallCancelled, "userId", dave.UserID(), "reason", "ignore"))

		// G7 / D17: erin joins by callId, hank by room and group; each gets onCallBegin.
		joined, err := erin.Join(ctx, id)
		must(t, err)
		if joined.CallID != id || joined.RoomID != started.RoomID {
			t.Fatalf("join result %+v", joined)
		}
		tr.expect(erin, ev(protocol.EventCallBegin, "callId", id, "roomId", started.RoomID, "mediaType", 1, "role", 2))
		joined, err = hank.JoinInGroupCall(ctx, started.RoomID, "team-1", video)
		must(t, err)
		if joined.CallID != id {
			t.Fatalf("joinInGroupCall result %+v", joined)
		}
		tr.expect(hank, ev(protocol.EventCallBegin, "callId", id, "mediaType", 1))
		tr.expect(alice)
		tr.expect(bob)

		// G8: participants leave one by one; the call goes on while two remain (D16).
		for _, c := range []*client.Conn{alice, erin, hank} {
			must(t, c.Hangup(ctx))
			tr.expect(c, ev(protocol.EventCallEnd, "callId", id, "userId", c.UserID(), "mediaType", 1))
			if c != hank {
				tr.expect(bob)
			}
		}
		// bob is left alone: the call ends for him too.
		tr.expect(bob, ev(protocol.EventCallEnd, "callId", id, "role", 2, "userId", hank.UserID()))
		_, err = carol.Join(ctx, id)
		wantCode(t, err, protocol.CodeNoSuchCall)
		tr.expect(frank, ev(protocol.EventCallCancelled, "userId", frank.UserID()))
		for _, c := range []*client.Conn{carol, dave, gina} {
			tr.expect(c)
		}
	})

	t.Run("G9 D12 the caller cancels a group call", func(t *testing.T) {
		us := st.users(t, "g2", "alice", "bob", "carol")
		alice, bob, carol := us[0], us[1], us[2]
		tr := newTracer(t)
		started, err := alice.GroupCall(ctx, "team-2", []string{bob.UserID(), carol.UserID()}, video, protocol.CallParams{})
		must(t, err)
		must(t, bob.Reject(ctx))
		must(t, alice.Hangup(ctx))
		tr.expect(alice, ev(protocol.EventUserReject, "userId", bob.UserID()),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "reason", "cancel", "role", 1))
		tr.expect(carol, ev(protocol.EventCallReceived), ev(protocol.EventUserReject, "userId", bob.UserID()),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "reason", "cancel", "role", 2))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallCancelled, "userId", bob.UserID(), "reason", "reject"))
	})

	t.Run("§5.2 a group call whose invitees all reject ends for the caller", func(t *testing.T) {
		us := st.users(t, "g3", "alice", "bob", "carol")
		alice, bob, carol := us[0], us[1], us[2]
		tr := newTracer(t)
		_, err := alice.GroupCall(ctx, "team-3", []string{bob.UserID(), carol.UserID()}, video, protocol.CallParams{})
		must(t, err)
		must(t, bob.Reject(ctx))
		must(t, carol.Reject(ctx))
		tr.expect(alice, ev(protocol.EventUserReject, "userId", bob.UserID()), ev(protocol.EventUserReject, "userId", carol.UserID()),
			ev(protocol.EventCallCancelled, "userId", alice.UserID(), "reason", "reject"))
		if _, err := alice.Calls(ctx, []string{bob.UserID()}, audio, protocol.CallParams{}); err != nil {
			t.Fatalf("caller not idle after an unanswered group call: %v", err)
		}
		must(t, alice.Hangup(ctx))
	})

	t.Run("D10 D13 busy invitees of a group call", func(t *testing.T) {
		us := st.users(t, "g4", "alice", "bob", "carol", "dave", "erin")
		alice, bob, carol, dave, erin := us[0], us[1], us[2], us[3], us[4]
		tr := newTracer(t)
		_, err := dave.Call(ctx, erin.UserID(), audio, protocol.CallParams{}) // dave dialing, erin ringing
		must(t, err)
		started, err := alice.GroupCall(ctx, "team-4", []string{bob.UserID(), erin.UserID(), carol.UserID()}, audio, protocol.CallParams{})
		must(t, err)
		ringing := []string{bob.UserID(), carol.UserID()}
		tr.expect(alice, ev(protocol.EventUserLineBusy, "callId", started.CallID, "userId", erin.UserID()))
		for _, c := range []*client.Conn{bob, carol} {
			tr.expect(c, ev(protocol.EventCallReceived, "calleeIdList", ringing), ev(protocol.EventUserLineBusy, "userId", erin.UserID()))
		}
		tr.expect(erin, ev(protocol.EventCallReceived, "callerId", dave.UserID()))
		must(t, alice.Hangup(ctx))
		must(t, dave.Hangup(ctx))
		tr.expect(erin, ev(protocol.EventCallCancelled, "userId", dave.UserID()))

		// Every invitee busy: the group call ends at once.
		_, err = bob.Call(ctx, carol.UserID(), audio, protocol.CallParams{})
		must(t, err)
		_, err = alice.GroupCall(ctx, "team-4", []string{bob.UserID(), carol.UserID()}, audio, protocol.CallParams{})
		must(t, err)
		tr.expect(alice, ev(protocol.EventCallCancelled, "reason", "cancel"),
			ev(protocol.EventUserLineBusy, "userId", bob.UserID()), ev(protocol.EventUserLineBusy, "userId", carol.UserID()),
			ev(protocol.EventCallCancelled, "userId", alice.UserID(), "reason", "busy"))
		must(t, bob.Hangup(ctx))
	})

	t.Run("D7 entry points and scenes", func(t *testing.T) {
		us := st.users(t, "g5", "alice", "bob", "carol")
		alice, bob, carol := us[0], us[1], us[2]
		tr := newTracer(t)
		cases := []struct {
			name  string
			start func() (protocol.CallStartResult, error)
			ring  []*client.Conn
			scene int
			group string
		}{
			{"groupCall with one invitee is a group call", func() (protocol.CallStartResult, error) {
				return alice.GroupCall(ctx, "g-one", []string{bob.UserID()}, audio, protocol.CallParams{})
			}, []*client.Conn{bob}, 0, "g-one"},
			{"calls with two invitees and no group is a group call", func() (protocol.CallStartResult, error) {
				return alice.Calls(ctx, []string{bob.UserID(), carol.UserID()}, audio, protocol.CallParams{})
			}, []*client.Conn{bob, carol}, 0, ""},
			{"calls with one invitee and no group is 1v1", func() (protocol.CallStartResult, error) {
				return alice.Calls(ctx, []string{bob.UserID()}, audio, protocol.CallParams{})
			}, []*client.Conn{bob}, 2, ""},
			{"calls with one invitee and params.chatGroupId is a group call", func() (protocol.CallStartResult, error) {
				return alice.Calls(ctx, []string{bob.UserID()}, audio, protocol.CallParams{ChatGroupID: "chat-9"})
			}, []*client.Conn{bob}, 0, "chat-9"},
			{"repeated invitees count once", func() (protocol.CallStartResult, error) {
				return alice.GroupCall(ctx, "g-dup", []string{bob.UserID(), bob.UserID()}, audio, protocol.CallParams{})
			}, []*client.Conn{bob}, 0, "g-dup"},
		}
		for _, tc := range cases {
			started, err := tc.start()
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var ids []string
			for _, c := range tc.ring {
				ids = append(ids, c.UserID())
			}
			for _, c := range tc.ring {
				tr.expect(c, ev(protocol.EventCallReceived, "callId", started.CallID, "scene", tc.scene, "groupId", tc.group, "calleeIdList", ids))
			}
			must(t, alice.Hangup(ctx))
			for _, c := range tc.ring {
				tr.expect(c, ev(protocol.EventCallCancelled, "userId", alice.UserID()))
			}
		}
	})

	t.Run("D17 D18 group restrictions", func(t *testing.T) {
		us := st.users(t, "g6", "alice", "bob", "carol", "dave")
		alice, bob, carol, dave := us[0], us[1], us[2], us[3]
		tr := newTracer(t)
		started, err := alice.GroupCall(ctx, "team-6", []string{bob.UserID(), carol.UserID()}, video, protocol.CallParams{})
		must(t, err)
		// Not active yet: no join (D17).
		_, err = dave.Join(ctx, started.CallID)
		wantCode(t, err, protocol.CodeNoSuchCall)
		_, err = dave.JoinInGroupCall(ctx, started.RoomID, "team-6", video)
		wantCode(t, err, protocol.CodeNoSuchCall)
		// A voice answer and a switch are refused in a group call (D18); nothing changed.
		wantCode(t, bob.Accept(ctx, audio), protocol.CodeMediaSwitchNotAllowed)
		wantCode(t, alice.SwitchCallMediaType(ctx, audio), protocol.CodeMediaSwitchNotAllowed)
		// inviteUser needs an IN_CALL inviter (D17).
		_, err = alice.InviteUser(ctx, []string{dave.UserID()}, protocol.CallParams{})
		wantCode(t, err, protocol.CodeNotInCall)
		_, err = bob.InviteUser(ctx, []string{dave.UserID()}, protocol.CallParams{})
		wantCode(t, err, protocol.CodeNotInCall)
		must(t, bob.Accept(ctx, 0))
		_, err = dave.JoinInGroupCall(ctx, started.RoomID, "another-group", video)
		wantCode(t, err, protocol.CodeNoSuchCall)
		_, err = dave.JoinInGroupCall(ctx, protocol.IntRoom(started.RoomID.Int+1), "team-6", video)
		wantCode(t, err, protocol.CodeNoSuchCall)
		_, err = bob.Join(ctx, started.CallID)
		wantCode(t, err, protocol.CodeAlreadyInCall)
		wantCode(t, bob.SwitchCallMediaType(ctx, audio), protocol.CodeMediaSwitchNotAllowed)
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin, "mediaType", 2))
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "mediaType", 2))
		tr.expect(carol, ev(protocol.EventCallReceived), ev(protocol.EventUserAccept))
		tr.expect(dave)
		// carol, still ringing, joins by callId: that is her accept (D14).
		_, err = carol.Join(ctx, started.CallID)
		must(t, err)
		tr.expect(carol, ev(protocol.EventCallBegin, "role", 2))
		tr.expect(alice, ev(protocol.EventUserAccept, "userId", carol.UserID()))
		must(t, alice.Hangup(ctx))
		must(t, bob.Hangup(ctx))
		tr.expect(carol, ev(protocol.EventCallEnd, "userId", bob.UserID()))
		// A 1v1 call cannot be joined.
		single, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		_, err = dave.Join(ctx, single.CallID)
		wantCode(t, err, protocol.CodeNoSuchCall)
		must(t, alice.Hangup(ctx))
	})
}

// TestSpecTimeouts checks §5.3#6, G4, D8, D9, D13 and D16 with a short default ringing
// time.
func TestSpecTimeouts(t *testing.T)        { specTimeouts(t, newStack) }
func TestClusterSpecTimeouts(t *testing.T) { specTimeouts(t, newClusterStack) }

func specTimeouts(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, func(c *signalingConfig) { c.Call.DefaultTimeout = 1200 * time.Millisecond })
	ctx := ctxT(t, 120*time.Second)

	t.Run("§5.3#6 1v1 no response", func(t *testing.T) {
		us := st.users(t, "t1", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{})
		must(t, err)
		waitFor[protocol.CallCancelledEvent](t, alice, protocol.EventCallCancelled, nil)
		tr.expect(alice,
			ev(protocol.EventUserNoResponse, "callId", started.CallID, "userId", bob.UserID()),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "reason", "timeout", "role", 1))
		tr.expect(bob, ev(protocol.EventCallReceived),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob.UserID(), "reason", "timeout", "role", 2))
		wantCode(t, bob.Accept(ctx, 0), protocol.CodeNoCallRinging)
	})

	t.Run("G4 D13 group no response goes to everyone else", func(t *testing.T) {
		us := st.users(t, "t2", "alice", "bob", "carol", "dave")
		alice, bob, carol, dave := us[0], us[1], us[2], us[3]
		tr := newTracer(t)
		_, err := alice.GroupCall(ctx, "team-t2", []string{bob.UserID(), carol.UserID(), dave.UserID()}, audio, protocol.CallParams{})
		must(t, err)
		must(t, bob.Accept(ctx, 0))
		waitFor[protocol.CallCancelledEvent](t, carol, protocol.EventCallCancelled, nil)
		waitFor[protocol.CallCancelledEvent](t, dave, protocol.EventCallCancelled, nil)
		noResp := []wantEvent{ev(protocol.EventUserNoResponse, "userId", carol.UserID()), ev(protocol.EventUserNoResponse, "userId", dave.UserID())}
		tr.expect(alice, append([]wantEvent{ev(protocol.EventUserAccept), ev(protocol.EventCallBegin)}, noResp...)...)
		tr.expect(bob, append([]wantEvent{ev(protocol.EventCallReceived), ev(protocol.EventCallBegin)}, noResp...)...)
		tr.expect(carol, ev(protocol.EventCallReceived), ev(protocol.EventUserAccept),
			ev(protocol.EventCallCancelled, "userId", carol.UserID(), "reason", "timeout"))
		tr.expect(dave, ev(protocol.EventCallReceived), ev(protocol.EventUserAccept),
			ev(protocol.EventUserNoResponse, "userId", carol.UserID()),
			ev(protocol.EventCallCancelled, "userId", dave.UserID(), "reason", "timeout"))
		// alice and bob are still in the call (D16: two IN_CALL).
		must(t, alice.Hangup(ctx))
		tr.expect(bob, ev(protocol.EventCallEnd, "userId", alice.UserID()))
	})

	t.Run("D16 a lone participant waits for a ringing invitee", func(t *testing.T) {
		us := st.users(t, "t3", "alice", "bob", "carol")
		alice, bob, carol := us[0], us[1], us[2]
		tr := newTracer(t)
		started, err := alice.GroupCall(ctx, "team-t3", []string{bob.UserID()}, audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		_, err = bob.InviteUser(ctx, []string{carol.UserID()}, protocol.CallParams{Timeout: 600})
		must(t, err)
		must(t, alice.Hangup(ctx)) // bob alone, carol ringing: the call goes on
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin),
			ev(protocol.EventGroupCallInviteeListUpdate, "userIdList", []string{carol.UserID()}),
			ev(protocol.EventCallEnd, "userId", alice.UserID()))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin),
			ev(protocol.EventGroupCallInviteeListUpdate, "userIdList", []string{carol.UserID()}))
		tr.expect(carol, ev(protocol.EventCallReceived, "callerId", bob.UserID(), "timeout", 600))
		must(t, carol.Accept(ctx, 0))
		tr.expect(bob, ev(protocol.EventUserAccept, "userId", carol.UserID()))
		tr.expect(carol, ev(protocol.EventCallBegin, "callId", started.CallID, "role", 2))
		must(t, carol.Hangup(ctx))
		tr.expect(bob, ev(protocol.EventCallEnd, "userId", carol.UserID()))
	})

	t.Run("D9 an offline invitee gets nothing after its timer ran out", func(t *testing.T) {
		alice := st.login(t, "t4alice")
		tr := newTracer(t)
		_, err := alice.Call(ctx, "t4bob", audio, protocol.CallParams{})
		must(t, err)
		waitFor[protocol.CallCancelledEvent](t, alice, protocol.EventCallCancelled, nil)
		tr.expect(alice, ev(protocol.EventUserNoResponse, "userId", "t4bob"),
			ev(protocol.EventCallCancelled, "userId", alice.UserID(), "reason", "timeout"))
		bob := st.login(t, "t4bob")
		tr.expect(bob)
		recs, err := bob.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{ResultType: protocol.CallResultMissed})
		must(t, err)
		if len(recs.Records) != 1 || recs.Records[0].Result != protocol.CallResultMissed || recs.Records[0].Caller != alice.UserID() {
			t.Fatalf("bob's missed calls: %+v (D22)", recs.Records)
		}
	})
}

// TestSpecSessions checks D3, D4 and logout against calls in each state.
func TestSpecSessions(t *testing.T)        { specSessions(t, newStack) }
func TestClusterSpecSessions(t *testing.T) { specSessions(t, newClusterStack) }

func specSessions(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 120*time.Second)

	t.Run("D3 onSdkReady names the user", func(t *testing.T) {
		c := st.dial(t)
		_, err := c.Login(ctx, protocolDevApp, "d3user", sig(t, "d3user", time.Hour))
		must(t, err)
		ready := waitFor[protocol.SdkReadyEvent](t, c, protocol.EventSdkReady, nil)
		if ready.UserID != "d3user" {
			t.Fatalf("onSdkReady %+v", ready)
		}
	})

	t.Run("D4 a kicked participant hangs up", func(t *testing.T) {
		us := st.users(t, "k1", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin))
		alice2 := st.login(t, alice.UserID())
		kicked(ctx, t, alice)
		tr.check(alice, ev(protocol.EventKickedOffline),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", alice.UserID(), "role", 1))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", alice.UserID(), "role", 2))
		tr.expect(alice2)
		if _, err := alice2.Call(ctx, bob.UserID(), audio, protocol.CallParams{}); err != nil {
			t.Fatalf("the new session cannot call: %v", err)
		}
		must(t, alice2.Hangup(ctx))
	})

	t.Run("D4 a kicked caller cancels", func(t *testing.T) {
		us := st.users(t, "k2", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		alice2 := st.login(t, alice.UserID())
		kicked(ctx, t, alice)
		tr.check(alice, ev(protocol.EventKickedOffline),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "role", 1))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "role", 2))
		tr.expect(alice2)
	})

	t.Run("D4 a kicked ringing invitee rejects", func(t *testing.T) {
		us := st.users(t, "k3", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
		bob2 := st.login(t, bob.UserID())
		kicked(ctx, t, bob)
		tr.check(bob, ev(protocol.EventCallReceived), ev(protocol.EventKickedOffline),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob.UserID(), "role", 2))
		tr.expect(alice, ev(protocol.EventUserReject, "userId", bob.UserID()),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "role", 1))
		tr.expect(bob2)
	})

	t.Run("D4 multi-device: reject on one session ends ringing on all", func(t *testing.T) {
		us := st.users(t, "m1", "alice", "bob")
		alice, bob1 := us[0], us[1]
		tr := newTracer(t)
		must(t, bob1.EnableMultiDeviceAbility(ctx, true))
		bob2 := st.login(t, bob1.UserID())
		started, err := alice.Call(ctx, bob1.UserID(), video, protocol.CallParams{})
		must(t, err)
		tr.expect(bob2, ev(protocol.EventCallReceived, "callId", started.CallID))
		must(t, bob1.Reject(ctx))
		tr.expect(bob1, ev(protocol.EventCallReceived, "callId", started.CallID),
			ev(protocol.EventCallCancelled, "userId", bob1.UserID(), "reason", "reject"))
		tr.expect(bob2, ev(protocol.EventCallCancelled, "userId", bob1.UserID(), "reason", "rejectedElsewhere"))
		tr.expect(alice, ev(protocol.EventUserReject, "userId", bob1.UserID()), ev(protocol.EventCallCancelled, "userId", alice.UserID()))
	})

	t.Run("D4 multi-device: the first accept wins, the others stay out", func(t *testing.T) {
		us := st.users(t, "m2", "alice", "bob")
		alice, bob1 := us[0], us[1]
		tr := newTracer(t)
		must(t, bob1.EnableMultiDeviceAbility(ctx, true))
		bob2 := st.login(t, bob1.UserID())
		started, err := alice.Call(ctx, bob1.UserID(), video, protocol.CallParams{})
		must(t, err)
		must(t, bob2.Accept(ctx, 0))
		tr.expect(bob1, ev(protocol.EventCallReceived),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob1.UserID(), "reason", "answeredElsewhere"))
		tr.expect(bob2, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin, "role", 2))
		wantCode(t, bob1.Accept(ctx, 0), protocol.CodeNoCallRinging)
		must(t, bob2.SwitchCallMediaType(ctx, audio))
		must(t, alice.Hangup(ctx))
		tr.expect(bob2, ev(protocol.EventCallMediaTypeChanged), ev(protocol.EventCallEnd, "userId", alice.UserID()))
		tr.expect(bob1)
	})

	t.Run("D4 multi-device: a second session logging out leaves the ringing alone", func(t *testing.T) {
		us := st.users(t, "m3", "alice", "bob")
		alice, bob1 := us[0], us[1]
		tr := newTracer(t)
		must(t, bob1.EnableMultiDeviceAbility(ctx, true))
		bob2 := st.login(t, bob1.UserID())
		// bob1 was the session of an earlier call: that must not tie it to the next one.
		_, err := bob1.Call(ctx, alice.UserID(), audio, protocol.CallParams{})
		must(t, err)
		must(t, bob1.Hangup(ctx))
		tr.expect(alice, ev(protocol.EventCallReceived), ev(protocol.EventCallCancelled))
		// The caller's events go to the session that called only.
		tr.expect(bob1, ev(protocol.EventCallCancelled, "userId", bob1.UserID(), "reason", "cancel"))
		tr.expect(bob2)
		started, err := alice.Call(ctx, bob1.UserID(), audio, protocol.CallParams{})
		must(t, err)
		tr.expect(bob1, ev(protocol.EventCallReceived))
		must(t, bob1.Logout(ctx))
		tr.expect(alice)
		tr.expect(bob2, ev(protocol.EventCallReceived, "callId", started.CallID))
		must(t, bob2.Accept(ctx, 0))
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin))
		must(t, alice.Hangup(ctx))
	})

	t.Run("D4 multi-device: the caller's other session stays out of the call", func(t *testing.T) {
		us := st.users(t, "m4", "alice", "bob")
		alice1, bob := us[0], us[1]
		tr := newTracer(t)
		must(t, alice1.EnableMultiDeviceAbility(ctx, true))
		alice2 := st.login(t, alice1.UserID())
		started, err := alice1.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		must(t, bob.Accept(ctx, 0))
		tr.expect(alice1, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "callId", started.CallID, "role", 1))
		tr.expect(alice2)
		// The other session cannot act on the call; ending it leaves the call alone.
		wantCode(t, alice2.Accept(ctx, 0), protocol.CodeNoCallRinging)
		must(t, alice2.Logout(ctx))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin))
		must(t, alice1.Hangup(ctx))
		tr.expect(alice1, ev(protocol.EventCallEnd, "userId", alice1.UserID()))
		tr.expect(bob, ev(protocol.EventCallEnd, "userId", alice1.UserID()))
	})

	t.Run("logout in a call hangs up", func(t *testing.T) {
		us := st.users(t, "l1", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		bobID := bob.UserID()
		must(t, bob.Logout(ctx))
		tr.check(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", bobID))
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", bobID))
		wantCode(t, bob.Hangup(ctx), protocol.CodeNotLoggedIn)
	})
}

// TestSpecErrors checks the documented error codes of the call methods (D25, PROTOCOL.md
// §4.2 and §7), and that a failed request changes nothing.
func TestSpecErrors(t *testing.T)        { specErrors(t, newStack) }
func TestClusterSpecErrors(t *testing.T) { specErrors(t, newClusterStack) }

func specErrors(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "e", "alice", "bob", "carol")
	alice, bob, carol := us[0], us[1], us[2]
	tr := newTracer(t)
	raw := func(c *client.Conn, method string, params map[string]any) error {
		return c.Request(ctx, method, params, nil)
	}
	many := make([]string, 33)
	for i := range many {
		many[i] = fmt.Sprintf("u%d", i)
	}
	cases := []struct {
		name string
		do   func() error
		code int
	}{
		{"call: mediaType 3", func() error {
			return raw(alice, protocol.MethodCall, map[string]any{"userId": bob.UserID(), "mediaType": 3})
		}, protocol.CodeInvalidMediaType},
		{"call: mediaType missing", func() error { return raw(alice, protocol.MethodCall, map[string]any{"userId": bob.UserID()}) }, protocol.CodeInvalidParams},
		{"call: userId missing", func() error { return raw(alice, protocol.MethodCall, map[string]any{"mediaType": 1}) }, protocol.CodeInvalidParams},
		{"call: bad userId", func() error {
			_, err := alice.Call(ctx, "b@d", audio, protocol.CallParams{})
			return err
		}, protocol.CodeInvalidUserID},
		{"call: 65-character userId", func() error {
			_, err := alice.Call(ctx, strings.Repeat("x", 65), audio, protocol.CallParams{})
			return err
		}, protocol.CodeInvalidUserID},
		{"call: yourself", func() error {
			_, err := alice.Call(ctx, alice.UserID(), audio, protocol.CallParams{})
			return err
		}, protocol.CodeCannotInviteSelf},
		{"groupCall: yourself among others", func() error {
			_, err := alice.GroupCall(ctx, "g", []string{bob.UserID(), alice.UserID()}, audio, protocol.CallParams{})
			return err
		}, protocol.CodeCannotInviteSelf},
		{"groupCall: empty list", func() error {
			_, err := alice.GroupCall(ctx, "g", []string{}, audio, protocol.CallParams{})
			return err
		}, protocol.CodeNoInvitees},
		{"groupCall: 33 invitees", func() error {
			_, err := alice.GroupCall(ctx, "g", many, audio, protocol.CallParams{})
			return err
		}, protocol.CodeTooManyInvitees},
		{"groupCall: groupId missing", func() error {
			return raw(alice, protocol.MethodGroupCall, map[string]any{"userIdList": []string{bob.UserID()}, "mediaType": 1})
		}, protocol.CodeInvalidParams},
		{"calls: bad userId in the list", func() error {
			_, err := alice.Calls(ctx, []string{bob.UserID(), "no spaces"}, audio, protocol.CallParams{})
			return err
		}, protocol.CodeInvalidUserID},
		{"call: negative integer room", func() error {
			_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{RoomID: protocol.IntRoom(-1)})
			return err
		}, protocol.CodeInvalidRoomID},
		{"call: integer room 2^31", func() error {
			_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{RoomID: protocol.IntRoom(2147483648)})
			return err
		}, protocol.CodeInvalidRoomID},
		{"call: string room with a quote", func() error {
			_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{RoomID: protocol.StrRoom(`it's`)})
			return err
		}, protocol.CodeInvalidRoomID},
		{"call: string room of 65 bytes", func() error {
			_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{RoomID: protocol.StrRoom(strings.Repeat("r", 65))})
			return err
		}, protocol.CodeInvalidRoomID},
		{"accept: nothing ringing", func() error { return bob.Accept(ctx, 0) }, protocol.CodeNoCallRinging},
		{"reject: nothing ringing", func() error { return bob.Reject(ctx) }, protocol.CodeNoCallRinging},
		{"ignore: nothing ringing", func() error { return bob.Ignore(ctx) }, protocol.CodeNoCallRinging},
		{"hangup: idle", func() error { return bob.Hangup(ctx) }, protocol.CodeNotInCall},
		{"switchCallMediaType: idle", func() error { return bob.SwitchCallMediaType(ctx, video) }, protocol.CodeNotInCall},
		{"inviteUser: idle", func() error {
			_, err := bob.InviteUser(ctx, []string{carol.UserID()}, protocol.CallParams{})
			return err
		}, protocol.CodeNotInCall},
		{"join: unknown callId", func() error {
			_, err := bob.Join(ctx, "c_unknown")
			return err
		}, protocol.CodeNoSuchCall},
		{"joinInGroupCall: no call there", func() error {
			_, err := bob.JoinInGroupCall(ctx, protocol.IntRoom(5), "nobody", audio)
			return err
		}, protocol.CodeNoSuchCall},
	}
	for _, tc := range cases {
		wantCodeNamed(t, tc.name, tc.do(), tc.code)
	}

	// With a call ringing: the caller cannot start another; wrong media types; nothing
	// changes on failure.
	started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{})
	must(t, err)
	ringing := []struct {
		name string
		do   func() error
		code int
	}{
		{"call while dialing", func() error {
			_, err := alice.Call(ctx, carol.UserID(), audio, protocol.CallParams{})
			return err
		}, protocol.CodeAlreadyInCall},
		{"groupCall while ringing", func() error {
			_, err := bob.GroupCall(ctx, "g", []string{carol.UserID()}, audio, protocol.CallParams{})
			return err
		}, protocol.CodeAlreadyInCall},
		{"accept with mediaType 5", func() error {
			return raw(bob, protocol.MethodAccept, map[string]any{"mediaType": 5})
		}, protocol.CodeInvalidMediaType},
		{"switchCallMediaType to 0", func() error {
			return raw(bob, protocol.MethodSwitchCallMediaType, map[string]any{"mediaType": 0})
		}, protocol.CodeInvalidParams},
		{"switchCallMediaType to 7", func() error {
			return raw(bob, protocol.MethodSwitchCallMediaType, map[string]any{"mediaType": 7})
		}, protocol.CodeInvalidMediaType},
		{"ringing callee joins its call by callId of another", func() error {
			_, err := bob.Join(ctx, "c_other")
			return err
		}, protocol.CodeNoSuchCall},
	}
	for _, tc := range ringing {
		wantCodeNamed(t, tc.name, tc.do(), tc.code)
	}
	tr.expect(alice)
	tr.expect(bob, ev(protocol.EventCallReceived, "callId", started.CallID, "mediaType", 2))
	tr.expect(carol)
	must(t, bob.Accept(ctx, 0))
	tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "callId", started.CallID, "mediaType", 2))
	_, err = carol.Join(ctx, started.CallID) // 1v1: not joinable
	wantCodeNamed(t, "join a 1v1 call", err, protocol.CodeNoSuchCall)
	must(t, bob.Hangup(ctx))
}

// wantCodeNamed is wantCode with the check's name in the failure.
func wantCodeNamed(t *testing.T, name string, err error, code int) {
	t.Helper()
	perr, ok := protocolError(err)
	switch {
	case err == nil:
		t.Errorf("%s: succeeded, want error %d", name, code)
	case !ok:
		t.Errorf("%s: %v, want protocol error %d", name, err, code)
	case perr.Code != code:
		t.Errorf("%s: code %d (%s), want %d", name, perr.Code, perr.Message, code)
	}
}

// TestSpecRoomEventsOfAGroupCall checks D15 and D19 in a group call with real media: each
// participant whose media session is up is announced to the others (onUserJoin with the
// call's room), a latecomer that joined by callId learns who is there and what they
// publish, microphone changes reach the others, and a hangup is an onUserLeave.
func TestSpecRoomEventsOfAGroupCall(t *testing.T) { specRoomEventsOfAGroupCall(t, newStack) }
func TestClusterSpecRoomEventsOfAGroupCall(t *testing.T) {
	specRoomEventsOfAGroupCall(t, newClusterStack)
}

func specRoomEventsOfAGroupCall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 90*time.Second)
	us := st.users(t, "r", "alice", "bob", "carol")
	alice, bob, carol := us[0], us[1], us[2]
	started, err := alice.GroupCall(ctx, "room-team", []string{bob.UserID()}, audio, protocol.CallParams{})
	must(t, err)
	accepted(t, alice, bob)
	for _, c := range []*client.Conn{alice, bob} {
		must(t, c.StartMedia(ctx, client.MediaOptions{Audio: true}))
	}
	joinedEvent := func(me *client.Conn, other string) {
		t.Helper()
		waitFor(t, me, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool {
			if e.UserID == other && e.RoomID != started.RoomID {
				t.Errorf("%s: onUserJoin(%s) in room %s, want the call's %s", me.UserID(), other, e.RoomID, started.RoomID)
			}
			return e.UserID == other
		})
	}
	audioOf := func(me *client.Conn, other string, on bool) {
		t.Helper()
		waitFor(t, me, protocol.EventUserAudioAvailable, func(e protocol.UserAudioAvailableEvent) bool {
			return e.UserID == other && e.IsAudioAvailable == on
		})
	}
	joinedEvent(alice, bob.UserID())
	joinedEvent(bob, alice.UserID())
	audioOf(alice, bob.UserID(), true)
	audioOf(bob, alice.UserID(), true)

	if _, err := carol.Join(ctx, started.CallID); err != nil {
		t.Fatal(err)
	}
	must(t, carol.StartMedia(ctx, client.MediaOptions{Audio: true}))
	for _, other := range []*client.Conn{alice, bob} {
		joinedEvent(carol, other.UserID())
		audioOf(carol, other.UserID(), true)
		joinedEvent(other, carol.UserID())
		audioOf(other, carol.UserID(), true)
	}

	must(t, carol.CloseMicrophone(ctx))
	audioOf(alice, carol.UserID(), false)
	audioOf(bob, carol.UserID(), false)
	must(t, carol.OpenMicrophone(ctx))
	audioOf(alice, carol.UserID(), true)
	audioOf(bob, carol.UserID(), true)

	must(t, carol.Hangup(ctx))
	for _, c := range []*client.Conn{alice, bob} {
		waitFor(t, c, protocol.EventUserLeave, func(e protocol.UserLeaveEvent) bool { return e.UserID == carol.UserID() })
	}
	for _, c := range []*client.Conn{alice, bob, carol} {
		if n := c.EventCount(protocol.EventUserJoin); n != 2 {
			t.Errorf("%s heard onUserJoin %d times, want once per other user", c.UserID(), n)
		}
	}
	must(t, alice.Hangup(ctx))
	waitFor[protocol.CallEndEvent](t, bob, protocol.EventCallEnd, nil)
}

// TestSpecSessionEndsDuringACall checks D2 (the call goes on through the userSig grace,
// then the session ends as if it had hung up and closes with 4003) and §5.3#14 transport
// loss (after the reconnect grace a ringing invitee's call is rejected for it).
func TestSpecSessionEndsDuringACall(t *testing.T) { specSessionEndsDuringACall(t, newStack) }
func TestClusterSpecSessionEndsDuringACall(t *testing.T) {
	specSessionEndsDuringACall(t, newClusterStack)
}

func specSessionEndsDuringACall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, func(c *signalingConfig) {
		c.Auth.SigExpiryGrace = 1500 * time.Millisecond
		c.Signaling.ReconnectGrace = 300 * time.Millisecond
	})
	ctx := ctxT(t, 60*time.Second)

	t.Run("D2 userSig expiry in a call", func(t *testing.T) {
		tr := newTracer(t)
		alice := st.dial(t)
		_, err := alice.Login(ctx, protocolDevApp, "x1alice", sig(t, "x1alice", 2*time.Second))
		must(t, err)
		bob := st.login(t, "x1bob")
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		waitFor[protocol.UserSigExpiredEvent](t, alice, protocol.EventUserSigExpired, nil)
		// In the grace the call goes on.
		must(t, bob.SwitchCallMediaType(ctx, video))
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin), ev(protocol.EventCallMediaTypeChanged, "newMediaType", 2))
		closedWith(ctx, t, alice, 4003) // at the end of its userSig grace
		tr.check(alice, ev(protocol.EventCallEnd, "callId", started.CallID, "userId", "x1alice", "role", 1))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin), ev(protocol.EventCallMediaTypeChanged),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", "x1alice", "role", 2))
	})

	t.Run("§5.3#14 a ringing invitee whose socket is lost", func(t *testing.T) {
		tr := newTracer(t)
		us := st.users(t, "x2", "alice", "bob")
		alice, bob := us[0], us[1]
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
		bob.Abort()
		waitFor[protocol.CallCancelledEvent](t, alice, protocol.EventCallCancelled, nil)
		tr.expect(alice, ev(protocol.EventUserReject, "callId", started.CallID, "userId", bob.UserID()),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "role", 1))
	})

	t.Run("§5.3#14 a dialing caller whose socket is lost", func(t *testing.T) {
		tr := newTracer(t)
		us := st.users(t, "x3", "alice", "bob")
		alice, bob := us[0], us[1]
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		alice.Abort()
		waitFor[protocol.CallCancelledEvent](t, bob, protocol.EventCallCancelled, nil)
		tr.expect(bob, ev(protocol.EventCallReceived),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", "x3alice", "role", 2))
	})
}
