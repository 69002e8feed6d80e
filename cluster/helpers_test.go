package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/internal/testwait"
)

// waitFor polls cond until it holds, failing the test after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, 20*time.Second, what, cond)
}

// testConfig is a fast cluster config on r.
func testConfig(r *testservers.Redis, id, region string) Config {
	return Config{RedisURL: r.URL, NodeID: id, Region: region, Heartbeat: 100 * time.Millisecond, NodeTTL: 500 * time.Millisecond}
}

// startStillNode starts a node (closed at cleanup) on r whose registration, load and view
// of the others change only when the test calls its beat: its goroutines are stopped
// (freeze) and its registration lives long.
func startStillNode(t *testing.T, r *testservers.Redis, id, region string, load func() Load) *Cluster {
	t.Helper()
	cfg := testConfig(r, id, region)
	cfg.NodeTTL = 20 * time.Minute
	c := startNodeLoad(t, cfg, load, nil)
	freeze(c)
	return c
}

// startNode starts a node (closed at cleanup) with a fixed load and inbox handler h.
func startNode(t *testing.T, cfg Config, load Load, h func(Message)) *Cluster {
	t.Helper()
	return startNodeLoad(t, cfg, func() Load { return load }, h)
}

// startNodeLoad is startNode whose load is what load returns at each beat.
func startNodeLoad(t *testing.T, cfg Config, load func() Load, h func(Message)) *Cluster {
	t.Helper()
	c, err := New(cfg, Self{SignalingURL: "ws://" + cfg.NodeID + "/ws", Load: load}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// freeze stops c's goroutines without deregistering: the node stops heart-beating as a
// killed process would.
func freeze(c *Cluster) {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	cancel()
	c.wg.Wait()
}
