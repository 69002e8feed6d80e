package quality

import (
	"math/bits"
	"runtime"
	"sync/atomic"
)

// Sequence tracking limits, after RFC 3550 appendix A.1.
const (
	// maxDropout: a jump forward by more than this many sequence numbers is
	// not believed until the next packet continues from it.
	maxDropout = 3000
	// reorderWindow: how far behind the highest sequence number a packet
	// may arrive and still be recognised as reordered or duplicate (it is a
	// power of two and a multiple of 64). Older packets count as late; two
	// consecutive such packets restart the tracking (a sender restart).
	reorderWindow = 1024
	windowWords   = reorderWindow / 64
	// cycle is 2^16; the internal extended numbers start one cycle up so a
	// packet reordered before the first one never goes below zero.
	cycle = 1 << 16
)

// SequenceSnapshot is the cumulative state of a SequenceTracker.
type SequenceSnapshot struct {
	// ExtendedHighest is the RFC 3550 extended highest sequence number
	// received (cycles << 16 | highest), as sent in receiver reports.
	ExtendedHighest uint32
	// Expected counts the packets the sender sent from the first to the
	// highest sequence number; Received the distinct packets among them
	// that arrived. Lost = Expected - Received.
	Expected uint64
	Received uint64
	// Duplicates counts packets that arrived again; Late counts packets too
	// old to place (more than 1024 behind) and unconfirmed jumps.
	Duplicates uint64
	Late       uint64
}

// Lost returns the cumulative number of lost packets.
func (s SequenceSnapshot) Lost() uint64 {
	if s.Received >= s.Expected {
		return 0
	}
	return s.Expected - s.Received
}

// Since returns the window between an earlier snapshot and s.
func (s SequenceSnapshot) Since(earlier SequenceSnapshot) Window {
	w := Window{Expected: s.Expected - earlier.Expected, Received: s.Received - earlier.Received}
	if s.Expected < earlier.Expected || s.Received < earlier.Received {
		return Window{} // not an earlier snapshot of the same tracker
	}
	if w.Expected > w.Received {
		w.Lost = w.Expected - w.Received
	}
	return w
}

// Window is the packet count of one reporting interval. Received may exceed
// Expected when packets counted lost earlier arrive late; Lost is then 0.
type Window struct {
	Expected uint64
	Received uint64
	Lost     uint64
}

// FractionLost is the RFC 3550 §6.4.1 fraction lost: Lost/Expected as a fixed
// point number with the binary point at the left edge (0..255).
func (w Window) FractionLost() uint8 {
	if w.Expected == 0 || w.Lost == 0 {
		return 0
	}
	if w.Lost >= w.Expected {
		return 255
	}
	hi, lo := bits.Mul64(w.Lost, 256)
	fraction, _ := bits.Div64(hi, lo, w.Expected) // hi < Expected: no overflow
	return uint8(fraction)
}

// SequenceTracker counts the packets of one RTP stream (one SSRC) from their
// sequence numbers: 16-bit wraparound, reordering within 1024 packets,
// duplicates, and sender restarts. Observe is called by the stream's packet
// goroutine only; Snapshot may be called from any goroutine. The zero value
// is ready to use. Retransmissions on the stream's own SSRC may be observed
// too: they fill their gap or count as duplicates.
type SequenceTracker struct {
	// Owned by the packet goroutine.
	started       bool
	highest       uint64 // internal extended highest sequence number
	first         uint64 // internal extended lowest sequence number seen
	received      uint64 // distinct packets in [first, highest]
	priorExpected uint64 // totals of the epochs before the last restart
	priorReceived uint64
	duplicates    uint64
	late          uint64
	suspect       bool   // a packet outside the window arrived ...
	suspectNext   uint16 // ... and this is the number that would confirm it
	seen          [windowWords]uint64

	// Published for readers under a sequence lock: version is odd while the
	// packet goroutine writes the fields below.
	version     atomic.Uint64
	pubHighest  atomic.Uint32
	pubExpected atomic.Uint64
	pubReceived atomic.Uint64
	pubDups     atomic.Uint64
	pubLate     atomic.Uint64
}

// Observe records one received packet's sequence number.
func (t *SequenceTracker) Observe(seq uint16) {
	t.observe(seq)
	t.publish()
}

func (t *SequenceTracker) observe(seq uint16) {
	if !t.started {
		t.restart(seq)
		return
	}
	delta := int64(int16(seq - uint16(t.highest)))
	switch {
	case delta > 0 && delta <= maxDropout:
		t.advance(uint64(delta))
		t.mark(t.highest)
		t.received++
		t.suspect = false
	case delta <= 0 && -delta < reorderWindow:
		ext := t.highest - uint64(-delta)
		if t.isSeen(ext) {
			t.duplicates++
			return
		}
		t.mark(ext)
		t.received++
		t.first = min(t.first, ext)
	case t.suspect && seq == t.suspectNext:
		// Two consecutive packets far from the old numbers: a restart.
		t.priorExpected += t.highest - t.first + 1
		t.priorReceived += t.received
		t.late-- // the first of the two was counted late; it is received
		t.restart(seq - 1)
		t.observe(seq)
	default:
		t.late++
		t.suspect = true
		t.suspectNext = seq + 1
	}
}

// restart begins an epoch at seq.
func (t *SequenceTracker) restart(seq uint16) {
	t.started = true
	t.highest = cycle + uint64(seq)
	t.first = t.highest
	t.received = 1
	t.suspect = false
	t.seen = [windowWords]uint64{}
	t.mark(t.highest)
}

// advance moves the highest number forward by delta, forgetting the window
// slots that now refer to new numbers.
func (t *SequenceTracker) advance(delta uint64) {
	if delta >= reorderWindow {
		t.seen = [windowWords]uint64{}
	} else {
		for ext := t.highest + 1; ext <= t.highest+delta; ext++ {
			t.seen[ext/64%windowWords] &^= 1 << (ext % 64)
		}
	}
	t.highest += delta
}

func (t *SequenceTracker) mark(ext uint64) { t.seen[ext/64%windowWords] |= 1 << (ext % 64) }

func (t *SequenceTracker) isSeen(ext uint64) bool {
	return t.seen[ext/64%windowWords]&(1<<(ext%64)) != 0
}

func (t *SequenceTracker) publish() {
	t.version.Add(1)
	t.pubHighest.Store(uint32(t.highest - cycle))
	t.pubExpected.Store(t.priorExpected + t.highest - t.first + 1)
	t.pubReceived.Store(t.priorReceived + t.received)
	t.pubDups.Store(t.duplicates)
	t.pubLate.Store(t.late)
	t.version.Add(1)
}

// Snapshot returns a consistent copy of the cumulative counters. It may be
// called from any goroutine; it never blocks the packet goroutine.
func (t *SequenceTracker) Snapshot() SequenceSnapshot {
	for spins := 0; ; spins++ {
		before := t.version.Load()
		if before&1 == 0 {
			s := SequenceSnapshot{
				ExtendedHighest: t.pubHighest.Load(),
				Expected:        t.pubExpected.Load(),
				Received:        t.pubReceived.Load(),
				Duplicates:      t.pubDups.Load(),
				Late:            t.pubLate.Load(),
			}
			if t.version.Load() == before {
				return s
			}
		}
		if spins >= 4 {
			runtime.Gosched()
		}
	}
}
