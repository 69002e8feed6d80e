package signaling

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestOriginCheck: allowed_origins, and without it the same-origin rule only for a
// loopback Host: a page of a public name (DNS rebinding points the attacker's domain at
// this server) is refused with 403 although its Origin matches the Host.
func TestOriginCheck(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		host    string // Host header; "" = the server's 127.0.0.1:port
		origin  string // "SAME" = http:// + the Host
		ok      bool
	}{
		{"no origin header", nil, "", "", true},
		{"same origin", nil, "", "SAME", true},
		{"same origin on localhost", nil, "localhost:7880", "SAME", true},
		{"same origin on ::1", nil, "[::1]:7880", "SAME", true},
		{"same origin on 127.0.0.2", nil, "127.0.0.2", "SAME", true},
		{"same origin on a public name (DNS rebinding)", nil, "rebind.example:7880", "SAME", false},
		{"same origin on a public IP", nil, "203.0.113.7:7880", "SAME", false},
		{"loopback-looking public name", nil, "localhost.rebind.example", "SAME", false},
		{"cross origin refused", nil, "", "https://evil.example", false},
		{"public name listed", []string{"http://rebind.example:7880"}, "rebind.example:7880", "SAME", true},
		{"listed origin", []string{"https://app.example"}, "", "https://app.example", true},
		{"unlisted origin", []string{"https://app.example"}, "", "https://evil.example", false},
		{"wildcard", []string{"*"}, "", "https://anything.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(c *Config) { c.AllowedOrigins = tt.allowed })
			h := http.Header{}
			host := strings.TrimPrefix(env.http.URL, "http://")
			if tt.host != "" {
				host = tt.host
				h.Set("Host", host)
			}
			switch tt.origin {
			case "":
			case "SAME":
				h.Set("Origin", "http://"+host)
			default:
				h.Set("Origin", tt.origin)
			}
			ws, resp, err := websocket.DefaultDialer.Dial(env.url, h)
			if resp != nil {
				_ = resp.Body.Close()
			}
			if (err == nil) != tt.ok {
				t.Fatalf("dial error = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok && (resp == nil || resp.StatusCode != http.StatusForbidden) {
				t.Fatalf("refusal %+v, want 403", resp)
			}
			if ws != nil {
				_ = ws.Close()
			}
		})
	}
}

// TestOriginRefusalIsLogged: a refused origin leaves a log line naming the origin and
// the key to set.
func TestOriginRefusalIsLogged(t *testing.T) {
	var buf bytes.Buffer
	srv, err := NewServer(DefaultConfig(), slog.New(slog.NewTextHandler(&buf, nil)), func(*Conn) SessionHandler { return nil })
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "http://rebind.example:7880/ws", nil)
	for k, v := range map[string]string{"Origin": "http://rebind.example:7880", "Upgrade": "websocket", "Connection": "Upgrade",
		"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="} {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("status %d, want 403", rec.Code)
	}
	if log := buf.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "http://rebind.example:7880") || !strings.Contains(log, "signaling.allowed_origins") {
		t.Fatalf("log %q does not name the origin and signaling.allowed_origins", log)
	}
}

// FuzzCheckOrigin: with no allowed_origins, an accepted browser request has the Host of
// its Origin, and that Host is loopback.
func FuzzCheckOrigin(f *testing.F) {
	for _, seed := range [][2]string{
		{"127.0.0.1:7880", "http://127.0.0.1:7880"}, {"localhost", "http://localhost"}, {"[::1]:1", "http://[::1]:1"},
		{"rebind.example", "http://rebind.example"}, {"127.0.0.1.nip.io", "http://127.0.0.1.nip.io"}, {"[::ffff:127.0.0.1]", "http://[::ffff:127.0.0.1]"},
		{"LOCALHOST:1", "https://localhost:1"}, {"", "null"}, {"%", "http://%"},
	} {
		f.Add(seed[0], seed[1])
	}
	srv, err := NewServer(DefaultConfig(), nil, func(*Conn) SessionHandler { return nil })
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host, origin string) {
		r := &http.Request{Host: host, Header: http.Header{"Origin": {origin}}}
		if !srv.checkOrigin(r) || origin == "" {
			return
		}
		u, err := url.Parse(origin)
		if err != nil || !strings.EqualFold(u.Host, host) || !IsLoopbackHost(host) {
			t.Fatalf("accepted Origin %q with Host %q", origin, host)
		}
		h := u.Hostname()
		if ip, err := netip.ParseAddr(h); !strings.EqualFold(h, "localhost") && (err != nil || !ip.Unmap().IsLoopback()) {
			t.Fatalf("accepted Origin %q: %q is not loopback", origin, h)
		}
	})
}
