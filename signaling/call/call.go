package call

import (
	"encoding/json"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// member is a user currently in a call: the dialing caller, a ringing invitee or an IN_CALL
// participant.
type member struct {
	user  string
	state State // Dialing, Ringing or InCall
	role  protocol.Role
	// inviter invited a ringing member (its profile is shown in onCallReceived), with
	// the userData and offlinePushInfo of that invitation.
	inviter  Profile
	userData string
	push     json.RawMessage
	// deadline and timer identify the ringing timer (timer changes with every invitation so
	// that stale heap entries are recognised).
	deadline time.Time
	timer    uint64
	// offline is the timer of the invitation last reported offline (OfflineReport): each
	// invitation is reported once.
	offline uint64
	// session is the session that called, accepted or joined ("" when unknown).
	session string
	began   time.Time
}

// participation is what the records need about a user who was invited to or took part in
// a call, kept after the user leaves.
type participation struct {
	user       string
	role       protocol.Role
	talked     bool
	firstBegin time.Time
	talk       time.Duration // finished IN_CALL segments
}

// call is one call that has not ended.
type call struct {
	id        string
	room      protocol.RoomID
	scene     protocol.Scene
	media     protocol.MediaType
	group     string
	caller    Profile
	userData  string
	push      json.RawMessage
	state     CallState
	createdAt time.Time
	beganAt   time.Time
	members   []*member        // in order of arrival
	parts     []*participation // caller first, then in order of first arrival
	invited   []string         // everyone ever invited, in order
}

// member returns the current member u, or nil.
func (c *call) member(u string) *member {
	for _, m := range c.members {
		if m.user == u {
			return m
		}
	}
	return nil
}

// removeMember drops u from the members (keeping its participation).
func (c *call) removeMember(u string) {
	for i, m := range c.members {
		if m.user == u {
			c.members = append(c.members[:i], c.members[i+1:]...)
			return
		}
	}
}

// participation returns u's participation, adding one with role when absent.
func (c *call) participation(u string, role protocol.Role) *participation {
	for _, p := range c.parts {
		if p.user == u {
			return p
		}
	}
	p := &participation{user: u, role: role}
	c.parts = append(c.parts, p)
	return p
}

// noteInvited adds u to the invited list once.
func (c *call) noteInvited(u string) {
	for _, v := range c.invited {
		if v == u {
			return
		}
	}
	c.invited = append(c.invited, u)
}

// count returns how many members are in state s.
func (c *call) count(s State) int {
	n := 0
	for _, m := range c.members {
		if m.state == s {
			n++
		}
	}
	return n
}

// ringing lists the ringing members' user IDs in order.
func (c *call) ringing() []string {
	ids := make([]string, 0, len(c.members))
	for _, m := range c.members {
		if m.state == Ringing {
			ids = append(ids, m.user)
		}
	}
	return ids
}

// beginTalk marks m IN_CALL from now.
func (c *call) beginTalk(m *member, now time.Time) {
	m.state = InCall
	m.began = now
	m.deadline = time.Time{}
	p := c.participation(m.user, m.role)
	if !p.talked {
		p.talked = true
		p.firstBegin = now
	}
}

// endTalk closes m's IN_CALL segment at now and returns its whole seconds (0 if the
// clock went backwards).
func (c *call) endTalk(m *member, now time.Time) int64 {
	d := now.Sub(m.began)
	if d < 0 {
		d = 0
	}
	c.participation(m.user, m.role).talk += d
	return int64(d / time.Second)
}

// to addresses an event to member m: its accepting session when known.
func to(m *member, name string, payload any) Event {
	return Event{To: m.user, OnlySession: m.session, Name: name, Payload: payload}
}

// userEvent is the payload of onUserAccept/Reject/NoResponse/LineBusy.
func (c *call) userEvent(u string) protocol.UserEvent {
	return protocol.UserEvent{CallID: c.id, UserID: u}
}

// cancelled is an onCallCancelled payload for a receiver with role.
func (c *call) cancelled(by, reason string, role protocol.Role) protocol.CallCancelledEvent {
	return protocol.CallCancelledEvent{CallID: c.id, UserID: by, Reason: reason, RoomID: c.room, MediaType: c.media, Role: role}
}

// begin is the onCallBegin payload for m.
func (c *call) begin(m *member) protocol.CallBeginEvent {
	return protocol.CallBeginEvent{CallID: c.id, RoomID: c.room, MediaType: c.media, Role: m.role}
}

// end is the onCallEnd payload for m.
func (c *call) end(m *member, totalSeconds int64, by string) protocol.CallEndEvent {
	return protocol.CallEndEvent{CallID: c.id, RoomID: c.room, MediaType: c.media, Role: m.role, TotalTime: totalSeconds, UserID: by}
}

// invitation is the onCallReceived event of ringing member m at now.
func (c *call) invitation(m *member, now time.Time) Event {
	ev := to(m, protocol.EventCallReceived, c.received(m, now))
	ev.RingsUntil = m.deadline
	return ev
}

// received is the onCallReceived payload for ringing member m at now.
func (c *call) received(m *member, now time.Time) protocol.CallReceivedEvent {
	return protocol.CallReceivedEvent{
		CallID:          c.id,
		CallerID:        m.inviter.UserID,
		CalleeIDList:    c.ringing(),
		GroupID:         c.group,
		MediaType:       c.media,
		UserData:        m.userData,
		RoomID:          c.room,
		Scene:           c.scene,
		Role:            protocol.RoleCalled,
		CallerNickname:  m.inviter.Nickname,
		CallerAvatar:    m.inviter.Avatar,
		Timeout:         RemainingSeconds(m.deadline, now),
		OfflinePushInfo: m.push,
	}
}

// RemainingSeconds is the timeout of an onCallReceived sent at now for an invitation that
// rings until deadline: the time left rounded up to whole seconds, and at least 1 — an
// invitation that still rings (its timer may run late, D215) never says 0.
func RemainingSeconds(deadline, now time.Time) int {
	return max(1, int((deadline.Sub(now)+time.Second-1)/time.Second))
}

// roomAction is a join/leave of m.
func (c *call) roomAction(kind ActionKind, m *member) RoomAction {
	return RoomAction{Kind: kind, UserID: m.user, Session: m.session, RoomID: c.room, CallID: c.id, MediaType: c.media}
}

// summary describes c; outcome and endedAt are zero for a call that just began.
func (c *call) summary(outcome Outcome, endedAt time.Time) CallSummary {
	return CallSummary{
		CallID:    c.id,
		RoomID:    c.room,
		Scene:     c.scene,
		MediaType: c.media,
		GroupID:   c.group,
		Caller:    c.caller.UserID,
		Invitees:  append([]string(nil), c.invited...),
		Outcome:   outcome,
		CreatedAt: c.createdAt,
		BeganAt:   c.beganAt,
		EndedAt:   endedAt,
	}
}

// records builds one record per participation (D22).
func (c *call) records() []protocol.CallRecord {
	recs := make([]protocol.CallRecord, 0, len(c.parts))
	for _, p := range c.parts {
		r := protocol.CallRecord{
			CallID:    c.id,
			UserID:    p.user,
			Caller:    c.caller.UserID,
			Invitees:  append([]string(nil), c.invited...),
			Scene:     c.scene,
			MediaType: c.media,
			GroupID:   c.group,
			RoomID:    c.room,
			Role:      p.role,
			BeginTime: c.createdAt.Unix(),
			TotalTime: int64(p.talk / time.Second),
		}
		switch {
		case p.role == protocol.RoleCaller:
			r.Result = protocol.CallResultOutgoing
		case p.talked:
			r.Result = protocol.CallResultIncoming
		default:
			r.Result = protocol.CallResultMissed
		}
		if p.talked {
			r.BeginTime = p.firstBegin.Unix()
		}
		recs = append(recs, r)
	}
	return recs
}

// snapshot copies c.
func (c *call) snapshot() Snapshot {
	s := Snapshot{
		CallID:    c.id,
		RoomID:    c.room,
		Scene:     c.scene,
		MediaType: c.media,
		GroupID:   c.group,
		Caller:    c.caller.UserID,
		State:     c.state,
		CreatedAt: c.createdAt,
		BeganAt:   c.beganAt,
		Invited:   append([]string(nil), c.invited...),
		Members:   make([]MemberSnapshot, 0, len(c.members)),
	}
	for _, m := range c.members {
		s.Members = append(s.Members, MemberSnapshot{
			UserID:   m.user,
			State:    m.state,
			Role:     m.role,
			Inviter:  m.inviter.UserID,
			Deadline: m.deadline,
			Session:  m.session,
			Began:    m.began,
		})
	}
	return s
}
