package twcctest

import (
	"slices"
	"testing"

	"github.com/pion/rtcp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPionStatuses(t *testing.T) {
	small := func(us int64) *rtcp.RecvDelta {
		return &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: us}
	}
	large := func(us int64) *rtcp.RecvDelta {
		return &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: us}
	}
	tests := []struct {
		name  string
		fb    rtcp.TransportLayerCC
		refUs int64
		want  []Status
	}{
		{"run length across the sequence wrap", rtcp.TransportLayerCC{
			BaseSequenceNumber: 65535, PacketStatusCount: 2, ReferenceTime: 2,
			PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{
				PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 2}},
			RecvDeltas: []*rtcp.RecvDelta{small(250), small(500)},
		}, 128_000, []Status{{65535, true, 250}, {0, true, 750}}},
		{"a status vector with a loss, negative reference time", rtcp.TransportLayerCC{
			BaseSequenceNumber: 10, PacketStatusCount: 3, ReferenceTime: 0xFFFFFF,
			PacketChunks: []rtcp.PacketStatusChunk{&rtcp.StatusVectorChunk{
				SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit, SymbolList: []uint16{2, 0, 1, 0, 0, 0, 0}}},
			RecvDeltas: []*rtcp.RecvDelta{large(-1000), small(250)},
		}, -64_000, []Status{{10, true, -1000}, {11, false, 0}, {12, true, -750}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, got, err := PionStatuses(Marshal(t, &tt.fb))
			if err != nil || ref != tt.refUs || !slices.Equal(got, tt.want) {
				t.Fatalf("got %d µs, %+v, %v; want %d µs, %+v", ref, got, err, tt.refUs, tt.want)
			}
		})
	}
	if _, _, err := PionStatuses([]byte{1, 2, 3}); err == nil {
		t.Fatal("a 3-byte packet read without error")
	}
}
