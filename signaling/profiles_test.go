package signaling_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestMemoryProfiles: the single node's store keeps at most its bound of users, drops the
// least recently loaded or saved first, stores the nickname/avatar and the multi-device
// flag independently, per app, and keeps no entry for a user with only defaults.
func TestMemoryProfiles(t *testing.T) {
	ctx := context.Background()
	nick := func(app int, u, n string) func(*signaling.MemoryProfiles) {
		return func(m *signaling.MemoryProfiles) { _ = m.SaveProfile(ctx, app, u, n, "") }
	}
	md := func(app int, u string, on bool) func(*signaling.MemoryProfiles) {
		return func(m *signaling.MemoryProfiles) { _ = m.SaveMultiDevice(ctx, app, u, on) }
	}
	load := func(app int, u string) func(*signaling.MemoryProfiles) {
		return func(m *signaling.MemoryProfiles) { _, _ = m.Load(ctx, app, u) }
	}
	type key struct {
		app  int
		user string
	}
	tests := []struct {
		name string
		ops  []func(*signaling.MemoryProfiles)
		want map[key]signaling.StoredProfile // what Load gives; absent users give defaults
		len  int
	}{
		{"the oldest goes first", []func(*signaling.MemoryProfiles){nick(1, "a", "A"), nick(1, "b", "B"), nick(1, "c", "C")},
			map[key]signaling.StoredProfile{{1, "a"}: {}, {1, "b"}: {Nickname: "B"}, {1, "c"}: {Nickname: "C"}}, 2},
		{"a load keeps a user", []func(*signaling.MemoryProfiles){nick(1, "a", "A"), nick(1, "b", "B"), load(1, "a"), nick(1, "c", "C")},
			map[key]signaling.StoredProfile{{1, "a"}: {Nickname: "A"}, {1, "b"}: {}, {1, "c"}: {Nickname: "C"}}, 2},
		{"fields apart", []func(*signaling.MemoryProfiles){nick(1, "a", "A"), md(1, "a", true), nick(1, "a", "A2")},
			map[key]signaling.StoredProfile{{1, "a"}: {Nickname: "A2", MultiDevice: true}}, 1},
		{"per app", []func(*signaling.MemoryProfiles){nick(1, "a", "A"), md(2, "a", true)},
			map[key]signaling.StoredProfile{{1, "a"}: {Nickname: "A"}, {2, "a"}: {MultiDevice: true}}, 2},
		{"defaults take no entry", []func(*signaling.MemoryProfiles){md(1, "a", true), md(1, "a", false), nick(1, "b", "B"), nick(1, "b", "")},
			map[key]signaling.StoredProfile{{1, "a"}: {}, {1, "b"}: {}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := signaling.NewMemoryProfiles(2)
			for _, op := range tt.ops {
				op(m)
			}
			if got := m.Len(); got != tt.len {
				t.Fatalf("%d users stored, want %d", got, tt.len)
			}
			for k, want := range tt.want {
				if got, err := m.Load(ctx, k.app, k.user); err != nil || got != want {
					t.Fatalf("Load(%d, %s) = %+v, %v; want %+v", k.app, k.user, got, err, want)
				}
			}
		})
	}
}

// TestProfileOutlivesLastSession: a user's nickname, avatar and multi-device flag outlive
// its last session (D54): after logout and a new login, a second login does not kick the
// first and an invitation carries the nickname and avatar.
func TestProfileOutlivesLastSession(t *testing.T) {
	profileOutlivesLastSession(t, newStack(t), func() {})
}

// TestClusterProfileOutlivesOwner: the same across nodes — between the logout and the new
// login the owner of the app (n0, which held the profile in memory) leaves the cluster, so
// the node that takes the app knows the profile only from Redis.
func TestClusterProfileOutlivesOwner(t *testing.T) {
	st := newClusterStack(t)
	profileOutlivesLastSession(t, st, func() {
		must(t, st.cl.Close())
		st.nodes = st.nodes[1:] // logins go to n1 and n2 from now on
		for _, n := range st.nodes {
			waitUntil(t, ctxT(t, 20*time.Second), n.cl.ID()+" sees n0 gone", func() bool { return len(n.cl.Nodes()) == len(st.nodes) })
		}
	})
}

func profileOutlivesLastSession(t *testing.T, st *stack, between func()) {
	ctx := ctxT(t, 60*time.Second)
	alice := st.login(t, "alice")
	must(t, alice.SetSelfInfo(ctx, "Alice", "https://img.example/alice.png"))
	must(t, alice.EnableMultiDeviceAbility(ctx, true))
	must(t, alice.Logout(ctx))
	between()

	alice2 := st.login(t, "alice")
	st.login(t, "alice") // a second device: it kicks the first unless multi-device outlived the logout
	bob := st.login(t, "bob")
	started, err := alice2.Call(ctx, bob.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	if err != nil {
		t.Fatalf("alice's first device after alice's second login: %v (multi-device lost?)", err)
	}
	got := waitFor(t, bob, protocol.EventCallReceived, func(e protocol.CallReceivedEvent) bool { return e.CallID == started.CallID })
	if got.CallerNickname != "Alice" || got.CallerAvatar != "https://img.example/alice.png" {
		t.Fatalf("onCallReceived caller %q %q, want the profile set before the logout", got.CallerNickname, got.CallerAvatar)
	}
	if n := alice2.EventCount(protocol.EventKickedOffline); n != 0 {
		t.Fatal("alice's second login kicked her first: multi-device lost")
	}
	must(t, alice2.Hangup(ctx))
	waitFor(t, bob, protocol.EventCallCancelled, func(e protocol.CallCancelledEvent) bool { return e.CallID == started.CallID })
}

// TestClusterProfileWriteFailureKeepsTheChange (D55): with Redis stopped, setSelfInfo of a
// user on the owner still answers, and the owner's next invitation carries the new
// nickname (the write failed; the memory holds it).
func TestClusterProfileWriteFailureKeepsTheChange(t *testing.T) {
	st := newClusterStack(t)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "w", "alice", "bob", "carol", "dave", "erin", "frank") // n1, n2, n0, n1, n2, n0
	carol, frank := us[2], us[5]                                             // on the owner
	must(t, carol.SetSelfInfo(ctx, "Carol", ""))
	st.redis.Stop()
	waitUntil(t, ctx, "the owner sees Redis gone", func() bool { return st.cl.Ready(ctx) != nil })
	must(t, carol.SetSelfInfo(ctx, "Carol B", "https://img.example/carol.png"))
	started, err := carol.Call(ctx, frank.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	must(t, err)
	got := waitFor(t, frank, protocol.EventCallReceived, func(e protocol.CallReceivedEvent) bool { return e.CallID == started.CallID })
	if got.CallerNickname != "Carol B" || got.CallerAvatar != "https://img.example/carol.png" {
		t.Fatalf("onCallReceived caller %q %q during the outage, want the profile set during it", got.CallerNickname, got.CallerAvatar)
	}
}

// gatedProfiles is a ProfileStore whose reads and writes for one user wait until the test
// opens the gate (ignoring their context: a Redis that hangs).
type gatedProfiles struct {
	*signaling.MemoryProfiles
	user    string
	waiting chan struct{} // gets a value when a read or write of user starts waiting
	gate    chan struct{} // each value lets one wait go on; closed at cleanup
}

func (g gatedProfiles) wait(userID string) {
	if userID == g.user {
		select {
		case g.waiting <- struct{}{}:
		default:
		}
		<-g.gate
	}
}

func (g gatedProfiles) Load(ctx context.Context, app int, userID string) (signaling.StoredProfile, error) {
	g.wait(userID)
	return g.MemoryProfiles.Load(ctx, app, userID)
}

func (g gatedProfiles) SaveProfile(ctx context.Context, app int, userID, nickname, avatar string) error {
	g.wait(userID)
	return g.MemoryProfiles.SaveProfile(ctx, app, userID, nickname, avatar)
}

// TestSlowProfileStoreDelaysNobodyElse: while the profile store hangs on one user's read
// (at login) and then on its write (setSelfInfo), everyone else logs in and goes through
// a whole call; the slow user's requests answer once the store does (D54: the store is
// never used under Service.mu).
func TestSlowProfileStoreDelaysNobodyElse(t *testing.T) {
	st := newStack(t)
	g := gatedProfiles{MemoryProfiles: signaling.NewMemoryProfiles(10), user: "slow", waiting: make(chan struct{}, 1), gate: make(chan struct{})}
	st.service.SetProfiles(g)
	t.Cleanup(func() { close(g.gate) }) // before the stack's cleanup (LIFO), also after a failure
	ctx := ctxT(t, 60*time.Second)
	slow := st.dial(t)
	answered := make(chan error, 1)
	go func() {
		_, err := slow.Login(ctx, protocolDevApp, "slow", sig(t, "slow", time.Hour))
		answered <- err
	}()
	stuck := func(what string) {
		t.Helper()
		select {
		case <-g.waiting:
		case <-ctx.Done():
			t.Fatalf("%s never reached the store", what)
		}
		alice, bob := st.login(t, "alice"), st.login(t, "bob")
		started, err := alice.Call(ctx, bob.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		must(t, bob.Hangup(ctx))
		waitFor(t, alice, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == started.CallID })
		select {
		case err := <-answered:
			t.Fatalf("%s answered (%v) while the store still hung", what, err)
		default:
		}
		g.gate <- struct{}{}
		must(t, <-answered)
	}
	stuck("slow's login")
	go func() { answered <- slow.SetSelfInfo(ctx, "Slow", "") }()
	stuck("slow's setSelfInfo")
	if p, _ := g.MemoryProfiles.Load(ctx, protocolDevApp, "slow"); p.Nickname != "Slow" {
		t.Fatalf("stored %+v after setSelfInfo answered", p)
	}
}

// BenchmarkMemoryProfilesHeap reports the heap one stored user takes in MemoryProfiles
// (docs/decisions.md D54): a typical profile, and the largest one the protocol allows
// (64-byte userId, 500-byte nickname, 2048-byte avatar).
func BenchmarkMemoryProfilesHeap(b *testing.B) {
	const users = 100_000
	ctx := context.Background()
	for _, c := range []struct {
		name, nick, avatar string
		idPad              int
	}{
		{"typical", "Alice Example", "https://img.example.com/avatars/0123456789abcdef.png", 0},
		{"largest", strings.Repeat("n", protocol.MaxNicknameBytes), "https://" + strings.Repeat("a", protocol.MaxAvatarBytes-8), protocol.MaxUserIDLength - 7},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				before := heapInUse()
				m := signaling.NewMemoryProfiles(users)
				for i := range users {
					id := fmt.Sprintf("u%06d", i) + strings.Repeat("x", c.idPad)
					_ = m.SaveProfile(ctx, protocolDevApp, id, strings.Clone(c.nick), strings.Clone(c.avatar))
					_ = m.SaveMultiDevice(ctx, protocolDevApp, id, true)
				}
				b.ReportMetric(float64(heapInUse()-before)/users, "B/user")
				runtime.KeepAlive(m)
			}
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
