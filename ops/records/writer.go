package records

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// DefaultQueueRecords is how many records a Writer holds unwritten before it refuses more.
const DefaultQueueRecords = 10000

// maxBatch is how many queued records one store.Add (one transaction) writes at most.
const maxBatch = 500

// gatherDelay is how long the writing goroutine lets records gather before it writes a
// batch smaller than maxBatch: a transaction per call's records cost the signaling server
// more CPU than everything else of a call setup (docs/performance.md, D166), one per
// gatherDelay costs little (at 20 ms the transactions' own work was still a third of the
// records' CPU; 100 ms, D198). Query, Delete, List and Close do not wait for it (they
// kick the writer), so only a crash loses more: the records of the last gatherDelay.
const gatherDelay = 100 * time.Millisecond

// A failed batch is tried again after retryDelay, the wait doubling up to retryMaxDelay,
// until the Writer's retry time (DefaultRetryFor, records.retry_for) has passed since its
// first failure: a PostgreSQL restart or failover takes seconds to a minute, and the
// records wait in the bounded queue meanwhile (D225). Once Close was called a batch gets
// writeAttempts tries retryDelay apart (one once a batch was lost at Close), so a store that
// is down at shutdown holds Close up only a few seconds.
const (
	writeAttempts = 3
	retryDelay    = time.Second
	retryMaxDelay = 15 * time.Second
)

// DefaultRetryFor is how long a Writer retries a batch the store refuses before it drops
// it (records.retry_for).
const DefaultRetryFor = 2 * time.Minute

// ErrQueueFull is returned by Add when the Writer holds DefaultQueueRecords unwritten
// records: the records are dropped (and counted) rather than delaying the caller.
var ErrQueueFull = errors.New("records: write queue full, records dropped")

// WriterStats are a Writer's counters since it was made.
type WriterStats struct {
	Written uint64 // records the store took
	Dropped uint64 // records refused by a full queue, or lost: refused by the store for the retry time
	Queued  int    // records waiting now
}

// Writer is a Store whose Add only queues: the records are written to the store by a
// goroutine of the Writer, in the order they were added, so a slow or unreachable
// database never holds up the signaling session that ended a call (signaling writes
// records on the session's effect queue, where its later events wait). The queue is
// bounded (ErrQueueFull). Query, Delete and List first wait until everything added before
// them is written, so a user who just ended a call finds it in queryRecentCalls, as with
// a synchronous store. Close writes what is queued, then closes the store.
type Writer struct {
	store  Store
	max    int
	log    *slog.Logger
	gather time.Duration // gatherDelay (tests change it)
	kick   chan struct{} // (capacity 1) ends the writer's gathering wait at once

	retryFor    time.Duration // a refused batch is retried this long (DefaultRetryFor)
	retryDelay  time.Duration // first wait after a refusal (retryDelay; tests change it)
	retryMax    time.Duration // longest wait between tries (retryMaxDelay)
	closing     chan struct{} // closed by Close: a retry wait ends at once
	lostAtClose bool          // a batch was lost after Close (only the writing goroutine)

	mu       sync.Mutex
	queue    [][]protocol.CallRecord // batches in Add order
	queued   int                     // records in queue
	added    uint64                  // batches accepted since New
	done     uint64                  // batches written or dropped since New
	progress chan struct{}           // closed (and replaced) when done advances
	waiters  int                     // flushes waiting: the writer does not gather
	running  bool                    // the writing goroutine exists
	idle     chan struct{}           // closed when the goroutine ends; nil while none runs
	closed   bool
	stats    WriterStats
}

var _ Store = (*Writer)(nil)

// NewWriter makes a Writer over store that holds at most maxQueued records (0 means
// DefaultQueueRecords). It starts nothing: the writing goroutine runs while there is work.
func NewWriter(store Store, maxQueued int, logger *slog.Logger) *Writer {
	if maxQueued <= 0 {
		maxQueued = DefaultQueueRecords
	}
	return &Writer{store: store, max: maxQueued, log: logger, gather: gatherDelay,
		kick: make(chan struct{}, 1), progress: make(chan struct{}), closing: make(chan struct{}),
		retryFor: DefaultRetryFor, retryDelay: retryDelay, retryMax: retryMaxDelay}
}

// SetRetryFor sets how long a batch the store refuses is retried before it is dropped
// (records.retry_for; 0 = DefaultRetryFor). Call it before the first Add.
func (w *Writer) SetRetryFor(d time.Duration) {
	if d <= 0 {
		d = DefaultRetryFor
	}
	w.retryFor = d
}

// hurry ends the writer's gathering wait: someone waits for the queue to be written.
func (w *Writer) hurry() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Add queues records and returns at once; ErrQueueFull (records dropped) when the queue
// is full, ErrClosed after Close.
func (w *Writer) Add(_ context.Context, records []protocol.CallRecord) error {
	if len(records) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("add %d call records: %w", len(records), ErrClosed)
	}
	if w.queued+len(records) > w.max {
		w.stats.Dropped += uint64(len(records))
		return fmt.Errorf("add %d call records (%d waiting, dropped so far %d): %w",
			len(records), w.queued, w.stats.Dropped, ErrQueueFull)
	}
	w.queue = append(w.queue, records)
	w.queued += len(records)
	w.added++
	if w.queued >= maxBatch {
		w.hurry()
	}
	if !w.running {
		w.running = true
		w.idle = make(chan struct{})
		go w.run(w.idle)
	}
	return nil
}

// run writes the queue until it is empty, then ends. Before each batch it lets records
// gather for w.gather unless a full batch waits, Close was called or someone was hurried.
func (w *Writer) run(idle chan struct{}) {
	defer close(idle)
	var gathering *time.Timer
	defer func() {
		if gathering != nil {
			gathering.Stop()
		}
	}()
	for {
		w.mu.Lock()
		if w.queued < maxBatch && !w.closed && w.waiters == 0 && w.gather > 0 {
			w.mu.Unlock()
			if gathering == nil {
				gathering = time.NewTimer(w.gather)
			} else {
				gathering.Reset(w.gather)
			}
			select {
			case <-w.kick:
			case <-gathering.C:
			}
			w.mu.Lock()
		}
		if len(w.queue) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		var batch []protocol.CallRecord
		n := 0 // batches taken
		for n < len(w.queue) && (n == 0 || len(batch)+len(w.queue[n]) <= maxBatch) {
			batch = append(batch, w.queue[n]...)
			n++
		}
		w.queue = w.queue[n:]
		w.mu.Unlock()

		err := w.write(batch)

		w.mu.Lock()
		w.queued -= len(batch)
		if err != nil {
			w.stats.Dropped += uint64(len(batch))
		} else {
			w.stats.Written += uint64(len(batch))
		}
		w.done += uint64(n)
		close(w.progress)
		w.progress = make(chan struct{})
		w.mu.Unlock()
	}
}

// write adds batch to the store, retrying a refusal (with a growing wait) for the retry
// time, or writeAttempts times once the Writer is closing; it logs a batch it loses.
func (w *Writer) write(batch []protocol.CallRecord) error {
	var first time.Time // the first refusal
	wait := w.retryDelay
	closingTries := 0
	for attempt := 1; ; attempt++ {
		err := w.store.Add(context.Background(), batch)
		if err == nil || errors.Is(err, ErrClosed) {
			if err == nil && attempt > 1 {
				w.log.Info("store call records: written after retries", "records", len(batch), "attempts", attempt,
					"waited", time.Since(first).Round(time.Millisecond).String())
			}
			return err
		}
		if attempt == 1 {
			first = time.Now()
		}
		closing := w.isClosing()
		if closing {
			closingTries++
		}
		switch {
		case closing && (w.lostAtClose || closingTries >= writeAttempts):
			w.lostAtClose = true
			w.log.Error("store call records: records lost at shutdown", "records", len(batch), "attempts", attempt, "error", err)
			return err
		case !closing && time.Since(first) >= w.retryFor:
			w.log.Error("store call records: records lost", "records", len(batch), "attempts", attempt,
				"retried_for", time.Since(first).Round(time.Millisecond).String(), "error", err)
			return err
		}
		if closing {
			wait = min(w.retryDelay, retryDelay)
		}
		w.log.Warn("store call records: will retry", "records", len(batch), "attempt", attempt,
			"retry_in", wait.String(), "error", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-w.closingIfNot(closing):
			t.Stop()
		}
		wait = min(2*wait, w.retryMax)
	}
}

// isClosing reports whether Close was called.
func (w *Writer) isClosing() bool {
	select {
	case <-w.closing:
		return true
	default:
		return false
	}
}

// closingIfNot is w.closing while the Writer is not closing yet (Close ends a retry wait),
// else nil (a wait at Close runs its course).
func (w *Writer) closingIfNot(closing bool) <-chan struct{} {
	if closing {
		return nil
	}
	return w.closing
}

// flush waits until every batch added before it was written (or dropped), or ctx ends.
func (w *Writer) flush(ctx context.Context) error {
	w.mu.Lock()
	target := w.added
	if w.done < target {
		w.waiters++
		defer func() { w.mu.Lock(); w.waiters--; w.mu.Unlock() }()
		w.hurry()
	}
	for w.done < target {
		ch := w.progress
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for queued call records: %w", ctx.Err())
		}
		w.mu.Lock()
	}
	w.mu.Unlock()
	return nil
}

// Query answers after the writes queued before it (signaling.RecordStore).
func (w *Writer) Query(ctx context.Context, sdkAppID int, userID string, q signaling.RecordQuery) ([]protocol.CallRecord, error) {
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	return w.store.Query(ctx, sdkAppID, userID, q)
}

// Delete deletes after the writes queued before it (signaling.RecordStore).
func (w *Writer) Delete(ctx context.Context, sdkAppID int, userID string, callIDs []string) ([]string, error) {
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	return w.store.Delete(ctx, sdkAppID, userID, callIDs)
}

// List answers after the writes queued before it.
func (w *Writer) List(ctx context.Context, f Filter) ([]protocol.CallRecord, error) {
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	return w.store.List(ctx, f)
}

// Stats returns the Writer's counters.
func (w *Writer) Stats() WriterStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.stats
	s.Queued = w.queued
	return s
}

// Close refuses further Adds, waits until the queue is written (a refused batch at most
// writeAttempts more tries, one once a batch was lost), then closes the store. Idempotent.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.closing)
	w.hurry()
	idle := w.idle
	running := w.running
	w.mu.Unlock()
	if running {
		<-idle
	}
	return w.store.Close()
}
