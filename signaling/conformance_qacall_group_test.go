package signaling_test

// Scenario checks of group calls a real app runs into (QA round "qacall"): the caller
// leaving while others talk or ring, users who left an ongoing call being free and
// invitable again, the invitee lists, and room kinds in joinInGroupCall. See
// spec_conformance_test.go for the tracer.

import (
	"slices"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestQACallLastAnswerEndsAGroupCall checks D13 and D16 where the caller of a group call
// hung up while one user talks and invitees still ring: the call goes on for the one left,
// it hears each invitee's reject and no-response, and the last of them ends the call for it
// (onCallEnd naming that invitee); the caller, gone, hears none of it.
func TestQACallLastAnswerEndsAGroupCall(t *testing.T) { qaCallLastAnswerEndsAGroupCall(t, newStack) }
func TestClusterQACallLastAnswerEndsAGroupCall(t *testing.T) {
	qaCallLastAnswerEndsAGroupCall(t, newClusterStack)
}

func qaCallLastAnswerEndsAGroupCall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, func(c *signalingConfig) { c.Call.DefaultTimeout = 1200 * time.Millisecond })
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qle", "alice", "bob", "carol", "dave")
	alice, bob, carol, dave := us[0], us[1], us[2], us[3]
	tr := newTracer(t)
	started, err := alice.GroupCall(ctx, "qle-g", []string{bob.UserID(), carol.UserID()}, audio, protocol.CallParams{Timeout: protocol.MaxCallTimeout})
	must(t, err)
	id := started.CallID
	accepted(t, alice, bob)
	must(t, alice.Hangup(ctx)) // bob alone, carol ringing: the call goes on (D16)
	tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin), ev(protocol.EventCallEnd, "callId", id, "userId", alice.UserID(), "role", 1))
	tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin))
	tr.expect(carol, ev(protocol.EventCallReceived), ev(protocol.EventUserAccept, "userId", bob.UserID()))

	_, err = bob.InviteUser(ctx, []string{dave.UserID()}, protocol.CallParams{}) // rings for the default 1.2 s
	must(t, err)
	must(t, carol.Reject(ctx))
	tr.expect(carol, ev(protocol.EventCallCancelled, "callId", id, "userId", carol.UserID(), "reason", "reject"))
	waitFor[protocol.CallCancelledEvent](t, dave, protocol.EventCallCancelled, nil)
	tr.expect(bob,
		ev(protocol.EventGroupCallInviteeListUpdate, "userIdList", []string{carol.UserID(), dave.UserID()}),
		ev(protocol.EventUserReject, "userId", carol.UserID()),
		ev(protocol.EventUserNoResponse, "userId", dave.UserID()),
		ev(protocol.EventCallEnd, "callId", id, "userId", dave.UserID(), "role", 2))
	tr.expect(dave, ev(protocol.EventCallReceived, "callerId", bob.UserID(), "calleeIdList", []string{carol.UserID(), dave.UserID()}),
		ev(protocol.EventUserReject, "userId", carol.UserID()),
		ev(protocol.EventCallCancelled, "callId", id, "userId", dave.UserID(), "reason", "timeout"))
	tr.expect(alice)
	wantCode(t, bob.Hangup(ctx), protocol.CodeNotInCall)
	_, err = alice.Join(ctx, id)
	wantCode(t, err, protocol.CodeNoSuchCall)
}

// TestQACallLeftUsersAreFree checks D10 and D17 for users who are out of a group call that
// goes on: the caller who hung up and an invitee who rejected are idle (another call rings
// for them), an invitee who rejected can be invited again, and the caller who left can come
// back by join, as the caller.
func TestQACallLeftUsersAreFree(t *testing.T)        { qaCallLeftUsersAreFree(t, newStack) }
func TestClusterQACallLeftUsersAreFree(t *testing.T) { qaCallLeftUsersAreFree(t, newClusterStack) }

func qaCallLeftUsersAreFree(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qlf", "alice", "bob", "carol", "dave", "erin")
	alice, bob, carol, dave, erin := us[0], us[1], us[2], us[3], us[4]
	tr := newTracer(t)
	started, err := alice.GroupCall(ctx, "qlf-g", []string{bob.UserID(), carol.UserID(), dave.UserID()}, audio, protocol.CallParams{})
	must(t, err)
	id := started.CallID
	accepted(t, alice, bob)
	must(t, carol.Reject(ctx))
	must(t, alice.Hangup(ctx)) // bob alone, dave ringing
	tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin), ev(protocol.EventUserReject, "userId", carol.UserID()),
		ev(protocol.EventCallEnd, "userId", alice.UserID()))
	tr.expect(carol, ev(protocol.EventCallReceived), ev(protocol.EventUserAccept), ev(protocol.EventCallCancelled, "reason", "reject"))

	for _, free := range []string{alice.UserID(), carol.UserID()} {
		other, err := erin.Call(ctx, free, audio, protocol.CallParams{})
		must(t, err)
		c := alice
		if free == carol.UserID() {
			c = carol
		}
		tr.expect(c, ev(protocol.EventCallReceived, "callId", other.CallID, "callerId", erin.UserID()))
		must(t, c.Reject(ctx))
		tr.expect(c, ev(protocol.EventCallCancelled, "callId", other.CallID, "reason", "reject"))
		tr.expect(erin, ev(protocol.EventUserReject, "userId", free), ev(protocol.EventCallCancelled, "userId", erin.UserID()))
	}

	res, err := bob.InviteUser(ctx, []string{carol.UserID()}, protocol.CallParams{})
	must(t, err)
	if !slices.Equal(res.UserIDList, []string{carol.UserID()}) {
		t.Fatalf("inviteUser result %v, want carol invited again", res.UserIDList)
	}
	tr.expect(carol, ev(protocol.EventCallReceived, "callId", id, "callerId", bob.UserID(), "calleeIdList", []string{dave.UserID(), carol.UserID()}))
	must(t, carol.Accept(ctx, 0))
	tr.expect(carol, ev(protocol.EventCallBegin, "callId", id, "role", 2))
	joined, err := alice.Join(ctx, id)
	must(t, err)
	if joined.CallID != id || joined.RoomID != started.RoomID {
		t.Fatalf("alice joined %+v, want %+v", joined, started)
	}
	tr.expect(alice, ev(protocol.EventCallBegin, "callId", id, "role", 1))
	tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin), ev(protocol.EventUserReject, "userId", carol.UserID()),
		ev(protocol.EventGroupCallInviteeListUpdate, "userIdList", []string{dave.UserID(), carol.UserID()}),
		ev(protocol.EventUserAccept, "userId", carol.UserID()))
	for _, c := range []*client.Conn{alice, bob, carol} {
		must(t, c.Hangup(ctx))
	}
	// Nobody is in the call, dave still rings (D216) until he answers.
	tr.expect(dave, ev(protocol.EventCallReceived), ev(protocol.EventUserAccept), ev(protocol.EventUserReject),
		ev(protocol.EventUserAccept, "userId", carol.UserID()))
	must(t, dave.Reject(ctx))
	tr.expect(dave, ev(protocol.EventCallCancelled, "callId", id, "userId", dave.UserID(), "reason", "reject"))

	// D22: carol, who rejected and then took part, has an incoming record; the caller, who
	// left and came back, an outgoing one; dave, who never answered, a missed one.
	for _, want := range []struct {
		c      *client.Conn
		role   protocol.Role
		result protocol.CallResult
	}{{carol, protocol.RoleCalled, protocol.CallResultIncoming}, {alice, protocol.RoleCaller, protocol.CallResultOutgoing}, {dave, protocol.RoleCalled, protocol.CallResultMissed}} {
		recs, err := want.c.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
		must(t, err)
		i := slices.IndexFunc(recs.Records, func(r protocol.CallRecord) bool { return r.CallID == id })
		if i < 0 || recs.Records[i].Role != want.role || recs.Records[i].Result != want.result {
			t.Fatalf("%s: records %+v, want call %s with role %d and result %d", want.c.UserID(), recs.Records, id, want.role, want.result)
		}
	}
}

// TestQACallJoinNamesTheRoomExactly checks spec §4 (123 and "123" are different rooms) for
// joinInGroupCall: the active group call in the string room "123" is found with "123" only,
// the one in the integer room 124 with 124 only, and never with the other kind (3004).
func TestQACallJoinNamesTheRoomExactly(t *testing.T) { qaCallJoinNamesTheRoomExactly(t, newStack) }
func TestClusterQACallJoinNamesTheRoomExactly(t *testing.T) {
	qaCallJoinNamesTheRoomExactly(t, newClusterStack)
}

func qaCallJoinNamesTheRoomExactly(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qjr", "alice", "bob", "carol")
	alice, bob, carol := us[0], us[1], us[2]
	tests := []struct {
		name       string
		room, miss protocol.RoomID
	}{
		{"string room", protocol.StrRoom("123"), protocol.IntRoom(123)},
		{"integer room", protocol.IntRoom(124), protocol.StrRoom("124")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			started, err := alice.GroupCall(ctx, "qjr-g", []string{bob.UserID()}, audio, protocol.CallParams{RoomID: tc.room})
			must(t, err)
			if started.RoomID != tc.room {
				t.Fatalf("room %v, want %v", started.RoomID, tc.room)
			}
			accepted(t, alice, bob)
			// The group call's own type is refused like any switch in a group call (D266).
			wantCode(t, alice.SwitchCallMediaType(ctx, audio), protocol.CodeMediaSwitchNotAllowed)
			_, err = carol.JoinInGroupCall(ctx, tc.miss, "qjr-g", audio)
			wantCode(t, err, protocol.CodeNoSuchCall)
			joined, err := carol.JoinInGroupCall(ctx, tc.room, "qjr-g", audio)
			must(t, err)
			if joined.CallID != started.CallID {
				t.Fatalf("joined %s, want %s", joined.CallID, started.CallID)
			}
			must(t, alice.Hangup(ctx))
			must(t, bob.Hangup(ctx))
			waitFor[protocol.CallEndEvent](t, carol, protocol.EventCallEnd, nil) // left alone (D16)
		})
	}
}

// TestQACallInviteeLists checks the userIdList rules of groupCall and inviteUser
// (PROTOCOL.md §4.2): at most 32 entries, a repeated id included (3009, nobody is invited);
// a repeated id is invited once; inviting only users already in the call (ringing or in
// it) invites nobody: the result is an empty list and nobody hears of it.
func TestQACallInviteeLists(t *testing.T) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qil", "alice", "bob", "carol", "dave")
	alice, bob, carol, dave := us[0], us[1], us[2], us[3]
	tr := newTracer(t)
	long := []string{dave.UserID()}
	for i := 0; i < protocol.MaxInvitees; i++ {
		long = append(long, "qilu"+itoa(i%(protocol.MaxInvitees-1)))
	}
	_, err := alice.GroupCall(ctx, "qil-g", long, audio, protocol.CallParams{})
	wantCode(t, err, protocol.CodeTooManyInvitees)
	tr.expect(dave)

	started, err := alice.GroupCall(ctx, "qil-g", []string{bob.UserID(), carol.UserID()}, audio, protocol.CallParams{})
	must(t, err)
	accepted(t, alice, bob)
	tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin))
	tr.expect(carol, ev(protocol.EventCallReceived), ev(protocol.EventUserAccept))
	res, err := bob.InviteUser(ctx, []string{carol.UserID(), alice.UserID(), carol.UserID()}, protocol.CallParams{})
	must(t, err)
	if res.UserIDList == nil || len(res.UserIDList) != 0 {
		t.Fatalf("inviteUser of present users: %#v, want an empty list", res.UserIDList)
	}
	tr.expect(alice)
	tr.expect(carol)
	res, err = bob.InviteUser(ctx, []string{dave.UserID(), dave.UserID()}, protocol.CallParams{})
	must(t, err)
	if !slices.Equal(res.UserIDList, []string{dave.UserID()}) {
		t.Fatalf("inviteUser of dave twice: %v, want [dave]", res.UserIDList)
	}
	tr.expect(dave, ev(protocol.EventCallReceived, "callId", started.CallID, "calleeIdList", []string{carol.UserID(), dave.UserID()}))
	tr.expect(alice, ev(protocol.EventGroupCallInviteeListUpdate, "userIdList", []string{carol.UserID(), dave.UserID()}))
	must(t, alice.Hangup(ctx))
	must(t, bob.Hangup(ctx))
	for _, c := range []*client.Conn{carol, dave} {
		must(t, c.Reject(ctx))
	}
}
