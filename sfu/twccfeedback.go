package sfu

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/parley-rtc/parley/internal/twccfb"
)

// Transport-wide congestion control feedback from a subscriber (RTCP transport layer
// feedback, PT 205, FMT 15, draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1),
// read in place: parseTWCC checks one packet and twccIter walks its packet statuses and
// arrival times without allocating (pion's rtcp.TransportLayerCC makes one object per
// acknowledged packet). Everything in it is bounded by the packet's length and its
// 16-bit status count. Run by the subscriber Peer's RTCP goroutine.

// ErrMalformedFeedback: a transport-wide feedback packet could not be parsed.
var ErrMalformedFeedback = errors.New("sfu: malformed transport-wide feedback")

// The wire format, as the feedback writer toward publishers (internal/twccfb) writes it.
const (
	rtcpTypeTransportFeedback = twccfb.TypeTransportFeedback
	rtcpFormatTWCC            = twccfb.FormatTWCC
	twccHeaderSize            = twccfb.HeaderSize
	twccDeltaUnitUs           = twccfb.DeltaUnitUs
	twccReferenceUnitUs       = twccfb.ReferenceUnitUs
)

// Packet status symbols.
const (
	twccNotReceived = twccfb.NotReceived
	twccSmallDelta  = twccfb.SmallDelta
	twccLargeDelta  = twccfb.LargeDelta
)

// twccFeedback is one checked transport-wide feedback packet.
type twccFeedback struct {
	raw       []byte // the packet without padding
	base      uint16 // transport-wide sequence number of the first status
	count     int    // packet statuses
	reference int64  // reference time, µs (24-bit signed, 64 ms units; the receiver's clock)
	fbCount   uint8  // feedback packet count
	deltas    int    // offset of the first receive delta in raw
}

// isTWCC reports whether the RTCP packet pkt (one packet of a compound) is transport-wide
// feedback.
func isTWCC(pkt []byte) bool {
	return len(pkt) >= 4 && pkt[1] == rtcpTypeTransportFeedback && pkt[0]&0x1f == rtcpFormatTWCC
}

// parseTWCC checks pkt, exactly one RTCP packet (its length field's size), and returns
// its feedback. It walks the status chunks once to find where the receive deltas start
// and checks that they are all there.
func parseTWCC(pkt []byte) (twccFeedback, error) {
	var f twccFeedback
	if len(pkt) < twccHeaderSize || !isTWCC(pkt) || pkt[0]>>6 != 2 {
		return f, fmt.Errorf("%w: not a %d-byte transport-wide feedback header", ErrMalformedFeedback, twccHeaderSize)
	}
	if size := (int(binary.BigEndian.Uint16(pkt[2:4])) + 1) * 4; size != len(pkt) {
		return f, fmt.Errorf("%w: length field says %d bytes, packet has %d", ErrMalformedFeedback, size, len(pkt))
	}
	end := len(pkt)
	if pkt[0]&0x20 != 0 { // padding: the last byte counts it
		pad := int(pkt[end-1])
		if pad == 0 || pad > end-twccHeaderSize {
			return f, fmt.Errorf("%w: padding of %d bytes", ErrMalformedFeedback, pad)
		}
		end -= pad
	}
	f.raw = pkt[:end]
	f.base = binary.BigEndian.Uint16(pkt[12:14])
	f.count = int(binary.BigEndian.Uint16(pkt[14:16]))
	ref := int64(pkt[16])<<16 | int64(pkt[17])<<8 | int64(pkt[18])
	if ref&0x800000 != 0 {
		ref -= 1 << 24
	}
	f.reference = ref * twccReferenceUnitUs
	f.fbCount = pkt[19]

	off, seen, deltaBytes := twccHeaderSize, 0, 0
	for seen < f.count {
		if off+2 > end {
			return f, fmt.Errorf("%w: %d of %d statuses before the chunks end", ErrMalformedFeedback, seen, f.count)
		}
		chunk := binary.BigEndian.Uint16(f.raw[off:])
		off += 2
		n := min(chunkStatuses(chunk), f.count-seen)
		for i := range n {
			switch s := chunkSymbol(chunk, i); s {
			case twccSmallDelta:
				deltaBytes++
			case twccLargeDelta:
				deltaBytes += 2
			case twccNotReceived:
			default:
				return f, fmt.Errorf("%w: reserved status symbol %d", ErrMalformedFeedback, s)
			}
		}
		seen += n
	}
	if off+deltaBytes > end {
		return f, fmt.Errorf("%w: %d bytes of receive deltas, %d left", ErrMalformedFeedback, deltaBytes, end-off)
	}
	f.deltas = off
	return f, nil
}

// chunkStatuses is how many statuses a chunk describes.
func chunkStatuses(chunk uint16) int {
	switch {
	case chunk&0x8000 == 0: // run length
		return int(chunk & 0x1fff)
	case chunk&0x4000 == 0: // status vector of 1-bit symbols
		return 14
	default: // status vector of 2-bit symbols
		return 7
	}
}

// chunkSymbol is the status of the chunk's i-th packet.
func chunkSymbol(chunk uint16, i int) int {
	switch {
	case chunk&0x8000 == 0:
		return int(chunk>>13) & 3
	case chunk&0x4000 == 0:
		return int(chunk>>(13-i)) & 1
	default:
		return int(chunk>>(12-2*i)) & 3
	}
}

// twccIter walks the statuses of a parsed feedback packet in sequence order.
type twccIter struct {
	f       *twccFeedback
	seen    int
	chunk   uint16
	chunkN  int // statuses of the current chunk
	inChunk int // statuses of it already walked
	off     int // next chunk
	delta   int // next receive delta
	arrival int64
}

func (f *twccFeedback) iter() twccIter {
	return twccIter{f: f, off: twccHeaderSize, delta: f.deltas, arrival: f.reference}
}

// next returns the next packet's transport-wide sequence number, whether it was received
// and, if so, its arrival time in µs on the receiver's clock. ok is false after the last.
func (it *twccIter) next() (seq uint16, received bool, arrivalUs int64, ok bool) {
	f := it.f
	if it.seen >= f.count {
		return 0, false, 0, false
	}
	for it.inChunk >= it.chunkN { // parseTWCC checked that enough chunks follow
		it.chunk = binary.BigEndian.Uint16(f.raw[it.off:])
		it.off += 2
		it.chunkN, it.inChunk = chunkStatuses(it.chunk), 0
	}
	seq = f.base + uint16(it.seen)
	switch chunkSymbol(it.chunk, it.inChunk) {
	case twccSmallDelta:
		it.arrival += int64(f.raw[it.delta]) * twccDeltaUnitUs
		it.delta++
		received = true
	case twccLargeDelta:
		it.arrival += int64(int16(binary.BigEndian.Uint16(f.raw[it.delta:]))) * twccDeltaUnitUs
		it.delta += 2
		received = true
	}
	it.inChunk++
	it.seen++
	return seq, received, it.arrival, true
}

// nextRTCP splits the first RTCP packet (by its length field) off the compound packet
// raw; ok is false when raw is empty or the packet does not fit.
func nextRTCP(raw []byte) (pkt, rest []byte, ok bool) {
	if len(raw) < 4 {
		return nil, nil, false
	}
	size := (int(binary.BigEndian.Uint16(raw[2:4])) + 1) * 4
	if size > len(raw) {
		return nil, nil, false
	}
	return raw[:size], raw[size:], true
}
