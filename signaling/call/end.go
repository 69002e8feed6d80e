package call

import (
	"slices"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// dropKind says how a ringing invitee leaves: the notice the others get, the reason on the
// invitee's own onCallCancelled, and the reason on the caller's onCallCancelled when that
// ends an unanswered call.
type dropKind struct {
	notice     string
	selfReason string
	endReason  string
}

var (
	dropReject  = dropKind{notice: protocol.EventUserReject, selfReason: protocol.CancelReasonReject, endReason: protocol.CancelReasonReject}
	dropIgnore  = dropKind{notice: protocol.EventUserLineBusy, selfReason: protocol.CancelReasonIgnore, endReason: protocol.CancelReasonBusy}
	dropTimeout = dropKind{notice: protocol.EventUserNoResponse, selfReason: protocol.CancelReasonTimeout, endReason: protocol.CancelReasonTimeout}
)

// dropDisconnect is a ringing invitee going away: a reject towards the others (D4) with the
// disconnect reason.
func dropDisconnect(reason string) dropKind {
	return dropKind{notice: protocol.EventUserReject, selfReason: reason, endReason: reason}
}

// dropInvitee removes ringing mem (reject, ignore, timeout, disconnect). Every other member
// gets the notice (D13: in 1v1 that is the caller); mem gets onCallCancelled(userId = mem)
// on session and, when session is set, "rejectedElsewhere" on its other sessions (D4).
// Then the call may end (settle).
func (m *Machine) dropInvitee(now time.Time, c *call, mem *member, out *Output, kind dropKind, session string) {
	for _, o := range c.members {
		if o != mem {
			out.Events = append(out.Events, to(o, kind.notice, c.userEvent(mem.user)))
		}
	}
	self := c.cancelled(mem.user, kind.selfReason, mem.role)
	if session == "" {
		out.Events = append(out.Events, Event{To: mem.user, Name: protocol.EventCallCancelled, Payload: self})
	} else {
		elsewhere := self
		elsewhere.Reason = protocol.CancelReasonRejectedElsewhere
		out.Events = append(out.Events,
			Event{To: mem.user, OnlySession: session, Name: protocol.EventCallCancelled, Payload: self},
			Event{To: mem.user, ExceptSession: session, Name: protocol.EventCallCancelled, Payload: elsewhere})
	}
	c.removeMember(mem.user)
	delete(m.users, mem.user)
	m.settle(now, c, out, kind.endReason, mem.user)
}

// leave takes IN_CALL mem out of the call: it gets onCallEnd (D16) and leaves the room; then
// the call may end. reason goes to invitees still ringing if the call ends with nobody in it.
func (m *Machine) leave(now time.Time, c *call, mem *member, out *Output, reason string) {
	secs := c.endTalk(mem, now)
	out.Events = append(out.Events, to(mem, protocol.EventCallEnd, c.end(mem, secs, mem.user)))
	out.Actions = append(out.Actions, c.roomAction(LeaveRoom, mem))
	c.removeMember(mem.user)
	delete(m.users, mem.user)
	m.settle(now, c, out, reason, mem.user)
}

// cancel ends an unanswered call because its caller hung up or went away (D12): the caller
// and every ringing invitee get onCallCancelled(userId = caller).
func (m *Machine) cancel(now time.Time, c *call, caller *member, out *Output, reason string) {
	out.Events = append(out.Events, to(caller, protocol.EventCallCancelled, c.cancelled(caller.user, reason, caller.role)))
	for _, o := range c.members {
		if o.state == Ringing {
			out.Events = append(out.Events, to(o, protocol.EventCallCancelled, c.cancelled(caller.user, reason, o.role)))
		}
	}
	m.finish(now, c, out, OutcomeCancelled)
}

// settle ends c if a member's departure (by user by), or an answer into a group call
// nobody else is in any more, left it over:
//   - INVITING with nobody ringing: the caller gets onCallCancelled(userId = caller, reason)
//     (D10, D13, §5.3#4–#6);
//   - ACTIVE 1v1 with fewer than two IN_CALL (D16);
//   - ACTIVE group with fewer than two IN_CALL and nobody ringing (D16). While an invitee
//     rings the group call goes on even with nobody IN_CALL: the invitees may still answer
//     and meet there (D216).
//
// Users left IN_CALL get onCallEnd(userId = by) and leave the room.
func (m *Machine) settle(now time.Time, c *call, out *Output, reason, by string) {
	switch c.state {
	case Inviting:
		if c.count(Ringing) > 0 {
			return
		}
		caller := c.member(c.caller.UserID)
		out.Events = append(out.Events, to(caller, protocol.EventCallCancelled, c.cancelled(caller.user, reason, caller.role)))
		m.finish(now, c, out, OutcomeUnanswered)
	case Active:
		inCall, ringing := c.count(InCall), c.count(Ringing)
		if inCall >= 2 || (ringing > 0 && c.scene != protocol.SceneSingle) {
			return
		}
		for _, o := range c.members {
			if o.state == InCall {
				secs := c.endTalk(o, now)
				out.Events = append(out.Events, to(o, protocol.EventCallEnd, c.end(o, secs, by)))
				out.Actions = append(out.Actions, c.roomAction(LeaveRoom, o))
			}
		}
		for _, o := range c.members {
			if o.state == Ringing {
				out.Events = append(out.Events, to(o, protocol.EventCallCancelled, c.cancelled(by, reason, o.role)))
			}
		}
		m.finish(now, c, out, OutcomeAnswered)
	}
}

// finish ends c: records for everyone who took part or was invited (D22), the summary, and
// the call is forgotten.
func (m *Machine) finish(now time.Time, c *call, out *Output, outcome Outcome) {
	records := c.records()
	out.Records = append(out.Records, records...)
	summary := c.summary(outcome, now)
	summary.Records = slices.Clone(records)
	out.Ended = append(out.Ended, summary)
	m.forget(c)
}
