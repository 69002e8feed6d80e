package room

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/parley-rtc/parley/sfu"
)

// Manager owns the rooms of one server: it creates a room on its first join and closes it
// once it has been empty for room.empty_timeout.
type Manager struct {
	cfg      Config
	engine   *sfu.Engine
	listener Listener
	log      *slog.Logger

	mu     sync.Mutex // guards rooms and closed; taken before any Room.mu
	rooms  map[ID]*Room
	closed bool

	eventGoroutines sync.WaitGroup // one per room ever opened

	remoteViewRefusals atomic.Uint64 // wishes refused by room.max_pending_remote_views (remoteviews.go)
}

// NewManager returns a Manager; it starts nothing. A nil listener ignores events; a nil
// logger discards logs.
func NewManager(cfg Config, engine *sfu.Engine, listener Listener, logger *slog.Logger) *Manager {
	if listener == nil {
		listener = NopListener{}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, engine: engine, listener: listener, log: logger, rooms: make(map[ID]*Room)}
}

// Join adds userID to the room id with every right (FullRights), creating the room on
// first join. It builds the participant's publisher and subscriber Peers and subscribes it
// to the audio already published in the room. ErrAlreadyInRoom when userID is in that room
// already.
func (m *Manager) Join(id ID, userID string, sig Signaller) (*Participant, error) {
	return m.JoinWithRights(id, userID, FullRights, sig)
}

// JoinWithRights is Join with the participant's rights: without Publish its tracks are
// not forwarded (nobody is told of them); without Subscribe it receives no media.
func (m *Manager) JoinWithRights(id ID, userID string, rights Rights, sig Signaller) (*Participant, error) {
	if id.IsZero() {
		return nil, fmt.Errorf("join: %w", ErrInvalidRoomID)
	}
	if userID == "" {
		return nil, fmt.Errorf("join room %s: empty user id: %w", id, ErrInvalidUserID)
	}
	if err := m.checkJoin(id, userID); err != nil {
		return nil, err
	}
	// Building PeerConnections takes a while: do it outside the locks, then re-check.
	p, err := newParticipant(m, userID, rights, sig)
	if err != nil {
		return nil, fmt.Errorf("join room %s as %q: %w", id, userID, err)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		p.closePeers()
		return nil, fmt.Errorf("join room %s: %w", id, ErrManagerClosed)
	}
	r, ok := m.rooms[id]
	if !ok {
		r = newRoom(m, id)
		m.rooms[id] = r
		r.start()
	}
	err = r.add(p)
	m.mu.Unlock()
	if err != nil {
		p.closePeers()
		return nil, err
	}
	m.log.Debug("participant joined room", "room", id.String(), "user", userID)
	return p, nil
}

func (m *Manager) checkJoin(id ID, userID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("join room %s: %w", id, ErrManagerClosed)
	}
	if r, ok := m.rooms[id]; ok && r.Participant(userID) != nil {
		return fmt.Errorf("join room %s as %q: %w", id, userID, ErrAlreadyInRoom)
	}
	return nil
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

// closeIfStillEmpty is the empty-timeout callback: it closes r unless someone joined since
// the timer of generation gen was armed.
func (m *Manager) closeIfStillEmpty(r *Room, gen uint64) {
	m.mu.Lock()
	closed := r.closeIfEmpty(gen)
	if closed && m.rooms[r.id] == r {
		delete(m.rooms, r.id)
	}
	m.mu.Unlock()
	if closed {
		m.log.Debug("room closed after empty timeout", "room", r.id.String())
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
		delete(m.rooms, r.id)
		m.mu.Unlock()
	}
	m.eventGoroutines.Wait() // rooms closed here and earlier by their empty timeout
	return errors.Join(errs...)
}
