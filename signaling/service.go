package signaling

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// ServiceConfig gathers the sections the Service uses.
type ServiceConfig struct {
	Signaling Config
	Auth      AuthConfig
	Call      call.Config
	Room      room.Config
	Limits    LimitsConfig // zero: DefaultLimitsConfig
}

// Deps are the Service's collaborators. Engine is required; the rest have defaults.
type Deps struct {
	Engine *sfu.Engine
	// Records stores the call history; nil keeps it in memory.
	Records RecordStore
	// ICEServers returns the ICE servers (TURN credentials) a logged-in user gets in the
	// login result; nil gives none.
	ICEServers func(userID string, now time.Time) []protocol.ICEServer
	// Hooks observe calls and sessions (webhooks, metrics); nil ignores them.
	Hooks Hooks
	// RoomEvents observes room changes after the Service handled them (metrics, webhooks);
	// nil ignores them. Calls come from the rooms' event goroutines (roomobserver.go).
	RoomEvents room.Listener
	Logger     *slog.Logger
	// Now is the clock (tests inject one); nil is time.Now.
	Now func() time.Time
}

// Hooks observe what the Service does. Calls come with the Service lock held: they must
// not block (queue the work) and must not call back into the Service.
type Hooks interface {
	CallBegan(call.CallSummary)
	CallEnded(call.CallSummary)
	InviteeOffline(callID string, invitee string, invitation protocol.CallReceivedEvent)
}

// Service is Parley's signaling: it accepts WebSocket sessions, logs users in, runs the
// call state machine and maps calls onto rooms.
//
// Concurrency: mu guards the call machine, the user registry, the resume table and the
// deadline timer; it is taken before any Session.mu. Room events arrive on the rooms'
// event goroutines and take mu too; nothing holding mu waits for a room event goroutine.
type Service struct {
	cfg        ServiceConfig
	log        *slog.Logger
	now        func() time.Time
	verifier   *Verifier
	rooms      *room.Manager
	records    RecordStore
	iceServers func(string, time.Time) []protocol.ICEServer
	hooks      Hooks
	limits     *limiters // limits.go
	server     *Server
	dispatcher *Dispatcher[*session]

	mu        sync.Mutex
	machine   *call.Machine
	users     map[string]*user
	resumable map[string]*session             // resume token → logged-in session
	present   map[room.ID]map[string]*session // users whose media session is up, per room (roomevents.go)
	deadline  *time.Timer
	closed    bool

	timers sync.WaitGroup // deadline and session timer callbacks in flight

	// volumesSent (under mu) is the last onUserVoiceVolumeChanged map each present user
	// got, per room; made on first use (roomevents.go: D20, no repeated event).
	volumesSent map[room.ID]map[string]map[string]int
}

// user is what the Service knows of one userId across its sessions.
type user struct {
	id          string
	profile     call.Profile
	multiDevice bool
	sessions    []*session
	// callSession is the id of the session that takes part in the user's call.
	callSession string
}

// NewService builds the Service and its room manager; it starts nothing (mount Handler on
// GET /ws to accept sessions).
func NewService(cfg ServiceConfig, deps Deps) (*Service, error) {
	if deps.Engine == nil {
		return nil, errors.New("signaling: NewService needs an sfu.Engine")
	}
	if cfg.Limits == (LimitsConfig{}) {
		cfg.Limits = DefaultLimitsConfig()
	}
	if err := errors.Join(cfg.Signaling.Validate(), cfg.Auth.Validate(), cfg.Room.Validate(), cfg.Limits.Validate()); err != nil {
		return nil, err
	}
	verifier, err := NewVerifier(cfg.Auth)
	if err != nil {
		return nil, err
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg:        cfg,
		log:        logger,
		now:        deps.Now,
		verifier:   verifier,
		records:    deps.Records,
		iceServers: deps.ICEServers,
		hooks:      deps.Hooks,
		limits:     newLimiters(cfg.Limits),
		users:      make(map[string]*user),
		resumable:  make(map[string]*session),
		present:    make(map[room.ID]map[string]*session),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.records == nil {
		s.records = NewMemoryRecords(0)
	}
	if s.hooks == nil {
		s.hooks = nopHooks{}
	}
	var listener room.Listener = roomListener{s}
	if deps.RoomEvents != nil {
		listener = teeListener{primary: listener, observer: deps.RoomEvents}
	}
	s.rooms = room.NewManager(cfg.Room, deps.Engine, listener, logger.With("component", "room"))
	s.machine = call.New(cfg.Call, idSource{s})
	s.dispatcher = newDispatcher()
	s.server, err = NewServer(cfg.Signaling, logger.With("component", "signaling"), s.newConnSession)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Handler is the WebSocket endpoint (mount at GET /ws).
func (s *Service) Handler() http.Handler { return s.server }

// Rooms is the room manager the Service drives.
func (s *Service) Rooms() *room.Manager { return s.rooms }

// Drain tells connected clients the server is going away; new calls and rooms are refused.
func (s *Service) Drain() { s.server.Drain() }

// Draining reports whether Drain was called.
func (s *Service) Draining() bool { return s.server.Draining() }

// Sessions is the number of logged-in sessions.
func (s *Service) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, u := range s.users {
		n += len(u.sessions)
	}
	return n
}

// ActiveCalls is the number of calls ringing or in progress.
func (s *Service) ActiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.machine.CallIDs())
}

// EndAllCalls hangs up every call (graceful drain after its timeout); records are written.
func (s *Service) EndAllCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if st := s.machine.UserState(u.id); st.State != call.Idle {
			out, err := s.machine.Disconnect(s.now(), u.id, protocol.CancelReasonDisconnect)
			if err == nil {
				s.executeLocked(out, nil)
			}
		}
	}
}

// Close closes every session (their calls end as on disconnect), the rooms and the
// timers. It is idempotent.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.stopTimer(s.deadline)
	s.deadline = nil
	s.mu.Unlock()

	err := s.server.Close() // runs every connection's HandleClose
	s.mu.Lock()
	var all []*session
	for _, u := range s.users {
		all = append(all, u.sessions...)
	}
	for _, sess := range all {
		s.endSessionLocked(sess, protocol.CancelReasonDisconnect)
	}
	s.mu.Unlock()
	err = errors.Join(err, s.rooms.Close())
	s.timers.Wait()
	return err
}

// afterFunc runs fn after d unless the Service closed; Close waits for running callbacks.
func (s *Service) afterFunc(d time.Duration, fn func()) *time.Timer {
	s.timers.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer s.timers.Done()
		fn()
	})
	return t
}

// stopTimer stops t and, when that prevented its callback, releases its WaitGroup slot.
func (s *Service) stopTimer(t *time.Timer) {
	if t != nil && t.Stop() {
		s.timers.Done()
	}
}

// ---- executing the call machine's output ----

// executeLocked carries out a machine output: room joins and leaves first (so a client
// that gets onCallBegin finds its room ready), then events, records and hooks. by is the
// session whose request produced out (nil for timers).
func (s *Service) executeLocked(out call.Output, by *session) {
	for _, a := range out.Actions {
		s.roomActionLocked(a, by)
	}
	for _, ev := range out.Events {
		s.deliverLocked(ev)
	}
	if len(out.Records) > 0 {
		if err := s.records.Add(context.Background(), out.Records); err != nil {
			s.log.Error("store call records", "error", err)
		}
	}
	for _, b := range out.Began {
		s.hooks.CallBegan(b)
	}
	for _, e := range out.Ended {
		s.hooks.CallEnded(e)
	}
	s.armDeadlineLocked()
}

// deliverLocked sends one event to the addressed sessions of its user. An invitation to a
// user with no session is kept by the machine (PendingInvitations) and reported to the
// InviteeOffline hook (D9).
func (s *Service) deliverLocked(ev call.Event) {
	u := s.users[ev.To]
	sent := 0
	if u != nil {
		for _, sess := range u.sessions {
			if ev.OnlySession != "" && sess.id != ev.OnlySession {
				continue
			}
			if ev.ExceptSession != "" && sess.id == ev.ExceptSession {
				continue
			}
			sess.notify(ev.Name, ev.Payload)
			sent++
		}
	}
	if sent == 0 && ev.Name == protocol.EventCallReceived {
		if inv, ok := ev.Payload.(protocol.CallReceivedEvent); ok {
			s.hooks.InviteeOffline(inv.CallID, ev.To, inv)
		}
	}
}

// roomActionLocked joins or leaves the call's room for the user's call session.
func (s *Service) roomActionLocked(a call.RoomAction, by *session) {
	u := s.users[a.UserID]
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
		id, err := roomIDFromWire(a.RoomID)
		if err != nil {
			s.log.Error("call has an invalid room", "call", a.CallID, "room", a.RoomID.String(), "error", err)
			return
		}
		if err := sess.enterRoom(id); err != nil {
			s.log.Warn("call room join failed", "user", a.UserID, "call", a.CallID, "error", err)
		}
	case call.LeaveRoom:
		if id, err := roomIDFromWire(a.RoomID); err == nil {
			for _, cand := range u.sessions {
				if cand.inRoom(id) {
					cand.exitRoom()
				}
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
	if by != nil && by.userID == u.id {
		return by
	}
	if len(u.sessions) > 0 {
		return u.sessions[0]
	}
	return nil
}

// armDeadlineLocked points the deadline timer at the machine's next invitation timeout.
func (s *Service) armDeadlineLocked() {
	if s.deadline != nil {
		s.stopTimer(s.deadline)
		s.deadline = nil
	}
	if s.closed {
		return
	}
	at, ok := s.machine.NextDeadline()
	if !ok {
		return
	}
	d := at.Sub(s.now())
	if d < 0 {
		d = 0
	}
	s.deadline = s.afterFunc(d, s.onDeadline)
}

func (s *Service) onDeadline() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.deadline = nil
	s.executeLocked(s.machine.Tick(s.now()), nil)
}

// ---- sessions ----

// registerLocked adds a logged-in session to its user.
func (s *Service) registerLocked(sess *session) *user {
	u := s.users[sess.userID]
	if u == nil {
		u = &user{id: sess.userID, profile: call.Profile{UserID: sess.userID}}
		s.users[sess.userID] = u
	}
	u.sessions = append(u.sessions, sess)
	s.resumable[sess.resumeToken] = sess
	return u
}

// endSessionLocked logs a session out for reason: its call ends for it (as hangup,
// cancel or reject by its state; D4), it leaves its room and its timers stop. The
// session hears its own call end (onCallEnd / onCallCancelled, after an onKickedOffline
// the caller sent) while its connection is still there; the connection is not closed here.
func (s *Service) endSessionLocked(sess *session, reason string) {
	u := s.users[sess.userID]
	if u == nil || !sess.markEnded() {
		return
	}
	delete(s.resumable, sess.resumeToken)
	if s.sessionInCallLocked(u, sess) {
		out, err := s.machine.Disconnect(s.now(), u.id, reason)
		if err == nil {
			s.executeLocked(out, sess)
		}
	}
	for i, other := range u.sessions {
		if other == sess {
			u.sessions = append(u.sessions[:i], u.sessions[i+1:]...)
			break
		}
	}
	if u.callSession == sess.id {
		u.callSession = ""
	}
	sess.exitRoom()
	sess.stopTimers()
	if len(u.sessions) == 0 {
		delete(s.users, u.id)
	}
}

// sessionInCallLocked reports whether the user's call ends when sess (one of u's sessions)
// ends: when it is the user's last session, or when it is the session that dials or takes
// part in the call. A ringing invitation keeps ringing on the user's other sessions (D4).
func (s *Service) sessionInCallLocked(u *user, sess *session) bool {
	st := s.machine.UserState(u.id)
	switch {
	case st.State == call.Idle:
		return false
	case len(u.sessions) <= 1:
		return true
	case st.State == call.Ringing:
		return false
	case st.Session != "":
		return st.Session == sess.id
	default:
		return u.callSession == sess.id
	}
}

// ---- identifiers ----

type idSource struct{ s *Service }

// NewCallID is 128 random bits in hex.
func (idSource) NewCallID() string { return randomHex(16) }

// AllocateRoomID picks a free integer room in 100000000..2147483647 (D6): free of rooms
// and of calls.
func (ids idSource) AllocateRoomID() protocol.RoomID {
	const lo, hi = 100_000_000, 2_147_483_647
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(hi-lo+1))
		if err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err))
		}
		id := protocol.IntRoom(lo + n.Int64())
		rid, _ := roomIDFromWire(id)
		if _, busy := ids.s.rooms.Room(rid); !busy && !ids.s.roomHasCallLocked(id) {
			return id
		}
	}
}

// roomHasCallLocked reports whether a live call uses room id (the machine is called
// with mu held, so this runs under it).
func (s *Service) roomHasCallLocked(id protocol.RoomID) bool {
	for _, cid := range s.machine.CallIDs() {
		if snap, ok := s.machine.Snapshot(cid); ok && snap.RoomID == id {
			return true
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}

// roomIDFromWire validates a wire room id (D6, §4).
func roomIDFromWire(r protocol.RoomID) (room.ID, error) {
	return room.ParseID(r.Int, r.Str)
}

// roomIDToWire is the wire form of a room id.
func roomIDToWire(id room.ID) protocol.RoomID {
	if id.IsInt() {
		return protocol.IntRoom(id.Int())
	}
	return protocol.StrRoom(id.Str())
}

type nopHooks struct{}

func (nopHooks) CallBegan(call.CallSummary)                                {}
func (nopHooks) CallEnded(call.CallSummary)                                {}
func (nopHooks) InviteeOffline(string, string, protocol.CallReceivedEvent) {}
