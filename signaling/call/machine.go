package call

import (
	"container/heap"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// Machine holds every call that has not ended and every user's place in one. See the
// package documentation for the ownership rule: one goroutine at a time.
type Machine struct {
	cfg    Config
	ids    IDSource
	calls  map[string]*call
	users  map[string]*call                     // user → the call it is a member of
	byRoom map[protocol.RoomID]map[string]*call // room → calls using it (for joinInGroupCall)
	timers timerHeap
	// nextTimer numbers ringing timers so that stale heap entries are recognised.
	nextTimer uint64
}

// New returns an empty machine. Zero Config fields take DefaultConfig values. New starts
// nothing.
func New(cfg Config, ids IDSource) *Machine {
	return &Machine{
		cfg:    cfg.withDefaults(),
		ids:    ids,
		calls:  make(map[string]*call),
		users:  make(map[string]*call),
		byRoom: make(map[protocol.RoomID]map[string]*call),
	}
}

// lookup returns u's call and membership (nil, nil when idle).
func (m *Machine) lookup(u string) (*call, *member) {
	c := m.users[u]
	if c == nil {
		return nil, nil
	}
	return c, c.member(u)
}

// UserState returns u's state, its call and its accepting session.
func (m *Machine) UserState(u string) UserStatus {
	c, mem := m.lookup(u)
	if mem == nil {
		return UserStatus{State: Idle}
	}
	return UserStatus{State: mem.state, CallID: c.id, Session: mem.session}
}

// Snapshot returns a copy of the call callID, or false when no such call is going on.
func (m *Machine) Snapshot(callID string) (Snapshot, bool) {
	c := m.calls[callID]
	if c == nil {
		return Snapshot{}, false
	}
	return c.snapshot(), true
}

// RoomInUse reports whether a call that is going on uses room id.
func (m *Machine) RoomInUse(id protocol.RoomID) bool { return len(m.byRoom[id]) > 0 }

// CallIDs lists the calls that are going on, in no particular order.
func (m *Machine) CallIDs() []string {
	ids := make([]string, 0, len(m.calls))
	for id := range m.calls {
		ids = append(ids, id)
	}
	return ids
}

// OfflineReport returns u's ringing invitation as PendingInvitations does, for a report to
// the invitee-offline hook (D9, D265, D286), and marks it reported: it returns each
// invitation once (a new invitation of the same user is reported anew). false when u has
// no invitation ringing at now or it was reported already.
func (m *Machine) OfflineReport(now time.Time, u string) (Event, bool) {
	mem, ev := m.ringingAt(now, u)
	if mem == nil || mem.offline == mem.timer {
		return Event{}, false
	}
	mem.offline = mem.timer
	return ev, true
}

// PendingInvitations returns the onCallReceived event to deliver to a session of u that
// logs in while u's invitation is still ringing (D9), with timeout = the remaining seconds
// rounded up; nil when u has no invitation ringing at now.
func (m *Machine) PendingInvitations(now time.Time, u string) []Event {
	if mem, ev := m.ringingAt(now, u); mem != nil {
		return []Event{ev}
	}
	return nil
}

// ringingAt is u's membership and onCallReceived (to any of its sessions) when u has an
// invitation ringing at now; nil otherwise.
func (m *Machine) ringingAt(now time.Time, u string) (*member, Event) {
	c, mem := m.lookup(u)
	if mem == nil || mem.state != Ringing || !now.Before(mem.deadline) {
		return nil, Event{}
	}
	ev := c.invitation(mem, now)
	ev.OnlySession = "" // to the session logging in, whichever it is
	return mem, ev
}

// NextDeadline returns the earliest ringing deadline; false when nothing is ringing. Call
// Tick at (or after) that time.
func (m *Machine) NextDeadline() (time.Time, bool) {
	for len(m.timers) > 0 {
		t := m.timers[0]
		if m.timerLive(t) {
			return t.at, true
		}
		heap.Pop(&m.timers)
	}
	return time.Time{}, false
}

// Tick expires every invitation whose deadline is at or before now, in deadline order:
// each is a no-response (D8, D13, §5.3#6, G4).
func (m *Machine) Tick(now time.Time) Output {
	var out Output
	for len(m.timers) > 0 {
		t := m.timers[0]
		if !m.timerLive(t) {
			heap.Pop(&m.timers)
			continue
		}
		if t.at.After(now) {
			break
		}
		heap.Pop(&m.timers)
		c := m.calls[t.callID]
		mem := c.member(t.user)
		m.dropInvitee(now, c, mem, &out, dropTimeout, "")
	}
	return out
}

// arm starts mem's ringing timer.
func (m *Machine) arm(c *call, mem *member, deadline time.Time) {
	m.nextTimer++
	mem.deadline = deadline
	mem.timer = m.nextTimer
	heap.Push(&m.timers, timerEntry{at: deadline, callID: c.id, user: mem.user, id: mem.timer})
}

// timerLive reports whether t still belongs to a ringing invitation.
func (m *Machine) timerLive(t timerEntry) bool {
	c := m.calls[t.callID]
	if c == nil {
		return false
	}
	mem := c.member(t.user)
	return mem != nil && mem.state == Ringing && mem.timer == t.id
}

// register adds a new call to the indexes.
func (m *Machine) register(c *call) {
	m.calls[c.id] = c
	rooms := m.byRoom[c.room]
	if rooms == nil {
		rooms = make(map[string]*call)
		m.byRoom[c.room] = rooms
	}
	rooms[c.id] = c
}

// forget removes an ended call from the indexes and frees its remaining members.
func (m *Machine) forget(c *call) {
	for _, mem := range c.members {
		if m.users[mem.user] == c {
			delete(m.users, mem.user)
		}
	}
	c.members = nil
	delete(m.calls, c.id)
	if rooms := m.byRoom[c.room]; rooms != nil {
		delete(rooms, c.id)
		if len(rooms) == 0 {
			delete(m.byRoom, c.room)
		}
	}
}

// timerEntry is one ringing deadline in the heap; it is stale once its member stopped
// ringing or was invited again.
type timerEntry struct {
	at     time.Time
	callID string
	user   string
	id     uint64
}

// timerHeap orders entries by deadline, then by arming order.
type timerHeap []timerEntry

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].id < h[j].id
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(timerEntry)) }
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	*h = old[:n-1]
	return x
}
