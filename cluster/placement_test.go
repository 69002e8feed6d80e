package cluster

import (
	"context"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testservers"
)

// TestPlaceRoom: a room goes to the least loaded live node that is not draining, in the
// region asked for when a node there takes work, else anywhere (D95).
func TestPlaceRoom(t *testing.T) {
	r := testservers.RunRedis(t)
	a := startNode(t, testConfig(r, "a", "eu"), Load{Sessions: 50}, nil)
	startNode(t, testConfig(r, "b", "eu"), Load{Rooms: 10}, nil)
	startNode(t, testConfig(r, "c", "us"), Load{Tracks: 5}, nil)
	d := startNode(t, testConfig(r, "d", "us"), Load{}, nil)
	if err := d.SetDraining(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a sees d draining", func() bool { n, ok := a.Node("d"); return ok && n.Draining })
	tests := []struct {
		region, want string
	}{
		{"eu", "b"}, // b (10) beats a (50) in eu
		{"us", "c"}, // d (0) drains
		{"", "c"},   // no preference: the least loaded of all
		{"ap", "c"}, // nobody in ap
	}
	for _, tt := range tests {
		n, ok := a.PlaceRoom(tt.region)
		if !ok || n.ID != tt.want {
			t.Errorf("PlaceRoom(%q) = %s, %v; want %s", tt.region, n.ID, ok, tt.want)
		}
	}
}

// placeBurst has placer place n rooms in region with no heartbeat between them and
// counts the rooms each node got.
func placeBurst(t *testing.T, placer *Cluster, region string, n int) map[string]int {
	t.Helper()
	got := make(map[string]int)
	for range n {
		node, ok := placer.PlaceRoom(region)
		if !ok {
			t.Fatalf("PlaceRoom(%q): no node", region)
		}
		got[node.ID]++
	}
	return got
}

// TestPlaceRoomBurst (D158): rooms placed between two heartbeats count on their node, so
// a burst spreads over the nodes (filling the least loaded first) instead of all going
// to the node that was least loaded at the last heartbeat; the region asked for still
// wins and a draining node still gets none.
func TestPlaceRoomBurst(t *testing.T) {
	type node struct {
		id, region string
		load       Load
		draining   bool
	}
	tests := []struct {
		name   string
		nodes  []node // the first places the rooms
		region string
		n      int
		want   map[string]int
	}{
		{"equal nodes share", []node{{"a", "eu", Load{}, false}, {"b", "eu", Load{}, false}, {"c", "eu", Load{}, false}},
			"", 30, map[string]int{"a": 10, "b": 10, "c": 10}},
		{"the least loaded fill up first", []node{{"a", "eu", Load{Rooms: 6}, false}, {"b", "eu", Load{}, false}, {"c", "eu", Load{Sessions: 3}, false}},
			"", 9, map[string]int{"b": 6, "c": 3}},
		{"region wins", []node{{"a", "eu", Load{}, false}, {"b", "eu", Load{}, false}, {"c", "us", Load{}, false}},
			"eu", 20, map[string]int{"a": 10, "b": 10}},
		{"draining gets none", []node{{"a", "eu", Load{}, false}, {"b", "eu", Load{}, false}, {"c", "eu", Load{}, true}},
			"eu", 20, map[string]int{"a": 10, "b": 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testservers.RunRedis(t)
			ctx := context.Background()
			nodes := make([]*Cluster, len(tt.nodes))
			for i, n := range tt.nodes {
				nodes[i] = startStillNode(t, r, n.id, n.region, func() Load { return n.load })
				if n.draining {
					if err := nodes[i].SetDraining(ctx); err != nil {
						t.Fatal(err)
					}
					if err := nodes[i].beat(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			placer := nodes[0]
			if err := placer.beat(ctx); err != nil { // it sees every node as registered now
				t.Fatal(err)
			}
			if got := placeBurst(t, placer, tt.region, tt.n); !maps.Equal(got, tt.want) {
				t.Errorf("rooms per node %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPlaceRoomReconciled (D158): a node's rooms placed before its registration was
// measured stop counting when that registration is read (its own counts include them);
// those on a node whose registration was not renewed since still count.
func TestPlaceRoomReconciled(t *testing.T) {
	r := testservers.RunRedis(t)
	ctx := context.Background()
	var rooms [3]atomic.Int64
	nodes := make([]*Cluster, 3)
	for i, id := range []string{"a", "b", "c"} {
		nodes[i] = startStillNode(t, r, id, "eu", func() Load { return Load{Rooms: int(rooms[i].Load())} })
	}
	a, b := nodes[0], nodes[1]
	if err := a.beat(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := placeBurst(t, a, "", 9), map[string]int{"a": 3, "b": 3, "c": 3}; !maps.Equal(got, want) {
		t.Fatalf("first burst: rooms per node %v, want %v", got, want)
	}
	// b and a open their rooms and beat, a reads both; c's registration stays the old one.
	rooms[0].Store(3)
	rooms[1].Store(3)
	for _, n := range []*Cluster{b, a} {
		if err := n.beat(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if seen, _ := a.Node("b"); seen.Load.Rooms != 3 {
		t.Fatalf("a sees b with %d rooms, want 3", seen.Load.Rooms)
	}
	// All three weigh 3 now: a and b by their registrations, c by what a placed there.
	// Counted twice, a and b would weigh 6 and c get all three; forgotten, c would weigh 0.
	if got, want := placeBurst(t, a, "", 3), map[string]int{"a": 1, "b": 1, "c": 1}; !maps.Equal(got, want) {
		t.Errorf("second burst: rooms per node %v, want %v", got, want)
	}
}

// TestPendingRoomsBounded (D158): the stamps of one node stay at most pendingStamps
// however many rooms are placed before its registration is renewed, the count stays
// exact, and a node that left the live nodes leaves nothing behind.
func TestPendingRoomsBounded(t *testing.T) {
	p := pendingRooms{width: time.Second}
	t0 := time.Unix(1000, 0)
	for i := range 100 {
		p.add("x", t0.Add(time.Duration(i)*300*time.Millisecond))
	}
	p.add("y", t0)
	if got := len(p.byNode["x"]); got > pendingStamps {
		t.Errorf("%d stamps, want at most %d", got, pendingStamps)
	}
	if got := p.count("x"); got != 100 {
		t.Errorf("count %d, want 100", got)
	}
	p.reconcile(map[string]seen{"x": {Node: Node{ID: "x", BeatAt: t0.Add(time.Second)}}})
	if got := p.count("x"); got != 100-4 {
		t.Errorf("after a registration measured at 1 s: count %d, want 96 (the rooms placed at 0–0.9 s dropped)", got)
	}
	if _, ok := p.byNode["y"]; ok {
		t.Error("y, no longer alive, still has pending rooms")
	}
}
