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
	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/signaling"
)

// TestMain checks for leaks. go-redis's dial probe (started after failed dials while a
// test stops Redis) returns at its first probe after the client closed, up to 1 s later.
//
// With childServeEnv set the test binary is a parley server instead (cluster_kill_test.go
// starts it as a child process, configured by PARLEY_* variables and its arguments, to
// kill it with SIGKILL or stop it with SIGTERM).
func TestMain(m *testing.M) {
	if os.Getenv(childServeEnv) != "" {
		os.Exit(runServe(os.Args[1:], os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

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
	return testservers.FreePort(t)
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

// TestCLIUsage: -h/--help of every command prints its usage to stdout and exits 0; a bad
// flag or a stray argument prints the error and the usage to stderr and exits 2; a first
// argument that is neither a flag nor a command is refused (exit 2) naming the commands,
// instead of starting the server. Cases that would start a server if the check they test
// were gone carry a bad rtc.udp_port, so that such a regression fails fast here.
func TestCLIUsage(t *testing.T) {
	const badPort = "--rtc.udp_port=99999"
	var (
		serverUsage      = []string{"Usage:", "parley [serve]", "parley token", "parley healthcheck", "Flags:", "--http.address", "--config"}
		tokenUsage       = []string{"Usage:", "parley token", "Flags:", "--rights", "--room", "--ttl"}
		healthcheckUsage = []string{"Usage:", "parley healthcheck", "Flags:", "--url", "--timeout"}
		commands         = []string{"serve", "token", "healthcheck", "help"}
	)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string // stdout contains each; stderr is empty
		wantErr  []string // stderr starts with wantErr[0] and contains each; stdout is empty
	}{
		{"--help", []string{"--help"}, 0, serverUsage, nil},
		{"-h", []string{"-h"}, 0, serverUsage, nil},
		{"serve --help", []string{"serve", "--help"}, 0, serverUsage, nil},
		{"serve -h", []string{"serve", "-h"}, 0, serverUsage, nil},
		{"help", []string{"help"}, 0, serverUsage, nil},
		{"help token", []string{"help", "token"}, 0, tokenUsage, nil},
		{"token --help", []string{"token", "--help"}, 0, tokenUsage, nil},
		{"token -h", []string{"token", "-h"}, 0, tokenUsage, nil},
		{"healthcheck --help", []string{"healthcheck", "--help"}, 0, healthcheckUsage, nil},
		{"healthcheck -h", []string{"healthcheck", "-h"}, 0, healthcheckUsage, nil},

		{"token --ttl bogus", []string{"token", "--user", "alice", "--ttl", "bogus"}, 2, nil,
			append([]string{`token: invalid argument "bogus" for "--ttl" flag`}, tokenUsage...)},
		{"--bogus", []string{"--bogus"}, 2, nil, append([]string{"parley: unknown flag: --bogus"}, serverUsage...)},
		{"serve --bogus", []string{"serve", "--bogus"}, 2, nil, append([]string{"parley: unknown flag: --bogus"}, serverUsage...)},
		{"serve stray argument", []string{"serve", "extra", badPort}, 2, nil, append([]string{`parley: unexpected argument "extra"`}, serverUsage...)},
		{"healthcheck --bogus", []string{"healthcheck", "--bogus"}, 2, nil,
			append([]string{"healthcheck: unknown flag: --bogus"}, healthcheckUsage...)},
		{"healthcheck bad timeout", []string{"healthcheck", "--timeout", "soon"}, 2, nil,
			append([]string{`healthcheck: invalid argument "soon" for "--timeout" flag`}, healthcheckUsage...)},
		{"healthcheck stray argument", []string{"healthcheck", "http://127.0.0.1:1/healthz"}, 2, nil,
			append([]string{`healthcheck: unexpected argument "http://127.0.0.1:1/healthz"`}, healthcheckUsage...)},

		{"unknown command", []string{"bogus", badPort}, 2, nil, append([]string{`parley: unknown command "bogus"`}, commands...)},
		{"mistyped token", []string{"tokn", "--user", "alice", badPort}, 2, nil, append([]string{`parley: unknown command "tokn"`}, commands...)},
		{"mistyped serve", []string{"server", badPort}, 2, nil, append([]string{`parley: unknown command "server"`}, commands...)},
		{"help of an unknown command", []string{"help", "bogus"}, 2, nil, append([]string{`parley: unknown command "bogus"`}, commands...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout %q\nstderr %q", code, tt.wantCode, stdout.String(), stderr.String())
			}
			got, quiet := stdout.String(), stderr.String()
			want := tt.wantOut
			if tt.wantCode != 0 {
				got, quiet, want = stderr.String(), stdout.String(), tt.wantErr
				if !strings.HasPrefix(got, want[0]) {
					t.Errorf("stderr does not start with %q: %q", want[0], got)
				}
			}
			if quiet != "" {
				t.Errorf("the other stream is not empty: %q", quiet)
			}
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("output does not contain %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestStartupLogsDemoURL: the start-up log names the demo page's URL, and that URL serves
// the demo page.
func TestStartupLogsDemoURL(t *testing.T) {
	var logs testservers.SyncBuffer
	r := startServeLogged(t, testConfig(t), slog.New(slog.NewTextHandler(&logs, nil)))
	want := `level=INFO msg="demo page" url=` + r.url("/")
	if !strings.Contains(logs.String(), want+"\n") {
		t.Fatalf("the start-up log has no %q:\n%s", want, logs.String())
	}
	resp, err := http.Get(r.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "<title>Parley demo</title>") {
		t.Fatalf("GET %s: %s %s, %d bytes", r.url("/"), resp.Status, resp.Header.Get("Content-Type"), len(body))
	}
}

// TestLogDurations: both log formats write a duration as Go does ("20s"); slog's JSON
// handler alone would write nanoseconds (`"drain_timeout":20000000000` at shutdown).
func TestLogDurations(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var buf bytes.Buffer
		newLogger(configs.LogConfig{Level: "info", Format: format}, &buf).Info("shutting down", "drain_timeout", 20*time.Second)
		want := map[string]string{"json": `"drain_timeout":"20s"`, "text": `drain_timeout=20s`}[format]
		if !strings.Contains(buf.String(), want) {
			t.Errorf("%s log %q, want %s", format, buf.String(), want)
		}
	}
}

// TestDemoURL: a listener on every interface is announced through loopback.
func TestDemoURL(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7880}, "http://127.0.0.1:7880/"},
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 80}, "http://192.0.2.7:80/"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 7880}, "http://127.0.0.1:7880/"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 7880}, "http://[::1]:7880/"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 9}, "http://[::1]:9/"},
	}
	for _, tt := range tests {
		if got := demoURL(tt.addr); got != tt.want {
			t.Errorf("demoURL(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}
