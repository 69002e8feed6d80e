package sfu

import "sync/atomic"

// writerPool is rtc.writers (decision D290): a fixed number of writer goroutines owned by
// the Engine that write for the subscribers' Senders instead of one goroutine per
// Sender. A Sender is assigned to one writer for its life (assign: the least loaded),
// so its state and its own path's (rtpout.go) still have exactly one owning goroutine.
// An enqueue that finds its Sender idle pushes it onto its writer's ready list (no lock:
// an atomic push) and wakes the writer only if it is parked: a packet fanned out to many
// subscribers wakes each writer at most once. The writer takes the ready Senders in turn,
// writes at most writerTurn packets of each per turn (a Sender with more goes to the back
// of the list, behind those taken with it), stages the own path's UDP datagrams of all of
// them in one batch (outBatch, each datagram with its own destination) and writes what is
// staged before it parks.
//
// A Sender whose PeerConnection takes pion's path, or whose own path moves to an
// ICE-TCP pair, is handed over to a goroutine of its Subscriber's (run) for the rest of
// its life: a write there may wait for a slow peer, which must not hold up the other
// Senders of the writer.
type writerPool struct {
	writers []*writer
}

// writerTurn is how many packets of one Sender a writer writes before it turns to the
// next ready Sender.
const writerTurn = 16

// writer is one goroutine of the pool and its ready list. The list takes no lock: the
// forwarding goroutines push a Sender that goes idle→ready with a CAS on head (a stack
// linked by Sender.nextReady), and the writer takes all of it with one swap and turns it
// round (taken), so the Senders come first come first. A Sender is on it at most once
// (Sender.inPool), so a push never allocates.
type writer struct {
	head   atomic.Pointer[Sender] // pushed, last first; writerStopped once run has returned
	taken  *Sender                // taken off head, first first; only run's goroutine
	parked atomic.Bool            // run waits on wake, or is about to
	closed atomic.Bool
	wake   chan struct{} // cap 1: a wake-up pending
	done   chan struct{}

	assigned atomic.Int64 // Senders assigned and not closed
	batch    *outBatch    // the own path's staged datagrams; nil without a batch (rtc.send_batch 1, rtc.batch_writes)

	owner    *readerWakes // nil, or the read goroutine a wake-up may be owed to (readerwrites.go)
	nextOwed *writer      // links readerWakes' owed writers
}

// writerStopped is the head of a writer's ready list once its run returned: ready lets
// go of a Sender instead of pushing it.
var writerStopped = new(Sender)

// newWriterPool makes n writers, staging through conn in batches of batchSize (no batch
// without conn or with batchSize 1). It starts nothing (start).
func newWriterPool(n int, conn batchConn, batchSize int) *writerPool {
	p := &writerPool{writers: make([]*writer, n)}
	for i := range p.writers {
		w := &writer{wake: make(chan struct{}, 1), done: make(chan struct{})}
		if conn != nil && batchSize > 1 {
			w.batch = newOutBatch(conn, batchSize)
		}
		p.writers[i] = w
	}
	return p
}

func (p *writerPool) start() {
	for _, w := range p.writers {
		go w.run()
	}
}

// close stops the writers once they wrote what they had staged and waits for them.
// The Engine closes its Subscribers first.
func (p *writerPool) close() {
	for _, w := range p.writers {
		w.closed.Store(true)
		w.unpark()
	}
	for _, w := range p.writers {
		<-w.done
	}
}

// assign gives Sender s (with an own path, before its first enqueue) to the least loaded
// writer; spawn is its hand-over (Sender.spawn).
func (p *writerPool) assign(s *Sender, spawn func()) {
	w := p.writers[0]
	for _, c := range p.writers[1:] {
		if c.assigned.Load() < w.assigned.Load() {
			w = c
		}
	}
	w.assigned.Add(1)
	s.mu.Lock()
	s.pool, s.spawn = w, spawn
	if s.out != nil {
		s.out.shared = w.batch
	}
	s.mu.Unlock()
}

// ready pushes s (just marked inPool) onto the ready list and wakes the writer if the
// list was empty and the writer parked (a push onto a non-empty list finds it awake or
// woken by the push that made the list non-empty). No lock, no allocation.
func (w *writer) ready(s *Sender) {
	for {
		old := w.head.Load()
		if old == writerStopped { // the Engine closed the pool: nothing writes any more
			w.letGo(s)
			return
		}
		s.nextReady = old
		if w.head.CompareAndSwap(old, s) {
			if old == nil {
				w.unpark()
			}
			return
		}
	}
}

// unpark wakes run if it parked: whoever turns parked from true to false sends the
// wake-up (never blocking: one pending is enough), or owes it to the read goroutine
// while that forwards (readerwrites.go), which then sends it or writes for run.
func (w *writer) unpark() {
	if w.parked.Load() && w.parked.CompareAndSwap(true, false) {
		if w.owner != nil && w.owner.owe(w) {
			return
		}
		w.signal()
	}
}

// signal sends the wake-up of the one who turned parked false.
func (w *writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// park waits for a push or close. No wake-up is lost: run says it parks, then looks at
// the list again; a push after that look finds parked and wakes it, and one before it
// is seen.
func (w *writer) park() {
	if !w.markParked() {
		return
	}
	<-w.wake // sent by whoever turned parked to false (or pending already)
	w.parked.Store(false)
}

// markParked says the writer parks and looks at the list again: false when a push or a
// close came first (it took parked back and must run on), true when it is parked and a
// later push or close wakes it.
func (w *writer) markParked() bool {
	w.parked.Store(true)
	return !((w.head.Load() != nil || w.closed.Load()) && w.parked.CompareAndSwap(true, false))
}

// run is the writer goroutine: it takes the ready Senders in turn until close, writing
// what it staged whenever the list is empty.
func (w *writer) run() {
	defer close(w.done)
	for {
		s := w.pop()
		switch {
		case s != nil && w.closed.Load():
			w.batch.flushCounted()
			w.letGo(s)
		case s != nil:
			w.turn(s)
		case w.batch != nil && w.batch.n > 0:
			w.batch.flushCounted() // before it parks
		case w.closed.Load():
			w.stop()
			return
		default:
			w.park()
		}
	}
}

// stop lets go of the Senders pushed since run last looked and makes ready let go of
// any later one.
func (w *writer) stop() {
	for s := w.head.Swap(writerStopped); s != nil; {
		next := s.nextReady
		s.nextReady = nil
		w.letGo(s)
		s = next
	}
}

// pop takes the next ready Sender: the first of those taken, or else it takes the whole
// list and turns it round; nil when none is ready. Only run's goroutine.
func (w *writer) pop() *Sender {
	if w.taken == nil {
		var first *Sender
		for s := w.head.Swap(nil); s != nil; {
			next := s.nextReady
			s.nextReady = first
			first = s
			s = next
		}
		w.taken = first
	}
	s := w.taken
	if s != nil {
		w.taken, s.nextReady = s.nextReady, nil
	}
	return s
}

// turn writes up to writerTurn of s's queued packets and puts s back on the list when
// it has more, lets go of it when it closed, or hands it over when a write found its
// path moved to pion's or an ICE-TCP pair (Sender.send, errHandOver).
func (w *writer) turn(s *Sender) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		w.batch.flushCounted() // its datagrams of an earlier turn: nothing of its after Close
		w.letGo(s)
		return
	}
	start, n := s.head, min(s.count, writerTurn)
	s.mu.Unlock()

	written := s.writeRun(start, n)
	handOver := written < n // send refused a packet: errHandOver
	if handOver {
		w.batch.flushCounted() // its staged packets are counted by this goroutine
	} else {
		s.afterWrites() // after a hand-over its goroutine sends the reports: they may go over ICE-TCP
	}

	s.mu.Lock()
	s.freeLocked(start, written)
	switch {
	case s.closed:
		s.mu.Unlock()
		w.batch.flushCounted()
		w.letGo(s)
		return
	case handOver:
		s.pool, s.inPool = nil, false
		if s.out != nil && s.out.batch != nil && s.out.batch == w.batch { // its own from now on
			s.out.batch = nil
			if s.out.batchConn != nil && s.out.batchSize > 1 {
				s.out.batch = newOutBatch(s.out.batchConn, s.out.batchSize) // once per Sender
			}
		}
		if s.out != nil {
			s.out.shared = nil
		}
		s.spawn() // under mu: before a close can wait for the Subscriber's goroutines
		s.mu.Unlock()
		w.assigned.Add(-1)
		return
	}
	more := s.count > 0
	s.inPool = more
	s.mu.Unlock()
	if more {
		w.ready(s)
	}
}

// letGo drops s from the writer: not inPool any more, and a close waiting for that
// returns.
func (w *writer) letGo(s *Sender) {
	s.mu.Lock()
	s.inPool = false
	released := s.released
	s.released = nil
	s.mu.Unlock()
	if released != nil {
		close(released)
	}
}
