package signaling_test

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestLimitPendingLogins: while signaling.max_pending_logins sockets have not logged
// in, an upgrade gets 503 with Retry-After and is counted; a login or a closed socket
// frees a place, a logout takes one again, and logged-in users are served throughout
// (D207).
func TestLimitPendingLogins(t *testing.T) {
	const max = 3
	st := newStack(t, func(c *signalingConfig) { c.Signaling.MaxPendingLogins = max })
	// (The per-IP cap, 1024 by default, is above max: every test client is 127.0.0.1.)
	ctx := ctxT(t, 60*time.Second)
	bystander, quitter := st.login(t, "bystander"), st.login(t, "quitter")
	stillServes := func() {
		t.Helper()
		if _, err := bystander.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{}); err != nil {
			t.Fatalf("logged-in user not served: %v", err)
		}
	}
	refused := func(what string) { t.Helper(); wantUpgradeRefused(t, st.url, what) }

	var silent []*rawConn
	for range max {
		silent = append(silent, st.raw(t))
	}
	refused("full")
	stillServes()

	rawLogin(t, silent[0], "carol") // a login frees its place
	silent = append(silent[1:], st.raw(t))
	refused("full again")

	_ = silent[0].ws.Close() // so does a socket that closes
	testwait.For(t, 10*time.Second, "a closed socket's place", func() bool {
		return st.service.LimitStats().PendingLogins < max
	})
	silent = append(silent[1:], st.raw(t))
	refused("full once more")

	must(t, quitter.Logout(ctx)) // a logged-out socket waits to log in again: it counts
	if n := st.service.LimitStats().PendingLogins; n != max+1 {
		t.Fatalf("%d sockets counted as not logged in after a logout, want %d", n, max+1)
	}
	stillServes()
	if n := st.service.LimitStats().PendingLoginRefusals; n != 3 {
		t.Fatalf("%d refusals counted, want 3", n)
	}
}

// TestLimitPendingLoginsPerIP: signaling.max_pending_logins_per_ip refuses the sockets
// of one client IP beyond it while the server-wide cap has room (D207).
func TestLimitPendingLoginsPerIP(t *testing.T) {
	const max = 2
	st := newStack(t, func(c *signalingConfig) { c.Signaling.MaxPendingLoginsPerIP = max })
	for range max {
		st.raw(t)
	}
	wantUpgradeRefused(t, st.url, "the IP's cap")
	if n := st.service.LimitStats().PendingLoginRefusals; n != 1 {
		t.Fatalf("%d refusals counted, want 1", n)
	}
}

// wantUpgradeRefused asserts that a WebSocket upgrade at url gets 503 with Retry-After.
func wantUpgradeRefused(t *testing.T, url, what string) {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil {
		_ = ws.Close()
		t.Fatalf("%s: upgrade accepted", what)
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%s: %v (response %+v), want 503 with Retry-After", what, err, resp)
	}
}

// TestLimitSocketsPerIP: signaling.max_sockets_per_ip counts the sockets of one client IP
// whether they logged in or not (D318): with three users logged in from 127.0.0.1 (no
// pending login left to count), its fourth upgrade gets 503 with Retry-After, counted;
// 127.0.0.2 connects and logs in meanwhile; a closed socket gives its slot back. Without
// the cap a client with many users' userSigs held sockets without end.
func TestLimitSocketsPerIP(t *testing.T) {
	st := newStack(t, func(c *signalingConfig) { c.Signaling.MaxSocketsPerIP = 3 })
	held := []*client.Conn{st.login(t, "sockalice"), st.login(t, "sockbob"), st.login(t, "sockcarol")}
	wantUpgradeRefused(t, st.url, "the fourth socket of 127.0.0.1")
	if n := st.service.LimitStats().SocketRefusals; n != 1 {
		t.Fatalf("%d refusals counted, want 1", n)
	}
	d := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		return (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).Dial(network, addr)
	}}
	ws, _, err := d.Dial(st.url, nil)
	if err != nil {
		t.Fatalf("127.0.0.2 beside 127.0.0.1's sockets: %v", err)
	}
	_ = ws.Close()
	must(t, held[0].Close())
	waitUntil(t, ctxT(t, 20*time.Second), "a slot back after a close", func() bool {
		ws, _, err := websocket.DefaultDialer.Dial(st.url, nil)
		if err == nil {
			_ = ws.Close()
		}
		return err == nil
	})
}
