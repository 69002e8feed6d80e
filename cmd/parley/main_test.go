package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/signaling"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is the default configuration on ephemeral loopback ports.
func testConfig(t *testing.T) configs.Config {
	t.Helper()
	cfg := configs.Default()
	cfg.HTTP.Address = "127.0.0.1:0"
	cfg.RTC.UDPPort = 0
	port := freePort(t)
	cfg.TURN.UDPPort, cfg.TURN.TCPPort, cfg.TURN.TLSPort = port, port, 0
	cfg.HTTP.DrainTimeout = 5 * time.Second
	cfg.Records.SQLitePath = filepath.Join(t.TempDir(), "parley.db")
	return cfg
}

// freePort finds a port free for TCP (and most likely UDP) on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestServeHealthAndCleanShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *server, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, testConfig(t), slog.New(slog.NewTextHandler(io.Discard, nil)), ready) }()

	var srv *server
	select {
	case srv = <-ready:
	case err := <-done:
		t.Fatalf("serve failed to start: %v", err)
	}
	resp, err := http.Get("http://" + srv.httpAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("healthz: %s %q", resp.Status, body)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"healthcheck", "--url", "http://" + srv.httpAddr() + "/healthz"}, &stdout, &stderr); code != 0 {
		t.Fatalf("healthcheck exit %d: %s", code, stderr.String())
	}

	cancel() // what SIGINT/SIGTERM do through signal.NotifyContext
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after cancel")
	}
	if code := run([]string{"healthcheck", "--url", "http://" + srv.httpAddr() + "/healthz", "--timeout", "500ms"}, io.Discard, io.Discard); code == 0 {
		t.Fatal("healthcheck succeeded against a stopped server")
	}
}

func TestBadConfigFailsAtStartNamingTheKey(t *testing.T) {
	tests := []struct{ name, file, key string }{
		{"unknown key", "http:\n  adress: x\n", "http.adress"},
		{"bad port", "rtc:\n  udp_port: 99999\n", "rtc.udp_port"},
		{"negative timeout", "room:\n  empty_timeout: -2s\n", "room.empty_timeout"},
		{"dev mode on a public address", "http:\n  address: 0.0.0.0:0\n", "http.address"},
		{"sample placeholder secret", "auth:\n  dev_mode: false\n  apps:\n    - sdk_app_id: 7\n      secret: " + configs.SamplePlaceholderSecret + "\n", "auth.apps[0].secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			code := run([]string{"--config", path}, io.Discard, &stderr)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.key) {
				t.Fatalf("stderr %q does not name %s", stderr.String(), tt.key)
			}
		})
	}
}

func TestTokenSubcommandMintsAVerifiableUserSig(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"token", "--user", "alice", "--ttl", "10m"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	verifier, err := signaling.NewVerifier(configs.Default().Auth)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := verifier.Verify(signaling.DevSDKAppID, "alice", strings.TrimSpace(stdout.String()), time.Now())
	if err != nil {
		t.Fatalf("minted userSig does not verify: %v", err)
	}
	if d := time.Until(claims.ExpiresAt); d < 9*time.Minute || d > 11*time.Minute {
		t.Fatalf("expiry in %s, want ~10m", d)
	}
	if code := run([]string{"token"}, io.Discard, &stderr); code != 2 {
		t.Fatalf("token without --user: exit %d", code)
	}
}
