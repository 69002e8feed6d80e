package sfu

import (
	"sync"
	"sync/atomic"
	"time"
)

// Send-side congestion control of a subscriber PeerConnection, Parley's own (decision
// D90): the transport-wide numbering interceptor (twccseq.go) records every packet the
// Peer's Sender writes — transport-wide sequence number, size, send time — in the Peer's
// sendHistory, a preallocated ring; the socket's read goroutine (or the Peer's RTCP
// goroutine, D336) reads the subscriber's transport-wide feedback in place
// (twccfeedback.go), looks each acknowledged packet up in the ring and runs the
// GCC-style estimator (gcc.go); the bandwidth goroutine reads the estimate (an atomic). Nothing here allocates per packet or per feedback.

// sendHistorySize is how many sent packets the ring remembers (a power of two): at
// 1000 packets a second about a second, several times the feedback interval plus RTT.
const sendHistorySize = 1024

// sentPacket is one ring slot. meta packs valid(1)<<32 | seq<<16 | size and is 0 while
// the writer rewrites the slot, so a reader that sees the same meta before and after
// reading sentNs read a consistent slot.
type sentPacket struct {
	meta   atomic.Uint64
	sentNs atomic.Int64
}

// sendHistory is written by the Sender's goroutine (through the interceptor chain) and
// read by the RTCP goroutine, lock-free.
type sendHistory struct {
	base  time.Time // zero of the send times (monotonic)
	slots atomic.Pointer[[sendHistorySize]sentPacket]
	extID atomic.Uint32 // the transport-wide-cc header extension id, 0 until negotiated (restamping)
}

func newSendHistory() *sendHistory { return &sendHistory{base: time.Now()} }

// allocate makes the ring once (when a local stream with transport-wide numbering is
// bound, at negotiation): a subscriber that never sends costs no ring.
func (h *sendHistory) allocate() {
	if h.slots.Load() == nil {
		h.slots.CompareAndSwap(nil, new([sendHistorySize]sentPacket))
	}
}

// clock is the send time of a packet written now: nanoseconds since base, monotonic.
func (h *sendHistory) clock() int64 { return int64(time.Since(h.base)) }

// record notes the packet numbered seq, of size bytes, sent at sentNs. One writer.
func (h *sendHistory) record(seq uint16, size int, sentNs int64) {
	slots := h.slots.Load()
	if slots == nil {
		return
	}
	s := &slots[seq%sendHistorySize]
	s.meta.Store(0)
	s.sentNs.Store(sentNs)
	s.meta.Store(1<<32 | uint64(seq)<<16 | uint64(min(size, 0xffff)))
}

// restamp moves the send time of the packet numbered seq to sentNs, the moment its
// datagram actually left (batchwrite.go: a queued datagram leaves at the flush, after
// record noted the time the interceptor chain wrote it). A slot that holds another packet
// by now is left alone. Called by whoever flushes the datagram's queue (under its shard's
// lock); it cannot meet record's rewrite of the same slot, which comes sendHistorySize
// packets later, long after the queue of batchSize datagrams was written.
func (h *sendHistory) restamp(seq uint16, sentNs int64) {
	slots := h.slots.Load()
	if slots == nil {
		return
	}
	s := &slots[seq%sendHistorySize]
	if m := s.meta.Load(); m != 0 && uint16(m>>16) == seq {
		s.sentNs.Store(sentNs)
	}
}

// sequenceOf is the transport-wide sequence number of datagram b when it is an RTP
// packet numbered by this history's PeerConnection (its header is in the clear in SRTP);
// false for RTCP, STUN, DTLS or before negotiation. No allocation.
func (h *sendHistory) sequenceOf(b []byte) (uint16, bool) {
	id := h.extID.Load()
	if id == 0 || len(b) < 2 || (b[1] >= 192 && b[1] <= 223) { // RTCP (RFC 5761)
		return 0, false
	}
	return transportSequence(b, uint8(id))
}

// lookup returns what was recorded for seq; ok is false when its slot holds another
// packet by now (or is being rewritten).
func (h *sendHistory) lookup(seq uint16) (sentNs int64, size int, ok bool) {
	slots := h.slots.Load()
	if slots == nil {
		return 0, 0, false
	}
	s := &slots[seq%sendHistorySize]
	m := s.meta.Load()
	sentNs = s.sentNs.Load()
	if m == 0 || s.meta.Load() != m || uint16(m>>16) != seq {
		return 0, 0, false
	}
	return sentNs, int(m & 0xffff), true
}

// congestionController is a subscriber Peer's send history and estimator. Its feedback
// comes from two goroutines (D336): the socket's read goroutine for the SRTCP it takes
// from the subscriber's selected UDP address (rtcpin.go), the Peer's RTCP goroutine for
// what comes through pion (before the route has keys, ICE-TCP, rtc.own_srtp_inbound off).
// mu, the Peer's own, serialises them.
type congestionController struct {
	history *sendHistory
	target  atomic.Int64 // the estimate, bits per second (read by the bandwidth goroutine)

	mu       sync.Mutex
	est      gccEstimator
	highest  uint16 // highest transport-wide sequence number acknowledged so far
	started  bool
	rejected atomic.Uint64 // malformed feedback packets (logged when the RTCP goroutine ends)
}

func newCongestionController(history *sendHistory) *congestionController {
	c := &congestionController{history: history}
	c.est.init(gccConfig{Initial: initialDownlinkEstimate, Min: minDownlinkEstimate, Max: maxDownlinkEstimate})
	c.target.Store(c.est.estimate())
	return c
}

// onFeedback takes one transport-wide feedback packet (one RTCP packet, not a compound)
// received at now. Statuses of packets acknowledged before, or no longer in the history,
// are skipped. Any goroutine; no allocation.
func (c *congestionController) onFeedback(pkt []byte, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.feedLocked(pkt, now)
}

// tryFeedback is onFeedback unless another goroutine feeds the controller now (false:
// nothing done). The socket's read goroutine, which never waits (D336).
func (c *congestionController) tryFeedback(pkt []byte, now time.Time) (bool, error) {
	if !c.mu.TryLock() {
		return false, nil
	}
	defer c.mu.Unlock()
	return true, c.feedLocked(pkt, now)
}

// feedLocked is onFeedback's work. Caller holds mu.
func (c *congestionController) feedLocked(pkt []byte, now time.Time) error {
	f, err := parseTWCC(pkt)
	if err != nil {
		c.rejected.Add(1)
		return err
	}
	c.est.begin(now)
	it := f.iter()
	for {
		seq, received, arrivalUs, ok := it.next()
		if !ok {
			break
		}
		if c.started && int16(seq-c.highest) <= 0 {
			continue // reported before (or far behind)
		}
		sentNs, size, ok := c.history.lookup(seq)
		if !ok {
			continue
		}
		c.highest, c.started = seq, true
		c.est.packet(sentNs, arrivalUs, size, received)
	}
	c.target.Store(c.est.end(now))
	return nil
}
