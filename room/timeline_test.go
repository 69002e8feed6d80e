package room_test

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/room"
)

// timelineOf is user's "early media timeline" steps in log so far, in log order, each as
// "step" or "step role" / "step kind" / "step publisher kind" (what tells them apart).
func timelineOf(log *testservers.SyncBuffer, user string) []string {
	var out []string
	for _, line := range strings.Split(log.String(), "\n") {
		if !strings.Contains(line, `msg="early media timeline"`) || !strings.Contains(line, " user="+user+" ") {
			continue
		}
		attrs := map[string]string{}
		rest := line
		for _, key := range []string{"step", "role", "kind", "publisher", "sinceJoin", "sinceActivate"} {
			i := strings.Index(rest, " "+key+"=")
			if i < 0 {
				continue
			}
			v := rest[i+len(key)+2:]
			if strings.HasPrefix(v, `"`) {
				v = v[1 : strings.Index(v[1:], `"`)+1]
			} else if j := strings.IndexByte(v, ' '); j >= 0 {
				v = v[:j]
			}
			attrs[key] = v
		}
		if attrs["sinceJoin"] == "" || (attrs["step"] == room.StepFirstRTPOut && attrs["sinceActivate"] == "") {
			continue // every step tells the time since the join; first rtp out comes after Activate
		}
		out = append(out, strings.Join(slices.DeleteFunc([]string{attrs["step"], attrs["role"], attrs["publisher"], attrs["kind"]},
			func(s string) bool { return s == "" }), " "))
	}
	return out
}

// TestMediaTimelineLog: two early participants over real PeerConnections; each one's
// debug log tells each step of its timeline once, with the times since the join (and
// since Activate), ICE and DTLS of both PeerConnections before the first packet out.
func TestMediaTimelineLog(t *testing.T) {
	engine := startEngine(t)
	logs := &testservers.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := newLoggingManager(t, room.DefaultConfig(), engine, &recordingListener{}, log)
	id, err := room.NewStringID("timeline")
	if err != nil {
		t.Fatal(err)
	}
	alice := join(t, m, id, "alice", wireOptions{publish: true, early: true, expect: []string{"bob"}})
	bob := join(t, m, id, "bob", wireOptions{publish: true, early: true, expect: []string{"alice"}})
	for _, pair := range [][2]*wire{{alice, bob}, {bob, alice}} {
		if err := pair[0].part.StartRemoteView(pair[1].userID); err != nil {
			t.Fatal(err)
		}
	}
	startPublishing(t, alice, bob)
	for _, w := range []*wire{alice, bob} {
		if err := w.part.Activate(); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		user, other string
	}{{"alice", "bob"}, {"bob", "alice"}}
	for _, tt := range tests {
		once := []string{
			"activated", "track published audio", "track published video",
			"ice connected publisher", "dtls connected publisher",
			"ice connected subscriber", "dtls connected subscriber",
			"first rtp out " + tt.other + " audio", "first rtp out " + tt.other + " video",
		}
		waitFor(t, 15*time.Second, tt.user+"'s whole timeline", func() bool {
			got := timelineOf(logs, tt.user)
			for _, step := range once {
				if !slices.Contains(got, step) {
					return false
				}
			}
			return true
		})
		got := timelineOf(logs, tt.user)
		t.Logf("%s: %q", tt.user, got)
		for _, step := range once {
			if n := countOf(got, step); n != 1 {
				t.Errorf("%s's timeline has %q %d times, want once: %q", tt.user, step, n, got)
			}
		}
		for _, before := range []string{"ice connected subscriber", "dtls connected subscriber"} {
			for _, out := range once[7:] {
				if slices.Index(got, before) > slices.Index(got, out) {
					t.Errorf("%s's timeline has %q after %q: %q", tt.user, before, out, got)
				}
			}
		}
	}
}

// stepRecorder is a room.StepObserver that keeps every call step as "user step".
type stepRecorder struct {
	mu    sync.Mutex
	steps map[string][]time.Duration
}

func (s *stepRecorder) CallStep(_ room.ID, user, step string, sinceAccept time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.steps == nil {
		s.steps = map[string][]time.Duration{}
	}
	s.steps[user+" "+step] = append(s.steps[user+" "+step], sinceAccept)
}

func (s *stepRecorder) get(key string) []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.steps[key])
}

// TestCallStepsObserved: two early participants of a call over real PeerConnections,
// activated at the call's accept (ActivateAt), and one that joined for no call. Each
// call participant reports every step once, timed from the accept: what came before it
// (the join, the publisher's ICE and DTLS, its first packet in) as 0, the activation
// and the first packet out after it; the participant without a call reports nothing.
func TestCallStepsObserved(t *testing.T) {
	engine := startEngine(t)
	steps := &stepRecorder{}
	logs := &testservers.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := newLoggingManager(t, room.DefaultConfig(), engine, &recordingListener{}, log)
	m.SetStepObserver(steps)
	id, err := room.NewStringID("steps")
	if err != nil {
		t.Fatal(err)
	}
	alice := join(t, m, id, "alice", wireOptions{publish: true, early: true, expect: []string{"bob"}})
	bob := join(t, m, id, "bob", wireOptions{publish: true, early: true, expect: []string{"alice"}})
	carol := join(t, m, intRoom(t, 5090), "carol", wireOptions{publish: true, videoOff: true})
	for _, pair := range [][2]*wire{{alice, bob}, {bob, alice}} {
		if err := pair[0].part.StartRemoteView(pair[1].userID); err != nil {
			t.Fatal(err)
		}
	}
	startPublishing(t, alice, bob, carol)
	for _, w := range []*wire{alice, bob} {
		waitFor(t, 10*time.Second, w.userID+"'s publisher connected and its packets at the server", func() bool {
			got := timelineOf(logs, w.userID)
			return slices.Contains(got, "dtls connected publisher") && slices.Contains(got, "track published audio")
		})
		if got := steps.get(w.userID + " " + room.CallStepRoomJoin); len(got) != 0 {
			t.Fatalf("%s reported room_join before its call's accept: %v", w.userID, got)
		}
	}
	accepted := time.Now()
	for _, w := range []*wire{alice, bob} {
		if err := w.part.ActivateAt(accepted); err != nil {
			t.Fatal(err)
		}
	}
	for _, user := range []string{"alice", "bob"} {
		waitFor(t, 15*time.Second, user+"'s every step", func() bool {
			for _, step := range room.CallSteps {
				if len(steps.get(user+" "+step)) == 0 {
					return false
				}
			}
			return true
		})
		tests := []struct {
			step  string
			zero  bool // done before the accept
			after bool // done after it (> 0)
		}{
			{room.CallStepRoomJoin, true, false},
			{room.CallStepPublisherICEConnected, true, false},
			{room.CallStepPublisherDTLSConnected, true, false},
			{room.CallStepFirstRTPIn, true, false},
			{room.CallStepActivated, false, false},
			{room.CallStepSubscriberICEConnected, false, false},
			{room.CallStepSubscriberDTLSConnected, false, false},
			{room.CallStepFirstRTPOut, false, true},
		}
		for _, tt := range tests {
			got := steps.get(user + " " + tt.step)
			t.Logf("%s %s: %v", user, tt.step, got)
			switch {
			case len(got) != 1:
				t.Errorf("%s %s reported %d times, want once", user, tt.step, len(got))
			case tt.zero && got[0] != 0:
				t.Errorf("%s %s = %v, want 0 (before the accept)", user, tt.step, got[0])
			case tt.after && got[0] <= 0:
				t.Errorf("%s %s = %v, want > 0 (after the accept)", user, tt.step, got[0])
			}
		}
	}
	steps.mu.Lock()
	defer steps.mu.Unlock()
	for key := range steps.steps {
		if strings.HasPrefix(key, "carol ") {
			t.Errorf("carol joined for no call but reported %q", key)
		}
	}
}
