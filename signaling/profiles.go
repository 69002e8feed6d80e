package signaling

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/parley-rtc/parley/cluster"
)

// StoredProfile is what a user set about itself that outlives its sessions (D54): the
// nickname and avatar of setSelfInfo and the flag of enableMultiDeviceAbility.
type StoredProfile struct {
	Nickname    string
	Avatar      string
	MultiDevice bool
}

// ProfileStore keeps each user's StoredProfile, per (SDKAppID, userId). The Service reads
// it at login, before it takes its lock, and writes each change through from the session's
// effects queue (never under its lock): an implementation may wait on the network.
// Implementations are safe for concurrent use.
type ProfileStore interface {
	// Load returns the stored profile; a user never stored gets the zero StoredProfile.
	Load(ctx context.Context, app int, userID string) (StoredProfile, error)
	// SaveProfile stores the nickname and avatar, leaving the multi-device flag.
	SaveProfile(ctx context.Context, app int, userID, nickname, avatar string) error
	// SaveMultiDevice stores the multi-device flag, leaving the nickname and avatar.
	SaveMultiDevice(ctx context.Context, app int, userID string, on bool) error
}

// profileKey names one user of one app.
type profileKey struct {
	app  int
	user string
}

// MemoryProfiles is the ProfileStore of a single node: the profiles of at most max users
// in memory, the least recently loaded or saved one dropped first (signaling.max_stored_profiles).
// A user whose profile is all defaults takes no entry.
//
// Concurrency: mu guards the list and the index.
type MemoryProfiles struct {
	max int

	mu    sync.Mutex
	order *list.List // of *memoryProfile, most recently used first
	index map[profileKey]*list.Element
}

type memoryProfile struct {
	key profileKey
	p   StoredProfile
}

// NewMemoryProfiles keeps the profiles of at most limit users (at least 1).
func NewMemoryProfiles(limit int) *MemoryProfiles {
	return &MemoryProfiles{max: max(1, limit), order: list.New(), index: make(map[profileKey]*list.Element)}
}

// Len is the number of users stored.
func (m *MemoryProfiles) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.index)
}

// Load returns the user's profile and marks it used.
func (m *MemoryProfiles) Load(_ context.Context, app int, userID string) (StoredProfile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.index[profileKey{app, userID}]
	if e == nil {
		return StoredProfile{}, nil
	}
	m.order.MoveToFront(e)
	return e.Value.(*memoryProfile).p, nil
}

// SaveProfile stores the nickname and avatar.
func (m *MemoryProfiles) SaveProfile(_ context.Context, app int, userID, nickname, avatar string) error {
	m.update(profileKey{app, userID}, func(p *StoredProfile) { p.Nickname, p.Avatar = nickname, avatar })
	return nil
}

// SaveMultiDevice stores the multi-device flag.
func (m *MemoryProfiles) SaveMultiDevice(_ context.Context, app int, userID string, on bool) error {
	m.update(profileKey{app, userID}, func(p *StoredProfile) { p.MultiDevice = on })
	return nil
}

// update changes one user's entry, makes it the most recent, drops it when it holds only
// defaults, and drops the least recent entries beyond max.
func (m *MemoryProfiles) update(k profileKey, change func(*StoredProfile)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.index[k]
	if e == nil {
		e = m.order.PushFront(&memoryProfile{key: k})
		m.index[k] = e
	}
	mp := e.Value.(*memoryProfile)
	change(&mp.p)
	m.order.MoveToFront(e)
	if mp.p == (StoredProfile{}) {
		m.drop(e)
	}
	for len(m.index) > m.max {
		m.drop(m.order.Back())
	}
}

func (m *MemoryProfiles) drop(e *list.Element) {
	delete(m.index, e.Value.(*memoryProfile).key)
	m.order.Remove(e)
}

// Redis hash fields of a stored profile (cluster.LoadProfile; docs/architecture.md).
const (
	fieldNickname    = "nick"
	fieldAvatar      = "avatar"
	fieldMultiDevice = "md"
)

// clusterProfiles is the ProfileStore of a cluster: one Redis hash per user
// (cluster/profile.go), so every node sees what any node stored.
type clusterProfiles struct{ cl *cluster.Cluster }

func (c clusterProfiles) Load(ctx context.Context, app int, userID string) (StoredProfile, error) {
	f, err := c.cl.LoadProfile(ctx, app, userID)
	if err != nil {
		return StoredProfile{}, err
	}
	return StoredProfile{Nickname: f[fieldNickname], Avatar: f[fieldAvatar], MultiDevice: f[fieldMultiDevice] == "1"}, nil
}

func (c clusterProfiles) SaveProfile(ctx context.Context, app int, userID, nickname, avatar string) error {
	return c.cl.SaveProfile(ctx, app, userID, map[string]string{fieldNickname: nickname, fieldAvatar: avatar})
}

func (c clusterProfiles) SaveMultiDevice(ctx context.Context, app int, userID string, on bool) error {
	md := "0"
	if on {
		md = "1"
	}
	return c.cl.SaveProfile(ctx, app, userID, map[string]string{fieldMultiDevice: md})
}

// profileTimeout bounds one read or write of the ProfileStore.
const profileTimeout = 2 * time.Second

// stored is what of u outlives its sessions. Called with Service.mu held.
func (u *user) stored() StoredProfile {
	return StoredProfile{Nickname: u.profile.Nickname, Avatar: u.profile.Avatar, MultiDevice: u.multiDevice}
}

// loadProfile reads a user's stored profile; it runs before Service.mu is taken. A failure
// (Redis unreachable) is logged and gives the defaults: the login goes on (D55).
func (s *Service) loadProfile(ctx context.Context, app int, userID string) StoredProfile {
	ctx, cancel := context.WithTimeout(ctx, profileTimeout)
	defer cancel()
	p, err := s.profiles.Load(ctx, app, userID)
	if err != nil {
		s.log.Warn("stored profile not read: the login goes on with the defaults", "sdkAppId", app, "user", userID, "error", err)
		return StoredProfile{}
	}
	return p
}

// storeProfileLocked queues on sess's effects the write of u's profile through save (D54),
// after Service.mu is released. The write stores what u holds when it runs, so the last
// change wins even when two sessions of the user changed it at once; when u has no session
// left by then, what it holds now. A failure is logged: the change holds for the user's
// sessions on this node all the same (D55).
func (s *Service) storeProfileLocked(sess *session, u *user, save func(ctx context.Context, app int, userID string, p StoredProfile) error) {
	t, id, p := u.tenant, u.id, u.stored()
	sess.later(func() {
		s.mu.Lock()
		if cur := t.users[id]; cur != nil {
			p = cur.stored()
		}
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), profileTimeout)
		defer cancel()
		if err := save(ctx, t.app, id, p); err != nil {
			s.log.Warn("profile not stored", "sdkAppId", t.app, "user", id, "error", err)
		}
	})
}
