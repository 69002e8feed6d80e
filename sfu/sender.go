package sfu

import (
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
)

// Sender is the single writer of one subscriber Peer: a bounded queue of rewritten
// packets and the goroutine that hands them to pion. Any number of Receivers (and RTCP
// goroutines answering NACKs) enqueue concurrently; enqueue copies the payload into a
// preallocated slot and never blocks — a full queue refuses the packet and the caller
// (the DownTrack) decides what a drop means. A slow subscriber therefore only ever drops
// its own packets.
type Sender struct {
	mu     sync.Mutex
	size   int          // slots to allocate (reserve)
	slots  []senderSlot // nil until reserve
	head   int          // index of the oldest queued slot
	count  int          // queued slots; slots [head, head+count) belong to the writer goroutine
	closed bool         // no more enqueues; the writer exits
	wake   chan struct{}

	header rtp.Header // reused by the writer goroutine for every packet

	// Counters for metrics (stats.go): written by the writer goroutine (forwarded) and
	// by a refused enqueue (dropped); read at scrape time.
	forwardedPackets atomic.Uint64
	forwardedBytes   atomic.Uint64
	dropped          atomic.Uint64
}

type senderSlot struct {
	track  *DownTrack
	seq    uint16
	ts     uint32
	marker bool
	n      int
	data   [maxPacketSize]byte
}

// newSender returns a Sender with size preallocated slots. It starts nothing: run the
// writer with go s.run().
func newSender(size int) *Sender {
	s := newIdleSender(size)
	s.reserve()
	return s
}

// newIdleSender returns a Sender whose size slots are allocated by reserve, which a
// subscriber Peer calls with its first DownTrack (not on the packet path). Until then
// the queue has no room: nothing can enqueue without a DownTrack anyway.
func newIdleSender(size int) *Sender {
	return &Sender{size: size, wake: make(chan struct{}, 1)}
}

// reserve allocates the slots, once.
func (s *Sender) reserve() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.slots == nil {
		s.slots = make([]senderSlot, s.size)
	}
}

// enqueue copies one rewritten packet into the queue; false when the queue is full or
// closed. Safe for concurrent use; no allocation.
func (s *Sender) enqueue(track *DownTrack, seq uint16, ts uint32, marker bool, payload []byte) bool {
	return s.enqueueMunged(track, seq, ts, marker, payload, vp8Munge{})
}

// enqueueMunged is enqueue that also renumbers the copy's VP8 picture ID and TL0PICIDX
// (simulcast layer switches).
func (s *Sender) enqueueMunged(track *DownTrack, seq uint16, ts uint32, marker bool, payload []byte, m vp8Munge) bool {
	if len(payload) > maxPacketSize {
		s.dropped.Add(1)
		return false
	}
	s.mu.Lock()
	if s.closed || s.count == len(s.slots) {
		full := !s.closed
		s.mu.Unlock()
		if full {
			s.dropped.Add(1)
		}
		return false
	}
	i := s.head + s.count
	if i >= len(s.slots) {
		i -= len(s.slots)
	}
	slot := &s.slots[i]
	slot.track = track
	slot.seq = seq
	slot.ts = ts
	slot.marker = marker
	slot.n = copy(slot.data[:], payload)
	m.apply(slot.data[:slot.n])
	wasEmpty := s.count == 0
	s.count++
	s.mu.Unlock()
	if wasEmpty {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// run is the writer goroutine: it takes every queued slot, writes it to its DownTrack's
// negotiated stream, and frees the slots. It returns after close.
func (s *Sender) run() {
	for {
		s.mu.Lock()
		for s.count == 0 && !s.closed {
			s.mu.Unlock()
			<-s.wake
			s.mu.Lock()
		}
		if s.closed {
			s.mu.Unlock()
			return
		}
		start, n := s.head, s.count
		s.mu.Unlock()

		for k := 0; k < n; k++ {
			i := start + k
			if i >= len(s.slots) {
				i -= len(s.slots)
			}
			s.write(&s.slots[i])
		}

		s.mu.Lock()
		for k := 0; k < n; k++ { // drop references to removed DownTracks
			s.slots[(start+k)%len(s.slots)].track = nil
		}
		s.head = (start + n) % len(s.slots)
		s.count -= n
		if s.count == 0 {
			// Restart at slot 0 so a queue that keeps up reuses the same few,
			// cache-warm slots instead of cycling through all of them.
			s.head = 0
		}
		s.mu.Unlock()
	}
}

// write sends one slot with the reused header; a slot of an unbound DownTrack is skipped.
func (s *Sender) write(slot *senderSlot) {
	b := slot.track.binding.Load()
	if b == nil {
		return
	}
	h := &s.header
	h.Version = 2
	h.Padding = false
	h.Marker = slot.marker
	h.PayloadType = b.payloadType
	h.SequenceNumber = slot.seq
	h.Timestamp = slot.ts
	h.SSRC = b.ssrc
	h.CSRC = h.CSRC[:0]
	h.Extension = false
	h.ExtensionProfile = 0
	h.Extensions = h.Extensions[:0]
	h.PaddingSize = 0
	// A write error means the transport is closing; the Peer's state handling reports it.
	if _, err := b.writer.WriteRTP(h, slot.data[:slot.n]); err == nil {
		s.forwardedPackets.Add(1)
		s.forwardedBytes.Add(uint64(slot.n))
	}
}

// close stops the writer (queued packets are discarded); the writer goroutine returns
// after its current batch.
func (s *Sender) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// discardQueued frees every queued slot without writing (benchmarks drain with it).
func (s *Sender) discardQueued() {
	s.mu.Lock()
	s.head, s.count = 0, 0
	s.mu.Unlock()
}
