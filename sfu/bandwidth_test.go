package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"
)

// fixedEstimator is a cc.BandwidthEstimator that always estimates bps.
type fixedEstimator struct{ bps int }

func (e fixedEstimator) AddStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return w
}
func (fixedEstimator) WriteRTCP([]rtcp.Packet, interceptor.Attributes) error { return nil }
func (e fixedEstimator) GetTargetBitrate() int                               { return e.bps }
func (fixedEstimator) OnTargetBitrateChange(func(int))                       {}
func (fixedEstimator) GetStats() map[string]any                              { return nil }
func (fixedEstimator) Close() error                                          { return nil }

var _ cc.BandwidthEstimator = fixedEstimator{}

// The estimate is GCC's only while TWCC feedback arrives, REMB's while REMBs arrive, the
// lower of the two when both do, unknown when neither does.
func TestDownlinkEstimateSources(t *testing.T) {
	t0 := time.Unix(1000, 0)
	remb := func(bps float32) []byte {
		raw, err := (&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: bps, SSRCs: []uint32{1}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	tcc := &rtcp.TransportLayerCC{
		SenderSSRC: 2, MediaSSRC: 1, BaseSequenceNumber: 1, PacketStatusCount: 1,
		PacketChunks: []rtcp.PacketStatusChunk{&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 1}},
		RecvDeltas:   []*rtcp.RecvDelta{{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}},
	}
	tcc.Header = rtcp.Header{Padding: true, Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback, Length: uint16(tcc.MarshalSize()/4 - 1)}
	twcc, err := tcc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		gcc      int
		feedback [][]byte
		at       time.Duration
		want     int64
	}{
		{"no feedback", 2_000_000, nil, 0, 0},
		{"twcc only", 2_000_000, [][]byte{twcc}, 0, 2_000_000},
		{"remb only", 0, [][]byte{remb(800_000)}, 0, 800_000},
		{"both: remb lower", 2_000_000, [][]byte{twcc, remb(800_000)}, 0, 800_000},
		{"both: gcc lower", 500_000, [][]byte{twcc, remb(800_000)}, 0, 500_000},
		{"stale feedback", 2_000_000, [][]byte{twcc, remb(800_000)}, 3 * time.Second, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var est cc.BandwidthEstimator
			if tc.gcc > 0 {
				est = fixedEstimator{bps: tc.gcc}
			}
			p := &Subscriber{bw: newBandwidthController(est, allocatorConfig{})}
			d := &DownTrack{peer: p, rtt: defaultRTT}
			for _, raw := range tc.feedback {
				d.handleRTCP(raw, t0)
			}
			if got := p.bw.currentEstimate(t0.Add(tc.at)); got != tc.want {
				t.Fatalf("estimate %d, want %d", got, tc.want)
			}
		})
	}
}
