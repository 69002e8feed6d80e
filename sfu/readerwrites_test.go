package sfu

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testwait"
)

// readerPool is a pool of n writers, parked as run leaves them (not started), whose
// wake-ups the read goroutine may owe (turns per idle read), with the Senders of f
// assigned in turn.
func readerPool(t *testing.T, n, turns int, f *forwardFixture) (*writerPool, *readerWakes) {
	t.Helper()
	pool := newWriterPool(n, nil, 1)
	h := pool.readerWrites(turns)
	for i, s := range f.senders {
		w := pool.writers[i%n]
		w.assigned.Add(1)
		s.mu.Lock()
		s.pool, s.spawn = w, func() { t.Error("handed over") }
		s.mu.Unlock()
	}
	for _, w := range pool.writers {
		w.parked.Store(true)
	}
	return pool, h
}

// blocked runs f on a goroutine, fails t if f returns within 50 ms, and returns a
// channel closed when f has returned.
func blocked(t *testing.T, what string, f func()) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		t.Fatalf("%s returned at once", what)
	case <-time.After(50 * time.Millisecond):
	}
	return done
}

func writtenBy(senders []*Sender) (n uint64) {
	for _, s := range senders {
		n += s.forwardedPackets.Load()
	}
	return n
}

// Packets fanned out while the read goroutine's window is open wake no writer; the
// writers are owed to the read goroutine, which, idle, writes for them and leaves them
// parked with no wake-up pending; busy, it wakes each once. With its window shut a push
// wakes the writer itself, as before.
func TestReaderWritesForTheWritersItMadeReady(t *testing.T) {
	f := newForwardFixture(4, 64)
	pool, h := readerPool(t, 2, 64, f)

	h.open()
	f.writeAt(0)
	f.writeAt(1)
	for i, w := range pool.writers {
		if len(w.wake) != 0 || w.parked.Load() {
			t.Fatalf("writer %d: %d wake-ups pending, parked %v; want its wake-up owed to the reader", i, len(w.wake), w.parked.Load())
		}
	}
	h.write(h.shut()) // idle
	if n := writtenBy(f.senders); n != 8 {
		t.Fatalf("%d packets written by the idle reader, want 8", n)
	}
	for i, w := range pool.writers {
		if len(w.wake) != 0 || !w.parked.Load() || w.head.Load() != nil || w.taken != nil {
			t.Fatalf("writer %d after the reader's turns: %d wake-ups, parked %v, list empty %v", i, len(w.wake), w.parked.Load(), w.head.Load() == nil)
		}
	}
	if got := h.inlineTurns.Load(); got != 4 {
		t.Fatalf("%d inline turns counted, want 4", got)
	}

	h.open()
	f.writeAt(2)
	h.wake(h.shut()) // busy: another datagram waits
	if n := writtenBy(f.senders); n != 8 {
		t.Fatalf("the busy reader wrote (%d packets written, want 8)", n)
	}
	for i, w := range pool.writers {
		if len(w.wake) != 1 || w.parked.Load() {
			t.Fatalf("writer %d after a busy read: %d wake-ups pending, want 1", i, len(w.wake))
		}
		<-w.wake // as park: the writer took it; it writes and parks again
		w.turnAll()
		w.parked.Store(true)
	}

	f.writeAt(3) // window shut
	for i, w := range pool.writers {
		if len(w.wake) != 1 {
			t.Fatalf("writer %d: a push outside the window left %d wake-ups pending, want 1", i, len(w.wake))
		}
	}
}

// The reader runs at most reader_turns turns per idle read and wakes a writer with
// Senders left; a Sender that needs its own goroutine (pion's path) is never written by
// the reader: its send refuses the packet and the turn hands it over (D305).
func TestReaderTurnsAreBounded(t *testing.T) {
	f := newForwardFixture(3, 64)
	pool, h := readerPool(t, 1, 2, f)
	w := pool.writers[0]
	h.open()
	f.writeAt(0)
	h.write(h.shut())
	if n := writtenBy(f.senders); n != 2 || len(w.wake) != 1 || w.taken != f.senders[2] {
		t.Fatalf("after 2 turns: %d written, %d wake-ups, next %p; want 2, 1, the third Sender", n, len(w.wake), w.taken)
	}
	<-w.wake
	w.turnAll()

	p := newForwardFixture(2, 64)
	pool, h = readerPool(t, 1, 64, p)
	w = pool.writers[0]
	p.senders[1].out = &rtpOut{mode: outPion}
	spawned := make(chan struct{})
	p.senders[1].spawn = func() { close(spawned) }
	h.open()
	p.writeAt(0)
	h.write(h.shut())
	if p.senders[0].forwardedPackets.Load() != 1 || p.senders[1].forwardedPackets.Load() != 0 {
		t.Fatalf("written %d and %d (pion's path); want 1 and 0",
			p.senders[0].forwardedPackets.Load(), p.senders[1].forwardedPackets.Load())
	}
	select {
	case <-spawned: // its send refused the packet before any write: handed over (D305)
	default:
		t.Fatal("the Sender on pion's path was not handed over")
	}
	if len(w.wake) != 0 || w.taken != nil {
		t.Fatalf("%d wake-ups, next %p after the hand-over; want none left for the writer", len(w.wake), w.taken)
	}
}

// A Sender closed while the reader runs its writer's turns is let go by the reader: its
// close returns, nothing of it is written afterwards.
func TestReaderLetsGoOfASenderClosedDuringItsTurns(t *testing.T) {
	f := newForwardFixture(2, 64)
	pool, h := readerPool(t, 1, 64, f)
	a, b := f.senders[0], f.senders[1]
	closed := make(chan struct{})
	a.afterRun = func() { // inside a's turn on the reader
		go func() {
			b.close()
			close(closed)
		}()
		testwait.For(t, 10*time.Second, "b's close started", func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			return b.closed
		})
	}
	h.open()
	f.writeAt(0)
	h.write(h.shut())
	<-closed
	if a.forwardedPackets.Load() != 1 || b.forwardedPackets.Load() != 0 || b.inPool {
		t.Fatalf("written %d and %d (closed), in the pool %v; want 1, 0, false", a.forwardedPackets.Load(), b.forwardedPackets.Load(), b.inPool)
	}
	if w := pool.writers[0]; len(w.wake) != 0 || !w.parked.Load() {
		t.Fatalf("writer after the reader's turns: %d wake-ups, parked %v", len(w.wake), w.parked.Load())
	}
}

// A pool closed while the reader owes a writer its wake-up: the close waits until the
// reader gives the writer back, which then stops and lets go of its Senders.
func TestReaderOwedWriterStopsOnClose(t *testing.T) {
	for _, idle := range []bool{true, false} {
		f := newForwardFixture(2, 64)
		pool, h := readerPool(t, 1, 64, f)
		w := pool.writers[0]
		w.parked.Store(false)
		pool.start()
		for { // until the running writer is blocked in park and a push is owed to the reader
			testwait.For(t, 10*time.Second, "the writer parks", w.parked.Load)
			time.Sleep(20 * time.Millisecond) // from parked to blocked on wake: a few instructions
			h.open()
			f.writeAt(0)
			if !w.parked.Load() && h.head.Load() == w {
				break
			}
			h.wake(h.shut()) // the writer was not blocked yet: again
		}
		done := blocked(t, "the pool's close while the reader owes its writer's wake-up", pool.close)
		if idle {
			h.write(h.shut())
		} else {
			h.wake(h.shut())
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("idle %v: the pool did not close after the reader gave its writer back", idle)
		}
		for _, s := range f.senders {
			if s.inPool {
				t.Fatalf("idle %v: a Sender still in the pool after its close", idle)
			}
			s.close()
		}
	}
}

// A reader goroutine (windows around its fan-outs, idle or busy in turn) and other
// forwarding goroutines (which may owe their wake-ups to the reader's window) enqueue
// for the Senders of two running writers: every packet is written once, in order, and no
// wake-up is lost (each burst's wait is bounded; dropping the reader's owed writers, in
// wake or write, fails it).
func TestReaderWakesAreNotLost(t *testing.T) {
	fixtures := make([]*forwardFixture, 3)
	all := newForwardFixture(0, 1)
	for p := range fixtures {
		fixtures[p] = newForwardFixture(3, 256)
		all.senders = append(all.senders, fixtures[p].senders...)
	}
	pool, h := readerPool(t, 2, 3, all)
	for _, w := range pool.writers {
		w.parked.Store(false) // run parks them
	}
	pool.start()
	produceConcurrently(t, pool, fixtures, 120, 12, func(p, r, k int, write func()) {
		if p != 0 { // not the reader
			write()
			return
		}
		h.open()
		write()
		if (r+k)%3 == 0 {
			h.wake(h.shut()) // busy
		} else {
			h.write(h.shut()) // idle
		}
	})
	if h.inlineTurns.Load() == 0 || h.woken.Load() == 0 {
		t.Fatalf("inline turns %d, owed writers woken %d: both paths should have run", h.inlineTurns.Load(), h.woken.Load())
	}
}

// The reader's window, the owed wake-up and its inline turns, sealed into the writer's
// batch and written with sendmmsg, allocate nothing.
func TestReaderWritesDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("x/net's sendmmsg headers come from a sync.Pool, which drops items under -race")
	}
	pool, fa, fb, senders := batchedPool(t)
	h := pool.readerWrites(64)
	w := pool.writers[0]
	w.parked.Store(true) // as run leaves it
	i := 0
	run := func() {
		h.open()
		fa.writeAt(i)
		fb.writeAt(i)
		i++
		h.write(h.shut())
	}
	run() // the SSRCs' SRTP state, x/net's pooled headers
	n := testing.AllocsPerRun(50, run)
	if n != 0 {
		t.Fatalf("%.1f allocations per 2 packets fanned out and written by the reader", n)
	}
	if got := writtenBy(senders); got != uint64(2*i) || len(w.wake) != 0 {
		t.Fatalf("%d packets written, %d wake-ups; want %d, 0", got, len(w.wake), 2*i)
	}
}
