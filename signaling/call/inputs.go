package call

import (
	"errors"
	"fmt"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// errCallIDInUse reports an IDSource that broke its contract.
var errCallIDInUse = errors.New("IDSource returned a callId that is in use")

// ringTime converts a requested timeout in seconds (0 → default) into the ringing time (D8).
func (m *Machine) ringTime(timeout int) (time.Duration, error) {
	if timeout == 0 {
		return m.cfg.DefaultTimeout, nil
	}
	if timeout < 0 || int64(timeout) > int64(m.cfg.MaxTimeout/time.Second) {
		return 0, fmt.Errorf("timeout %d s outside %v..%v: %w", timeout, m.cfg.MinTimeout, m.cfg.MaxTimeout, ErrInvalidTimeout)
	}
	d := time.Duration(timeout) * time.Second
	if d < m.cfg.MinTimeout {
		return 0, fmt.Errorf("timeout %d s outside %v..%v: %w", timeout, m.cfg.MinTimeout, m.cfg.MaxTimeout, ErrInvalidTimeout)
	}
	return d, nil
}

// dedupe returns ids without repeats, first occurrence kept.
func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		dup := false
		for _, prev := range ids[:i] {
			if prev == id {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, id)
		}
	}
	return out
}

// contains reports whether ids holds id.
func contains(ids []string, id string) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// Call starts a call (call / groupCall / calls, D6–D8, D10, §5.3#1–#2, G1). Every invitee
// that is idle starts ringing and gets onCallReceived (callerId = caller, calleeIdList = the
// ringing invitees); a busy invitee (dialing, ringing or in a call) is left alone and the
// caller and the ringing invitees get onUserLineBusy for it. When every invitee is busy
// the call ends at once: the caller gets onCallCancelled(userId = caller, "busy").
// Duplicate invitees count once.
func (m *Machine) Call(now time.Time, req CallRequest) (Output, error) {
	caller := req.Caller.UserID
	if !req.MediaType.Valid() {
		return Output{}, fmt.Errorf("call by %s: media type %d: %w", caller, req.MediaType, ErrInvalidMediaType)
	}
	ring, err := m.ringTime(req.Timeout)
	if err != nil {
		return Output{}, fmt.Errorf("call by %s: %w", caller, err)
	}
	invitees := dedupe(req.Invitees)
	switch {
	case len(invitees) == 0:
		return Output{}, fmt.Errorf("call by %s: %w", caller, ErrNoInvitees)
	case contains(invitees, caller):
		return Output{}, fmt.Errorf("call by %s: %w", caller, ErrSelfInvite)
	case req.Kind == KindSingle && len(invitees) > 1:
		return Output{}, fmt.Errorf("call by %s: 1v1 call with %d callees: %w", caller, len(invitees), ErrTooManyInvitees)
	case len(invitees)+1 > m.cfg.MaxMembers:
		return Output{}, fmt.Errorf("call by %s: %d invitees, at most %d: %w", caller, len(invitees), m.cfg.MaxMembers-1, ErrTooManyInvitees)
	case m.users[caller] != nil:
		return Output{}, fmt.Errorf("call by %s (%s): %w", caller, m.UserState(caller).State, ErrCallerBusy)
	}
	scene, group := protocol.SceneGroup, req.GroupID
	switch req.Kind {
	case KindSingle:
		scene, group = protocol.SceneSingle, ""
	case KindCalls:
		group = req.ChatGroupID
		if len(invitees) == 1 && group == "" {
			scene = protocol.SceneSingle
		}
	}
	room := req.RoomID
	if room.IsZero() {
		room = m.ids.AllocateRoomID()
	}
	id := m.ids.NewCallID()
	if m.calls[id] != nil {
		return Output{}, fmt.Errorf("call by %s: callId %q: %w", caller, id, errCallIDInUse)
	}

	c := &call{
		id: id, room: room, scene: scene, media: req.MediaType, group: group,
		caller: req.Caller, userData: req.UserData, push: req.OfflinePushInfo,
		state: Inviting, createdAt: now,
	}
	callerMem := &member{user: caller, state: Dialing, role: protocol.RoleCaller, session: req.Session}
	c.participation(caller, protocol.RoleCaller)
	var pending []*member
	var busy []string
	for _, u := range invitees {
		c.noteInvited(u)
		if m.users[u] != nil {
			busy = append(busy, u) // no record of its own: it hears nothing of the call (D10, D109)
			continue
		}
		c.participation(u, protocol.RoleCalled)
		pending = append(pending, &member{user: u, state: Ringing, role: protocol.RoleCalled, inviter: req.Caller,
			userData: req.UserData, push: req.OfflinePushInfo})
	}
	out := Output{CallID: id, RoomID: room}
	if len(pending) == 0 {
		for _, b := range busy {
			out.Events = append(out.Events, to(callerMem, protocol.EventUserLineBusy, c.userEvent(b)))
		}
		out.Events = append(out.Events, to(callerMem, protocol.EventCallCancelled, c.cancelled(caller, protocol.CancelReasonBusy, protocol.RoleCaller)))
		m.finish(now, c, &out, OutcomeUnanswered)
		return out, nil
	}

	c.members = append([]*member{callerMem}, pending...)
	m.register(c)
	for _, mem := range c.members {
		m.users[mem.user] = c
	}
	for _, mem := range pending {
		m.arm(c, mem, now.Add(ring))
	}
	for _, mem := range pending {
		out.Events = append(out.Events, c.invitation(mem, now))
	}
	for _, b := range busy {
		for _, o := range c.members {
			out.Events = append(out.Events, to(o, protocol.EventUserLineBusy, c.userEvent(b)))
		}
	}
	return out, nil
}

// Accept answers u's ringing invitation on session (D14, §5.3#3, G2). u's other sessions get
// onCallCancelled(userId = u, "answeredElsewhere") (D4); every other member gets
// onUserAccept(u); at the first accept the caller gets onCallBegin and joins the room; u
// gets onCallBegin on session and joins the room. mediaType 0 keeps the call's type;
// another type in a 1v1 call is accept plus a switch (D18: both sides get
// onCallMediaTypeChanged before onCallBegin, which carries the new type); in a group call
// it fails with ErrGroupMediaSwitch.
func (m *Machine) Accept(now time.Time, u, session string, mediaType protocol.MediaType) (Output, error) {
	c, mem := m.lookup(u)
	if mem == nil || mem.state != Ringing {
		return Output{}, fmt.Errorf("accept by %s: %w", u, ErrNotRinging)
	}
	if mediaType != protocol.MediaTypeUnknown && !mediaType.Valid() {
		return Output{}, fmt.Errorf("accept by %s: media type %d: %w", u, mediaType, ErrInvalidMediaType)
	}
	switchTo := protocol.MediaTypeUnknown
	if mediaType != protocol.MediaTypeUnknown && mediaType != c.media {
		if c.scene != protocol.SceneSingle {
			return Output{}, fmt.Errorf("accept by %s with media type %d in call %s: %w", u, mediaType, c.id, ErrGroupMediaSwitch)
		}
		switchTo = mediaType
	}
	out := Output{CallID: c.id, RoomID: c.room}
	if session != "" {
		out.Events = append(out.Events, Event{To: u, ExceptSession: session, Name: protocol.EventCallCancelled,
			Payload: c.cancelled(u, protocol.CancelReasonAnsweredElsewhere, mem.role)})
	}
	mem.session = session
	c.beginTalk(mem, now)
	for _, o := range c.members {
		if o != mem {
			out.Events = append(out.Events, to(o, protocol.EventUserAccept, c.userEvent(u)))
		}
	}
	if switchTo != protocol.MediaTypeUnknown {
		m.switchMedia(c, mem, switchTo, &out)
	}
	if c.state == Inviting {
		c.state = Active
		c.beganAt = now
		caller := c.member(c.caller.UserID)
		c.beginTalk(caller, now)
		out.Events = append(out.Events, to(caller, protocol.EventCallBegin, c.begin(caller)))
		out.Actions = append(out.Actions, c.roomAction(JoinRoom, caller))
		out.Began = append(out.Began, c.summary("", time.Time{}))
	}
	out.Events = append(out.Events, to(mem, protocol.EventCallBegin, c.begin(mem)))
	out.Actions = append(out.Actions, c.roomAction(JoinRoom, mem))
	// The last ringing invitee of a group call everyone else left answers into an empty
	// call: fewer than two IN_CALL and nobody ringing, so it ends for u at once (D16, D216).
	m.settle(now, c, &out, protocol.CancelReasonCancel, u)
	return out, nil
}

// Reject declines u's ringing invitation from session (D13, §5.3#4, G3): every other member
// gets onUserReject(u); u gets onCallCancelled(userId = u, "reject") on session and
// "rejectedElsewhere" on its other sessions (D4); when no invitee is left ringing in an
// unanswered call the caller gets onCallCancelled(userId = caller, "reject").
func (m *Machine) Reject(now time.Time, u, session string) (Output, error) {
	return m.dropRinging(now, u, session, "reject", dropReject)
}

// Ignore drops u's ringing invitation from session (D11, §5.3#5): every other member gets
// onUserLineBusy(u); u gets onCallCancelled(userId = u, "ignore") on session and
// "rejectedElsewhere" on its other sessions; when that leaves nobody ringing in an
// unanswered call the caller gets onCallCancelled(userId = caller, "busy"), exactly as if u
// had been busy.
func (m *Machine) Ignore(now time.Time, u, session string) (Output, error) {
	return m.dropRinging(now, u, session, "ignore", dropIgnore)
}

// dropRinging drops u's ringing invitation from session as kind says (Reject, Ignore);
// verb names the input in the error when u has no ringing invitation.
func (m *Machine) dropRinging(now time.Time, u, session, verb string, kind dropKind) (Output, error) {
	c, mem := m.lookup(u)
	if mem == nil || mem.state != Ringing {
		return Output{}, fmt.Errorf("%s by %s: %w", verb, u, ErrNotRinging)
	}
	out := Output{CallID: c.id, RoomID: c.room}
	m.dropInvitee(now, c, mem, &out, kind, session)
	return out, nil
}

// Hangup acts by u's state: DIALING cancels the call (D12, §5.3#7, G9); IN_CALL leaves it
// (D16, §5.3#9, G8): u gets onCallEnd, and a 1v1 call, or a group call left with fewer than
// two IN_CALL and nobody ringing, ends for everyone; RINGING rejects (as Reject with no
// session). Idle → ErrNotInCall.
func (m *Machine) Hangup(now time.Time, u string) (Output, error) {
	return m.HangupFrom(now, u, "")
}

// HangupFrom is Hangup by u's session: a ringing u rejects exactly as Reject from session,
// so u's other sessions get onCallCancelled "rejectedElsewhere" (D4).
func (m *Machine) HangupFrom(now time.Time, u, session string) (Output, error) {
	if c, mem := m.lookup(u); mem != nil && mem.state == Ringing {
		out := Output{CallID: c.id, RoomID: c.room}
		m.dropInvitee(now, c, mem, &out, dropReject, session)
		return out, nil
	}
	return m.depart(now, u, "hangup", "", protocol.CancelReasonCancel)
}

// Disconnect ends u's part in its call because u's session went away (logout, kick,
// socket loss, userSig grace expired; D2, D4, §5.3#8, #14): as Hangup by state, except that
// a ringing u counts as a reject and reason (default "disconnect") is the reason of the
// onCallCancelled events it causes. Idle → ErrNotInCall.
func (m *Machine) Disconnect(now time.Time, u, reason string) (Output, error) {
	if reason == "" {
		reason = protocol.CancelReasonDisconnect
	}
	return m.depart(now, u, "disconnect", reason, reason)
}

// depart is Hangup and Disconnect. ringReason is the ringing user's own cancel reason (""
// → an ordinary reject); reason is the cancel reason of a dialing caller or of an emptied
// call.
func (m *Machine) depart(now time.Time, u, op, ringReason, reason string) (Output, error) {
	c, mem := m.lookup(u)
	if mem == nil {
		return Output{}, fmt.Errorf("%s by %s: %w", op, u, ErrNotInCall)
	}
	out := Output{CallID: c.id, RoomID: c.room}
	switch mem.state {
	case Ringing:
		kind := dropReject
		if ringReason != "" {
			kind = dropDisconnect(ringReason)
		}
		m.dropInvitee(now, c, mem, &out, kind, "")
	case Dialing:
		m.cancel(now, c, mem, &out, reason)
	default:
		m.leave(now, c, mem, &out, reason)
	}
	return out, nil
}
