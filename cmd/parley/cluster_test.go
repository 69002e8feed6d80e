package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestClusterOfTwoServers runs two parley servers (serve, as the binary does) with
// cluster.redis_url on one real redis-server: users logged in on different servers call
// each other; with Redis stopped both /readyz answer 503, the call in progress keeps
// going, and a new login answers 5002 (cluster unavailable); with Redis back the servers
// are ready again and take logins.
func TestClusterOfTwoServers(t *testing.T) {
	redis := testservers.RunRedis(t)
	nodes := make([]*running, 2)
	for i, id := range []string{"a", "b"} {
		nodes[i] = clusterNode(t, redis.URL, id) // cluster_kill_test.go: each in its own region
	}
	for _, n := range nodes {
		eventually(t, 10*time.Second, "both nodes registered", func() bool { return len(n.srv.cluster.Nodes()) == 2 })
		if code := httpStatus(t, n.url("/readyz"), nil); code != http.StatusOK {
			t.Fatalf("readyz of a node in a cluster: %d", code)
		}
	}
	bob := login(t, nodes[0].wsURL(), "bob") // the first login: a takes the app (its region, D51)
	alice := login(t, nodes[1].wsURL(), "alice")
	started := startCall(t, alice, bob) // alice is relayed through b
	for i, want := range []map[string]float64{
		{"parley_cluster_nodes": 2, "parley_cluster_apps_owned": 1, "parley_cluster_redis_up": 1,
			`parley_cluster_relayed_connections{side="owner"}`: 1, `parley_cluster_relayed_connections{side="front"}`: 0},
		{"parley_cluster_nodes": 2, "parley_cluster_apps_owned": 0, "parley_cluster_redis_up": 1,
			`parley_cluster_relayed_connections{side="owner"}`: 0, `parley_cluster_relayed_connections{side="front"}`: 1},
	} {
		got := scrape(t, nodes[i])
		for k, v := range want {
			if got[k] != v {
				t.Errorf("node %d: %s = %v, want %v", i, k, got[k], v)
			}
		}
	}

	redis.Stop()
	for _, n := range nodes {
		eventually(t, 10*time.Second, "readyz 503 without Redis", func() bool {
			return httpStatus(t, n.url("/readyz"), nil) == http.StatusServiceUnavailable
		})
		eventually(t, 10*time.Second, "parley_cluster_redis_up 0", func() bool { return scrape(t, n)["parley_cluster_redis_up"] == 0 })
	}
	if err := tryLogin(t, nodes[1].wsURL(), "carol"); !isCode(err, protocol.CodeClusterUnavailable) {
		t.Fatalf("login without Redis: %v, want %d", err, protocol.CodeClusterUnavailable)
	}
	if err := bob.Hangup(ctxFor(t, 10*time.Second)); err != nil { // bob is on the owner
		t.Fatal(err)
	}
	if _, err := bob.WaitEvent(ctxFor(t, 10*time.Second), protocol.EventCallEnd, nil); err != nil {
		t.Fatalf("bob: no onCallEnd of call %s without Redis: %v", started.CallID, err)
	}

	redis.Restart(t)
	for _, n := range nodes {
		eventually(t, 10*time.Second, "readyz 200 with Redis back", func() bool {
			return httpStatus(t, n.url("/readyz"), nil) == http.StatusOK
		})
	}
	carol, dave := login(t, nodes[1].wsURL(), "carol"), login(t, nodes[0].wsURL(), "dave")
	startCall(t, carol, dave)
}
