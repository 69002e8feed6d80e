package signaling_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parley-rtc/parley/cluster"
	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/signaling"
)

// clusterNodes is the number of Parley nodes of a test cluster.
const clusterNodes = 3

// newClusterStack is three Parley nodes (n0, n1, n2: each its own engine, Service and
// HTTP server on 127.0.0.1) joined through one real redis-server. It returns n0's stack,
// whose dial picks the nodes in turn, so the users of a test are spread over the nodes:
// the first login takes the app to n0 (all nodes equally loaded, the lowest id wins, D51)
// and the users of n1 and n2 are relayed to it. The stack's clock, records and service
// are n0's, the owner's. Its rooms stay on the owner (cluster.room_placement owner,
// explicit since load is the default, D126); newPlacedClusterStack places them.
func newClusterStack(t testing.TB, opts ...stackOption) *stack {
	t.Helper()
	nodes := newClusterNodes(t, clusterNodes, func(c *cluster.Config) { c.RoomPlacement = cluster.PlacementOwner }, opts...)
	nodes[0].nodes = nodes
	return nodes[0]
}

// newClusterNodes is n nodes (n0 … n(n-1)) on one real redis-server, each with its
// cluster config changed by edit (nil: none); the first holds the Redis.
func newClusterNodes(t testing.TB, n int, edit func(*cluster.Config), opts ...stackOption) []*stack {
	t.Helper()
	r := testservers.RunRedis(t)
	nodes := make([]*stack, n)
	for i := range nodes {
		// node_ttl as in production (3 s): with 1.5 s a node starved of CPU under -race on a
		// busy machine could miss its beats long enough to count as dead for the others
		// (its relayed sessions dropped, a later request then "log in first").
		cfg := cluster.Config{RedisURL: r.URL, NodeID: fmt.Sprintf("n%d", i), Heartbeat: 200 * time.Millisecond, NodeTTL: 3 * time.Second}
		if edit != nil {
			edit(&cfg)
		}
		nodes[i] = newClusterNode(t, cfg, opts...)
	}
	for _, node := range nodes {
		waitUntil(t, ctxT(t, 20*time.Second), node.cl.ID()+" sees every node", func() bool { return len(node.cl.Nodes()) == n })
	}
	nodes[0].redis = r
	return nodes
}

// newClusterNode is one node of a test cluster. Its registered load is its open rooms
// plus the stack's extraLoad (rooms a test pretends it has).
func newClusterNode(t testing.TB, cfg cluster.Config, opts ...stackOption) *stack {
	t.Helper()
	var st *stack // set before Start, which starts the heartbeat that reads it
	load := func() cluster.Load {
		return cluster.Load{Rooms: st.service.Rooms().Rooms() + int(st.extraLoad.Load())}
	}
	cl, err := cluster.New(cfg, cluster.Self{Load: load}, func(m cluster.Message) { st.service.HandleClusterMessage(m) }, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	cl.OnNodeGone(func(id string) { st.service.NodeGone(id) })
	t.Cleanup(func() { _ = cl.Close() }) // after the stack's own cleanup (LIFO)
	st = buildStack(t, nil, cl, opts...)
	cl.Advertise(st.url, st.engine.UDPAddr().String())
	if err := cl.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// newPlacedClusterStack is a cluster with cluster.room_placement "load" (D95): the users
// dial n0 (the owner), n1 and n2 as in newClusterStack, and every room goes to a fourth
// node, n3, the least loaded (the others pretend 100 rooms each): neither the owner nor a
// front of any user. The test fails unless n3 hosted a participant.
func newPlacedClusterStack(t testing.TB, opts ...stackOption) *stack {
	t.Helper()
	return newPlacedCluster(t, nil, opts...)
}

// newPlacedClusterStackRoomless is newPlacedClusterStack for a test that opens no room.
func newPlacedClusterStackRoomless(t testing.TB, opts ...stackOption) *stack {
	t.Helper()
	st := newPlacedCluster(t, nil, opts...)
	st.roomless = true
	return st
}

// newPlacedCluster is newPlacedClusterStack whose nodes' cluster configs edit changes
// too (nil: none).
func newPlacedCluster(t testing.TB, edit func(*cluster.Config), opts ...stackOption) *stack {
	t.Helper()
	nodes := newClusterNodes(t, clusterNodes+1, func(c *cluster.Config) {
		c.RoomPlacement = cluster.PlacementLoad
		if edit != nil {
			edit(c)
		}
	}, opts...)
	st, media := nodes[0], nodes[clusterNodes]
	st.nodes, st.media = nodes[:clusterNodes], media
	// The app goes to n0 (all loads equal, the lowest id) before the loads change.
	if owner, err := st.cl.Owner(ctxT(t, 10*time.Second), signaling.DevSDKAppID); err != nil || owner.ID != st.cl.ID() {
		t.Fatalf("owner of the app: %s, %v; want %s", owner.ID, err, st.cl.ID())
	}
	for _, n := range st.nodes {
		n.extraLoad.Store(100)
	}
	st.waitLoads(t, nodes...)
	t.Cleanup(func() { // before the stacks close (LIFO)
		if media.service.PlacementStats().HostedTotal == 0 && !st.roomless {
			t.Errorf("media node %s hosted no participant: the rooms were not placed on it", media.cl.ID())
		}
	})
	return st
}

// waitLoads waits until the owner's registry shows the current load of each of nodes.
func (st *stack) waitLoads(t testing.TB, nodes ...*stack) {
	t.Helper()
	waitUntil(t, ctxT(t, 20*time.Second), "the owner sees the nodes' loads", func() bool {
		for _, n := range nodes {
			seen, ok := st.cl.Node(n.cl.ID())
			if !ok || seen.Load.Rooms != n.service.Rooms().Rooms()+int(n.extraLoad.Load()) {
				return false
			}
		}
		return true
	})
}

// wantSessionsOnOwner checks that the stack's node holds n sessions and, in a cluster, that
// the other nodes hold none: their users' sessions run on the owner (D50).
func (st *stack) wantSessionsOnOwner(t testing.TB, n int) {
	t.Helper()
	if got := st.service.Sessions(); got != n {
		t.Fatalf("the owner holds %d sessions, want %d", got, n)
	}
	for _, node := range st.nodes {
		if node == st {
			continue
		}
		if got := node.service.Sessions(); got != 0 {
			t.Fatalf("node %s holds %d sessions of an app owned by %s", node.cl.ID(), got, st.cl.ID())
		}
	}
}
