package call

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// InviteUser adds invitees to inviter's active call (D6, D17, G6). The inviter must be
// IN_CALL. Invitees already in the call are skipped; a busy invitee is left alone and every
// member gets onUserLineBusy for it (D10, D13). Each new invitee rings for timeout seconds
// (0 → default) in the call's room (any requested room is ignored, D6) and gets
// onCallReceived(callerId = inviter, calleeIdList = every ringing invitee); then every
// IN_CALL participant gets onGroupCallInviteeListUpdate(the ringing invitees). Output.Invited
// lists the new invitees. Inviting into a 1v1 call turns it into a group call.
func (m *Machine) InviteUser(now time.Time, inviter Profile, invitees []string, timeout int) (Output, error) {
	return m.InviteUserWith(now, inviter, invitees, Invitation{Timeout: timeout})
}

// Invitation is what an inviteUser request gives its invitees besides the call: the
// ringing time in seconds (0 → default), and the userData and offlinePushInfo their
// onCallReceived (and the invitee-offline webhook) carry; empty ones take the call's
// (spec §1.2.B inviteUser: its params carry the timeout and the offline push content).
type Invitation struct {
	Timeout         int
	UserData        string
	OfflinePushInfo json.RawMessage
}

// InviteUserWith is InviteUser with the invitation's own userData and offlinePushInfo.
func (m *Machine) InviteUserWith(now time.Time, inviter Profile, invitees []string, inv Invitation) (Output, error) {
	timeout := inv.Timeout
	u := inviter.UserID
	c, mem := m.lookup(u)
	if mem == nil || mem.state != InCall {
		return Output{}, fmt.Errorf("inviteUser by %s: %w", u, ErrNotInCall)
	}
	ring, err := m.ringTime(timeout)
	if err != nil {
		return Output{}, fmt.Errorf("inviteUser by %s: %w", u, err)
	}
	invitees = dedupe(invitees)
	if len(invitees) == 0 {
		return Output{}, fmt.Errorf("inviteUser by %s: %w", u, ErrNoInvitees)
	}
	if contains(invitees, u) {
		return Output{}, fmt.Errorf("inviteUser by %s: %w", u, ErrSelfInvite)
	}
	var fresh, busy []string
	for _, v := range invitees {
		switch {
		case c.member(v) != nil:
		case m.users[v] != nil:
			busy = append(busy, v)
		default:
			fresh = append(fresh, v)
		}
	}
	if len(c.members)+len(fresh) > m.cfg.MaxMembers {
		return Output{}, fmt.Errorf("inviteUser by %s: %d members + %d invitees, at most %d: %w",
			u, len(c.members), len(fresh), m.cfg.MaxMembers, ErrTooManyInvitees)
	}

	out := Output{CallID: c.id, RoomID: c.room, Invited: append([]string{}, fresh...)}
	if len(fresh) > 0 && c.scene == protocol.SceneSingle {
		c.scene = protocol.SceneGroup
	}
	added := make([]*member, 0, len(fresh))
	for _, v := range fresh {
		c.noteInvited(v)
		// A ringing invitee is Called (spec §5.1), the caller of the call who left and is
		// invited back too: every event of its invitation says so (D339). Its record keeps
		// the role it had first (c.participation).
		c.participation(v, protocol.RoleCalled)
		nm := &member{user: v, state: Ringing, role: protocol.RoleCalled, inviter: inviter, userData: c.userData, push: c.push}
		if inv.UserData != "" {
			nm.userData = inv.UserData
		}
		if len(inv.OfflinePushInfo) > 0 {
			nm.push = inv.OfflinePushInfo
		}
		c.members = append(c.members, nm)
		m.users[v] = c
		m.arm(c, nm, now.Add(ring))
		added = append(added, nm)
	}
	for _, v := range busy {
		c.noteInvited(v) // listed as invited; no record of its own (D10, D109)
	}
	for _, nm := range added {
		out.Events = append(out.Events, c.invitation(nm, now))
	}
	for _, b := range busy {
		for _, o := range c.members {
			out.Events = append(out.Events, to(o, protocol.EventUserLineBusy, c.userEvent(b)))
		}
	}
	if len(added) > 0 {
		update := protocol.InviteeListUpdateEvent{CallID: c.id, UserIDList: c.ringing()}
		for _, o := range c.members {
			if o.state == InCall {
				out.Events = append(out.Events, to(o, protocol.EventGroupCallInviteeListUpdate, update))
			}
		}
	}
	return out, nil
}

// Join enters the active group call callID without an invitation (D17, G7, join({callId}))
// from session (empty when unknown). An unknown call, one nobody accepted yet, or a 1v1
// call → ErrNoSuchCall. See joinCall.
func (m *Machine) Join(now time.Time, p Profile, session, callID string) (Output, error) {
	c := m.calls[callID]
	if c == nil || c.state != Active || c.scene != protocol.SceneGroup {
		return Output{}, fmt.Errorf("join by %s of call %q: %w", p.UserID, callID, ErrNoSuchCall)
	}
	return m.joinCall(now, c, p, session)
}

// JoinInGroupCall enters the active group call of groupID in roomID (D17, G7) from session
// (empty when unknown). No such active group call → ErrNoSuchCall. mediaType must be 0,
// audio or video; the joiner takes the call's media type. See joinCall.
func (m *Machine) JoinInGroupCall(now time.Time, p Profile, session string, roomID protocol.RoomID, groupID string, mediaType protocol.MediaType) (Output, error) {
	if mediaType != protocol.MediaTypeUnknown && !mediaType.Valid() {
		return Output{}, fmt.Errorf("joinInGroupCall by %s: media type %d: %w", p.UserID, mediaType, ErrInvalidMediaType)
	}
	var found *call
	for _, c := range m.byRoom[roomID] {
		if c.state == Active && c.scene == protocol.SceneGroup && c.group == groupID {
			if found == nil || c.createdAt.Before(found.createdAt) || (c.createdAt.Equal(found.createdAt) && c.id < found.id) {
				found = c
			}
		}
	}
	if found == nil {
		return Output{}, fmt.Errorf("joinInGroupCall by %s of group %q in room %s: %w", p.UserID, groupID, roomID, ErrNoSuchCall)
	}
	return m.joinCall(now, found, p, session)
}

// joinCall makes p IN_CALL in active group call c on session: p gets onCallBegin and joins
// the room; the others learn of it from the room (onUserJoin, D15). A user ringing for c
// joins as if it accepted on session; a user otherwise in a call → ErrAlreadyInCall; a
// full call → ErrTooManyInvitees.
func (m *Machine) joinCall(now time.Time, c *call, p Profile, session string) (Output, error) {
	u := p.UserID
	if cur, mem := m.lookup(u); mem != nil {
		if cur == c && mem.state == Ringing {
			return m.Accept(now, u, session, protocol.MediaTypeUnknown)
		}
		return Output{}, fmt.Errorf("join by %s of call %s: %w", u, c.id, ErrAlreadyInCall)
	}
	if len(c.members)+1 > m.cfg.MaxMembers {
		return Output{}, fmt.Errorf("join by %s of call %s: %d members: %w", u, c.id, len(c.members), ErrTooManyInvitees)
	}
	part := c.participation(u, protocol.RoleCalled)
	mem := &member{user: u, role: part.role, session: session}
	c.members = append(c.members, mem)
	m.users[u] = c
	c.beginTalk(mem, now)
	out := Output{CallID: c.id, RoomID: c.room}
	out.Events = append(out.Events, to(mem, protocol.EventCallBegin, c.begin(mem)))
	out.Actions = append(out.Actions, c.roomAction(JoinRoom, mem))
	return out, nil
}

// SwitchMediaType changes the media of u's 1v1 call, either direction, by either side,
// while unanswered or active (D18, §5.3#10): u and then the other side get
// onCallMediaTypeChanged(old, new). Idle → ErrNotInCall; group call → ErrGroupMediaSwitch
// (G11); the current type → no change and no events.
func (m *Machine) SwitchMediaType(now time.Time, u string, mediaType protocol.MediaType) (Output, error) {
	c, mem := m.lookup(u)
	if mem == nil {
		return Output{}, fmt.Errorf("switchCallMediaType by %s: %w", u, ErrNotInCall)
	}
	if !mediaType.Valid() {
		return Output{}, fmt.Errorf("switchCallMediaType by %s: media type %d: %w", u, mediaType, ErrInvalidMediaType)
	}
	if c.scene != protocol.SceneSingle {
		return Output{}, fmt.Errorf("switchCallMediaType by %s in call %s: %w", u, c.id, ErrGroupMediaSwitch)
	}
	out := Output{CallID: c.id, RoomID: c.room}
	if mediaType != c.media {
		m.switchMedia(c, mem, mediaType, &out)
	}
	return out, nil
}

// switchMedia sets c's media type and tells by and then every other member.
func (m *Machine) switchMedia(c *call, by *member, mediaType protocol.MediaType, out *Output) {
	ev := protocol.CallMediaTypeChangedEvent{CallID: c.id, OldMediaType: c.media, NewMediaType: mediaType}
	c.media = mediaType
	out.Events = append(out.Events, to(by, protocol.EventCallMediaTypeChanged, ev))
	for _, o := range c.members {
		if o != by {
			out.Events = append(out.Events, to(o, protocol.EventCallMediaTypeChanged, ev))
		}
	}
}
