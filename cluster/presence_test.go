package cluster

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testservers"
)

// conns is the connection ids of ps, in order.
func conns(ps []Presence) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Conn
	}
	return out
}

// presenceIs waits until every node in from reads want as (app 1, user)'s connections.
func presenceIs(t *testing.T, user string, want []string, from ...*Cluster) {
	t.Helper()
	for _, c := range from {
		var got []string
		waitFor(t, c.ID()+" reads "+user+" on "+slices.Concat(want, []string{"(none)"})[0], func() bool {
			ps, err := c.Presence(context.Background(), 1, user)
			if err != nil {
				t.Fatal(err)
			}
			got = conns(ps)
			return slices.Equal(got, want)
		})
	}
}

// TestPresence: a WebSocket one node records is read from every node with its node and
// owner, until it is cleared; the entries of a node that stops heart-beating vanish (at
// once from readers' answers, from Redis when their TTL runs out), those of an earlier
// process of a node id never count, and a node's heartbeat writes its entries again
// after Redis restarted empty.
func TestPresence(t *testing.T) {
	r := testservers.RunRedis(t)
	ctx := context.Background()
	a := startNode(t, testConfig(r, "a", ""), Load{}, nil)
	b := startNode(t, testConfig(r, "b", ""), Load{}, nil)
	waitFor(t, "a and b see each other", func() bool { return len(a.Nodes()) == 2 && len(b.Nodes()) == 2 })
	t0 := time.Unix(1000, 0)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	must(a.SetPresence(ctx, 1, "alice", "a/1", "a", t0))
	must(b.SetPresence(ctx, 1, "alice", "b/1", "a", t0.Add(time.Second)))
	must(b.SetPresence(ctx, 2, "alice", "b/2", "b", t0)) // another app's alice
	ps, err := b.Presence(ctx, 1, "alice")
	must(err)
	if len(ps) != 2 || ps[0] != (Presence{Conn: "a/1", Node: "a", Owner: "a", Since: ps[0].Since, Boot: a.presence.boot}) ||
		!ps[0].Since.Equal(t0) || ps[1].Conn != "b/1" || ps[1].Node != "b" || ps[1].Owner != "a" {
		t.Fatalf("b reads alice as %+v", ps)
	}
	if a.PresenceHeld() != 1 || b.PresenceHeld() != 2 {
		t.Fatalf("held: a %d, b %d", a.PresenceHeld(), b.PresenceHeld())
	}

	must(a.ClearPresence(ctx, 1, "alice", "a/1"))
	presenceIs(t, "alice", []string{"b/1"}, a, b)
	must(a.SetPresence(ctx, 1, "bob", "a/2", "a", t0))
	must(b.SetPresence(ctx, 1, "bob", "b/3", "a", t0))
	must(a.ClearPresence(ctx, 1, "bob", "a/2"))
	must(a.SetPresence(ctx, 1, "bob", "a/2", "a", t0)) // set again after a removal
	presenceIs(t, "bob", []string{"a/2", "b/3"}, a, b)

	// Redis restarts empty: the heartbeats write every entry again.
	r.Stop()
	r.Restart(t)
	presenceIs(t, "bob", []string{"a/2", "b/3"}, a, b)

	// b stops heart-beating: its entries vanish for a, and alice's key (b's only) expires.
	freeze(b)
	presenceIs(t, "alice", nil, a)
	presenceIs(t, "bob", []string{"a/2"}, a)
	waitFor(t, "alice's presence key expired", func() bool {
		n, err := a.rdb.Exists(ctx, presenceKey(1, "alice"), presenceKey(2, "alice")).Result()
		return err == nil && n == 0
	})

	// a is killed and starts again (same id) before its registration expired: the old
	// process's entry does not count, and the first read deletes it.
	freeze(a)
	a2 := startNode(t, testConfig(r, "a", ""), Load{}, nil)
	must(a2.SetPresence(ctx, 1, "bob", "a/9", "a", t0.Add(time.Minute)))
	presenceIs(t, "bob", []string{"a/9"}, a2)

	// Close deletes the node's entries at once.
	must(a2.Close())
	rc, err := New(testConfig(r, "reader", ""), Self{}, nil, nil)
	must(err)
	defer rc.Close()
	if n, err := rc.rdb.Exists(ctx, presenceKey(1, "bob")).Result(); err != nil || n != 0 {
		t.Fatalf("bob's presence key after a2 closed: exists %d, %v", n, err)
	}
}

// BenchmarkPresenceRenewal is one heartbeat's renewal of a node's presence entries (one
// user each, against a real redis-server on loopback): the cost a beat adds per
// logged-in WebSocket the node holds.
//
//	go test -run '^$' -bench PresenceRenewal -benchtime 20x ./cluster/
func BenchmarkPresenceRenewal(b *testing.B) {
	r := testservers.RunRedis(b)
	c, err := New(testConfig(r, "bench", ""), Self{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for i := range n {
				if err := c.SetPresence(ctx, 1, "u"+strconv.Itoa(i), "bench/"+strconv.Itoa(i), "bench", time.Now()); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				if err := c.flushPresence(ctx, true); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/entry")
		})
	}
}
