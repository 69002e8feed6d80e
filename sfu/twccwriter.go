package sfu

import (
	"encoding/binary"
	"math"

	"github.com/pion/rtcp"
)

// Transport-wide congestion control feedback toward a publisher, written by Parley
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1; D155): twccRecorder keeps
// the arrival time of every transport-wide sequence number in a preallocated ring and
// serializes the feedback into a reusable buffer (header, base sequence number, packet
// status count, reference time, feedback packet count, run-length and status-vector chunks,
// small and large receive deltas, padding). It replaces pion's twcc.Recorder, which built
// 22–39 objects per feedback. Recording and building allocate nothing. Not safe for
// concurrent use: the feedbackSender guards it with its mutex; the buffer is written only by
// build, on the feedback goroutine.

const (
	// twccRingBits sizes the arrival ring: the last 4096 sequence numbers (64 KiB). A
	// feedback goes every 100 ms or once 500 packets wait (D147), so unreported arrivals
	// stay far inside it.
	twccRingBits = 12
	twccRingSize = 1 << twccRingBits
	// twccMaxFeedbackBytes bounds one feedback packet (D147: within pion's 1460-byte
	// receive MTU, with room for SRTCP's trailer).
	twccMaxFeedbackBytes = 1200
	// twccMaxRange bounds the sequence numbers one build walks: older unreported arrivals
	// are not reported (as pion's maxMissingSequenceNumbers).
	twccMaxRange = 0x7FFE
	// twccSeqOffset keeps unwrapped sequence numbers positive (a multiple of 1<<16, so the
	// low 16 bits are the wire's).
	twccSeqOffset    = 1 << 32
	twccMaxRunLength = 0x1fff
)

// twccRecorder records arrivals and writes transport-wide feedback.
type twccRecorder struct {
	senderSSRC uint32
	mediaSSRC  uint32
	fbCount    uint8
	started    bool
	last       int64 // highest unwrapped sequence number recorded (the unwrapping reference)
	start      int64 // first sequence number the next feedback reports
	end        int64 // one past the highest sequence number recorded

	tags  [twccRingSize]int64 // unwrapped sequence number + 1 held by the slot; 0: empty
	times [twccRingSize]int64 // arrival, µs

	buf    [twccMaxFeedbackBytes]byte // the packet being written
	deltas [twccMaxFeedbackBytes]byte // its receive deltas, copied behind the chunks
	chunks twccChunkWriter
}

func newTWCCRecorder(senderSSRC uint32) *twccRecorder {
	return &twccRecorder{senderSSRC: senderSSRC}
}

// record notes that transport-wide number seq of stream ssrc arrived at atUs. The first
// arrival of a number counts. A number older than the ring, or whose slot holds a newer
// unreported arrival, is ignored; a late number before the last feedback's end (but within
// the ring) has the next feedback start there again, as pion's and libwebrtc's recorders
// do. No allocation.
func (r *twccRecorder) record(ssrc uint32, seq uint16, atUs int64) {
	r.mediaSSRC = ssrc
	if !r.started {
		r.started = true
		r.last = twccSeqOffset + int64(seq)
		r.start, r.end = r.last, r.last
	}
	s := r.last + int64(int16(seq-uint16(r.last)))
	if s <= r.end-twccRingSize {
		return // older than the ring
	}
	i := s & (twccRingSize - 1)
	if held := r.tags[i] - 1; held == s {
		return // a duplicate
	} else if held >= r.start && r.tags[i] != 0 {
		if held > s {
			return // the slot holds a newer unreported arrival
		}
		r.start = held + 1 // the older unreported arrival goes unreported
	}
	r.tags[i], r.times[i] = s+1, atUs
	r.last = max(r.last, s)
	r.end = max(r.end, s+1)
	r.start = max(min(r.start, s), r.end-twccMaxRange)
}

// received is the arrival of unwrapped number s, if recorded.
func (r *twccRecorder) received(s int64) (int64, bool) {
	i := s & (twccRingSize - 1)
	return r.times[i], r.tags[i] == s+1
}

// pending reports whether a feedback is due: numbers were recorded since the last one.
func (r *twccRecorder) pending() bool { return r.started && r.start < r.end }

// build writes the next feedback packet, from the first unreported number on, into the
// recorder's buffer and returns it; nil when nothing is left to report. A feedback ends
// before a packet whose receive delta does not fit 16 bits (the next one starts with a new
// reference time) or that would take it over twccMaxFeedbackBytes; call build until it
// returns nil. The packet is valid until the next call. No allocation.
func (r *twccRecorder) build() []byte {
	if !r.pending() {
		return nil
	}
	first := r.start
	for ; first < r.end; first++ {
		if _, ok := r.received(first); ok {
			break
		}
	}
	if first == r.end { // only losses: nothing to anchor a reference time on
		r.start = r.end
		return nil
	}
	at0, _ := r.received(first)
	ref := at0 / twccReferenceUnitUs
	if at0 < 0 && at0%twccReferenceUnitUs != 0 {
		ref-- // floor
	}
	last := ref * twccReferenceUnitUs
	base := r.start
	r.chunks.reset(r.buf[twccHeaderSize:])
	nDeltas := 0
	s := base
	for ; s < r.end && s-base < math.MaxUint16; s++ {
		at, ok := r.received(s)
		if !ok {
			if !r.fits(nDeltas) {
				break
			}
			r.chunks.add(twccNotReceived)
			continue
		}
		d := at - last
		if d >= 0 {
			d = (d + twccDeltaUnitUs/2) / twccDeltaUnitUs
		} else {
			d = (d - twccDeltaUnitUs/2) / twccDeltaUnitUs
		}
		if d < math.MinInt16 || d > math.MaxInt16 {
			break // the next feedback starts here, with its own reference time
		}
		if d >= 0 && d <= 0xff {
			if !r.fits(nDeltas + 1) {
				break
			}
			r.chunks.add(twccSmallDelta)
			r.deltas[nDeltas] = byte(d)
			nDeltas++
		} else {
			if !r.fits(nDeltas + 2) {
				break
			}
			r.chunks.add(twccLargeDelta)
			binary.BigEndian.PutUint16(r.deltas[nDeltas:], uint16(int16(d)))
			nDeltas += 2
		}
		last += d * twccDeltaUnitUs
	}
	r.start = s
	chunkBytes := r.chunks.finish()
	size := twccHeaderSize + chunkBytes + nDeltas
	copy(r.buf[twccHeaderSize+chunkBytes:], r.deltas[:nDeltas])
	pad := (4 - size%4) % 4
	b := r.buf[:size+pad]
	b[0] = 0x80 | rtcpFormatTWCC
	if pad > 0 {
		b[0] |= 0x20
		clear(b[size:])
		b[len(b)-1] = byte(pad)
	}
	b[1] = rtcpTypeTransportFeedback
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)/4-1))
	binary.BigEndian.PutUint32(b[4:], r.senderSSRC)
	binary.BigEndian.PutUint32(b[8:], r.mediaSSRC)
	binary.BigEndian.PutUint16(b[12:], uint16(base))
	binary.BigEndian.PutUint16(b[14:], uint16(s-base))
	b[16], b[17], b[18] = byte(ref>>16), byte(ref>>8), byte(ref)
	b[19] = r.fbCount
	r.fbCount++
	return b
}

// fits reports whether one more status with deltas bytes of receive deltas in all keeps
// the packet within twccMaxFeedbackBytes (counting the chunks the pending statuses may
// still take, and padding).
func (r *twccRecorder) fits(deltas int) bool {
	return twccHeaderSize+r.chunks.bytesAtMost()+2+deltas+3 <= twccMaxFeedbackBytes
}

// twccChunkWriter encodes packet status symbols into chunks as libwebrtc's and pion's
// writers do: up to 7 mixed symbols in a two-bit vector, up to 14 without a large delta in
// a one-bit vector, runs of one symbol (up to 8191) in a run-length chunk.
type twccChunkWriter struct {
	out      []byte
	n        int      // chunk bytes written
	syms     [14]byte // the first statuses not yet in a chunk
	size     int      // statuses not yet in a chunk
	allSame  bool
	hasLarge bool
}

func (c *twccChunkWriter) reset(out []byte) {
	*c = twccChunkWriter{out: out}
}

// bytesAtMost is how many chunk bytes the statuses so far take at most.
func (c *twccChunkWriter) bytesAtMost() int { return c.n + 4 }

func (c *twccChunkWriter) canAdd(sym byte) bool {
	switch {
	case c.size < 7:
		return true
	case c.size < 14 && !c.hasLarge && sym != twccLargeDelta:
		return true
	default:
		return c.size < twccMaxRunLength && c.allSame && c.syms[0] == sym
	}
}

func (c *twccChunkWriter) add(sym byte) {
	if !c.canAdd(sym) {
		c.emit()
	}
	if c.size < len(c.syms) {
		c.syms[c.size] = sym
	}
	c.allSame = c.size == 0 || (c.allSame && sym == c.syms[0])
	c.hasLarge = c.hasLarge || sym == twccLargeDelta
	c.size++
}

// emit writes the chunk the pending statuses start with.
func (c *twccChunkWriter) emit() {
	switch {
	case c.allSame:
		c.put(uint16(c.syms[0])<<13 | uint16(c.size))
		c.size = 0
	case c.size == 14:
		c.putVector(1, 14)
		c.size = 0
	default: // 7 < size < 14 with a large delta, or exactly 7 mixed
		c.putVector(2, 7)
		rest := c.size - 7
		copy(c.syms[:rest], c.syms[7:c.size])
		c.size, c.allSame, c.hasLarge = rest, true, false
		for i := range rest {
			c.allSame = c.allSame && c.syms[i] == c.syms[0]
			c.hasLarge = c.hasLarge || c.syms[i] == twccLargeDelta
		}
	}
}

// putVector writes a status vector of the first n pending statuses, bits per symbol.
func (c *twccChunkWriter) putVector(bits, n int) {
	v := uint16(0x8000)
	if bits == 2 {
		v |= 0x4000
	}
	for i := range n {
		v |= uint16(c.syms[i]) << (14 - bits*(i+1))
	}
	c.put(v)
}

func (c *twccChunkWriter) put(v uint16) {
	binary.BigEndian.PutUint16(c.out[c.n:], v)
	c.n += 2
}

// finish writes the pending statuses (a run, or a vector padded with "not received",
// which the status count leaves unread) and returns the chunk bytes.
func (c *twccChunkWriter) finish() int {
	switch {
	case c.size == 0:
	case c.allSame:
		c.emit()
	case c.size <= 7:
		c.putVector(2, c.size)
	default: // ≤ 14, no large delta
		c.putVector(1, c.size)
	}
	c.size = 0
	return c.n
}

// twccPacket hands an already-written RTCP packet (the recorder's buffer) to pion's RTCP
// writer: Marshal returns the bytes as they are, so no rtcp.Packet is built per feedback.
type twccPacket struct {
	b    []byte
	ssrc [1]uint32
}

var _ rtcp.Packet = (*twccPacket)(nil)

func (p *twccPacket) Marshal() ([]byte, error) { return p.b, nil }

func (p *twccPacket) Unmarshal(b []byte) error { p.b = b; return nil }

func (p *twccPacket) MarshalSize() int { return len(p.b) }

func (p *twccPacket) DestinationSSRC() []uint32 { return p.ssrc[:] }
