package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// rawConn is a TCP connection to the server from a chosen loopback IP, for requests no
// HTTP client sends (partial headers, invalid escapes) and for counting connections.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

// rawDial connects to addr from localIP (127.0.0.x; "" = the kernel's choice).
func rawDial(t *testing.T, addr, localIP string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if localIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawConn{Conn: c, br: bufio.NewReader(c)}
}

// exchange writes raw and reads one response within d: its status and body, or 0 and
// the error when the server closed the connection (or d passed) without answering.
func (c *rawConn) exchange(raw string, d time.Duration) (int, string, error) {
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := io.WriteString(c, raw); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// closedByServer reports whether the server closes the connection (EOF or reset) within
// d, discarding what it sends before; false when d passes first.
func (c *rawConn) closedByServer(d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c.br)
	return !isTimeout(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func get(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: parley\r\n\r\n" }

// TestHTTPTimeoutsAndHeaderLimit: the http section's timeouts and header limit cut off a
// slow or oversized request over a real TCP connection, and an idle keep-alive
// connection is closed; a normal request is served. Each cut comes far sooner than the
// client's own 5 s deadline would (the built-in read-header timeout was 10 s).
func TestHTTPTimeoutsAndHeaderLimit(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.ReadHeaderTimeout = 300 * time.Millisecond
	cfg.HTTP.ReadTimeout = 600 * time.Millisecond
	cfg.HTTP.IdleTimeout = 500 * time.Millisecond
	cfg.HTTP.MaxHeaderBytes = 4096 // Go's server allows 4096 bytes more for the request line
	r := startServe(t, cfg)

	tests := []struct {
		name string
		send string
		want int // status; 0 = closed without an answer
	}{
		{"headers never end", "GET /healthz HTTP/1.1\r\nHost: parley\r\nX-Slow: 1\r\n", 0},
		{"body never ends", "POST /dev/usersig HTTP/1.1\r\nHost: parley\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"userId\"", http.StatusBadRequest},
		{"headers over max_header_bytes", "GET /healthz HTTP/1.1\r\nHost: parley\r\nX-Big: " + strings.Repeat("x", 10_000) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"headers under the limit, then idle", "GET /healthz HTTP/1.1\r\nHost: parley\r\nX-Big: " + strings.Repeat("x", 2000) + "\r\n\r\n", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := rawDial(t, r.srv.httpAddr(), "")
			status, body, err := c.exchange(tt.send, 5*time.Second)
			switch {
			case isTimeout(err):
				t.Fatalf("no answer and no close within 5 s: %v", err)
			case status != tt.want:
				t.Fatalf("status %d (%q, %v), want %d", status, body, err, tt.want)
			}
			if !c.closedByServer(5 * time.Second) {
				t.Fatal("the connection stays open")
			}
		})
	}
	if code := httpStatus(t, r.url("/healthz"), nil); code != http.StatusOK {
		t.Fatalf("healthz after the cut-offs: %d", code)
	}
}

// TestMetricsListener: /metrics is on the HTTP listener by default; with metrics.address
// it is served only there, and the public listener answers 404.
func TestMetricsListener(t *testing.T) {
	tests := []struct {
		name    string
		address string
		public  int // GET /metrics on http.address
	}{
		{"on the http listener", "", http.StatusOK},
		{"on its own listener", "127.0.0.1:0", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Metrics.Address = tt.address
			r := startServe(t, cfg)
			if code := httpStatus(t, r.url("/metrics"), nil); code != tt.public {
				t.Fatalf("GET /metrics on http.address: %d, want %d", code, tt.public)
			}
			if tt.address == "" {
				if r.srv.metricsAddr() != "" {
					t.Fatalf("a metrics listener at %s without metrics.address", r.srv.metricsAddr())
				}
				return
			}
			own := "http://" + r.srv.metricsAddr()
			if _, ok := scrapeURL(t, own+"/metrics")["parley_rooms"]; !ok {
				t.Fatal("the metrics listener lacks parley_rooms")
			}
			if code := httpStatus(t, own+"/healthz", nil); code != http.StatusNotFound {
				t.Fatalf("GET /healthz on the metrics listener: %d, want 404 (only /metrics there)", code)
			}
		})
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestPerIPConnectionCap: with http.max_conns_per_ip 2, a client IP holding a WebSocket
// session and a keep-alive connection gets its third connection closed at accept and
// counted, while its session keeps working and another IP is served; once it closes one,
// it may connect again.
func TestPerIPConnectionCap(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.MaxConnsPerIP = 2
	r := startServe(t, cfg)
	addr := r.srv.httpAddr()

	alice := login(t, r.wsURL(), "alice") // from 127.0.0.1
	second := rawDial(t, addr, "127.0.0.1")
	if status, _, err := second.exchange(get("/healthz"), 10*time.Second); status != http.StatusOK {
		t.Fatalf("second connection: %d %v", status, err)
	}
	third := rawDial(t, addr, "127.0.0.1")
	if status, _, err := third.exchange(get("/healthz"), 10*time.Second); status != 0 || isTimeout(err) {
		t.Fatalf("third connection from 127.0.0.1: status %d, %v; want closed without an answer", status, err)
	}
	othersServed(t, addr, alice, "parley_http_conns_refused_total 1")

	_ = second.Close()
	eventuallyServed(t, addr, "127.0.0.1")
}

// othersServed checks, after a refusal, that 127.0.0.2 is served /metrics with the
// counter line want in it and that the session alice still answers.
func othersServed(t *testing.T, addr string, alice *client.Conn, want string) {
	t.Helper()
	other := rawDial(t, addr, "127.0.0.2")
	status, body, err := other.exchange(get("/metrics"), 10*time.Second)
	if status != http.StatusOK || !strings.Contains(body, "\n"+want+"\n") {
		t.Fatalf("127.0.0.2: %d %v, %q in %d bytes of metrics: want 200 and the line", status, err, want, len(body))
	}
	if _, err := alice.QueryRecentCalls(ctxFor(t, 10*time.Second), protocol.QueryRecentCallsParams{}); err != nil {
		t.Fatalf("alice's session after the refusal: %v", err)
	}
}

// eventuallyServed waits until a new connection from localIP gets 200 for /healthz.
func eventuallyServed(t *testing.T, addr, localIP string) {
	t.Helper()
	eventually(t, 10*time.Second, "a new connection from "+localIP+" to be served", func() bool {
		c := rawDial(t, addr, localIP)
		defer c.Close()
		status, _, _ := c.exchange(get("/healthz"), 5*time.Second)
		return status == http.StatusOK
	})
}

// TestHostileHTTPRequests: raw requests that no browser sends get their documented
// answer over real TCP, while a call between two other users goes on.
func TestHostileHTTPRequests(t *testing.T) {
	r := startServe(t, testConfig(t))
	alice, bob := login(t, r.wsURL(), "alice"), login(t, r.wsURL(), "bob")
	startCall(t, alice, bob)
	upgrade := "GET /ws HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	tests := []struct {
		name string
		send string
		want int
	}{
		{"path not UTF-8", get("/%ff"), http.StatusBadRequest},
		{"SDK path not UTF-8", get("/sdk/%c3%28"), http.StatusBadRequest},
		{"API-like path not UTF-8", get("/api/v1/calls%ff"), http.StatusBadRequest},
		{"headers over 32 KiB", "GET /healthz HTTP/1.1\r\nHost: parley\r\nX-Big: " + strings.Repeat("x", 64<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"DNS rebinding: foreign host, same origin", fmt.Sprintf(upgrade, "rebind.example:7880", "http://rebind.example:7880"), http.StatusForbidden},
		{"loopback host, same origin", fmt.Sprintf(upgrade, "localhost:7880", "http://localhost:7880"), http.StatusSwitchingProtocols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := rawDial(t, r.srv.httpAddr(), "")
			if status, body, err := c.exchange(tt.send, 10*time.Second); status != tt.want {
				t.Fatalf("status %d (%q, %v), want %d", status, body, err, tt.want)
			}
		})
	}
	ctx := ctxFor(t, 20*time.Second)
	if err := alice.Hangup(ctx); err != nil {
		t.Fatalf("alice after the hostile requests: %v", err)
	}
	if _, err := bob.WaitCallEnd(ctx); err != nil {
		t.Fatalf("bob after the hostile requests: %v", err)
	}
}

// TestStartupLogNamesConveniences: a development server says once, as information, which
// conveniences are on (no WARN about turn.secret); without dev mode the same list is a
// warning.
func TestStartupLogNamesConveniences(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*testing.T, *configs.Config)
		level   string
		mention []string
	}{
		{"dev mode", func(*testing.T, *configs.Config) {}, "INFO",
			[]string{"auth.dev_mode", "auth.apps[0].secret", "turn.secret"}},
		{"dev mode off, wildcard origin", func(t *testing.T, c *configs.Config) {
			c.Auth = signaling.AuthConfig{Apps: []signaling.AppCredential{{SDKAppID: 7, Secret: strings.Repeat("p", 32)}}}
			c.Signaling.AllowedOrigins = []string{"*"}
		}, "WARN", []string{"signaling.allowed_origins", "turn.secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			tt.mutate(t, &cfg)
			var buf testservers.SyncBuffer
			startServeLogged(t, cfg, slog.New(slog.NewTextHandler(&buf, nil)))
			var lines []string
			for _, line := range strings.Split(buf.String(), "\n") {
				if strings.Contains(line, "turn.secret") {
					lines = append(lines, line)
				}
			}
			if len(lines) != 1 || !strings.Contains(lines[0], "level="+tt.level) {
				t.Fatalf("lines naming turn.secret: %q; want one at %s", lines, tt.level)
			}
			for _, key := range tt.mention {
				if !strings.Contains(lines[0], key) {
					t.Errorf("%q does not name %s", lines[0], key)
				}
			}
		})
	}
}

// TestSDKCORSFromAllowedOrigins: the server hands signaling.allowed_origins to the web
// handler, so a page of a listed origin may import the SDK from /sdk/ and another may not.
func TestSDKCORSFromAllowedOrigins(t *testing.T) {
	cfg := configs.Default()
	cfg.Signaling.AllowedOrigins = []string{"https://app.example"}
	h, err := newWebHandler(cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]string{"https://app.example": "https://app.example", "https://other.example": ""} {
		req := httptest.NewRequest(http.MethodGet, "/sdk/parley.js", nil)
		req.Header.Set("Origin", origin)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if got := rec.Header().Get("Access-Control-Allow-Origin"); rec.Code != http.StatusOK || got != want {
			t.Errorf("Origin %s: status %d, Access-Control-Allow-Origin %q, want 200 and %q", origin, rec.Code, got, want)
		}
	}
}
