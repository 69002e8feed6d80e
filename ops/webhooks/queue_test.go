package webhooks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// TestFairQueue covers D287 on the queue alone: the apps are served in turn, each app's
// events in order; a full queue drops the newest event of the app holding the most, or
// the event itself when its app holds the most; the bound holds throughout.
func TestFairQueue(t *testing.T) {
	q := newFairQueue(4)
	ev := func(name string) delivery { return delivery{event: name} }
	steps := []struct {
		app     int
		event   string
		victim  int
		lost    string
		dropped bool
	}{
		{1, "a1", 0, "", false},
		{1, "a2", 0, "", false},
		{1, "a3", 0, "", false},
		{1, "a4", 0, "", false},
		{1, "a5", 1, "a5", true}, // app 1 holds the most: its own new event goes
		{2, "b1", 1, "a4", true}, // app 2 holds none: app 1's newest makes room
		{2, "b2", 1, "a3", true}, // 2 against 2 after this one
		{2, "b3", 2, "b3", true}, // tied: app 2's own event goes
		{3, "c1", 1, "a2", true}, // app 1 and 2 tie at 2: the first in turn gives one up
	}
	for i, s := range steps {
		victim, lost, dropped := q.push(s.app, ev(s.event))
		if dropped != s.dropped || (dropped && (victim != s.victim || lost != s.lost)) {
			t.Fatalf("push #%d %s: dropped %v (app %d, %q), want %v (app %d, %q)", i, s.event, dropped, victim, lost, s.dropped, s.victim, s.lost)
		}
		if q.total > 4 {
			t.Fatalf("push #%d: %d events queued, bound 4", i, q.total)
		}
	}
	var got []string
	for {
		del, ok, done := q.pop()
		if !ok {
			if done {
				t.Fatal("done before close")
			}
			break
		}
		got = append(got, del.event)
	}
	if want := []string{"a1", "b1", "c1", "b2"}; !slices.Equal(got, want) {
		t.Fatalf("served %v, want %v (apps in turn, each in order)", got, want)
	}
	q.close()
	if _, _, done := q.pop(); !done {
		t.Fatal("an empty closed queue is not done")
	}
	if app, _, dropped := q.push(5, ev("late")); !dropped || app != 5 {
		t.Fatal("a push after close was not dropped")
	}
}

// TestTenantFloodKeepsOthersEvents covers D287 end to end: while app A floods one URL whose
// receiver is stalled, every event of app B arrives, A's drops are counted under A and B
// has none.
func TestTenantFloodKeepsOthersEvents(t *testing.T) {
	const appA, appB, floods, bEvents = 1400000001, 1400000002, 2000, 5
	rcv := newReceiver(t, 0)
	gate := make(chan struct{})
	stalled := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		rcv.serve(w, r)
	})
	srv := httptest.NewServer(stalled)
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL)
	cfg.QueueSize = 16
	d, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	defer func() { _ = d.Close(context.Background()) }()
	for i := range floods {
		d.RecordingFinished(appA, map[string]int{"a": i})
		if i%(floods/bEvents) == floods/bEvents/2 {
			d.RecordingFinished(appB, map[string]int{"b": i})
		}
	}
	close(gate)
	waitUntil(t, "every event of app B", func() bool {
		n := 0
		for _, env := range rcv.received() {
			if env.SDKAppID == appB {
				n++
			}
		}
		return n == bEvents
	})
	st := d.Stats()
	if st.DroppedByApp[appB] != 0 || st.DroppedByApp[appA] == 0 || st.DroppedByApp[appA] != st.Dropped {
		t.Fatalf("drops by app %v (total %d), want all of them app A's", st.DroppedByApp, st.Dropped)
	}
	if a := floods - int(st.Dropped); a > cfg.QueueSize+1 {
		t.Fatalf("%d of app A's events kept, more than the queue (%d) and the one in flight", a, cfg.QueueSize)
	}
	waitUntil(t, "the kept events delivered", func() bool {
		return len(rcv.received()) == floods+bEvents-int(st.Dropped)
	})
}
