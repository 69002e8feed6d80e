package signaling_test

// Black-box conformance checks of parties that leave a call without acting (D4, D28), of
// a dropped socket that resumes in the middle of a call's life, of a group call at its
// size limit and of the RoomId rules. See spec_conformance_test.go for the tracer.

import (
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestSpecLeavingWithoutActing checks D28 row by row, for each way a session can go away
// (a newer login kicks it, it logs out, its socket is lost past the reconnect grace): the
// others get exactly the events of the matching action, each with reason "disconnect"
// where the event has a reason.
func TestSpecLeavingWithoutActing(t *testing.T) {
	top := t // sessions live until the end, so the session count changes only by a leave
	st := newStack(t, manyInvitations, func(c *signalingConfig) { c.Signaling.ReconnectGrace = 300 * time.Millisecond })
	ctx := ctxT(t, 120*time.Second)
	ways := []struct {
		name  string
		leave func(t *testing.T, c *client.Conn)
	}{
		{"kicked", func(t *testing.T, c *client.Conn) {
			st.login(top, c.UserID())
			kicked(ctx, t, c)
		}},
		{"logged out", func(t *testing.T, c *client.Conn) { must(t, c.Logout(ctx)) }},
		{"socket lost", func(t *testing.T, c *client.Conn) {
			n := st.service.Sessions()
			c.Abort()
			testwait.For(t, 10*time.Second, c.UserID()+"'s session ended after the reconnect grace", func() bool {
				return st.service.Sessions() == n-1
			})
		}},
	}
	// call1v1 has prefix+"alice" call prefix+"bob" (audio) and waits for the invitation.
	call1v1 := func(t *testing.T, prefix string) (alice, bob *client.Conn, tr *tracer, started protocol.CallStartResult) {
		us := st.users(top, prefix, "alice", "bob")
		alice, bob, tr = us[0], us[1], newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		tr.expect(bob, ev(protocol.EventCallReceived, "callId", started.CallID))
		return alice, bob, tr, started
	}
	// groupOf3 has prefix+"alice" call prefix+"bob" and prefix+"carol" (audio, a group).
	groupOf3 := func(t *testing.T, prefix string) (alice, bob, carol *client.Conn, tr *tracer, started protocol.CallStartResult) {
		us := st.users(top, prefix, "alice", "bob", "carol")
		alice, bob, carol, tr = us[0], us[1], us[2], newTracer(t)
		started, err := alice.GroupCall(ctx, "lw", []string{bob.UserID(), carol.UserID()}, audio, protocol.CallParams{})
		must(t, err)
		return alice, bob, carol, tr, started
	}
	for w, way := range ways {
		p := "lw" + itoa(w)
		t.Run(way.name+": the dialing caller", func(t *testing.T) {
			us := st.users(top, p+"a", "alice", "bob", "carol")
			alice, bob, carol := us[0], us[1], us[2]
			tr := newTracer(t)
			aliceID := alice.UserID() // a logged-out client forgets it
			started, err := alice.GroupCall(ctx, "lw", []string{bob.UserID(), carol.UserID()}, video, protocol.CallParams{})
			must(t, err)
			way.leave(t, alice)
			for _, c := range []*client.Conn{bob, carol} {
				waitFor[protocol.CallCancelledEvent](t, c, protocol.EventCallCancelled, nil)
				tr.expect(c, ev(protocol.EventCallReceived, "callId", started.CallID),
					ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", aliceID, "reason", "disconnect",
						"roomId", started.RoomID, "mediaType", 2, "role", 2))
			}
		})
		t.Run(way.name+": the ringing callee of a 1v1 call", func(t *testing.T) {
			alice, bob, tr, started := call1v1(t, p+"b")
			bobID := bob.UserID() // a logged-out client forgets it
			way.leave(t, bob)
			waitFor[protocol.CallCancelledEvent](t, alice, protocol.EventCallCancelled, nil)
			tr.expect(alice, ev(protocol.EventUserReject, "callId", started.CallID, "userId", bobID),
				ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "reason", "disconnect",
					"roomId", started.RoomID, "mediaType", 1, "role", 1))
		})
		t.Run(way.name+": a ringing invitee of a group call", func(t *testing.T) {
			alice, bob, carol, tr, started := groupOf3(t, p+"c")
			bobID := bob.UserID() // a logged-out client forgets it
			tr.expect(carol, ev(protocol.EventCallReceived, "callId", started.CallID))
			way.leave(t, bob)
			waitFor(t, alice, protocol.EventUserReject, func(e protocol.UserEvent) bool { return e.UserID == bobID })
			tr.expect(alice, ev(protocol.EventUserReject, "callId", started.CallID, "userId", bobID))
			tr.expect(carol, ev(protocol.EventUserReject, "callId", started.CallID, "userId", bobID))
			must(t, carol.Accept(ctx, 0)) // the call goes on without bob
			tr.expect(alice, ev(protocol.EventUserAccept, "userId", carol.UserID()), ev(protocol.EventCallBegin, "callId", started.CallID))
			must(t, alice.Hangup(ctx))
			tr.expect(carol, ev(protocol.EventCallBegin), ev(protocol.EventCallEnd, "userId", alice.UserID()))
		})
		t.Run(way.name+": a participant of a 1v1 call", func(t *testing.T) {
			alice, bob, tr, started := call1v1(t, p+"d")
			aliceID := alice.UserID() // a logged-out client forgets it
			accepted(t, alice, bob)
			way.leave(t, alice)
			waitFor[protocol.CallEndEvent](t, bob, protocol.EventCallEnd, nil)
			tr.expect(bob, ev(protocol.EventCallBegin),
				ev(protocol.EventCallEnd, "callId", started.CallID, "userId", aliceID, "roomId", started.RoomID, "role", 2, "mediaType", 1))
		})
		t.Run(way.name+": a participant of a group call of three", func(t *testing.T) {
			alice, bob, carol, tr, started := groupOf3(t, p+"e")
			accepted(t, alice, bob)
			must(t, carol.Accept(ctx, 0))
			tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin), ev(protocol.EventUserAccept))
			tr.expect(carol, ev(protocol.EventCallReceived), ev(protocol.EventUserAccept), ev(protocol.EventCallBegin))
			way.leave(t, bob)
			// Two remain: the call goes on, and nobody but the room hears of bob (D15, D16).
			tr.expect(alice)
			tr.expect(carol)
			must(t, carol.Hangup(ctx))
			tr.expect(alice, ev(protocol.EventCallEnd, "callId", started.CallID, "userId", carol.UserID()))
		})
	}
}

// TestSpecResumeDuringTheCall checks the resume of PROTOCOL.md §1 at each point of a call's
// life: the session keeps its place in the call, and what happened while its socket was
// gone reaches it on the resume, in order, once.
func TestSpecResumeDuringTheCall(t *testing.T) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	resume := func(t *testing.T, c *client.Conn) *client.Conn {
		t.Helper()
		login, _ := c.LoginResult()
		c2 := st.dial(t)
		res, err := c2.Resume(ctx, protocolDevApp, c.UserID(), sig(t, c.UserID(), time.Hour), login.ResumeToken, c.LastSeq())
		must(t, err)
		if res.ResumeToken != login.ResumeToken {
			t.Fatalf("%s: resume gave a new session (token %s, had %s)", c.UserID(), res.ResumeToken, login.ResumeToken)
		}
		barrier(t, c2)
		return c2
	}
	t.Run("the ringing callee resumes and answers", func(t *testing.T) {
		alice, bob, tr, started := ringingCall(t, st, "rs1", video, protocol.CallParams{})
		bob.Abort()
		<-bob.Done()
		bob2 := resume(t, bob)
		tr.expect(bob2) // the invitation is not delivered twice
		must(t, bob2.Accept(ctx, 0))
		tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob.UserID()), ev(protocol.EventCallBegin, "callId", started.CallID))
		tr.expect(bob2, ev(protocol.EventCallBegin, "callId", started.CallID, "role", 2))
		must(t, bob2.Hangup(ctx))
	})
	t.Run("the ringing callee misses the cancel while away", func(t *testing.T) {
		alice, bob, tr, started := ringingCall(t, st, "rs2", video, protocol.CallParams{})
		bob.Abort()
		<-bob.Done()
		must(t, alice.Hangup(ctx))
		bob2 := resume(t, bob)
		tr.expect(bob2, ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "reason", "cancel"))
		wantCode(t, bob2.Accept(ctx, 0), protocol.CodeNoCallRinging)
	})
	t.Run("the dialing caller misses the accept while away", func(t *testing.T) {
		us := st.users(t, "rs3", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		alice.Abort()
		<-alice.Done()
		must(t, bob.Accept(ctx, 0))
		alice2 := resume(t, alice)
		tr.expect(alice2, ev(protocol.EventUserAccept, "userId", bob.UserID()),
			ev(protocol.EventCallBegin, "callId", started.CallID, "roomId", started.RoomID, "role", 1))
		must(t, alice2.Hangup(ctx))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin), ev(protocol.EventCallEnd, "userId", alice.UserID()))
	})
	t.Run("a participant misses an invitation and a departure while away", func(t *testing.T) {
		us := st.users(t, "rs4", "alice", "bob", "carol")
		alice, bob, carol := us[0], us[1], us[2]
		tr := newTracer(t)
		started, err := alice.GroupCall(ctx, "rs4", []string{bob.UserID()}, audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin))
		bob.Abort()
		<-bob.Done()
		_, err = alice.InviteUser(ctx, []string{carol.UserID()}, protocol.CallParams{})
		must(t, err)
		must(t, carol.Accept(ctx, 0))
		must(t, alice.Hangup(ctx))
		bob2 := resume(t, bob)
		tr.expect(bob2, ev(protocol.EventGroupCallInviteeListUpdate, "userIdList", []string{carol.UserID()}),
			ev(protocol.EventUserAccept, "userId", carol.UserID()))
		must(t, bob2.Hangup(ctx))
		tr.expect(carol, ev(protocol.EventCallReceived, "callerId", alice.UserID()), ev(protocol.EventCallBegin),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", bob.UserID()))
	})
}

// TestSpecGroupCallAtItsSizeLimit checks a group call of 33 users (the caller and 32
// invitees, PROTOCOL.md §7 Limits) in which everyone answers at once: the caller begins
// once, every accept reaches every other member once, and the call ends when the last but
// one leaves (D14, D16).
func TestSpecGroupCallAtItsSizeLimit(t *testing.T) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 120*time.Second)
	alice := st.login(t, "szalice")
	invitees := make([]*client.Conn, protocol.MaxInvitees)
	ids := make([]string, len(invitees))
	for i := range invitees {
		invitees[i] = st.login(t, "szu"+itoa(i))
		ids[i] = invitees[i].UserID()
	}
	_, err := alice.GroupCall(ctx, "sz", append(ids, "szone-too-many"), audio, protocol.CallParams{})
	wantCode(t, err, protocol.CodeTooManyInvitees)
	started, err := alice.GroupCall(ctx, "sz", ids, audio, protocol.CallParams{})
	must(t, err)
	fns := make([]func() error, len(invitees))
	for i, c := range invitees {
		waitFor[protocol.CallReceivedEvent](t, c, protocol.EventCallReceived, func(e protocol.CallReceivedEvent) bool {
			return e.CallID == started.CallID && len(e.CalleeIDList) == len(ids)
		})
		fns[i] = func() error { return c.Accept(ctx, 0) }
	}
	for i, err := range together(fns...) {
		if err != nil {
			t.Fatalf("%s: accept: %v", ids[i], err)
		}
	}
	late := st.login(t, "szlate")
	_, err = late.Join(ctx, started.CallID)
	wantCode(t, err, protocol.CodeTooManyInvitees)
	for _, c := range append([]*client.Conn{alice}, invitees...) {
		barrier(t, c)
		want := map[string]int{protocol.EventCallReceived: 1, protocol.EventCallBegin: 1, protocol.EventUserAccept: len(invitees) - 1}
		if c == alice {
			want = map[string]int{protocol.EventCallBegin: 1, protocol.EventUserAccept: len(invitees)}
		}
		for name, n := range want {
			if got := c.EventCount(name); got != n {
				t.Fatalf("%s: %d × %s, want %d\nevents: %s", c.UserID(), got, name, n, eventNames(c))
			}
		}
	}
	all := append([]*client.Conn{alice}, invitees...)
	for _, c := range all[:len(all)-1] {
		must(t, c.Hangup(ctx))
	}
	last := waitFor[protocol.CallEndEvent](t, all[len(all)-1], protocol.EventCallEnd, nil)
	if last.CallID != started.CallID || last.UserID != all[len(all)-2].UserID() {
		t.Fatalf("the last one's onCallEnd %+v", last)
	}
}

// TestSpecRoomIDRules checks the RoomId rules of PROTOCOL.md §4.2 on the wire: every
// malformed form is 4001 and changes nothing, a 64-byte string of the allowed characters
// is a room, and an integer room and the string of its digits are two rooms that two
// calls may hold at once.
func TestSpecRoomIDRules(t *testing.T) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "ri", "alice", "bob", "carol", "dave")
	alice, bob, carol, dave := us[0], us[1], us[2], us[3]
	tr := newTracer(t)
	bad := []any{-1, 2147483648, 1 << 40, strings.Repeat("a", 65), "é", "tab\t", "new\nline",
		map[string]any{"intRoomId": -5}, map[string]any{"intRoomId": 2147483648, "strRoomId": "ok"},
		map[string]any{"intRoomId": 0, "strRoomId": strings.Repeat("b", 65)}}
	for _, c := range []byte{'"', '\'', '*', '/', '\\', '`'} {
		bad = append(bad, "room"+string(c))
	}
	for _, room := range bad {
		err := alice.Request(ctx, protocol.MethodCall, map[string]any{"userId": bob.UserID(), "mediaType": 1, "params": map[string]any{"roomId": room}}, nil)
		wantCode(t, err, protocol.CodeInvalidRoomID)
		err = alice.Request(ctx, protocol.MethodJoinInGroupCall, map[string]any{"roomId": room, "groupId": "g"}, nil)
		wantCode(t, err, protocol.CodeInvalidRoomID)
	}
	tr.expect(bob)
	tr.expect(alice)

	allowed := "Az09 !#$%&()+-:;<=.>?@[]^_{}|~," + strings.Repeat("x", 33)
	if len(allowed) != protocol.MaxStrRoomIDSize {
		t.Fatalf("test string is %d bytes", len(allowed))
	}
	long, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{RoomID: protocol.StrRoom(allowed)})
	must(t, err)
	tr.expect(bob, ev(protocol.EventCallReceived, "callId", long.CallID, "roomId", allowed))
	must(t, alice.Hangup(ctx))
	tr.expect(bob, ev(protocol.EventCallCancelled, "roomId", allowed))
	tr.expect(alice, ev(protocol.EventCallCancelled, "roomId", allowed))

	intCall, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{RoomID: protocol.IntRoom(123)})
	must(t, err)
	strCall, err := carol.Call(ctx, dave.UserID(), audio, protocol.CallParams{RoomID: protocol.StrRoom("123")})
	must(t, err)
	tr.expect(bob, ev(protocol.EventCallReceived, "callId", intCall.CallID, "roomId", 123))
	tr.expect(dave, ev(protocol.EventCallReceived, "callId", strCall.CallID, "roomId", "123"))
	erin := st.login(t, "rierin")
	for _, room := range []protocol.RoomID{protocol.IntRoom(123), protocol.StrRoom("123")} {
		_, err = erin.Call(ctx, alice.UserID(), audio, protocol.CallParams{RoomID: room})
		wantCode(t, err, protocol.CodeRoomInUse)
	}
	tr.expect(alice)
	accepted(t, alice, bob)
	accepted(t, carol, dave)
	// joinInGroupCall names the room exactly: 1v1 calls are not joined, whatever the form.
	for _, room := range []protocol.RoomID{protocol.IntRoom(123), protocol.StrRoom("123")} {
		_, err := erin.JoinInGroupCall(ctx, room, "any", audio)
		wantCode(t, err, protocol.CodeNoSuchCall)
	}
	must(t, alice.Hangup(ctx))
	must(t, carol.Hangup(ctx))
	tr.expect(bob, ev(protocol.EventCallBegin, "roomId", 123), ev(protocol.EventCallEnd, "roomId", 123))
	tr.expect(dave, ev(protocol.EventCallBegin, "roomId", "123"), ev(protocol.EventCallEnd, "roomId", "123"))
}

// TestSpecGroupCallEmptiedWhileRinging checks D16 where everyone in a group call left
// while invitees still ring: a group call ends only when fewer than two users are in it
// and nobody rings, so it goes on (D216). The invitees still ring and hear each other's
// answers, a user may join it, and the last one left in it alone hears its end.
func TestSpecGroupCallEmptiedWhileRinging(t *testing.T) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "ge", "alice", "bob", "carol", "dave", "erin")
	alice, bob, carol, dave, erin := us[0], us[1], us[2], us[3], us[4]
	tr := newTracer(t)
	started, err := alice.GroupCall(ctx, "ge", []string{bob.UserID(), carol.UserID(), dave.UserID()}, audio, protocol.CallParams{})
	must(t, err)
	id := started.CallID
	accepted(t, alice, bob)
	must(t, alice.Hangup(ctx))
	must(t, bob.Hangup(ctx))
	tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin), ev(protocol.EventCallEnd, "callId", id, "userId", bob.UserID()))
	for _, c := range []*client.Conn{carol, dave} {
		tr.expect(c, ev(protocol.EventCallReceived, "callId", id), ev(protocol.EventUserAccept, "userId", bob.UserID()))
	}
	must(t, carol.Reject(ctx))
	tr.expect(carol, ev(protocol.EventCallCancelled, "callId", id, "userId", carol.UserID(), "reason", "reject"))
	tr.expect(dave, ev(protocol.EventUserReject, "callId", id, "userId", carol.UserID()))
	joined, err := erin.Join(ctx, id)
	must(t, err)
	if joined.CallID != id {
		t.Fatalf("joined %+v", joined)
	}
	must(t, dave.Accept(ctx, 0))
	tr.expect(erin, ev(protocol.EventCallBegin, "callId", id, "role", 2), ev(protocol.EventUserAccept, "userId", dave.UserID()))
	tr.expect(dave, ev(protocol.EventCallBegin, "callId", id, "role", 2))
	must(t, erin.Hangup(ctx))
	tr.expect(dave, ev(protocol.EventCallEnd, "callId", id, "userId", erin.UserID()))
	tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin), ev(protocol.EventCallEnd, "userId", alice.UserID()))
	wantCode(t, dave.Hangup(ctx), protocol.CodeNotInCall)
}
