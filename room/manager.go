package room

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-rtc/parley/sfu"
)

// Manager owns the rooms of one server: it creates a room on its first join and closes it
// once it has been empty for room.empty_timeout, or at once for a room joined with
// JoinOptions.CloseWhenEmpty.
type Manager struct {
	cfg      Config
	engine   *sfu.Engine // nil in tests on fakes (newManagerWith)
	peers    peerFactory
	listener Listener
	steps    StepObserver // call participants' steps (calltimeline.go); set before the first Join
	log      *slog.Logger

	mu       sync.Mutex // guards rooms, appRooms and closed; taken before any Room.mu
	rooms    map[ID]*Room
	appRooms map[int]int // open rooms per app (ID.App), for JoinOptions.MaxAppRooms (D327)
	closed   bool

	eventGoroutines sync.WaitGroup // one per room ever opened
	builds          sync.WaitGroup // subscriber Peers built in the background (peers.go)

	remoteViewRefusals atomic.Uint64 // wishes refused by room.max_pending_remote_views (remoteviews.go)
}

// NewManager returns a Manager; it starts nothing. A nil listener ignores events; a nil
// logger discards logs.
func NewManager(cfg Config, engine *sfu.Engine, listener Listener, logger *slog.Logger) *Manager {
	m := newManagerWith(cfg, enginePeers{engine}, listener, logger)
	m.engine = engine
	return m
}

// newManagerWith is NewManager with the Peers peers builds (fakes in tests).
func newManagerWith(cfg Config, peers peerFactory, listener Listener, logger *slog.Logger) *Manager {
	if listener == nil {
		listener = NopListener{}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, peers: peers, listener: listener, log: logger, rooms: make(map[ID]*Room), appRooms: make(map[int]int)}
}

// JoinOptions say how a participant joins (Manager.JoinWith).
type JoinOptions struct {
	// Rights are what the participant may do; the zero value is neither publish nor
	// subscribe (Join gives FullRights).
	Rights Rights
	// Early: the participant may negotiate (its Peers are built, ICE and DTLS complete)
	// but nobody is told of it, its tracks are held and it receives nothing until
	// Participant.Activate (early.go).
	Early bool
	// Expect (with Early): the users whose media the early participant will receive (a
	// call's other members). Its pre-connected subscriber Peer negotiates a send section
	// for each one's audio, and video with ExpectVideo, in its first offer, so that at
	// Activate (or when they publish later) their tracks forward without a renegotiation
	// (early.go). At most MaxExpected users count; duplicates and its own ID are skipped.
	Expect      []string
	ExpectVideo bool
	// CloseWhenEmpty: the room closes as soon as its last participant leaves instead of
	// after room.empty_timeout. It sticks to the room once one join asked for it.
	CloseWhenEmpty bool
	// AcceptedAt (a call's participant joining at its accept): when the server handled
	// the accept, the origin of the participant's call steps (calltimeline.go); zero for
	// a join that is no call's, or an early one (ActivateAt gives it then).
	AcceptedAt time.Time `json:",omitzero"`
	// MaxAppRooms (> 0): a join that would open a room while the room's app (ID.App)
	// already has this many open rooms on this Manager is refused with ErrRoomQuota; a
	// join of an open room is not (auth.apps[].max_rooms, D327). 0 is no quota.
	MaxAppRooms int `json:",omitzero"`
}

// Join adds userID to the room id with every right (FullRights), creating the room on
// first join. ErrAlreadyInRoom when userID is in that room already.
func (m *Manager) Join(id ID, userID string, sig Signaller) (*Participant, error) {
	return m.JoinWith(id, userID, JoinOptions{Rights: FullRights}, sig)
}

// JoinWithRights is Join with the participant's rights: without Publish its tracks are
// not forwarded (nobody is told of them); without Subscribe it receives no media.
func (m *Manager) JoinWithRights(id ID, userID string, rights Rights, sig Signaller) (*Participant, error) {
	return m.JoinWith(id, userID, JoinOptions{Rights: rights}, sig)
}

// JoinWith adds userID to the room id as opts say, creating the room on first join.
// It builds no PeerConnection: the participant's Peers are built when its client first
// negotiates, or when the room has something to send it (peers.go). ErrAlreadyInRoom
// when userID is in that room already, ErrRoomFull when the room has
// room.max_participants participants, ErrRoomQuota beyond opts.MaxAppRooms.
func (m *Manager) JoinWith(id ID, userID string, opts JoinOptions, sig Signaller) (*Participant, error) {
	if id.IsZero() {
		return nil, fmt.Errorf("join: %w", ErrInvalidRoomID)
	}
	if userID == "" {
		return nil, fmt.Errorf("join room %s: empty user id: %w", id, ErrInvalidUserID)
	}
	p := newParticipant(m, userID, opts, sig)
	p.timeline.room = id
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, fmt.Errorf("join room %s: %w", id, ErrManagerClosed)
	}
	r, ok := m.rooms[id]
	if !ok {
		if n := m.appRooms[id.App()]; opts.MaxAppRooms > 0 && n >= opts.MaxAppRooms {
			m.mu.Unlock()
			return nil, fmt.Errorf("join room %s: app %d has %d open rooms on this node: %w", id, id.App(), n, ErrRoomQuota)
		}
		r = newRoom(m, id)
		m.rooms[id] = r
		m.appRooms[id.App()]++
		r.start()
	}
	err := r.add(p, opts.CloseWhenEmpty)
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	m.log.Debug("participant joined room", "room", id.String(), "user", userID, "early", opts.Early)
	p.timeline.note(stepRoomJoin, p.enteredAt)
	if !opts.Early {
		p.timeline.note(stepActivated, p.enteredAt)
	}
	p.timeline.accepted(opts.AcceptedAt)
	return p, nil
}

// Room returns the open room id.
func (m *Manager) Room(id ID) (*Room, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[id]
	return r, ok
}

// Rooms returns how many rooms are open.
func (m *Manager) Rooms() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rooms)
}

// AppRooms returns how many rooms of app (ID.App) are open: what JoinOptions.MaxAppRooms
// counts.
func (m *Manager) AppRooms(app int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.appRooms[app]
}

// forgetLocked drops the closed room r from the open rooms. Caller holds m.mu.
func (m *Manager) forgetLocked(r *Room) {
	if m.rooms[r.id] != r {
		return
	}
	delete(m.rooms, r.id)
	if m.appRooms[r.id.App()]--; m.appRooms[r.id.App()] <= 0 {
		delete(m.appRooms, r.id.App())
	}
}

// closeIfStillEmpty closes r unless someone joined since it became empty at generation
// gen: the empty-timeout callback, and Leave of the last participant of a room that
// closes when empty.
func (m *Manager) closeIfStillEmpty(r *Room, gen uint64) {
	m.mu.Lock()
	closed := r.closeIfEmpty(gen)
	if closed {
		m.forgetLocked(r)
	}
	m.mu.Unlock()
	if closed {
		m.log.Debug("room closed empty", "room", r.id.String())
	}
}

// Close makes every participant leave, closes every room and waits for their event
// goroutines. Idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()

	var errs []error
	for _, r := range rooms {
		for _, p := range r.members() {
			if err := p.Leave(); err != nil {
				errs = append(errs, err)
			}
		}
		m.mu.Lock()
		r.forceClose()
		m.forgetLocked(r)
		m.mu.Unlock()
	}
	m.eventGoroutines.Wait() // rooms closed here and earlier by their empty timeout
	m.builds.Wait()          // every participant left: a build under way closes what it built
	return errors.Join(errs...)
}
