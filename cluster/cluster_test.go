package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/internal/testwait"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.RedisURL = "redis://127.0.0.1:6379/0"
	tests := []struct {
		name string
		edit func(*Config)
		key  string // "" → valid
	}{
		{"default single node", func(c *Config) { c.RedisURL = "" }, ""},
		{"redis", func(*Config) {}, ""},
		{"bad url", func(c *Config) { c.RedisURL = "http://x" }, "cluster.redis_url"},
		{"node id", func(c *Config) { c.NodeID = "eu-1.a_b" }, ""},
		{"bad node id", func(c *Config) { c.NodeID = "a b" }, "cluster.node_id"},
		{"long region", func(c *Config) { c.Region = strings.Repeat("r", 65) }, "cluster.region"},
		{"fast heartbeat", func(c *Config) { c.Heartbeat = time.Millisecond }, "cluster.heartbeat"},
		{"short ttl", func(c *Config) { c.NodeTTL = c.Heartbeat }, "cluster.node_ttl"},
		{"no profile expiry", func(c *Config) { c.ProfileTTL = 0 }, ""},
		{"tiny profile ttl", func(c *Config) { c.ProfileTTL = time.Millisecond }, "cluster.profile_ttl"},
		{"rooms by load", func(c *Config) { c.RoomPlacement = PlacementLoad }, ""},
		{"rooms on owner", func(c *Config) { c.RoomPlacement = PlacementOwner }, ""},
		{"bad room placement", func(c *Config) { c.RoomPlacement = "random" }, "cluster.room_placement"},
		{"advertise url", func(c *Config) { c.AdvertiseURL = "https://n1.example.com:8443" }, ""},
		{"advertise url with a path", func(c *Config) { c.AdvertiseURL = "http://lb.example.com/n1/" }, ""},
		{"advertise ws url", func(c *Config) { c.AdvertiseURL = "ws://n1:7880/ws" }, "cluster.advertise_url"},
		{"advertise no host", func(c *Config) { c.AdvertiseURL = "http:///x" }, "cluster.advertise_url"},
		{"advertise no scheme", func(c *Config) { c.AdvertiseURL = "n1:7880" }, "cluster.advertise_url"},
		{"advertise query", func(c *Config) { c.AdvertiseURL = "http://n1:7880/?a=1" }, "cluster.advertise_url"},
		{"advertise fragment", func(c *Config) { c.AdvertiseURL = "http://n1:7880/#x" }, "cluster.advertise_url"},
		{"advertise user", func(c *Config) { c.AdvertiseURL = "http://u:p@n1:7880" }, "cluster.advertise_url"},
		{"advertise unspecified", func(c *Config) { c.AdvertiseURL = "http://0.0.0.0:7880" }, "cluster.advertise_url"},
		{"advertise unspecified v6", func(c *Config) { c.AdvertiseURL = "http://[::]:7880" }, "cluster.advertise_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.key == "" && err != nil:
				t.Fatalf("valid config refused: %v", err)
			case tt.key != "" && (err == nil || !strings.Contains(err.Error(), tt.key)):
				t.Fatalf("error %v does not name %s", err, tt.key)
			}
		})
	}
	if _, err := New(DefaultConfig(), Self{}, nil, nil); err == nil {
		t.Fatal("New without cluster.redis_url succeeded")
	}
}

// TestSignalingURL (D137, D138): the URL a node registers comes from cluster.advertise_url
// when set (http → ws, https → wss, path /ws after its own), else from the bound
// http.address, which is unreachable when its host is unspecified.
func TestSignalingURL(t *testing.T) {
	for _, tt := range []struct {
		advertise, listen, want string
		reachable               bool
	}{
		{"", "127.0.0.1:7880", "ws://127.0.0.1:7880/ws", true},
		{"", "[::1]:7880", "ws://[::1]:7880/ws", true},
		{"", "n1.internal:7880", "ws://n1.internal:7880/ws", true},
		{"", "0.0.0.0:7880", "ws://0.0.0.0:7880/ws", false},
		{"", "[::]:7880", "ws://[::]:7880/ws", false},
		{"http://203.0.113.10:7891", "0.0.0.0:7880", "ws://203.0.113.10:7891/ws", true},
		{"https://n1.example.com/", "[::]:7880", "wss://n1.example.com/ws", true},
		{"https://lb.example.com/n1", "127.0.0.1:7880", "wss://lb.example.com/n1/ws", true},
		{"http://[2001:db8::1]:7880", "0.0.0.0:7880", "ws://[2001:db8::1]:7880/ws", true},
	} {
		c := DefaultConfig()
		c.AdvertiseURL = tt.advertise
		if got, reachable := c.SignalingURL(tt.listen); got != tt.want || reachable != tt.reachable {
			t.Errorf("advertise_url %q, listener %s: %s reachable %v, want %s %v", tt.advertise, tt.listen, got, reachable, tt.want, tt.reachable)
		}
	}
}

// TestRoomPlacementDefault (D126): rooms are placed by load unless room_placement says
// owner; the default and an empty value place them.
func TestRoomPlacementDefault(t *testing.T) {
	for _, tt := range []struct {
		placement string
		places    bool
	}{{DefaultConfig().RoomPlacement, true}, {"", true}, {PlacementLoad, true}, {PlacementOwner, false}} {
		cfg := DefaultConfig()
		cfg.RedisURL, cfg.RoomPlacement = "redis://127.0.0.1:1/0", tt.placement
		c, err := New(cfg, Self{}, nil, nil) // dials nothing
		if err != nil {
			t.Fatal(err)
		}
		if got := c.PlacesRooms(); got != tt.places {
			t.Errorf("room_placement %q: PlacesRooms %v, want %v", tt.placement, got, tt.places)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNodesSeeEachOtherAndDeath: registered nodes see each other with their load and
// region; a node that stops heart-beating is gone within NodeTTL plus a beat (the gone
// callback runs once), and one that closes is gone at the next beat.
func TestNodesSeeEachOtherAndDeath(t *testing.T) {
	r := testservers.RunRedis(t)
	var mu sync.Mutex
	var gone []string
	a := startNode(t, testConfig(r, "a", "eu"), Load{Sessions: 3}, nil)
	a.OnNodeGone(func(id string) { mu.Lock(); gone = append(gone, id); mu.Unlock() })
	b := startNode(t, testConfig(r, "b", "us"), Load{Rooms: 2, CPU: 0.5}, nil)
	c := startNode(t, testConfig(r, "c", "us"), Load{}, nil)
	waitFor(t, "a sees a, b and c", func() bool { return len(a.Nodes()) == 3 })
	if n, _ := a.Node("b"); n.Region != "us" || n.Load.Rooms != 2 || n.Load.CPU != 0.5 || n.SignalingURL != "ws://b/ws" {
		t.Fatalf("a sees b as %+v", n)
	}
	if err := a.Ready(context.Background()); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	freeze(b)
	stopped := time.Now()
	waitFor(t, "b gone after it stopped heart-beating", func() bool { _, ok := a.Node("b"); return !ok })
	if d := time.Since(stopped); d < a.cfg.NodeTTL/2 {
		t.Fatalf("b declared dead %v after its last beat, before its TTL %v", d, a.cfg.NodeTTL)
	}
	c.Close()
	waitFor(t, "c gone after Close", func() bool { _, ok := a.Node("c"); return !ok })
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(gone) != "[b c]" {
		t.Fatalf("gone callbacks %v, want [b c]", gone)
	}
}

// TestOwnerPlacement: a tenant goes to the least loaded node that is not draining, in the
// asking node's region when one is there; it stays with its owner while that lives, moves
// when the owner dies, and a draining owner gives its tenants up.
func TestOwnerPlacement(t *testing.T) {
	r := testservers.RunRedis(t)
	ctx := context.Background()
	eu := startNode(t, testConfig(r, "eu1", "eu"), Load{Sessions: 50}, nil)
	us1 := startNode(t, testConfig(r, "us1", "us"), Load{Sessions: 10}, nil)
	us2 := startNode(t, testConfig(r, "us2", "us"), Load{Sessions: 5}, nil)
	for _, n := range []*Cluster{eu, us1, us2} {
		waitFor(t, n.ID()+" sees 3 nodes", func() bool { return len(n.Nodes()) == 3 })
	}
	owner := func(c *Cluster, app int) string {
		t.Helper()
		n, err := c.Owner(ctx, app)
		if err != nil {
			t.Fatalf("Owner(%d) from %s: %v", app, c.ID(), err)
		}
		return n.ID
	}
	tests := []struct {
		from *Cluster
		app  int
		want string
	}{
		{eu, 1, "eu1"},  // its region, though busier
		{us1, 2, "us2"}, // least loaded of its region
		{us1, 1, "eu1"}, // already owned
		{us2, 2, "us2"},
	}
	for _, tt := range tests {
		if got := owner(tt.from, tt.app); got != tt.want {
			t.Fatalf("owner of app %d asked from %s = %s, want %s", tt.app, tt.from.ID(), got, tt.want)
		}
	}

	freeze(eu)
	waitFor(t, "us1 sees eu1 dead", func() bool { _, ok := us1.Node("eu1"); return !ok })
	if got := owner(us1, 1); got != "us2" {
		t.Fatalf("after eu1 died app 1 went to %s, want us2", got)
	}
	time.Sleep(3 * us2.cfg.NodeTTL) // the lease outlives its TTL only through us2's heartbeat
	if got := owner(us1, 1); got != "us2" {
		t.Fatalf("app 1 left its live owner for %s", got)
	}

	if err := us2.SetDraining(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "us1 sees us2 draining", func() bool { n, _ := us1.Node("us2"); return n.Draining })
	if got := owner(us1, 1); got != "us1" {
		t.Fatalf("app 1 of draining us2 went to %s, want us1", got)
	}
	if err := us1.SetDraining(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "us1 draining", func() bool { n, _ := us1.Node("us1"); return n.Draining })
	if _, err := us1.Owner(ctx, 3); !errors.Is(err, ErrNoNode) {
		t.Fatalf("Owner with every node draining: %v, want ErrNoNode", err)
	}
}

// TestInboxKeepsOrder: messages one goroutine sends to a node arrive complete and in order;
// sending to a node that is not alive fails with ErrNodeGone.
func TestInboxKeepsOrder(t *testing.T) {
	r := testservers.RunRedis(t)
	const n = 500
	got := make(chan Message, n)
	a := startNode(t, testConfig(r, "a", ""), Load{}, nil)
	startNode(t, testConfig(r, "b", ""), Load{}, func(m Message) { got <- m })
	waitFor(t, "a sees b", func() bool { _, ok := a.Node("b"); return ok })
	ctx := context.Background()
	for i := range n {
		if err := a.Send(ctx, "b", Message{Kind: "k", Conn: "c1", Body: fmt.Appendf(nil, "%d\x00bin", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		m := <-got
		if want := fmt.Sprintf("%d\x00bin", i); string(m.Body) != want || m.From != "a" || m.Kind != "k" || m.Conn != "c1" {
			t.Fatalf("message %d: %+v (body %q), want body %q from a", i, m, m.Body, want)
		}
	}
	if err := a.Send(ctx, "nobody", Message{Kind: "k"}); !errors.Is(err, ErrNodeGone) {
		t.Fatalf("send to a node that is not alive: %v", err)
	}
}

// TestRedisOutageAndReturn: with Redis stopped the node is not ready and Owner refuses
// with ErrUnavailable; when Redis comes back empty the nodes register again without
// declaring each other gone, the owner takes its lease back (another node asking gets the
// same owner), and the inboxes work.
func TestRedisOutageAndReturn(t *testing.T) {
	r := testservers.RunRedis(t)
	got := make(chan Message, 1)
	var mu sync.Mutex
	var gone []string
	a := startNode(t, testConfig(r, "a", "x"), Load{}, nil)
	a.OnNodeGone(func(id string) { mu.Lock(); gone = append(gone, id); mu.Unlock() })
	b := startNode(t, testConfig(r, "b", "y"), Load{}, func(m Message) { got <- m })
	ctx := context.Background()
	waitFor(t, "a sees b", func() bool { _, ok := a.Node("b"); return ok })
	if n, err := a.Owner(ctx, 7); err != nil || n.ID != "a" {
		t.Fatalf("owner of app 7: %+v %v, want a (its region)", n, err)
	}
	waitFor(t, "a holds app 7", func() bool { return a.Owns(7) })

	r.Stop()
	waitFor(t, "a not ready", func() bool { return errors.Is(a.Ready(ctx), ErrUnavailable) })
	if _, err := a.Owner(ctx, 1); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Owner without Redis: %v", err)
	}
	time.Sleep(2 * a.cfg.NodeTTL) // an outage longer than the TTL
	r.Restart(t)
	waitFor(t, "a ready again", func() bool { return a.Ready(ctx) == nil })
	waitFor(t, "b ready again", func() bool { return b.Ready(ctx) == nil })
	time.Sleep(2 * a.cfg.NodeTTL) // time enough to declare b gone, were it
	mu.Lock()
	if len(gone) != 0 {
		t.Fatalf("nodes declared gone after a Redis restart: %v", gone)
	}
	mu.Unlock()
	if n, err := b.Owner(ctx, 7); err != nil || n.ID != "a" {
		t.Fatalf("owner of app 7 after the restart: %+v %v, want a still (b, asking, would take a free app)", n, err)
	}
	if err := a.Send(ctx, "b", Message{Kind: "after"}); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m.Kind != "after" {
		t.Fatalf("got %+v", m)
	}
}

// TestShortOutagesDoNotKeepADeadNodeAlive: a node that closed is declared gone although the
// heartbeats of the others keep failing now and then (Redis paused for 300 ms every
// 600 ms, longer than a beat may take). A beat back after an outage gives NodeTTL of grace
// to the nodes registered before it, not to one already missing: that grace, renewed at
// every short outage, kept a dead media node alive for as long as a loaded machine's beats
// went on timing out (signaling's TestClusterMediaNodeDeathEndsItsCalls at load 40:
// 'waiting for onCallEnd: context deadline exceeded').
func TestShortOutagesDoNotKeepADeadNodeAlive(t *testing.T) {
	r := testservers.RunRedis(t)
	cfg := testConfig(r, "a", "x")
	cfg.NodeTTL = 2 * time.Second
	var mu sync.Mutex
	var gone []string
	a := startNode(t, cfg, Load{}, nil)
	a.OnNodeGone(func(id string) { mu.Lock(); gone = append(gone, id); mu.Unlock() })
	b := startNode(t, testConfig(r, "b", "x"), Load{}, nil)
	waitFor(t, "a sees b", func() bool { _, ok := a.Node("b"); return ok })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	opt, err := redis.ParseURL(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(opt)
	defer admin.Close()
	ctx := context.Background()
	testwait.For(t, 10*cfg.NodeTTL, "a declares b gone", func() bool {
		mu.Lock()
		done := slices.Contains(gone, "b")
		mu.Unlock()
		if !done {
			if err := admin.Do(ctx, "CLIENT", "PAUSE", 300, "ALL").Err(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(600 * time.Millisecond) // the outages' pace, not a wait for a result
		}
		return done
	})
}
