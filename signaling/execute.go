package signaling

// Carrying out the call machine's output: what runs under Service.mu and what is queued
// on the sessions' effects (effects.go; docs/architecture.md, concurrency).

import (
	"context"

	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// executeLocked carries out an output of t's machine. Under the lock it only updates the
// registry and queues the work on the sessions' effects (effects.go): room joins and leaves
// first (so a client that gets onCallBegin finds its room ready, and the others present
// hear a leaving user's onUserLeave before the call's onCallEnd, D240), then events; records
// are written from the acting session's queue (or the background one), hooks are told at
// once (they only queue). Everything is stamped with t's app. by is the session whose
// request produced out (nil for timers).
func (s *Service) executeLocked(t *tenant, out call.Output, by *session) {
	var leaves leaveChain
	for _, a := range out.Actions {
		s.roomActionLocked(t, a, by, &leaves)
	}
	s.sweepEarlyLocked(t, out, &leaves)
	for _, ev := range out.Events {
		s.deliverLocked(t, ev)
	}
	if len(out.Records) > 0 {
		records := out.Records
		for i := range records {
			records[i].SDKAppID = t.app
		}
		write := func() {
			if err := s.records.Add(context.Background(), records); err != nil {
				s.log.Error("store call records", "app", t.app, "error", err)
			}
		}
		if by != nil {
			by.later(write)
		} else {
			s.background.do(write)
		}
	}
	for _, b := range out.Began {
		b.SDKAppID = t.app
		s.hooks.CallBegan(b)
	}
	for _, e := range out.Ended {
		e.SDKAppID = t.app
		for i := range e.Records {
			e.Records[i].SDKAppID = t.app
		}
		s.hooks.CallEnded(e)
	}
	s.armDeadlineLocked(t)
}

// deliverLocked sends one event to the addressed sessions of its user. An invitation to a
// user with no session is kept by the machine (PendingInvitations) and reported to the
// InviteeOffline hook (D9). So is one that reached only sessions whose socket is lost: they
// keep it for their resume, but the user is not online and an app server should push it
// (D265).
func (s *Service) deliverLocked(t *tenant, ev call.Event) {
	u := t.users[ev.To]
	online := 0
	if u != nil {
		for _, sess := range u.sessions {
			if ev.OnlySession != "" && sess.id != ev.OnlySession {
				continue
			}
			if ev.ExceptSession != "" && sess.id == ev.ExceptSession {
				continue
			}
			sess.postEvent(ev)
			if !sess.isDetached() {
				online++
			}
		}
	}
	if online == 0 && ev.Name == protocol.EventCallReceived {
		if _, first := t.machine.OfflineReport(s.now(), ev.To); first {
			s.reportOfflineLocked(t, ev.To, ev.Payload)
		}
	}
}

// reportOfflineIfLostLocked reports userID's ringing invitation to the InviteeOffline hook
// when the user still has sessions but none of them is online any more: its last online
// session logged out, was ended or lost its socket while others wait for a resume (D286).
// The machine lets each invitation be reported once (call.Machine.OfflineReport), here or
// when it was issued. A user with no session left is not reported: its invitation was
// turned down (D28) or a fresh login takes it over (D110).
func (s *Service) reportOfflineIfLostLocked(t *tenant, userID string) {
	u := t.users[userID]
	if u == nil || len(u.sessions) == 0 || s.closed {
		return
	}
	for _, sess := range u.sessions {
		if !sess.isDetached() {
			return
		}
	}
	if ev, first := t.machine.OfflineReport(s.now(), userID); first {
		s.reportOfflineLocked(t, userID, ev.Payload)
	}
}

// reportOfflineLocked tells the InviteeOffline hook of invitation (an onCallReceived
// payload) to userID.
func (s *Service) reportOfflineLocked(t *tenant, userID string, invitation any) {
	if inv, ok := invitation.(protocol.CallReceivedEvent); ok {
		s.hooks.InviteeOffline(t.app, inv.CallID, userID, inv)
	}
}

// leaveChain orders the room leaves of one machine output: each waits for the one before
// it, so the room sees them in the machine's order (the user who hung up leaves first).
// The others heard its onUserLeave already, when the output was carried out (D240). A
// leave only ever waits for one queued earlier, so the queues cannot wait for each other
// in a circle.
type leaveChain struct{ last <-chan struct{} }

// then queues leave on sess after the chain's previous leave.
func (c *leaveChain) then(sess *session, leave func()) {
	prev, done := c.last, make(chan struct{})
	c.last = done
	sess.later(func() {
		if prev != nil {
			<-prev
		}
		leave()
		close(done)
	})
}

// roomActionLocked joins or leaves the call's room (in t's app) for the user's call
// session.
func (s *Service) roomActionLocked(t *tenant, a call.RoomAction, by *session, leaves *leaveChain) {
	if a.Kind == call.LeaveRoom {
		// The others present hear onUserLeave now, ahead of the call events of this output
		// (the onCallEnd of the last one left), not when the room reports the leave (D240).
		if id, err := t.roomID(a.RoomID); err == nil {
			s.departLocked(id, a.UserID)
		}
	}
	u := t.users[a.UserID]
	if u == nil {
		return
	}
	sess := s.callSessionLocked(u, a.Session, by)
	switch a.Kind {
	case call.JoinRoom:
		if sess == nil {
			s.log.Warn("call room join without a session", "user", a.UserID, "call", a.CallID)
			return
		}
		u.callSession = sess.id
		id, err := t.roomID(a.RoomID)
		if err != nil {
			s.log.Error("call has an invalid room", "call", a.CallID, "room", a.RoomID.String(), "error", err)
			return
		}
		earlyGone := t.takeEarlyLocked(u.id, sess, id)
		exits := t.pendingExitsLocked(u.id) // of its sessions a login just kicked (D317)
		acceptedAt := s.now()               // the origin of the call's steps (D135)
		sess.later(func() {
			if earlyGone != nil {
				<-earlyGone // another device's early participant left the room first
			}
			if !awaitExitsFor(exits, callExitWait) {
				s.log.Warn("call room join: an ended session's room exit took longer than the wait", "user", a.UserID, "call", a.CallID, "wait", callExitWait)
			}
			if err := sess.enterCallRoom(id, acceptedAt); err != nil {
				s.log.Warn("call room join failed", "user", a.UserID, "call", a.CallID, "error", err)
			}
		})
	case call.LeaveRoom:
		if id, err := t.roomID(a.RoomID); err == nil {
			for _, cand := range u.sessions {
				leaves.then(cand, func() {
					if cand.inRoom(id) {
						cand.exitRoom()
					}
				})
			}
		}
		if u.callSession != "" && (sess == nil || sess.id == u.callSession) {
			u.callSession = ""
		}
	}
}

// callSessionLocked picks the session that acts for u in its call: the named one, the
// recorded call session, the requesting session, or the only one.
func (s *Service) callSessionLocked(u *user, named string, by *session) *session {
	for _, want := range []string{named, u.callSession} {
		if want == "" {
			continue
		}
		for _, sess := range u.sessions {
			if sess.id == want {
				return sess
			}
		}
	}
	if by != nil && by.userID == u.id && by.app == u.tenant.app {
		return by
	}
	if len(u.sessions) > 0 {
		return u.sessions[0]
	}
	return nil
}

// armDeadlineLocked points t's deadline timer at its machine's next invitation timeout.
func (s *Service) armDeadlineLocked(t *tenant) {
	if t.deadline != nil {
		s.stopTimer(t.deadline)
		t.deadline = nil
	}
	if s.closed {
		return
	}
	at, ok := t.machine.NextDeadline()
	if !ok {
		return
	}
	d := at.Sub(s.now())
	if d < 0 {
		d = 0
	}
	t.deadline = s.afterFunc(d, func() { s.onDeadline(t) })
}

func (s *Service) onDeadline(t *tenant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	t.deadline = nil
	s.executeLocked(t, t.machine.Tick(s.now()), nil)
}
