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
// are n0's, the owner's.
func newClusterStack(t testing.TB, opts ...stackOption) *stack {
	t.Helper()
	r := testservers.RunRedis(t)
	nodes := make([]*stack, clusterNodes)
	for i := range nodes {
		nodes[i] = newClusterNode(t, r.URL, fmt.Sprintf("n%d", i), opts...)
	}
	for _, n := range nodes {
		waitUntil(t, ctxT(t, 20*time.Second), n.cl.ID()+" sees every node", func() bool { return len(n.cl.Nodes()) == clusterNodes })
	}
	nodes[0].nodes = nodes
	nodes[0].redis = r
	return nodes[0]
}

// newClusterNode is one node of a test cluster on Redis url.
func newClusterNode(t testing.TB, url, id string, opts ...stackOption) *stack {
	t.Helper()
	var svc *signaling.Service
	cfg := cluster.Config{RedisURL: url, NodeID: id, Heartbeat: 200 * time.Millisecond, NodeTTL: 1500 * time.Millisecond}
	cl, err := cluster.New(cfg, cluster.Self{}, func(m cluster.Message) { svc.HandleClusterMessage(m) }, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	cl.OnNodeGone(func(id string) { svc.NodeGone(id) })
	t.Cleanup(func() { _ = cl.Close() }) // after the stack's own cleanup (LIFO)
	st := buildStack(t, nil, cl, opts...)
	svc = st.service
	cl.Advertise(st.url, st.engine.UDPAddr().String())
	if err := cl.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
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
