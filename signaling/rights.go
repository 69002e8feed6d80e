package signaling

import (
	"fmt"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// Room rights (D27). Who may enter which room of an app:
//
//   - The room of a live call admits only the users of that call. The call service puts
//     them there itself (accept, join, joinInGroupCall: roomActionLocked); joinRoom into a
//     call's room is refused with CodeRoomForbidden for anyone else, whatever grant they
//     hold, while the call lives.
//   - Any other room needs a room grant (grant.go) naming the app, the user, the room in
//     its exact form and the rights, unless the app is configured with open_rooms.

// roomRights decides whether sess may joinRoom p.RoomID and with which rights; the error
// is a protocol error (CodeRoomForbidden, CodeRoomGrantInvalid, CodeRoomGrantExpired).
func (sess *session) roomRights(p protocol.JoinRoomParams) (room.Rights, error) {
	s := sess.svc
	app, userID := sess.identity()
	// The grant is checked before the lock: a signature check is no I/O, but it is the
	// slowest step and needs nothing the lock guards.
	var granted Rights
	var grantErr error
	if grant := p.Grant(); grant != "" {
		granted, grantErr = s.verifier.VerifyRoomGrant(app, userID, p.RoomID, grant, s.now())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(sess)
	if u == nil {
		return room.Rights{}, protocol.NewError(protocol.CodeNotLoggedIn, "not logged in: log in first")
	}
	t := u.tenant
	if t.roomHasCallLocked(p.RoomID) {
		if t.inCallRoomLocked(u.id, p.RoomID) {
			return room.FullRights, nil
		}
		return room.Rights{}, protocol.Errorf(protocol.CodeRoomForbidden,
			"room %s belongs to a call you are not in", p.RoomID.String())
	}
	switch {
	case s.verifier.OpenRooms(t.app):
		return room.FullRights, nil
	case p.Grant() == "":
		return room.Rights{}, protocol.Errorf(protocol.CodeRoomForbidden,
			"room %s needs a roomGrant for you (made with the app's secret)", p.RoomID.String())
	case grantErr != nil:
		return room.Rights{}, fmt.Errorf("joinRoom: %w", grantErr)
	}
	return room.Rights{Publish: granted.Publish, Subscribe: granted.Subscribe}, nil
}

// roomFreeLocked refuses a caller-chosen room that is in use (CodeRoomInUse): the room of
// another live call of the app, or a room with people in it outside calls. A call's room
// admits the call's users only, so a call must not take over a room others are in, nor
// share one with another call. Zero r (the server picks a free room) passes.
func (s *Service) roomFreeLocked(t *tenant, r protocol.RoomID) error {
	if r.IsZero() {
		return nil
	}
	id, err := t.roomID(r)
	if err != nil {
		return nil // the machine answers CodeInvalidRoomID
	}
	members, _ := s.roomMembers(id)
	if len(members) > 0 || t.roomHasCallLocked(r) {
		return protocol.Errorf(protocol.CodeRoomInUse, "room %s is in use: pick another roomId or none", r.String())
	}
	return nil
}
