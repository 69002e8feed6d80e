package signaling

import (
	"context"
	"errors"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// Media ready before the answer (PROTOCOL.md §4.2 prepareCall). A dialing caller or a
// ringing invitee may enter the call's room early: its PeerConnections connect while the
// call rings, but the room neither forwards nor announces it (room.JoinOptions.Early)
// until the call begins for it, when the machine's JoinRoom action activates it in place.
// Its subscriber PeerConnection's first offer already has a section for the audio (and,
// in a video call, the video) of each other member of the call at that moment
// (room.JoinOptions.Expect, D104): their media forwards at the accept without a
// renegotiation.
// When the call ends for the user without that, the sweep after each machine output takes
// the session out of the room.

// earlyEntry is a session waiting early in the room of a call its user dials or rings in.
type earlyEntry struct {
	sess   *session
	callID string
	room   room.ID
}

// prepareCall enters the call's room early (PrepareCallParams).
func (sess *session) prepareCall(_ context.Context, p protocol.PrepareCallParams) (protocol.CallStartResult, error) {
	s := sess.svc
	if s.Draining() {
		return protocol.CallStartResult{}, protocol.NewError(protocol.CodeServerDraining, "the server is shutting down")
	}
	s.mu.Lock()
	u := s.userLocked(sess)
	if u == nil {
		s.mu.Unlock()
		return protocol.CallStartResult{}, protocol.NewError(protocol.CodeNotLoggedIn, "not logged in: log in first")
	}
	t := u.tenant
	expired := s.expireDueLocked(t) // an invitation past its deadline is not prepared (D215)
	st := t.machine.UserState(u.id)
	snap, ok := t.machine.Snapshot(p.CallID)
	if !ok || st.CallID != p.CallID || st.State == call.Idle {
		s.mu.Unlock()
		if expired {
			<-sess.settled() // the timeout's events before the error they explain
		}
		return protocol.CallStartResult{}, protocol.Errorf(protocol.CodeNoSuchCall, "callId %q: you are not dialing or ringing in it", p.CallID)
	}
	if err := sess.inUsersCall(t.machine, u, "prepareCall"); err != nil {
		s.mu.Unlock() // the user dials or talks on another session: this one is not in the call (D162)
		return protocol.CallStartResult{}, callError(err)
	}
	res := protocol.CallStartResult{CallID: p.CallID, RoomID: snap.RoomID}
	if e := t.early[u.id]; st.State == call.InCall || e != nil {
		s.mu.Unlock() // in the call already, or prepared on this or another device
		if e != nil && e.sess != sess {
			return res, protocol.NewError(protocol.CodeAlreadyInRoom, "another device of this user prepared the call")
		}
		return res, nil
	}
	id, err := t.roomID(snap.RoomID)
	if err != nil {
		s.mu.Unlock()
		return protocol.CallStartResult{}, protocol.FieldError(protocol.CodeInvalidRoomID, "roomId", err.Error())
	}
	t.early[u.id] = &earlyEntry{sess: sess, callID: p.CallID, room: id}
	opts := room.JoinOptions{Rights: room.FullRights, Early: true, CloseWhenEmpty: true, ExpectVideo: snap.MediaType == protocol.MediaTypeVideo}
	for _, m := range snap.Members { // its subscriber reserves their media's sections (D104)
		if m.UserID != u.id && len(opts.Expect) < room.MaxExpected {
			opts.Expect = append(opts.Expect, m.UserID)
		}
	}
	var joinErr error
	// On the session's queue: an exit the sweep queues later runs after this join.
	sess.later(func() {
		joinErr = sess.enterRoomWith(id, opts)
	})
	s.mu.Unlock()
	sess.settle()
	if joinErr != nil {
		s.mu.Lock()
		if e := t.early[u.id]; e != nil && e.sess == sess {
			delete(t.early, u.id)
		}
		s.mu.Unlock()
		if errors.Is(joinErr, room.ErrAlreadyInRoom) {
			return protocol.CallStartResult{}, protocol.NewError(protocol.CodeAlreadyInRoom, "in another room: leave it first")
		}
		return protocol.CallStartResult{}, joinErr
	}
	return res, nil
}

// sweepEarlyLocked takes out of their rooms the early sessions of the users out touched
// whose call ended for them without beginning (reject, cancel, timeout, busy, answered
// elsewhere). A user whose call began keeps its entry until its JoinRoom action activates
// it (roomActionLocked). Called with Service.mu held, after the output's actions.
func (s *Service) sweepEarlyLocked(t *tenant, out call.Output, leaves *leaveChain) {
	if len(t.early) == 0 {
		return
	}
	check := func(userID string) {
		e := t.early[userID]
		if e == nil {
			return
		}
		st := t.machine.UserState(userID)
		if st.CallID == e.callID && st.State != call.Idle {
			return // still dialing, ringing, or in the call (activated by its JoinRoom)
		}
		delete(t.early, userID)
		leaves.then(e.sess, func() {
			if e.sess.inRoom(e.room) {
				e.sess.exitRoom()
			}
		})
	}
	for _, ev := range out.Events {
		check(ev.To)
	}
	for _, a := range out.Actions {
		check(a.UserID)
	}
}

// takeEarlyLocked hands over the user's early entry for the call's room to the session
// that joins it for the call: the same session is activated in place (enterRoom); another
// session's early participant leaves first, and the returned channel closes when it has.
// Called with Service.mu held.
func (t *tenant) takeEarlyLocked(userID string, joiner *session, id room.ID) <-chan struct{} {
	e := t.early[userID]
	if e == nil || e.room != id {
		return nil
	}
	delete(t.early, userID)
	if e.sess == joiner {
		return nil
	}
	done := make(chan struct{})
	e.sess.later(func() {
		if e.sess.inRoom(id) {
			e.sess.exitRoom()
		}
		close(done)
	})
	return done
}
