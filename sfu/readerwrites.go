package sfu

import "sync/atomic"

// The reader writes when it would park (rtc.reader_turns, decision D300). With
// rtc.own_srtp_inbound the UDP socket's read goroutine fans a publisher's packet out to
// the subscribers' Senders (rtpin.go); with rtc.writers their pool writers (writerpool.go)
// write them. On a load whose packets come apart (an audio room: one packet every few
// hundred microseconds) each packet woke a parked writer goroutine on another thread,
// which wrote and parked again, while the read goroutine parked in the netpoller: several
// thread wake-ups per incoming packet. Instead, a writer that a push would wake while the
// read goroutine is forwarding is left parked and its wake-up is owed to the read
// goroutine (readerWakes), which, at its next read:
//   - finds another datagram waiting: wakes the writers it owes, as the push would have,
//     and goes on reading (a busy reader never writes; the writers keep the other cores);
//   - finds nothing (EAGAIN, before the netpoller waits; rxstamp.Reader's Idle): runs
//     their turns itself, at most reader_turns turns in all, writes what they staged,
//     and leaves each writer parked when nothing is left for it (woken otherwise), then
//     reads again or waits.
//
// Exclusive: the owed wake-up is the writer's token. A push wakes a parked writer only by
// turning its parked flag from true to false (writer.unpark); whoever does owns the
// wake-up, and the writer goroutine stays blocked on wake until it comes. While the read
// goroutine owns it, the writer goroutine runs no turn, so the read goroutine takes the
// ready list, the turns and the batch as the writer goroutine would (one goroutine at a
// time); handing it back is what park does: parked true, then a look at the list (and
// close), so a push after that look wakes the writer and one before it is seen. No lock,
// no allocation: the owed writers are a stack linked through writer.nextOwed (a writer is
// on it at most once: only the token's owner pushes it).
//
// The window: pushes owe their wake-up to the read goroutine only between its open
// (before it hands a datagram to inboundRoutes.take) and its next read's outcome (shut);
// at any other time the head is readerShut and a push wakes the writer itself. Whoever
// shuts the window resolves what it took, on every path (data, idle, error, a test's hold,
// a datagram that was not taken), so no wake-up is lost.
//
// Never the reader: a Sender that needs its own goroutine (handOver: pion's path, ICE-TCP)
// ends the read goroutine's turns for its writer, which is woken to hand it over. One read
// goroutine: stampingConn.ReadFromAddrPort lets the goroutine that holds its reading lock
// (pion's UDP mux has one) open windows; another reads as before.
type readerWakes struct {
	head  atomic.Pointer[writer] // owed writers, last first; readerShut outside the window
	turns int                    // rtc.reader_turns: inline turns per idle read

	// Counted per idle or busy read, not per packet (tests, docs/performance.md).
	inlineTurns atomic.Uint64 // turns the read goroutine ran
	woken       atomic.Uint64 // owed writers it woke instead (a datagram waiting, or turns left)
}

// readerShut is the head of readerWakes while its window is shut.
var readerShut = new(writer)

// readerWrites lets the read goroutine write for p's writers, at most turns turns per
// idle read. Before start.
func (p *writerPool) readerWrites(turns int) *readerWakes {
	h := &readerWakes{turns: turns}
	h.head.Store(readerShut)
	for _, w := range p.writers {
		w.owner = h
	}
	return h
}

// open starts a window (the read goroutine, before it forwards a datagram); false when one
// is open already.
// Nil h (no reader_turns): false, and shut, wake and write do nothing.
func (h *readerWakes) open() bool { return h != nil && h.head.CompareAndSwap(readerShut, nil) }

// shut ends the window and returns the writers owed meanwhile; the caller resolves them
// (wake or write).
func (h *readerWakes) shut() *writer {
	if h == nil {
		return nil
	}
	if l := h.head.Swap(readerShut); l != readerShut {
		return l
	}
	return nil
}

// owe hands w's wake-up (its caller just turned w.parked false) to the read goroutine;
// false when the window is shut (the caller wakes w).
func (h *readerWakes) owe(w *writer) bool {
	for {
		old := h.head.Load()
		if old == readerShut {
			return false
		}
		w.nextOwed = old
		if h.head.CompareAndSwap(old, w) {
			return true
		}
	}
}

// wake wakes the owed writers l (another datagram is waiting, or the read failed).
func (h *readerWakes) wake(l *writer) {
	if l == nil {
		return
	}
	n := uint64(0)
	for w := l; w != nil; n++ {
		next := w.nextOwed
		w.nextOwed = nil
		w.signal()
		w = next
	}
	h.woken.Add(n)
}

// write runs the owed writers' turns on the read goroutine, at most h.turns in all, and
// gives each writer back (inline).
func (h *readerWakes) write(l *writer) {
	if l == nil {
		return
	}
	budget, woken := h.turns, uint64(0)
	for w := l; w != nil; {
		next := w.nextOwed
		w.nextOwed = nil
		var wake bool
		budget, wake = w.inline(budget)
		if wake {
			woken++
		}
		w = next
	}
	h.inlineTurns.Add(uint64(h.turns - budget))
	if woken > 0 {
		h.woken.Add(woken)
	}
}

// inline runs up to budget turns of w's ready Senders on the caller's goroutine, which
// owns w's wake-up, writes what they staged and gives w back: woken when something is
// left for it (or it closed), else parked as before. It returns the budget left and
// whether it woke w.
func (w *writer) inline(budget int) (int, bool) {
	for budget > 0 && !w.closed.Load() {
		s := w.pop()
		if s == nil {
			break
		}
		w.turn(s) // a Sender whose path left UDP is refused before any write and handed over (D305)
		budget--
	}
	w.batch.flushCounted()
	if w.taken != nil || w.closed.Load() {
		w.signal()
		return budget, true
	}
	if !w.markParked() { // as park does: a push after its look wakes w
		w.signal()
		return budget, true
	}
	return budget, false
}
