package main

import (
	"net/http"
	"testing"
	"time"
)

// TestRequestConnectionCap: with http.max_request_conns_per_ip 3, the four logged-in
// WebSockets of 127.0.0.1 do not count (three keep-alive connections are served beside
// them); its fourth keep-alive connection gets 503 with Retry-After: 1 and is closed,
// counted; the sessions keep working and 127.0.0.2 is served; once 127.0.0.1 closes one
// connection it may open another.
func TestRequestConnectionCap(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.MaxRequestConnsPerIP, cfg.HTTP.MaxRequestConns = 3, 0
	r := startServe(t, cfg)
	addr := r.srv.httpAddr()

	users := []string{"alice", "bob", "carol", "dave"} // more WebSockets than the cap
	alice := login(t, r.wsURL(), users[0])
	for _, u := range users[1:] {
		login(t, r.wsURL(), u)
	}
	held := keepAlive(t, addr, "127.0.0.1", 3)

	expectBusy(t, addr, "127.0.0.1")

	othersServed(t, addr, alice, "parley_http_request_conns_refused_total 1")

	_ = held[0].Close()
	eventuallyServed(t, addr, "127.0.0.1")
}

// expectBusy opens a connection from localIP, sends a request and expects 503 with
// Retry-After: 1 and Connection: close, then the server's close.
func expectBusy(t *testing.T, addr, localIP string) {
	t.Helper()
	c := rawDial(t, addr, localIP)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(get("/healthz"))); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("connection from %s beyond the cap: %v, want a 503 answer", localIP, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || !resp.Close {
		t.Fatalf("connection from %s beyond the cap: %d, Retry-After %q, close %v; want 503, 1, true",
			localIP, resp.StatusCode, resp.Header.Get("Retry-After"), resp.Close)
	}
	if !c.closedByServer(5 * time.Second) {
		t.Fatal("the refused connection stays open")
	}
}

// TestRequestConnectionCapServerWide: http.max_request_conns counts the connections of
// every client: with 2 held by 127.0.0.1, 127.0.0.2 gets 503 too, and is served once one
// is closed.
func TestRequestConnectionCapServerWide(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.MaxRequestConnsPerIP, cfg.HTTP.MaxRequestConns = 0, 2
	r := startServe(t, cfg)
	addr := r.srv.httpAddr()
	held := keepAlive(t, addr, "127.0.0.1", 2)
	expectBusy(t, addr, "127.0.0.2")
	_ = held[0].Close()
	eventuallyServed(t, addr, "127.0.0.2")
}

// keepAlive opens n connections from localIP, each served one request and kept open.
func keepAlive(t *testing.T, addr, localIP string, n int) []*rawConn {
	t.Helper()
	var held []*rawConn
	for i := 0; i < n; i++ {
		c := rawDial(t, addr, localIP)
		if status, _, err := c.exchange(get("/healthz"), 10*time.Second); status != http.StatusOK {
			t.Fatalf("keep-alive connection %d from %s: %d %v", i+1, localIP, status, err)
		}
		held = append(held, c)
	}
	return held
}
