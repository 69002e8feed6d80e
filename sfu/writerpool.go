package sfu

import (
	"sync"
	"sync/atomic"
)

// writerPool is rtc.writers (decision D290): a fixed number of writer goroutines owned by
// the Engine that write for the subscribers' Senders instead of one goroutine per
// Sender. A Sender is assigned to one writer for its life (assign: the least loaded),
// so its state and its own path's (rtpout.go) still have exactly one owning goroutine.
// An enqueue that finds its Sender idle puts it on its writer's ready list and wakes the
// writer only if it is parked: a packet fanned out to many subscribers wakes each writer
// at most once. The writer takes the ready Senders in turn, writes at most writerTurn
// packets of each per turn (a Sender with more goes to the back of the list), stages the
// own path's UDP datagrams of all of them in one batch (outBatch, each datagram with its
// own destination) and writes what is staged before it parks.
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

// writer is one goroutine of the pool and its ready list.
type writer struct {
	mu         sync.Mutex
	head, tail *Sender // the ready list, linked by Sender.nextReady
	parked     bool    // run waits on wake
	closed     bool
	wake       chan struct{}
	done       chan struct{}

	assigned atomic.Int64 // Senders assigned and not closed
	batch    *outBatch    // the own path's staged datagrams; nil without a batch (rtc.send_batch 1, rtc.batch_writes)
}

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
		w.mu.Lock()
		w.closed = true
		w.unparkLocked()
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

// ready appends s (just marked inPool) to the ready list and wakes the writer if it is
// parked. No allocation.
func (w *writer) ready(s *Sender) {
	w.mu.Lock()
	if w.closed { // the Engine is closing: nothing writes any more
		w.mu.Unlock()
		w.letGo(s)
		return
	}
	if w.tail == nil {
		w.head = s
	} else {
		w.tail.nextReady = s
	}
	w.tail = s
	w.unparkLocked()
}

// unparkLocked unlocks w.mu and wakes run if it is parked.
func (w *writer) unparkLocked() {
	wake := w.parked
	w.parked = false
	w.mu.Unlock()
	if wake {
		w.wake <- struct{}{}
	}
}

// run is the writer goroutine: it takes the ready Senders in turn until close, writing
// what it staged whenever the list is empty.
func (w *writer) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		for w.head == nil && !w.closed {
			if w.batch != nil && w.batch.n > 0 {
				w.mu.Unlock()
				w.batch.flushCounted() // before it parks
				w.mu.Lock()
				continue
			}
			w.parked = true
			w.mu.Unlock()
			<-w.wake
			w.mu.Lock()
		}
		s := w.popLocked()
		closed := w.closed
		w.mu.Unlock()
		switch {
		case s != nil && closed:
			w.batch.flushCounted()
			w.letGo(s)
		case s != nil:
			w.turn(s)
		default:
			w.batch.flushCounted()
			return
		}
	}
}

// popLocked takes the first ready Sender off the list; nil when it is empty.
func (w *writer) popLocked() *Sender {
	s := w.head
	if s != nil {
		w.head, s.nextReady = s.nextReady, nil
		if w.head == nil {
			w.tail = nil
		}
	}
	return s
}

// turn writes up to writerTurn of s's queued packets and puts s back on the list when
// it has more, lets go of it when it closed, or hands it over (handOver).
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
	handOver := written < n
	if handOver {
		w.batch.flushCounted() // its staged packets are counted by this goroutine
	}
	s.afterWrites()

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

// handOver reports whether the Sender's writes may wait for a slow peer from now on:
// its PeerConnection took pion's path, or its own path writes on an ICE-TCP pair.
func (s *Sender) handOver() bool {
	o := s.out
	if o == nil {
		return false
	}
	switch o.mode {
	case outPion:
		return true
	case outOwn:
		return o.remote.Load() == nil && o.tcp.Load() != nil
	}
	return false
}
