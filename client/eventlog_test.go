package client

import (
	"math/rand/v2"
	"testing"
	"time"
)

// naiveLog is the event log's contract written plainly: the last limit events (halved when
// full), and take returns the oldest unconsumed one of the name that match accepts.
type naiveLog struct {
	limit   int
	entries []logEntry
	nextSeq uint64
}

func (l *naiveLog) add(name string) {
	l.nextSeq++
	if len(l.entries) >= l.limit {
		l.entries = append([]logEntry(nil), l.entries[len(l.entries)-l.limit/2:]...)
	}
	l.entries = append(l.entries, logEntry{Event: Event{Seq: l.nextSeq, Name: name}})
}

func (l *naiveLog) take(name string, match func(Event) bool) (Event, bool) {
	for i := range l.entries {
		e := &l.entries[i]
		if !e.consumed && (name == "" || e.Name == name) && (match == nil || match(e.Event)) {
			e.consumed = true
			return e.Event, true
		}
	}
	return Event{}, false
}

// TestEventLogTakeMatchesTheContract: random adds and waits (by name, any name, with a
// match that refuses some events) give the same events in the same order as the plain
// scan of the whole log, across the halvings of a small log. take starts where the
// previous waits for the name left off (D200); this checks that it skips nothing.
func TestEventLogTakeMatchesTheContract(t *testing.T) {
	names := []string{"onCallBegin", "onCallEnd", "onUserAccept", "onUserJoin"}
	odd := func(e Event) bool { return e.Seq%2 == 1 }
	for _, limit := range []int{2, 5, 16, 64} {
		rng := rand.New(rand.NewPCG(uint64(limit), 7))
		got, want := newEventLog(limit), &naiveLog{limit: limit}
		for step := range 20_000 {
			if rng.IntN(3) == 0 {
				name := names[rng.IntN(len(names))]
				got.add(name, nil, time.Time{})
				want.add(name)
				continue
			}
			name := ""
			if rng.IntN(5) != 0 {
				name = names[rng.IntN(len(names))]
			}
			var match func(Event) bool
			if rng.IntN(4) == 0 {
				match = odd
			}
			g, gok, _, _ := got.take(name, match)
			w, wok := want.take(name, match)
			if gok != wok || g.Seq != w.Seq || g.Name != w.Name {
				t.Fatalf("limit %d, step %d: take(%q, match %v) = #%d %q %v, want #%d %q %v",
					limit, step, name, match != nil, g.Seq, g.Name, gok, w.Seq, w.Name, wok)
			}
		}
		if len(got.consumedBelow) > len(names)+1 {
			t.Errorf("limit %d: %d names remembered, want at most %d", limit, len(got.consumedBelow), len(names)+1)
		}
	}
}

// BenchmarkWaitEventFullLog: a wait on a Conn whose log is full of consumed and never
// awaited events, as after a few thousand calls (one onCallBegin per wait).
func BenchmarkWaitEventFullLog(b *testing.B) {
	l := newEventLog(defaultEventLogSize)
	for range defaultEventLogSize {
		l.add("onUserAccept", nil, time.Time{}) // never awaited
		l.add("onCallBegin", nil, time.Time{})
		l.take("onCallBegin", nil)
	}
	b.ReportAllocs()
	for b.Loop() {
		l.add("onUserAccept", nil, time.Time{})
		l.add("onCallBegin", nil, time.Time{})
		if _, ok, _, _ := l.take("onCallBegin", nil); !ok {
			b.Fatal("no onCallBegin")
		}
	}
}
