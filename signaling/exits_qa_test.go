package signaling_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testhttp"
	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestQANewSessionRejoinsGroupCallAtOnce checks D317: a user whose new login kicked the
// session that was in a group call's room joins the call again at once on the new session
// (joinInGroupCall), while the kicked session's leave (held in a hook) has not run: the
// call room join, on the new session's effects queue, waits for it. Before, the join ran
// into the kicked participant (room.ErrAlreadyInRoom), was only logged, and the user was
// in the call without being in its room.
func TestQANewSessionRejoinsGroupCallAtOnce(t *testing.T) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qx", "alice", "bob", "carol")
	alice, bob, carol := us[0], us[1], us[2]
	gate := newHookGate(t, alice.UserID())
	st.service.SetBeforeLeave(gate.Hook)
	started, err := bob.GroupCall(ctx, "team", []string{alice.UserID(), carol.UserID()}, audio, protocol.CallParams{RoomID: protocol.StrRoom("qx-room")})
	must(t, err)
	for _, c := range us[:1] {
		waitFor[protocol.CallReceivedEvent](t, c, protocol.EventCallReceived, nil)
		must(t, c.Accept(ctx, 0))
	}
	waitFor[protocol.CallReceivedEvent](t, carol, protocol.EventCallReceived, nil)
	must(t, carol.Accept(ctx, 0))
	waitFor[protocol.CallBeginEvent](t, carol, protocol.EventCallBegin, nil)
	id := roomIn(t, started.RoomID)
	var kicked *room.Participant
	waitUntil(t, ctx, "alice in the call's room", func() bool {
		r, ok := st.service.Rooms().Room(id)
		if ok {
			kicked = r.Participant(alice.UserID())
		}
		return kicked != nil
	})

	alice2 := st.login(t, alice.UserID()) // kicks alice: her leave waits in the hook
	gate.Wait(t, ctx, "the kicked session's leave")
	joined := make(chan error, 1)
	go func() {
		j, err := alice2.JoinInGroupCall(ctx, started.RoomID, "team", audio)
		if err == nil && j.CallID != started.CallID {
			err = fmt.Errorf("joined %+v, not call %s", j, started.CallID)
		}
		joined <- err
	}()
	time.Sleep(100 * time.Millisecond) // time for the room join to run into the kicked participant
	gate.Open()
	if err := <-joined; err != nil {
		t.Fatalf("joinInGroupCall on the new session: %v", err)
	}
	waitUntil(t, ctxT(t, 20*time.Second), "alice's new session in the call's room", func() bool {
		r, ok := st.service.Rooms().Room(id)
		if !ok {
			return false
		}
		p := r.Participant(alice.UserID())
		return p != nil && p != kicked
	})
}

// TestQAWHIPJoinWaitsForEndedSession checks D317 for WHIP: a WHIP publisher of a user
// whose WebSocket session has just ended (a newer login kicked it; its leave held in a
// hook) in the same room gets 201 once that leave ran, not 409 ("in room already").
func TestQAWHIPJoinWaitsForEndedSession(t *testing.T) {
	st := newStack(t)
	ctx := ctxT(t, 60*time.Second)
	_, base := st.whipServer(t, signaling.DefaultWHIPConfig())
	gate := newHookGate(t, "qwobs")
	st.service.SetBeforeLeave(gate.Hook)
	rid := protocol.IntRoom(820)
	obs := st.login(t, "qwobs")
	must(t, joinRoomGranted(ctx, t, obs, rid))
	st.login(t, obs.UserID()) // kicks the session in the room: its leave waits in the hook
	gate.Wait(t, ctx, "the kicked session's leave")
	posted := make(chan int, 1)
	offer := deadOffer(t)
	go func() {
		status, _, _ := testhttp.Do(t, http.MethodPost, base+"/whip/820", "application/sdp",
			grant(t, "qwobs", rid, protocol.RoomRights{Publish: true}), offer, nil)
		posted <- status
	}()
	select {
	case status := <-posted:
		t.Fatalf("WHIP POST answered %d while the ended session was still in the room", status)
	case <-time.After(100 * time.Millisecond):
	}
	gate.Open()
	if status := <-posted; status != http.StatusCreated {
		t.Fatalf("WHIP POST after the ended session's leave: %d, want 201", status)
	}
}
