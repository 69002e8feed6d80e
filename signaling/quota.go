package signaling

// Quotas of one app (tenant) on this node and the size of a room (D326–D328):
// auth.apps[].max_sessions (1009), auth.apps[].max_rooms (4011), room.max_participants
// (4012; 3009 for a call's members). Each node counts what it holds; in a cluster the
// app's owner holds its sessions and the rooms it does not place on other nodes.

import (
	"errors"
	"fmt"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// sessionQuotaLocked refuses a new session of userID beyond auth.apps[].max_sessions
// with 1009 (D326). The sessions that the login kicks (the user's, multi-device off) free
// their places first. A resume never comes here: its session is counted already.
func (t *tenant) sessionQuotaLocked(userID string) error {
	if t.maxSessions == 0 {
		return nil
	}
	n := t.sessions
	if u := t.users[userID]; u != nil && !u.multiDevice {
		n -= len(u.sessions)
	}
	if n < t.maxSessions {
		return nil
	}
	return protocol.Errorf(protocol.CodeAppSessionQuota,
		"SDKAppID %d has %d sessions on this server (auth.apps[].max_sessions): try again later", t.app, t.maxSessions)
}

// callConfigFor is the call machines' configuration: a call holds at most
// room.max_participants members when that is set, so the machine refuses an invitation or
// a joinInGroupCall beyond (3009) instead of the call's room refusing the member's join
// after the accept (D328).
func callConfigFor(c call.Config, r room.Config) call.Config {
	members := c.MaxMembers
	if members < 2 {
		members = call.DefaultConfig().MaxMembers
	}
	if r.MaxParticipants > 0 && r.MaxParticipants < members {
		c.MaxMembers = r.MaxParticipants
	}
	return c
}

// maxRooms is auth.apps[].max_rooms of app (0: no cap, or an unknown app). The tenants
// and their quotas do not change after NewService: no lock.
func (s *Service) maxRooms(app int) int {
	if t := s.tenants[app]; t != nil {
		return t.maxRooms
	}
	return 0
}

// roomQuotaLocked refuses a call when its app has auth.apps[].max_rooms rooms open on this
// node: the call's room opens at its accept, which is never refused (D327).
func (s *Service) roomQuotaLocked(t *tenant) error {
	if t.maxRooms == 0 {
		return nil
	}
	if n := s.rooms.AppRooms(t.app); n >= t.maxRooms {
		return roomJoinError(fmt.Errorf("a call opens a room: app %d has %d open rooms on this node: %w", t.app, n, room.ErrRoomQuota))
	}
	return nil
}

// roomJoinError maps the room quota errors of a join to their codes: room.ErrRoomQuota to
// 4011, room.ErrRoomFull to 4012; other errors pass.
func roomJoinError(err error) error {
	switch {
	case errors.Is(err, room.ErrRoomQuota):
		return protocol.NewError(protocol.CodeAppRoomQuota, "auth.apps[].max_rooms reached: "+err.Error())
	case errors.Is(err, room.ErrRoomFull):
		return protocol.NewError(protocol.CodeRoomFull, "room.max_participants reached: "+err.Error())
	}
	return err
}
