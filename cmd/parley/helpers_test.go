package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// running is a server started by serve on a goroutine; stop cancels its context (what
// SIGINT/SIGTERM do) and returns serve's result and how long it took.
type running struct {
	srv    *server
	cancel context.CancelFunc
	done   chan error
}

func quietLogger() *slog.Logger {
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startServe runs serve(cfg) and waits until it listens; the server is stopped at the end
// of the test if the test did not stop it.
func startServe(t *testing.T, cfg configs.Config) *running {
	t.Helper()
	return startServeLogged(t, cfg, quietLogger())
}

// startServeLogged is startServe with the server's logger.
func startServeLogged(t *testing.T, cfg configs.Config, logger *slog.Logger) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	ready := make(chan *server, 1)
	go func() { r.done <- serve(ctx, cfg, logger, ready) }()
	select {
	case r.srv = <-ready:
	case err := <-r.done:
		cancel()
		t.Fatalf("serve failed to start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not return")
		}
	})
	return r
}

// stop cancels serve's context and waits (up to limit) for it to return.
func (r *running) stop(t *testing.T, limit time.Duration) (error, time.Duration) {
	t.Helper()
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err, time.Since(start)
	case <-time.After(limit):
		t.Fatalf("serve did not return within %s", limit)
		return nil, 0
	}
}

func (r *running) url(path string) string { return "http://" + r.srv.httpAddr() + path }

func (r *running) wsURL() string { return "ws://" + r.srv.httpAddr() + "/ws" }

func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// login dials the server's WebSocket and logs userID in with a dev userSig.
func login(t *testing.T, wsURL, userID string) *client.Conn {
	t.Helper()
	c, err := dialLogin(t, wsURL, userID)
	if err != nil {
		t.Fatalf("login %s: %v", userID, err)
	}
	return c
}

// tryLogin dials and logs userID in, returning the error of either step.
func tryLogin(t *testing.T, wsURL, userID string) error {
	t.Helper()
	_, err := dialLogin(t, wsURL, userID)
	return err
}

func dialLogin(t *testing.T, wsURL, userID string) (*client.Conn, error) {
	t.Helper()
	return dialLoginApp(t, wsURL, signaling.DevSDKAppID, signaling.DevSecret, userID)
}

// dialLoginApp dials and logs userID of app in with a userSig signed with secret.
func dialLoginApp(t *testing.T, wsURL string, app int, secret, userID string) (*client.Conn, error) {
	t.Helper()
	c, err := client.Dial(ctxFor(t, 10*time.Second), wsURL, client.Options{Peer: client.PeerConfig{Loopback: true}})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	sig, err := signaling.MintUserSig(app, []byte(secret), userID, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Login(ctxFor(t, 10*time.Second), app, userID, sig)
	return c, err
}

// isCode reports whether err is a protocol error with the given code.
func isCode(err error, code int) bool {
	var perr *protocol.Error
	return errors.As(err, &perr) && perr.Code == code
}

// startCall has caller call callee (audio) and callee accept; it returns when both got
// onCallBegin.
func startCall(t *testing.T, caller, callee *client.Conn) protocol.CallStartResult {
	t.Helper()
	return startCallWith(t, caller, callee, protocol.CallParams{})
}

// startCallWith is startCall with the call's params.
func startCallWith(t *testing.T, caller, callee *client.Conn, params protocol.CallParams) protocol.CallStartResult {
	t.Helper()
	ctx := ctxFor(t, 20*time.Second)
	started, err := caller.Call(ctx, callee.UserID(), protocol.MediaTypeAudio, params)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if _, err := callee.WaitCallReceived(ctx); err != nil {
		t.Fatal(err)
	}
	if err := callee.Accept(ctx, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{caller, callee} {
		if _, err := c.WaitCallBegin(ctx); err != nil {
			t.Fatalf("%s: %v", c.UserID(), err)
		}
	}
	return started
}

// httpStatus GETs url and returns the status code (0 when the request failed).
func httpStatus(t *testing.T, url string, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// eventually polls cond every 20 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, d, what, cond)
}
