package sfu

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Sender is the single writer of one subscriber Peer: a bounded queue of rewritten
// packets and the goroutine that hands them to pion. Any number of Receivers (and RTCP
// goroutines answering NACKs) enqueue concurrently; enqueue stores a reference to the
// packet in its Receiver's packet buffer (buffer, input sequence number) with the
// packet's new numbering, never a copy of the payload, and never blocks — a full queue
// refuses the packet and the caller (the DownTrack) decides what a drop means. The
// writer copies each payload out of the buffer when it writes it and drops the packet
// when the buffer slot was overwritten meanwhile (the DownTrack then waits for a
// keyframe, as after a refused enqueue). A slow subscriber therefore only ever drops its
// own packets.
type Sender struct {
	mu     sync.Mutex
	size   int          // slots to allocate (reserve)
	slots  []senderSlot // nil until reserve
	head   int          // index of the oldest queued slot
	count  int          // queued slots; slots [head, head+count) belong to the writer goroutine
	closed bool         // no more enqueues; the writer exits
	wake   chan struct{}

	// With rtc.writers (writerpool.go, decision D290) a pool writer writes for the Sender
	// instead of a goroutine of its own: pool is that writer (nil: run writes, also after
	// a hand-over); inPool says the Sender is on the writer's ready list or in its turn;
	// released, made by a close meanwhile, is closed by the writer when it let go.
	// Guarded by mu. nextReady links the ready list (written by the one pushing the Sender
	// before its CAS, then by the writer that took it: inPool keeps it on the list once); spawn
	// starts run on a goroutine of the Subscriber's (the hand-over, under mu).
	pool      *writer
	inPool    bool
	released  chan struct{}
	nextReady *Sender
	spawn     func()

	afterRun func()         // nil, or called by the writer after each run of writes (Subscriber.flushWrites)
	reports  *senderReports // nil, or the sender reports the writer sends after a run when due (senderreport.go)
	out      *rtpOut        // nil, or the subscriber's own RTP write path (rtpout.go)

	header  rtp.Header          // reused by the writer goroutine for every packet
	nowNs   int64               // writer goroutine: the run's clock, 0 until read (now)
	payload [maxPacketSize]byte // writer goroutine: the payload being written

	// Counters for metrics (stats.go): written by the writer goroutine (forwarded, and
	// dropped for an overwritten slot) and by a refused enqueue (dropped); read at
	// scrape time.
	forwardedPackets atomic.Uint64
	forwardedBytes   atomic.Uint64
	dropped          atomic.Uint64
}

// senderSlot is one queued packet: where its payload is (buffer, inSeq) and what the
// subscriber sees (seq, ts, the VP8 renumbering of a simulcast layer switch).
type senderSlot struct {
	track  *DownTrack
	buffer *packetBuffer
	inSeq  uint16
	seq    uint16
	ts     uint32
	munge  vp8Munge
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

// enqueue queues packet inSeq of buffer, sent as seq and ts and renumbered with m
// (simulcast layer switches; the zero vp8Munge changes nothing); false when the queue is
// full or closed. Safe for concurrent use; no allocation.
func (s *Sender) enqueue(track *DownTrack, buffer *packetBuffer, inSeq, seq uint16, ts uint32, m vp8Munge) bool {
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
	s.slots[i] = senderSlot{track: track, buffer: buffer, inSeq: inSeq, seq: seq, ts: ts, munge: m}
	wasEmpty := s.count == 0
	s.count++
	w := s.pool
	if w != nil {
		wasEmpty = false // no wake of s.wake: nothing waits there
		if s.inPool {
			w = nil
		}
		s.inPool = true
	}
	s.mu.Unlock()
	if w != nil {
		w.ready(s) // wakes the writer only if it is parked
	}
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

		s.writeRun(start, n)
		s.flushOwn()
		s.afterWrites()
		s.freeWritten(start, n)
	}
}

// writeRun writes the n queued slots from start, with the run's clock, and returns how
// many it wrote before one needed a goroutine of its own (write: only with a pool
// writer, once its path moved off UDP).
func (s *Sender) writeRun(start, n int) int {
	s.nowNs = 0
	for k := 0; k < n; k++ {
		if k%senderClockRefresh == 0 {
			s.nowNs = 0 // read again when next needed
		}
		i := start + k
		if i >= len(s.slots) {
			i -= len(s.slots)
		}
		if s.write(&s.slots[i]) {
			return k
		}
	}
	return n
}

// afterWrites sends the sender reports when due and calls afterRun.
func (s *Sender) afterWrites() {
	if s.reports != nil {
		s.reports.send(s.now())
	}
	if s.afterRun != nil {
		s.afterRun()
	}
}

// freeWritten frees n written slots from start (the writer's; the queue keeps the rest).
func (s *Sender) freeWritten(start, n int) {
	s.mu.Lock()
	s.freeLocked(start, n)
	s.mu.Unlock()
}

func (s *Sender) freeLocked(start, n int) {
	for k := 0; k < n; k++ { // drop references to removed DownTracks and buffers
		s.slots[(start+k)%len(s.slots)] = senderSlot{}
	}
	s.head = (start + n) % len(s.slots)
	s.count -= n
	if s.count == 0 {
		// Restart at slot 0 so a queue that keeps up reuses the same few,
		// cache-warm slots instead of cycling through all of them.
		s.head = 0
	}
}

// now is the run's clock (Unix nanoseconds): read once, then again only every
// senderClockRefresh packets (run) or at a flush of the own path's batch (flushOwn).
func (s *Sender) now() int64 {
	if s.nowNs == 0 {
		s.nowNs = time.Now().UnixNano()
	}
	return s.nowNs
}

// write sends one slot with the reused header; a slot of an unbound DownTrack is
// skipped, one whose buffer slot was overwritten is dropped. On the own path with a
// batch the packet is sealed into the batch and counted when flushOwn writes it.
// handOver: a pool writer's Sender whose path may now wait for a slow peer did not
// write it (send, errHandOver); the slot stays for the Sender's own goroutine.
func (s *Sender) write(slot *senderSlot) (handOver bool) {
	b := slot.track.binding.Load()
	if b == nil {
		return false
	}
	n, _, marker, ok := slot.buffer.read(slot.inSeq, s.payload[:])
	if !ok {
		s.dropped.Add(1)
		slot.track.overwritten.Store(true)
		return false
	}
	slot.munge.apply(s.payload[:n])
	h := &s.header
	h.Version = 2
	h.Padding = false
	h.Marker = marker
	h.PayloadType = b.payloadType
	h.SequenceNumber = slot.seq
	h.Timestamp = slot.ts
	h.SSRC = b.ssrc
	h.CSRC = h.CSRC[:0]
	h.Extension = false
	h.ExtensionProfile = 0
	h.Extensions = h.Extensions[:0]
	h.PaddingSize = 0
	if s.stage(slot, h, n) {
		return false
	}
	// A write error means the transport is closing; the Peer's state handling reports it.
	switch err := s.send(b, h, s.payload[:n]); err {
	case nil:
		s.counted(slot.track, slot.seq, slot.ts, n, s.now())
	case errHandOver:
		return true
	}
	return false
}

// counted counts one written packet: the Sender's counters and its stream's sender
// report state.
func (s *Sender) counted(track *DownTrack, seq uint16, ts uint32, payload int, nowNs int64) {
	s.forwardedPackets.Add(1)
	s.forwardedBytes.Add(uint64(payload))
	track.sr.onWrite(seq, ts, payload, nowNs)
}

// stage seals the packet into the own path's batch when the PeerConnection took the own
// path with a batch (rtpoutbatch.go) and its pair is UDP; false: send writes it.
func (s *Sender) stage(slot *senderSlot, h *rtp.Header, n int) bool {
	o := s.out
	if o == nil || o.batch == nil { // no batch: undecided, pion's path, or batching off
		return false
	}
	to := o.remote.Load()
	if to == nil { // ICE-TCP or no pair: send writes (or drops) it, after the staged ones
		return false
	}
	if o.batch.full() {
		s.flushOwn()
	}
	q, err := o.stage(h, s.payload[:n], *to)
	if err == nil {
		q.sender, q.track, q.seq, q.ts, q.payload = s, slot.track, slot.seq, slot.ts, n
	}
	return true
}

// flushOwn writes the own path's staged packets, if any, with the time of the write,
// and counts those written (the batch may be a pool writer's: each for its Sender).
func (s *Sender) flushOwn() {
	if s.out == nil {
		return
	}
	if nowNs := s.out.batch.flushCounted(); nowNs != 0 {
		s.nowNs = nowNs
	}
}

// send writes one packet through the subscriber's own path (rtpout.go) or pion's
// (the binding's writer); nil without writing while neither can send yet (before the
// DTLS handshake, where pion's writer drops packets as well). With a pool writer it
// writes nothing and returns errHandOver once the path is one whose writes may wait for
// a slow peer: pion's (decided by route, on the first packet or a fall back), or the
// own path on an ICE-TCP pair (pairChanged). A packet staged on a UDP pair never gets
// here (stage), so the pool's Senders pay no check per packet for it.
func (s *Sender) send(b *downTrackBinding, h *rtp.Header, payload []byte) error {
	if s.out != nil {
		own, drop := s.out.route()
		switch {
		case own && s.pool != nil && s.out.remote.Load() == nil && s.out.tcp.Load() != nil:
			return errHandOver
		case own:
			s.flushOwn() // what was staged leaves first
			return s.out.send(h, payload)
		case drop:
			return nil
		case s.pool != nil:
			return errHandOver
		}
	}
	_, err := b.writer.WriteRTP(h, payload)
	return err
}

// errHandOver is send's answer to a pool writer when the Sender needs a goroutine of its
// own (writerpool.go: writer.turn hands it over).
var errHandOver = errors.New("sfu: the Sender's path may wait for its peer: it needs a goroutine of its own")

// close stops the writer (queued packets are discarded); the writer goroutine returns
// after its current batch, and a pool writer lets go of the Sender before close
// returns. An idle Sender of a pool that stages into its writer's shared batch is put on
// the writer's list once more: packets of an earlier turn may still wait in that batch,
// and the writer writes and counts them before it lets go, so the Subscriber's totals
// fold in after them.
func (s *Sender) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	var wait chan struct{}
	push := false
	if s.pool != nil && (s.inPool || s.out != nil && s.out.shared != nil) {
		s.released = make(chan struct{})
		wait = s.released
		push = !s.inPool
		s.inPool = true
	}
	w := s.pool
	s.mu.Unlock()
	if push {
		w.ready(s)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	if wait != nil {
		<-wait // its pool writer lets go of it (writerpool.go)
	}
	if w != nil {
		w.assigned.Add(-1)
	}
}

// discardQueued frees every queued slot without writing (benchmarks drain with it).
func (s *Sender) discardQueued() {
	s.mu.Lock()
	s.head, s.count = 0, 0
	s.mu.Unlock()
}
