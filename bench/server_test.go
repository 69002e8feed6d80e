package bench

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/teststack"
	opsmetrics "github.com/parley-rtc/parley/ops/metrics"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling"
)

func testLogger() *slog.Logger {
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startServer runs a whole Parley server in this process on 127.0.0.1 (media engine,
// signaling service, /ws) and returns its WebSocket URL; it is closed by t.Cleanup.
func startServer(t *testing.T) string {
	t.Helper()
	url, _ := startServerEngine(t)
	return url
}

// startServerEngine is startServer that also returns the server's media engine, for
// tests that look at its Peers.
func startServerEngine(t *testing.T) (string, *sfu.Engine) {
	t.Helper()
	return startServerWith(t, nil)
}

// startServerMetrics is startServer that also serves the server's /metrics, wired as
// cmd/parley wires it (call hooks, room events, call steps: the calls' timeline, D135).
func startServerMetrics(t *testing.T) string {
	t.Helper()
	url, _ := startServerWith(t, opsmetrics.New())
	return url
}

// startServerWith starts the server, with m's /metrics unless m is nil.
func startServerWith(t *testing.T, m *opsmetrics.Metrics) (string, *sfu.Engine) {
	t.Helper()
	engine := teststack.Engine(t, teststack.MediaConfig(), testLogger()) // closed after the cleanup below
	cfg := teststack.ServiceConfig()
	cfg.Room.EmptyTimeout = time.Second
	// A signaling-only pair repeats calls faster than one user's invitation limit allows
	// (parley-bench --start-server raises it the same way).
	cfg.Limits.InvitationsPerMinute, cfg.Limits.InvitationsBurst = 100_000, 100_000
	deps := signaling.Deps{Engine: engine, Logger: testLogger()}
	if m != nil {
		deps.Hooks, deps.RoomEvents, deps.CallSteps = m, m, m
	}
	svc, err := signaling.NewService(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", svc.Handler())
	if m != nil {
		m.Attach(opsmetrics.Sources{Engine: engine, Service: svc})
		mux.Handle("GET /metrics", m.Handler(opsmetrics.Limits{}))
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		if err := svc.Close(); err != nil {
			t.Errorf("service close: %v", err)
		}
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws", engine
}

func devConfig(url string, s Scenario) Config {
	return Config{
		URL: url, AppID: signaling.DevSDKAppID, Secret: signaling.DevSecret, Scenario: s,
		ServerPID: os.Getpid(), Logger: testLogger(), Progress: io.Discard,
	}
}

func runCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// The probe scrapes /metrics uncompressed (compressing a scrape a second would be the
// probe's work in the measured server's CPU) and still reads what a real metrics
// handler serves.
func TestProbeScrapesUncompressed(t *testing.T) {
	m := opsmetrics.New()
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Header.Get("Accept-Encoding"))
		m.Handler(opsmetrics.Limits{}).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	got, err := newServerProbe(0, srv.URL+"/metrics").scrape(runCtx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0] != "identity" {
		t.Fatalf("Accept-Encoding %q, want identity", asked)
	}
	if _, ok := got.sum("go_goroutines"); !ok {
		t.Fatal("go_goroutines not read from the scrape")
	}
}
