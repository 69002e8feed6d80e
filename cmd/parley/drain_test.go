package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/parley-rtc/parley/ops/sqlrecords"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestDrainEndsCallsWithRecordsWithinTimeout: stopping the server (the path SIGTERM takes
// through signal.NotifyContext) while a call is going tells both clients onServerDraining,
// turns /readyz to 503, refuses new logins, ends the call after the drain wait with a
// record per user, and serve returns nil within drain_timeout.
func TestDrainEndsCallsWithRecordsWithinTimeout(t *testing.T) {
	cfg := testConfig(t)
	cfg.HTTP.DrainTimeout = 5 * time.Second
	r := startServe(t, cfg)
	if code := httpStatus(t, r.url("/readyz"), nil); code != http.StatusOK {
		t.Fatalf("readyz before drain: %d", code)
	}
	alice, bob := login(t, r.wsURL(), "alice"), login(t, r.wsURL(), "bob")
	started := startCall(t, alice, bob)

	stopped := make(chan struct{})
	var serveErr error
	var took time.Duration
	go func() {
		defer close(stopped)
		serveErr, took = r.stop(t, 20*time.Second)
	}()
	ctx := ctxFor(t, 10*time.Second)
	if _, err := alice.WaitEvent(ctx, protocol.EventServerDraining, nil); err != nil {
		t.Fatalf("alice: no onServerDraining: %v", err)
	}
	if _, err := bob.WaitEvent(ctx, protocol.EventServerDraining, nil); err != nil {
		t.Fatalf("bob: no onServerDraining: %v", err)
	}
	if code := httpStatus(t, r.url("/readyz"), nil); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz while draining: %d, want 503", code)
	}
	if code := httpStatus(t, r.url("/healthz"), nil); code != http.StatusOK {
		t.Fatalf("healthz while draining: %d, want 200 (alive)", code)
	}
	if r.srv.signaling.ActiveCalls() != 1 {
		t.Fatalf("the call ended before the drain wait was over")
	}
	if err := tryLogin(t, r.wsURL(), "carol"); !isCode(err, protocol.CodeServerDraining) {
		t.Fatalf("login while draining: %v, want code %d", err, protocol.CodeServerDraining)
	}
	for _, c := range []interface {
		WaitCallEnd(context.Context) (protocol.CallEndEvent, error)
	}{alice, bob} {
		if end, err := c.WaitCallEnd(ctx); err != nil || end.CallID != started.CallID {
			t.Fatalf("no onCallEnd for the drained call: %+v %v", end, err)
		}
	}
	<-stopped
	if serveErr != nil {
		t.Fatalf("serve returned %v", serveErr)
	}
	if took > cfg.HTTP.DrainTimeout {
		t.Fatalf("shutdown took %s, more than drain_timeout %s", took, cfg.HTTP.DrainTimeout)
	}
	store, err := sqlrecords.Open(context.Background(), cfg.Records.SQLitePath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, user := range []string{"alice", "bob"} {
		recs, err := store.Query(context.Background(), signaling.DevSDKAppID, user, signaling.RecordQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].CallID != started.CallID {
			t.Fatalf("%s records after drain: %+v", user, recs)
		}
	}
}
