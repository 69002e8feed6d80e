package twcctest

import (
	"testing"

	"github.com/pion/rtcp"
)

// ReferenceUnitUs is the unit of a feedback's reference time: 64 ms.
const ReferenceUnitUs = 64_000

// Status is one packet status as a feedback packet reports it.
type Status struct {
	Seq      uint16
	Received bool
	OffsetUs int64 // arrival minus the reference time; 0 when not received
}

// PionStatuses reads raw with pion's rtcp.TransportLayerCC: its reference time in µs (the
// 24-bit field read as signed, times ReferenceUnitUs) and its statuses, at most the packet
// status count, in sequence order. pion's error when it refuses the packet.
func PionStatuses(raw []byte) (refUs int64, statuses []Status, err error) {
	var p rtcp.TransportLayerCC
	if err := p.Unmarshal(raw); err != nil {
		return 0, nil, err
	}
	var out []Status
	seq, deltas, offset := p.BaseSequenceNumber, p.RecvDeltas, int64(0)
	add := func(symbol uint16) {
		if len(out) >= int(p.PacketStatusCount) {
			return
		}
		st := Status{Seq: seq}
		if symbol == rtcp.TypeTCCPacketReceivedSmallDelta || symbol == rtcp.TypeTCCPacketReceivedLargeDelta {
			offset += deltas[0].Delta
			deltas = deltas[1:]
			st.Received, st.OffsetUs = true, offset
		}
		out = append(out, st)
		seq++
	}
	for _, c := range p.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for range c.RunLength {
				add(c.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				add(s)
			}
		}
	}
	ref := int64(int32(p.ReferenceTime<<8) >> 8) // 24-bit signed
	return ref * ReferenceUnitUs, out, nil
}

// Marshal writes p as a transport-wide feedback packet (its header filled in, padded to
// 32 bits) for the tests to read back; it fails tb when pion cannot write it.
func Marshal(tb testing.TB, p *rtcp.TransportLayerCC) []byte {
	tb.Helper()
	p.Header = rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback}
	size := p.MarshalSize()
	p.Header.Padding = size%4 != 0
	p.Header.Length = uint16((size+3)/4 - 1)
	raw, err := p.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}
