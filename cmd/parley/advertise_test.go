package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/internal/testservers"
)

// recordingRedirect asks the node at base (http://host:port) to stop recording "0@node" (a
// recording id naming node, D125) without following a redirect, and returns the status
// and the Location of the answer: 307 to node's advertised URL when node is another live
// node of the cluster.
func recordingRedirect(t *testing.T, base, node string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/recordings/0@"+node+"/stop", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// TestClusterAdvertiseURL (D138): node m, reached by clients through a port of another
// address (here a reverse proxy standing for the host port Docker publishes), registers
// the ws:// form of its cluster.advertise_url, not its listener's address; node a answers
// a request about m's recording with 307 to that URL, and the client following it gets
// m's answer through the proxy.
func TestClusterAdvertiseURL(t *testing.T) {
	redis := testservers.RunRedis(t)
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var proxied atomic.Int32
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: listen})
	rp.Transport = &http.Transport{DisableKeepAlives: true}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	m := clusterNode(t, redis.URL, "m", func(cfg *configs.Config) {
		cfg.HTTP.Address, cfg.Cluster.AdvertiseURL = listen, proxy.URL
	})
	a := clusterNode(t, redis.URL, "a")
	want := "ws://" + strings.TrimPrefix(proxy.URL, "http://") + "/ws"
	eventually(t, 10*time.Second, "a sees m", func() bool { _, ok := a.srv.cluster.Node("m"); return ok })
	if n, _ := a.srv.cluster.Node("m"); n.SignalingURL != want {
		t.Fatalf("m registered %q, want %q (its advertise_url; it listens on %s)", n.SignalingURL, want, m.srv.httpAddr())
	}
	status, loc := recordingRedirect(t, a.url(""), "m")
	if wantLoc := proxy.URL + "/api/v1/recordings/0@m/stop"; status != http.StatusTemporaryRedirect || loc != wantLoc {
		t.Fatalf("a's answer about m's recording: %d to %q, want 307 to %q", status, loc, wantLoc)
	}
	code, body := adminRequest(t, http.MethodPost, a.url("/api/v1/recordings/0@m/stop"), nil, nil)
	if code != http.StatusNotFound || proxied.Load() != 1 {
		t.Fatalf("following a's redirect: %d %s after %d requests through m's advertised URL, want m's 404 through it", code, body, proxied.Load())
	}
}
