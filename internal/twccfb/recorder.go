package twccfb

import (
	"encoding/binary"
	"math"
)

// The wire format (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1).
const (
	TypeTransportFeedback = 205 // RTCP packet type: transport layer feedback
	FormatTWCC            = 15  // its feedback message type: transport-wide feedback
	HeaderSize            = 20  // RTCP header, sender and media SSRC, base, count, reference time, fb count
	DeltaUnitUs           = 250
	ReferenceUnitUs       = 64_000
)

// Packet status symbols.
const (
	NotReceived = 0
	SmallDelta  = 1 // received, 1-byte delta
	LargeDelta  = 2 // received, 2-byte signed delta
)

const (
	// ringBits sizes the arrival ring: the last 4096 sequence numbers (64 KiB). A
	// feedback goes every 100 ms (the server's also once 500 packets wait, D147), so
	// unreported arrivals stay far inside it.
	ringBits = 12
	RingSize = 1 << ringBits // sequence numbers the ring holds
	// MaxFeedbackBytes bounds one feedback packet (D147: within pion's 1460-byte
	// receive MTU, with room for SRTCP's trailer).
	MaxFeedbackBytes = 1200
	// maxRange bounds the sequence numbers one build walks: older unreported arrivals
	// are not reported (as pion's maxMissingSequenceNumbers).
	maxRange = 0x7FFE
	// seqOffset keeps unwrapped sequence numbers positive (a multiple of 1<<16, so the
	// low 16 bits are the wire's).
	seqOffset    = 1 << 32
	maxRunLength = 0x1fff
)

// Recorder records arrivals and writes transport-wide feedback (see doc.go). Not safe
// for concurrent use.
type Recorder struct {
	senderSSRC uint32
	mediaSSRC  uint32
	fbCount    uint8
	started    bool
	last       int64 // highest unwrapped sequence number recorded (the unwrapping reference)
	start      int64 // first sequence number the next feedback reports
	end        int64 // one past the highest sequence number recorded

	tags  [RingSize]int64 // unwrapped sequence number + 1 held by the slot; 0: empty
	times [RingSize]int64 // arrival, µs

	buf    [MaxFeedbackBytes]byte // the packet being written
	deltas [MaxFeedbackBytes]byte // its receive deltas, copied behind the chunks
	chunks chunkWriter
}

// NewRecorder makes a recorder whose feedback carries senderSSRC.
func NewRecorder(senderSSRC uint32) *Recorder {
	return &Recorder{senderSSRC: senderSSRC}
}

// Record notes that transport-wide number seq of stream ssrc arrived at atUs. The first
// arrival of a number counts. A number older than the ring, or whose slot holds a newer
// unreported arrival, is ignored; a late number before the last feedback's end (but within
// the ring) has the next feedback start there again, as pion's and libwebrtc's recorders
// do. No allocation.
func (r *Recorder) Record(ssrc uint32, seq uint16, atUs int64) {
	r.mediaSSRC = ssrc
	if !r.started {
		r.started = true
		r.last = seqOffset + int64(seq)
		r.start, r.end = r.last, r.last
	}
	s := r.last + int64(int16(seq-uint16(r.last)))
	if s <= r.end-RingSize {
		return // older than the ring
	}
	i := s & (RingSize - 1)
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
	r.start = max(min(r.start, s), r.end-maxRange)
}

// received is the arrival of unwrapped number s, if recorded.
func (r *Recorder) received(s int64) (int64, bool) {
	i := s & (RingSize - 1)
	return r.times[i], r.tags[i] == s+1
}

// MediaSSRC is the stream of the last arrival recorded (the feedback's media SSRC).
func (r *Recorder) MediaSSRC() uint32 { return r.mediaSSRC }

// Pending reports whether a feedback is due: numbers were recorded since the last one.
func (r *Recorder) Pending() bool { return r.started && r.start < r.end }

// Build writes the next feedback packet, from the first unreported number on, into the
// recorder's buffer and returns it; nil when nothing is left to report. A feedback ends
// before a packet whose receive delta does not fit 16 bits (the next one starts with a new
// reference time) or that would take it over MaxFeedbackBytes; call Build until it
// returns nil. The packet is valid until the next call. No allocation.
func (r *Recorder) Build() []byte {
	if !r.Pending() {
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
	ref := at0 / ReferenceUnitUs
	if at0 < 0 && at0%ReferenceUnitUs != 0 {
		ref-- // floor
	}
	last := ref * ReferenceUnitUs
	base := r.start
	r.chunks.reset(r.buf[HeaderSize:])
	nDeltas := 0
	s := base
	for ; s < r.end && s-base < math.MaxUint16; s++ {
		at, ok := r.received(s)
		if !ok {
			if !r.fits(nDeltas) {
				break
			}
			r.chunks.add(NotReceived)
			continue
		}
		d := at - last
		if d >= 0 {
			d = (d + DeltaUnitUs/2) / DeltaUnitUs
		} else {
			d = (d - DeltaUnitUs/2) / DeltaUnitUs
		}
		if d < math.MinInt16 || d > math.MaxInt16 {
			break // the next feedback starts here, with its own reference time
		}
		if d >= 0 && d <= 0xff {
			if !r.fits(nDeltas + 1) {
				break
			}
			r.chunks.add(SmallDelta)
			r.deltas[nDeltas] = byte(d)
			nDeltas++
		} else {
			if !r.fits(nDeltas + 2) {
				break
			}
			r.chunks.add(LargeDelta)
			binary.BigEndian.PutUint16(r.deltas[nDeltas:], uint16(int16(d)))
			nDeltas += 2
		}
		last += d * DeltaUnitUs
	}
	r.start = s
	chunkBytes := r.chunks.finish()
	size := HeaderSize + chunkBytes + nDeltas
	copy(r.buf[HeaderSize+chunkBytes:], r.deltas[:nDeltas])
	pad := (4 - size%4) % 4
	b := r.buf[:size+pad]
	b[0] = 0x80 | FormatTWCC
	if pad > 0 {
		b[0] |= 0x20
		clear(b[size:])
		b[len(b)-1] = byte(pad)
	}
	b[1] = TypeTransportFeedback
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
// the packet within MaxFeedbackBytes (counting the chunks the pending statuses may
// still take, and padding).
func (r *Recorder) fits(deltas int) bool {
	return HeaderSize+r.chunks.bytesAtMost()+2+deltas+3 <= MaxFeedbackBytes
}
