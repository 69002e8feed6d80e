package signaling_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

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
