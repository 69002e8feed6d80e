package sfu

import (
	"encoding/binary"

	"github.com/pion/rtcp"

	"github.com/parley-rtc/parley/internal/twccfb"
)

// rtcpCompound serializes RTCP packets into one reusable buffer and hands them to pion's
// RTCP writer as one compound packet of already-written bytes (D157, D175): a write per
// compound of at most twccfb.MaxFeedbackBytes (the server's RTCP datagram bound), no
// rtcp.Packet built per report. One goroutine owns it (a subscriber's Sender, a
// publisher's feedback goroutine); no allocation (pion's write path copies and encrypts).
type rtcpCompound struct {
	write func([]rtcp.Packet) (int, error)
	// raw, when set, is offered the bytes first and reports whether it took them (a
	// subscriber's own SRTCP path, rtpout.go); otherwise they go to write.
	raw func(b []byte) bool
	b   []byte // the packets written so far (buf[:len(b)])

	buf    [twccfb.MaxFeedbackBytes]byte
	packet twccfb.Packet
	pkts   [1]rtcp.Packet
}

// reserve makes room for n more bytes, writing what is buffered first when they do not
// fit; it returns the buffer to append them to.
func (c *rtcpCompound) reserve(n int) []byte {
	if c.b == nil {
		c.b = c.buf[:0]
	}
	if len(c.b)+n > len(c.buf) {
		c.flush()
	}
	return c.b
}

// flush writes what is buffered as one compound packet; a failed write (the
// PeerConnection is closing) is dropped.
func (c *rtcpCompound) flush() {
	if len(c.b) >= 8 && (c.raw == nil || !c.raw(c.b)) {
		c.packet.Set(c.b, binary.BigEndian.Uint32(c.b[4:8]))
		c.pkts[0] = &c.packet
		_, _ = c.write(c.pkts[:])
	}
	c.b = c.buf[:0]
}

// Sizes of what appendReceiverReport and appendNACK write.
const (
	rtcpHeaderSize        = 4
	receptionReportSize   = 24
	maxReceptionReports   = 31 // the 5-bit report count
	nackHeaderSize        = 12 // header, sender SSRC, media SSRC
	nackPairSize          = 4
	rtcpTypeGenericNACKFB = 1 // FMT of a generic NACK (RFC 4585 section 6.2.1)
)

// appendReceiverReport appends a receiver report of sender ssrc with the report blocks
// (RFC 3550 section 6.4.2; at most maxReceptionReports) to b.
func appendReceiverReport(b []byte, ssrc uint32, reports []rtcp.ReceptionReport) []byte {
	words := (rtcpHeaderSize+4+receptionReportSize*len(reports))/4 - 1
	b = append(b, 0x80|uint8(len(reports)), uint8(rtcp.TypeReceiverReport))
	b = binary.BigEndian.AppendUint16(b, uint16(words))
	b = binary.BigEndian.AppendUint32(b, ssrc)
	for i := range reports {
		r := &reports[i]
		b = binary.BigEndian.AppendUint32(b, r.SSRC)
		b = binary.BigEndian.AppendUint32(b, uint32(r.FractionLost)<<24|r.TotalLost&0xFFFFFF)
		b = binary.BigEndian.AppendUint32(b, r.LastSequenceNumber)
		b = binary.BigEndian.AppendUint32(b, r.Jitter)
		b = binary.BigEndian.AppendUint32(b, r.LastSenderReport)
		b = binary.BigEndian.AppendUint32(b, r.Delay)
	}
	return b
}

// nackPairs appends to dst the generic NACK pairs (packet ID and bitmask of the 16
// following) of missing, sequence numbers in order (as nackLog.collect returns them).
// No allocation when dst has room.
func nackPairs(dst []rtcp.NackPair, missing []uint16) []rtcp.NackPair {
	for i, s := range missing {
		if i > 0 {
			last := &dst[len(dst)-1]
			if d := s - last.PacketID; d >= 1 && d <= 16 {
				last.LostPackets |= 1 << (d - 1)
				continue
			}
		}
		dst = append(dst, rtcp.NackPair{PacketID: s})
	}
	return dst
}

// appendNACK appends a generic NACK from sender about media carrying pairs to b.
func appendNACK(b []byte, sender, media uint32, pairs []rtcp.NackPair) []byte {
	words := (nackHeaderSize+nackPairSize*len(pairs))/4 - 1
	b = append(b, 0x80|rtcpTypeGenericNACKFB, uint8(rtcp.TypeTransportSpecificFeedback))
	b = binary.BigEndian.AppendUint16(b, uint16(words))
	b = binary.BigEndian.AppendUint32(b, sender)
	b = binary.BigEndian.AppendUint32(b, media)
	for _, p := range pairs {
		b = binary.BigEndian.AppendUint16(b, p.PacketID)
		b = binary.BigEndian.AppendUint16(b, uint16(p.LostPackets))
	}
	return b
}
