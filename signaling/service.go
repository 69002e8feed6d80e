package signaling

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/parley-rtc/parley/cluster"
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

// TURNUser is the user name a user's TURN credentials carry, "<SDKAppID>:<userId>": TURN
// quotas count allocations per user (turn.allocation_quota_per_user), and alice of one app
// must not use up alice of another's (D248). The REST username is then
// "<expiry>:<SDKAppID>:<userId>", which coturn's use-auth-secret accepts as well.
func TURNUser(app int, userID string) string {
	return strconv.Itoa(app) + ":" + userID
}

// Deps are the Service's collaborators. Engine is required; the rest have defaults.
type Deps struct {
	Engine *sfu.Engine
	// Records stores the call history; nil keeps it in memory.
	Records RecordStore
	// ICEServers returns the ICE servers (TURN credentials) a logged-in user gets in the
	// login result (and a WHIP/WHEP client in its Link headers); nil gives none. turnUser
	// is TURNUser(app, userId): the name TURN counts the user's allocations by, the same
	// userId of two apps being two users (D248).
	ICEServers func(turnUser string, now time.Time) []protocol.ICEServer
	// Hooks observe calls and sessions (webhooks, metrics); nil ignores them.
	Hooks Hooks
	// RoomEvents observes room changes after the Service handled them (metrics, webhooks);
	// nil ignores them. Calls come from the rooms' event goroutines (roomobserver.go).
	RoomEvents room.Listener
	// CallSteps hears the steps of each call participant's media setup, timed from the
	// call's accept (room.StepObserver, D135: the server's metrics); nil ignores them.
	CallSteps room.StepObserver
	Logger    *slog.Logger
	// Now is the clock (tests inject one); nil is time.Now.
	Now func() time.Time
	// Cluster joins this node to others (relay.go); nil is a single node. Its message
	// handler must call HandleClusterMessage and its gone callback NodeGone.
	Cluster *cluster.Cluster
	// Profiles keeps what users set about themselves beyond their sessions (D54); nil is
	// Redis (cluster/profile.go) when Cluster is set, else NewMemoryProfiles of
	// signaling.max_stored_profiles.
	Profiles ProfileStore
	// RoomPlaced (may be nil) hears that this owner placed room id on media node node
	// (D95), before the member that caused it joins there; it is called under no lock of
	// the Service and must not block (recordings of this node follow the room, D122).
	RoomPlaced func(id room.ID, node string)
	// Recorder (may be nil) is this node's recorder as other nodes reach it: an owner's
	// call recordings of rooms placed here, the admin API's list (recordings_cluster.go).
	Recorder ClusterRecorder
}

// Hooks observe what the Service does. Calls come with the Service lock held: they must
// not block (queue the work) and must not call back into the Service. A CallSummary
// carries its app (SDKAppID); InviteeOffline names it.
type Hooks interface {
	CallBegan(call.CallSummary)
	CallEnded(call.CallSummary)
	InviteeOffline(sdkAppID int, callID string, invitee string, invitation protocol.CallReceivedEvent)
}

// Service is Parley's signaling: it accepts WebSocket sessions, logs users in, runs the
// call state machine and maps calls onto rooms.
//
// Tenancy (D26): every identity is (SDKAppID, userId). Each configured app is a tenant
// with its own call machine, users and invitation deadline; rooms carry their app in
// room.ID, so RoomId 123 of app A and of app B are different rooms.
//
// Concurrency: mu guards the tenants (call machines, user registries, deadline timers),
// the resume table and the room presence; it is taken before any Session.mu. Room events
// arrive on the rooms' event goroutines and take mu too; nothing holding mu waits for a
// room event goroutine.
type Service struct {
	cfg        ServiceConfig
	log        *slog.Logger
	now        func() time.Time
	verifier   *Verifier
	rooms      *room.Manager
	records    RecordStore
	profiles   ProfileStore // read before mu, written from the sessions' effects (profiles.go)
	iceServers func(turnUser string, now time.Time) []protocol.ICEServer
	hooks      Hooks
	limits     *limiters // limits.go
	server     *Server
	dispatcher *Dispatcher[*session]
	relays     relays          // connections relayed to or from other nodes (relay.go)
	placement  placement       // rooms on other nodes, and rooms hosted for other nodes (placement.go)
	recorder   ClusterRecorder // nil: no recorder reachable by other nodes (recordings_cluster.go)

	mu        sync.Mutex
	tenants   map[int]*tenant                 // by SDKAppID: one per configured app, made by NewService
	resumable map[string]*session             // resume token → logged-in session
	present   map[room.ID]map[string]*session // users whose media session is up, per room (roomevents.go)
	ingest    map[room.ID]map[string]*session // WHIP publishers' sessions, per room (whip_session.go); made on first use
	closed    bool

	timers  sync.WaitGroup // deadline and session timer callbacks in flight
	effects runCount       // running effect queues (effects.go)
	// background carries out effects no session asked for (records of a timeout).
	background serial
	// beforeJoin, when set (tests: export_test.go), runs on a session's effects queue
	// before it joins a room: it simulates a slow PeerConnection build.
	beforeJoin func(userID string)
	// beforeLeave, when set (tests), runs before a session's participant leaves its room.
	beforeLeave func(userID string)

	// volumesSent (under mu) is the last onUserVoiceVolumeChanged map each present user
	// got, per room; made on first use (roomevents.go: D20, no repeated event).
	volumesSent map[room.ID]map[string]map[string]int
}

// tenant is one application (SDKAppID): its call machine, its users and the timer of its
// machine's next invitation deadline. Guarded by Service.mu.
type tenant struct {
	app      int
	machine  *call.Machine
	users    map[string]*user
	deadline *time.Timer
	early    map[string]*earlyEntry     // userId → its session prepared in a ringing call's room (early.go)
	exiting  map[string][]chan struct{} // userId → room exits of its ended sessions not yet run (exits.go)
	// sessions counts the sessions of users (the sum of len(user.sessions)) for
	// maxSessions; maxSessions and maxRooms are auth.apps[] max_sessions and max_rooms,
	// set by NewService and read without the lock (D326, D327).
	sessions    int
	maxSessions int
	maxRooms    int
}

// user is what the Service knows of one (SDKAppID, userId) across its sessions.
type user struct {
	tenant      *tenant
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
		profiles:   deps.Profiles,
		iceServers: deps.ICEServers,
		hooks:      deps.Hooks,
		tenants:    make(map[int]*tenant, len(cfg.Auth.Apps)),
		limits:     newLimiters(cfg.Limits),
		resumable:  make(map[string]*session),
		present:    make(map[room.ID]map[string]*session),
		relays:     relays{cl: deps.Cluster, stop: make(chan struct{})},
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.background.count = &s.effects
	if s.records == nil {
		s.records = NewMemoryRecords(0)
	}
	if s.hooks == nil {
		s.hooks = nopHooks{}
	}
	switch {
	case s.profiles != nil:
	case deps.Cluster != nil:
		s.profiles = clusterProfiles{deps.Cluster}
	default:
		s.profiles = NewMemoryProfiles(cfg.Signaling.MaxStoredProfiles)
	}
	s.placement.s = s
	s.placement.onPlaced = deps.RoomPlaced
	s.recorder = deps.Recorder
	var listener room.Listener = roomListener{s}
	if deps.Cluster != nil {
		listener = placementListener{pl: &s.placement, local: listener}
	}
	if deps.RoomEvents != nil {
		listener = teeListener{primary: listener, observer: deps.RoomEvents}
	}
	s.rooms = room.NewManager(cfg.Room, deps.Engine, listener, logger.With("component", "room"))
	s.rooms.SetStepObserver(deps.CallSteps)
	callCfg := callConfigFor(cfg.Call, cfg.Room)
	for _, app := range cfg.Auth.Apps {
		t := &tenant{app: app.SDKAppID, users: make(map[string]*user), early: make(map[string]*earlyEntry),
			maxSessions: app.MaxSessions, maxRooms: app.MaxRooms}
		t.machine = call.New(callCfg, idSource{s, t})
		s.tenants[app.SDKAppID] = t
	}
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

// PendingRequests is the number of requests of the open connections not yet answered
// (Server.PendingRequests): a draining server lets them finish before it closes the
// sockets (cmd/parley drain.go).
func (s *Service) PendingRequests() int { return s.server.PendingRequests() }

// Sessions is the number of logged-in sessions.
func (s *Service) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tenants {
		n += t.sessions
	}
	return n
}

// AppLoad is what one app (tenant) has on this server.
type AppLoad struct {
	SDKAppID int
	Sessions int // logged-in sessions
	Calls    int // calls ringing or in progress
}

// Apps is the load of every configured app (metrics), by SDKAppID ascending.
func (s *Service) Apps() []AppLoad {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AppLoad, 0, len(s.tenants))
	for _, t := range s.tenants {
		out = append(out, AppLoad{SDKAppID: t.app, Sessions: t.sessions, Calls: len(t.machine.CallIDs())})
	}
	slices.SortFunc(out, func(x, y AppLoad) int { return x.SDKAppID - y.SDKAppID })
	return out
}

// ActiveCalls is the number of calls ringing or in progress.
func (s *Service) ActiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.tenants {
		n += len(t.machine.CallIDs())
	}
	return n
}

// EndAllCalls hangs up every call (graceful drain after its timeout) and returns once the
// users heard it (their effects ran) and the records are written.
func (s *Service) EndAllCalls() {
	s.mu.Lock()
	var told []*session
	for _, t := range s.tenants {
		for _, u := range t.users {
			told = append(told, u.sessions...)
			if st := t.machine.UserState(u.id); st.State != call.Idle {
				out, err := t.machine.Disconnect(s.now(), u.id, protocol.CancelReasonDisconnect)
				if err == nil {
					s.executeLocked(t, out, nil)
				}
			}
		}
	}
	s.mu.Unlock()
	for _, sess := range told {
		<-sess.settled()
	}
	<-s.background.barrier()
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
	s.relays.shutdown()
	for _, t := range s.tenants {
		s.stopTimer(t.deadline)
		t.deadline = nil
	}
	s.mu.Unlock()

	err := s.server.Close() // runs every connection's HandleClose
	s.mu.Lock()
	var all []*session
	for _, t := range s.tenants {
		for _, u := range t.users {
			all = append(all, u.sessions...)
		}
	}
	for _, sess := range all {
		s.endSessionLocked(sess, protocol.CancelReasonDisconnect)
	}
	s.mu.Unlock()
	s.timers.Wait()
	s.effects.wait() // the sessions' last effects: leaving rooms, records
	s.closeRelays()  // after the relayed sessions' last notifications
	err = errors.Join(err, s.rooms.Close())
	s.effects.wait() // what the rooms' last events queued
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

// ---- sessions ----

// userLocked is the session's user (nil before login or after its last session ended).
func (s *Service) userLocked(sess *session) *user {
	app, id := sess.identity()
	if t := s.tenants[app]; t != nil {
		return t.users[id]
	}
	return nil
}

// registerLocked adds a logged-in session to its user in its app's tenant; a user with no
// session yet starts with the stored profile p (D54).
func (s *Service) registerLocked(t *tenant, sess *session, p StoredProfile) *user {
	u := t.users[sess.userID]
	if u == nil {
		u = &user{tenant: t, id: sess.userID, multiDevice: p.MultiDevice,
			profile: call.Profile{UserID: sess.userID, Nickname: p.Nickname, Avatar: p.Avatar}}
		t.users[sess.userID] = u
	}
	u.sessions = append(u.sessions, sess)
	t.sessions++
	s.resumable[sess.resumeToken] = sess
	return u
}

// endSessionLocked logs a session out for reason: its call ends for it (as hangup,
// cancel or reject by its state; D4), it leaves its room and its timers stop. The
// session hears its own call end (onCallEnd / onCallCancelled, after an onKickedOffline
// the caller sent) while its connection is still there; the connection is not closed here.
func (s *Service) endSessionLocked(sess *session, reason string) {
	s.endSessionKeepingLocked(sess, reason, false)
}

// endSessionKeepingLocked is endSessionLocked; with keepRinging a ringing invitation of the
// user is not turned down: it waits for the user's next session (D9, D110).
func (s *Service) endSessionKeepingLocked(sess *session, reason string, keepRinging bool) {
	u := s.userLocked(sess)
	if u == nil || !sess.markEnded() {
		return
	}
	t := u.tenant
	delete(s.resumable, sess.resumeToken)
	if e := t.early[u.id]; e != nil && e.sess == sess {
		delete(t.early, u.id) // its room is left below
	}
	s.expireDueLocked(t) // an invitation past its deadline times out, not "disconnect"
	ringing := t.machine.UserState(u.id).State == call.Ringing
	if s.sessionInCallLocked(u, sess) && !(keepRinging && ringing) {
		out, err := t.machine.Disconnect(s.now(), u.id, reason)
		if err == nil {
			s.executeLocked(t, out, sess)
		}
	}
	for i, other := range u.sessions {
		if other == sess {
			u.sessions = append(u.sessions[:i], u.sessions[i+1:]...)
			t.sessions--
			break
		}
	}
	if u.callSession == sess.id {
		u.callSession = ""
	}
	s.queueExitLocked(t, u.id, sess)
	sess.stopTimers()
	if len(u.sessions) == 0 {
		delete(t.users, u.id)
	}
	s.reportOfflineIfLostLocked(t, u.id) // the others may all wait for a resume (D286)
}

// expireDueLocked carries out the ringing timeouts of t that are due at now, before another
// input reaches t's machine: an invitation rings for exactly its timeout (D8), also when the
// deadline timer runs late on a busy machine (D215). It reports whether one expired.
func (s *Service) expireDueLocked(t *tenant) bool {
	now := s.now()
	if at, ok := t.machine.NextDeadline(); !ok || at.After(now) {
		return false
	}
	s.executeLocked(t, t.machine.Tick(now), nil)
	return true
}

// sessionInCallLocked reports whether the user's call ends when sess (one of u's sessions)
// ends: when it is the user's last session, or when it is the session that dials or takes
// part in the call. A ringing invitation keeps ringing on the user's other sessions (D4).
func (s *Service) sessionInCallLocked(u *user, sess *session) bool {
	st := u.tenant.machine.UserState(u.id)
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

// idSource makes the call ids and rooms of one tenant's machine.
type idSource struct {
	s *Service
	t *tenant
}

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
		rid, _ := ids.t.roomID(id)
		if _, busy := ids.s.roomMembers(rid); !busy && !ids.t.roomHasCallLocked(id) {
			return id
		}
	}
}

// roomHasCallLocked reports whether a live call of the tenant uses room id (the machine
// is called with Service.mu held, so this runs under it).
func (t *tenant) roomHasCallLocked(id protocol.RoomID) bool {
	return t.machine.RoomInUse(id)
}

// inCallRoomLocked reports whether userID is IN_CALL in a call whose room is r.
func (t *tenant) inCallRoomLocked(userID string, r protocol.RoomID) bool {
	st := t.machine.UserState(userID)
	if st.State != call.InCall {
		return false
	}
	snap, ok := t.machine.Snapshot(st.CallID)
	return ok && snap.RoomID == r
}

// roomID is the tenant's room named by the wire id r.
func (t *tenant) roomID(r protocol.RoomID) (room.ID, error) {
	id, err := roomIDFromWire(r)
	return id.InApp(t.app), err
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

func (nopHooks) CallBegan(call.CallSummary)                                     {}
func (nopHooks) CallEnded(call.CallSummary)                                     {}
func (nopHooks) InviteeOffline(int, string, string, protocol.CallReceivedEvent) {}
