package records_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/ops/records"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestWriterLosesNothingOnClose: records added through a Writer from several goroutines
// are all in the database after Close, read by a store opened afresh; Adds after Close
// are refused.
func TestWriterLosesNothingOnClose(t *testing.T) {
	forEachDriver(t, func(t *testing.T, d driver) {
		ctx := context.Background()
		place := d.place(t)
		w := records.NewWriter(open(t, d, place), 0, quietLogger())
		const writers, each = 4, 50
		var wg sync.WaitGroup
		for g := range writers {
			wg.Go(func() {
				for i := range each {
					r := rec(fmt.Sprintf("c%d-%d", g, i), "alice", int64(1000+i), protocol.CallResultOutgoing)
					if err := w.Add(ctx, []protocol.CallRecord{r}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Add(ctx, []protocol.CallRecord{rec("late", "alice", 1, protocol.CallResultOutgoing)}); !errors.Is(err, records.ErrClosed) {
			t.Fatalf("Add after Close: %v, want ErrClosed", err)
		}
		got, err := open(t, d, place).List(ctx, records.Filter{})
		if err != nil || len(got) != writers*each {
			t.Fatalf("a new store reads %d records (%v), want %d", len(got), err, writers*each)
		}
		if s := w.Stats(); s.Written != writers*each || s.Dropped != 0 || s.Queued != 0 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// gatedStore is a real (in-memory SQLite) store whose Add waits for the gate to open and
// fails the first failures times.
type gatedStore struct {
	records.Store
	gate     chan struct{}
	opened   sync.Once
	mu       sync.Mutex
	failures int
	refused  int // Adds that failed
}

// gatedWriter makes a Writer of maxQueued records over a gatedStore with a closed gate.
// At the test's end the gate opens, then the Writer closes, so a failing test does not
// hang.
func gatedWriter(t *testing.T, failures, maxQueued int) (*gatedStore, *records.Writer) {
	g := &gatedStore{Store: open(t, sqlite, ":memory:"), gate: make(chan struct{}), failures: failures}
	w := records.NewWriter(g, maxQueued, quietLogger())
	t.Cleanup(func() {
		g.open()
		_ = w.Close()
	})
	return g, w
}

func (g *gatedStore) open() { g.opened.Do(func() { close(g.gate) }) }

func (g *gatedStore) Add(ctx context.Context, recs []protocol.CallRecord) error {
	<-g.gate
	g.mu.Lock()
	fail := g.failures > 0
	g.failures--
	if fail {
		g.refused++
	}
	g.mu.Unlock()
	if fail {
		return errors.New("database unavailable")
	}
	return g.Store.Add(ctx, recs)
}

func (g *gatedStore) refusals() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refused
}

// TestWriterQueueIsBounded: while the database holds a write up, Add still returns at
// once; past the queue's size records are refused (ErrQueueFull) and counted, the rest are
// written when the database is back.
func TestWriterQueueIsBounded(t *testing.T) {
	ctx := context.Background()
	store, w := gatedWriter(t, 0, 3)
	for i := range 3 {
		if err := w.Add(ctx, []protocol.CallRecord{rec(fmt.Sprint("c", i), "alice", int64(i+1), protocol.CallResultOutgoing)}); err != nil {
			t.Fatal(err)
		}
	}
	err := w.Add(ctx, []protocol.CallRecord{rec("c3", "alice", 4, protocol.CallResultOutgoing)})
	if !errors.Is(err, records.ErrQueueFull) {
		t.Fatalf("4th record into a queue of 3: %v, want ErrQueueFull", err)
	}
	if s := w.Stats(); s.Dropped != 1 || s.Queued != 3 {
		t.Fatalf("stats %+v", s)
	}
	store.open()
	got, err := w.Query(ctx, appA, "alice", signaling.RecordQuery{})
	if err != nil || len(got) != 3 {
		t.Fatalf("after the database is back: %v %v", ids(got), err)
	}
}

// TestWriterReadsItsWrites: a Query waits for the writes added before it (a user who just
// ended a call finds it), bounded by its context.
func TestWriterReadsItsWrites(t *testing.T) {
	ctx := context.Background()
	store, w := gatedWriter(t, 0, 0)
	if err := w.Add(ctx, []protocol.CallRecord{rec("c1", "alice", 1000, protocol.CallResultOutgoing)}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if got, err := w.Query(short, appA, "alice", signaling.RecordQuery{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Query while the write is held: %v %v, want it to wait (DeadlineExceeded)", ids(got), err)
	}
	store.open()
	got, err := w.Query(ctx, appA, "alice", signaling.RecordQuery{})
	if err != nil || !reflect.DeepEqual(ids(got), []string{"c1"}) {
		t.Fatalf("Query after the write: %v %v", ids(got), err)
	}
}

// TestWriterRetriesAFailedWrite: a write the database refuses once is tried again, not
// lost.
func TestWriterRetriesAFailedWrite(t *testing.T) {
	ctx := context.Background()
	store, w := gatedWriter(t, 1, 0)
	store.open()
	if err := w.Add(ctx, []protocol.CallRecord{rec("c1", "alice", 1000, protocol.CallResultOutgoing)}); err != nil {
		t.Fatal(err)
	}
	got, err := w.Query(ctx, appA, "alice", signaling.RecordQuery{})
	if err != nil || len(got) != 1 {
		t.Fatalf("after one failed attempt: %v %v", ids(got), err)
	}
	if s := w.Stats(); s.Written != 1 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// countingStore is a store that counts its Add calls (transactions).
type countingStore struct {
	records.Store
	mu   sync.Mutex
	adds int
}

func (c *countingStore) Add(ctx context.Context, recs []protocol.CallRecord) error {
	c.mu.Lock()
	c.adds++
	c.mu.Unlock()
	return c.Store.Add(ctx, recs)
}

func (c *countingStore) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.adds
}

// TestWriterGathersRecordsIntoOneTransaction: the records of many Adds are written in one
// store.Add (one transaction) after the gathering delay (D166), and a Query or Close does
// not wait for that delay: it has the queue written at once.
func TestWriterGathersRecordsIntoOneTransaction(t *testing.T) {
	ctx := context.Background()
	store := &countingStore{Store: open(t, sqlite, ":memory:")}
	w := records.NewWriter(store, 0, quietLogger())
	records.SetGather(w, time.Hour)
	const n = 50
	for i := range n {
		if err := w.Add(ctx, []protocol.CallRecord{rec(fmt.Sprint("c", i), "alice", int64(i+1), protocol.CallResultOutgoing)}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // a writer that did not gather would write now
	if got := store.calls(); got != 0 {
		t.Fatalf("%d store.Add calls while the records gather, want 0", got)
	}
	got, err := w.Query(ctx, appA, "alice", signaling.RecordQuery{})
	if err != nil || len(got) != n {
		t.Fatalf("Query during the gathering delay: %d records (%v), want %d", len(got), err, n)
	}
	if got := store.calls(); got != 1 {
		t.Fatalf("%d store.Add calls for %d records, want 1", got, n)
	}
	if err := w.Add(ctx, []protocol.CallRecord{rec("last", "alice", n+1, protocol.CallResultOutgoing)}); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- w.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Close waited for the gathering delay")
	}
	if s := w.Stats(); s.Written != n+1 || s.Queued != 0 || store.calls() != 2 {
		t.Fatalf("after Close: stats %+v, %d store.Add calls", s, store.calls())
	}
}

// TestWriterOutlastsADatabaseRestart: a database that refuses writes for longer than the
// old three tries a second apart (a PostgreSQL restart took 4–5 s, D225) loses nothing: the
// batch is retried for the retry time and written once the database is back; a database
// down longer than the retry time has the batch dropped and counted.
func TestWriterOutlastsADatabaseRestart(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		failures int
		retryFor time.Duration
		written  bool
	}{
		{"restart shorter than the retry time", 12, time.Minute, true},
		{"down longer than the retry time", 1 << 30, 300 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, w := gatedWriter(t, tt.failures, 0)
			records.SetRetryDelay(w, time.Millisecond, 20*time.Millisecond)
			w.SetRetryFor(tt.retryFor)
			store.open()
			if err := w.Add(ctx, []protocol.CallRecord{rec("c1", "alice", 1000, protocol.CallResultOutgoing)}); err != nil {
				t.Fatal(err)
			}
			got, err := w.Query(ctx, appA, "alice", signaling.RecordQuery{})
			if tt.written && (err != nil || len(got) != 1) {
				t.Fatalf("after %d refusals: %v %v, want the record", tt.failures, ids(got), err)
			}
			want := records.WriterStats{Written: 1}
			if !tt.written {
				want = records.WriterStats{Dropped: 1}
			}
			if s := w.Stats(); s != want {
				t.Fatalf("stats %+v, want %+v", s, want)
			}
		})
	}
}

// TestWriterCloseEndsTheRetryWait: Close during a long retry wait does not wait for it: the
// batch gets its last tries at once (writeAttempts, a second apart) and Close returns.
func TestWriterCloseEndsTheRetryWait(t *testing.T) {
	ctx := context.Background()
	store, w := gatedWriter(t, 1<<30, 0)
	records.SetRetryDelay(w, time.Hour, time.Hour)
	store.open()
	if err := w.Add(ctx, []protocol.CallRecord{rec("c1", "alice", 1000, protocol.CallResultOutgoing)}); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 10*time.Second, "the first refusal", func() bool { return store.refusals() > 0 })
	closed := make(chan error, 1)
	go func() { closed <- w.Close() }()
	select {
	case <-closed:
	case <-time.After(time.Minute):
		t.Fatal("Close waited for the hour-long retry wait")
	}
	if s := w.Stats(); s.Dropped != 1 || s.Written != 0 {
		t.Fatalf("stats %+v, want the record dropped", s)
	}
}
