package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/ops/webhooks"
)

// TestWebhooksFollowACall: a real call through the server produces signed call_began,
// room_started, call_ended (result, totalTime) and room_finished events, in order, at a
// receiver that fails its first attempt of every event; the call itself is not held up.
func TestWebhooksFollowACall(t *testing.T) {
	const secret = "cmd-webhook-secret-0123456789"
	var mu sync.Mutex
	var events []webhooks.Envelope
	tries := map[string]int{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhooks.Verify([]byte(secret), body, r.Header.Get(webhooks.SignatureHeader)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get("X-Parley-Delivery")
		if tries[id]++; tries[id] == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var env webhooks.Envelope
		if err := json.Unmarshal(body, &env); err != nil {
			t.Errorf("body %q: %v", body, err)
		}
		events = append(events, env)
	}))
	defer rcv.Close()

	cfg := testConfig(t)
	cfg.Webhooks.URLs = []string{rcv.URL + "/parley"}
	cfg.Webhooks.Secret = secret
	cfg.Webhooks.BackoffInitial = 20 * time.Millisecond
	cfg.Room.EmptyTimeout = 200 * time.Millisecond
	r := startServe(t, cfg)

	alice, bob := login(t, r.wsURL(), "alice"), login(t, r.wsURL(), "bob")
	started := startCall(t, alice, bob)
	ctx := ctxFor(t, 30*time.Second)
	for _, c := range []*client.Conn{alice, bob} {
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true}); err != nil {
			t.Fatalf("%s: %v", c.UserID(), err)
		}
	}
	if _, err := alice.WaitUserJoin(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{webhooks.EventCallBegan, webhooks.EventRoomStarted, webhooks.EventCallEnded, webhooks.EventRoomFinished}
	var got []string
	eventually(t, 20*time.Second, "four webhook events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		got = got[:0]
		for _, e := range events {
			got = append(got, e.Event)
		}
		return len(got) >= len(want)
	})
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	mu.Lock()
	raw, _ := json.Marshal(events[2].Data)
	mu.Unlock()
	var ended webhooks.CallData
	if err := json.Unmarshal(raw, &ended); err != nil {
		t.Fatal(err)
	}
	if ended.CallID != started.CallID || ended.Result != "answered" || ended.TotalTime < 0 || ended.BeganAt == 0 || ended.Caller != "alice" {
		t.Fatalf("call_ended %+v", ended)
	}
	// The delivery counters are metrics (D226): four events delivered, each after one
	// failed attempt that was retried (the last one counted once the sender read the
	// receiver's answer, which may come after the receiver held the event).
	var m map[string]float64
	eventually(t, 20*time.Second, "the webhook metrics", func() bool {
		m = scrape(t, r)
		return m["parley_webhooks_delivered_total"] == 4
	})
	if m["parley_webhooks_retries_total"] != 4 || m["parley_webhooks_failed_total"] != 0 || m["parley_webhooks_dropped_total"] != 0 {
		t.Fatalf("webhook metrics: delivered %v retries %v failed %v dropped %v", m["parley_webhooks_delivered_total"],
			m["parley_webhooks_retries_total"], m["parley_webhooks_failed_total"], m["parley_webhooks_dropped_total"])
	}
}
