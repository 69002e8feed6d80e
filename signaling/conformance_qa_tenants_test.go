package signaling_test

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestQAOtherAppCannotReachTheCall checks D26 and D27 at the call ids: a user of another
// app who knows a live call's callId, RoomId and groupId (or has the invitee's userId) can
// neither join, prepare, answer nor decline it (3004, 3002), and RoomId 4242 of its own
// app is another room, which its own grant enters while app A's call uses 4242. The call
// and its users hear nothing of it.
func TestQAOtherAppCannotReachTheCall(t *testing.T) { qaOtherAppCannotReachTheCall(t, newStack) }
func TestClusterQAOtherAppCannotReachTheCall(t *testing.T) {
	qaOtherAppCannotReachTheCall(t, newClusterStack)
}

func qaOtherAppCannotReachTheCall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, withOtherApp)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qt", "alice", "bob", "carol")
	alice, bob, carol := us[0], us[1], us[2]
	tr := newTracer(t)
	room := protocol.IntRoom(4242)
	started, err := alice.GroupCall(ctx, "team", []string{bob.UserID(), carol.UserID()}, audio, protocol.CallParams{RoomID: room})
	must(t, err)
	must(t, bob.Accept(ctx, 0)) // active; carol still rings
	mallory := st.loginApp(t, otherApp, otherSecret, "qtmallory")
	carolB := st.loginApp(t, otherApp, otherSecret, carol.UserID()) // app B's carol

	_, err = mallory.Join(ctx, started.CallID)
	wantCode(t, err, protocol.CodeNoSuchCall)
	_, err = mallory.JoinInGroupCall(ctx, room, "team", audio)
	wantCode(t, err, protocol.CodeNoSuchCall)
	_, err = mallory.PrepareCall(ctx, started.CallID)
	wantCode(t, err, protocol.CodeNoSuchCall)
	_, err = carolB.Join(ctx, started.CallID)
	wantCode(t, err, protocol.CodeNoSuchCall)
	wantCode(t, carolB.Accept(ctx, 0), protocol.CodeNoCallRinging)
	wantCode(t, carolB.Reject(ctx), protocol.CodeNoCallRinging)
	wantCode(t, carolB.Hangup(ctx), protocol.CodeNotInCall)
	if del, err := carolB.DeleteRecordCalls(ctx, []string{started.CallID}); err != nil || len(del.Deleted) != 0 {
		t.Fatalf("app B's carol deleted app A's record: %+v, %v", del, err)
	}
	// App B's RoomId 4242 is app B's room: a call of app B may take it and a grant of
	// app B enters it while app A's call uses its own 4242.
	_, err = carolB.Call(ctx, mallory.UserID(), audio, protocol.CallParams{RoomID: room})
	must(t, err)
	must(t, carolB.Hangup(ctx))
	g, err := signaling.MintRoomGrant(otherApp, []byte(otherSecret), mallory.UserID(), room,
		protocol.RoomRights{Publish: true, Subscribe: true}, time.Hour, time.Now())
	must(t, err)
	must(t, mallory.JoinRoomWithGrant(ctx, room, g))

	tr.expect(carolB, ev(protocol.EventCallCancelled, "reason", "cancel"))
	tr.expect(carol, ev(protocol.EventCallReceived, "callId", started.CallID), ev(protocol.EventUserAccept, "userId", bob.UserID()))
	must(t, carol.Accept(ctx, 0))
	tr.expect(carol, ev(protocol.EventCallBegin, "callId", started.CallID, "roomId", 4242))
	tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob.UserID()), ev(protocol.EventCallBegin),
		ev(protocol.EventUserAccept, "userId", carol.UserID()))
	tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin), ev(protocol.EventUserAccept, "userId", carol.UserID()))
}
