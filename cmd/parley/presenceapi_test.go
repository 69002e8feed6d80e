package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/signaling"
)

// FuzzPresenceQuery: any query string either is refused or names an app and a valid userId.
func FuzzPresenceQuery(f *testing.F) {
	for _, seed := range []string{
		"sdkAppId=1400000001&userId=alice", "", "userId=alice", "sdkAppId=1", "sdkAppId=0&userId=a",
		"sdkAppId=-1&userId=a", "sdkAppId=99999999999&userId=a", "sdkAppId=1&userId=a&userId=b",
		"sdkAppId=1&userId=a%20b", "sdkAppId=1&userId=" + strings.Repeat("a", 65), "sdkAppId=1&userId=a;x",
		"sdkAppId=1&userId=%zz", "sdkAppId=1&userId=a&limit=1", "sdkAppId=0x10&userId=a",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		app, user, err := parsePresenceQuery(query)
		if err != nil {
			return
		}
		if app < 1 || user == "" || len(user) > 64 || strings.ContainsAny(user, " ;&%=") {
			t.Fatalf("%q: app %d, user %q", query, app, user)
		}
	})
}

// presenceOf reads GET /api/v1/presence of userID (the dev app) from r with the admin key.
func presenceOf(t *testing.T, r *running, userID string) PresenceResponse {
	t.Helper()
	var out PresenceResponse
	url := r.url(fmt.Sprintf("/api/v1/presence?sdkAppId=%d&userId=%s", signaling.DevSDKAppID, userID))
	if code, body := adminRequest(t, http.MethodGet, url, nil, &out); code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	return out
}

// wantPresence waits until r reports userID connected on the nodes want (sorted).
func wantPresence(t *testing.T, r *running, userID string, want ...string) {
	t.Helper()
	var got []string
	eventually(t, 20*time.Second, fmt.Sprintf("%s connected on %v", userID, want), func() bool {
		got = got[:0]
		for _, c := range presenceOf(t, r, userID).Connections {
			got = append(got, c.Node)
		}
		slices.Sort(got)
		return slices.Equal(got, want)
	})
}

// TestPresenceAPI: GET /api/v1/presence answers, from every node of a cluster, on which
// node each of a user's WebSockets is and which node runs its session; the cluster
// gauges show each node's sessions, connections and relayed connections; on a single
// node it lists the user's connected sessions; bad queries get 400, no key 401.
func TestPresenceAPI(t *testing.T) {
	redis := testservers.RunRedis(t)
	a, b := clusterNode(t, redis.URL, "a"), clusterNode(t, redis.URL, "b")
	eventually(t, 10*time.Second, "both nodes registered", func() bool { return len(a.srv.cluster.Nodes()) == 2 })
	bob := login(t, a.wsURL(), "bob") // a takes the app
	alice := login(t, b.wsURL(), "alice")
	for _, n := range []*running{a, b} {
		wantPresence(t, n, "alice", "b")
		wantPresence(t, n, "bob", "a")
		got := presenceOf(t, n, "alice").Connections[0]
		if got.Owner != "a" || !strings.HasPrefix(got.Conn, "b/") || time.Since(time.Unix(got.Since, 0)) > time.Minute {
			t.Fatalf("alice: %+v", got)
		}
		want := map[string]float64{
			`parley_cluster_node_sessions{node="a"}`: 2, `parley_cluster_node_sessions{node="b"}`: 0,
			`parley_cluster_node_connections{node="a"}`: 1, `parley_cluster_node_connections{node="b"}`: 1,
			`parley_cluster_node_relayed_connections{node="a"}`: 0, `parley_cluster_node_relayed_connections{node="b"}`: 1,
			"parley_cluster_presence_connections": 1,
		}
		eventually(t, 10*time.Second, "the cluster gauges", func() bool {
			got := scrape(t, n)
			for k, v := range want {
				if got[k] != v {
					return false
				}
			}
			return true
		})
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(alice.Logout(ctxFor(t, 10*time.Second)))
	wantPresence(t, a, "alice")
	must(bob.Close())
	wantPresence(t, b, "bob")

	cfg := testConfig(t)
	cfg.Admin.APIKey = testAdminKey
	single := startServe(t, cfg)
	carol := login(t, single.wsURL(), "carol")
	if got := presenceOf(t, single, "carol").Connections; len(got) != 1 || got[0].Node != "" || got[0].Conn == "" {
		t.Fatalf("single node: %+v", got)
	}
	must(carol.Logout(ctxFor(t, 10*time.Second)))
	if got := presenceOf(t, single, "carol").Connections; len(got) != 0 {
		t.Fatalf("single node after logout: %+v", got)
	}

	for _, tt := range []struct {
		name, query, auth string
		code              int
	}{
		{"no key", "?sdkAppId=1400000001&userId=alice", "", http.StatusUnauthorized},
		{"wrong key", "?sdkAppId=1400000001&userId=alice", "Bearer nope", http.StatusUnauthorized},
		{"no user", "?sdkAppId=1400000001", "Bearer " + testAdminKey, http.StatusBadRequest},
		{"bad user", "?sdkAppId=1400000001&userId=a%20b", "Bearer " + testAdminKey, http.StatusBadRequest},
		{"bad app", "?sdkAppId=x&userId=alice", "Bearer " + testAdminKey, http.StatusBadRequest},
		{"unknown parameter", "?sdkAppId=1400000001&userId=alice&x=1", "Bearer " + testAdminKey, http.StatusBadRequest},
		{"unknown app", "?sdkAppId=7&userId=alice", "Bearer " + testAdminKey, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.auth != "" {
				h.Set("Authorization", tt.auth)
			}
			if code := httpStatus(t, a.url("/api/v1/presence"+tt.query), h); code != tt.code {
				t.Fatalf("%d, want %d", code, tt.code)
			}
		})
	}
}
