package sfu

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtcp"

	"github.com/parley-rtc/parley/internal/twccfb"
	"github.com/parley-rtc/parley/internal/twcctest"
)

// ourStatuses walks raw with parseTWCC and twccIter.
func ourStatuses(raw []byte) ([]twcctest.Status, error) {
	f, err := parseTWCC(raw)
	if err != nil {
		return nil, err
	}
	var out []twcctest.Status
	it := f.iter()
	for {
		seq, received, arrival, ok := it.next()
		if !ok {
			return out, nil
		}
		st := twcctest.Status{Seq: seq, Received: received}
		if received {
			st.OffsetUs = arrival - f.reference
		}
		out = append(out, st)
	}
}

var (
	twccRun = func(symbol, n uint16) rtcp.PacketStatusChunk {
		return &rtcp.RunLengthChunk{PacketStatusSymbol: symbol, RunLength: n}
	}
	twccSmall = func(us int64) *rtcp.RecvDelta {
		return &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: us}
	}
	twccLarge = func(us int64) *rtcp.RecvDelta {
		return &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: us}
	}
)

// TestParseTWCCReadsTheWriter: the feedback reader finds what pion's
// rtcp.TransportLayerCC finds in every packet of the feedback writer toward publishers
// (internal/twccfb, whose own tests check it with pion's parser only), with losses, large
// and negative deltas, the sequence wrap and feedbacks split at 1 200 bytes.
func TestParseTWCCReadsTheWriter(t *testing.T) {
	type arrival struct {
		seq uint16
		at  int64 // µs
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var jittered, wrap []arrival
	at := int64(1_000_000)
	for i := range 3000 {
		at += 200 + rng.Int64N(2800)
		if i%5 != 0 {
			jittered = append(jittered, arrival{uint16(i), at})
		}
	}
	for i := range 20 {
		if i != 7 {
			wrap = append(wrap, arrival{65530 + uint16(i), 70_000 + int64(i)*1000})
		}
	}
	tests := []struct {
		name string
		arr  []arrival
	}{
		{"3000 packets, every 5th lost", jittered},
		{"wrap at 65535", wrap},
		{"reordered, 2 s and 10 s deltas", []arrival{{0, 1000}, {2, 2000}, {1, 3000}, {3, 2_004_000}, {4, 12_004_000}, {5, 12_000_000}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := twccfb.NewRecorder(1)
			for _, a := range tc.arr {
				r.Record(2, a.seq, a.at)
			}
			statuses := 0
			for raw := r.Build(); raw != nil; raw = r.Build() {
				_, want, err := twcctest.PionStatuses(raw)
				if err != nil {
					t.Fatalf("pion: %v", err)
				}
				got, err := ourStatuses(raw)
				if err != nil {
					t.Fatalf("parseTWCC: %v", err)
				}
				if len(got) != len(want) || len(got) == 0 {
					t.Fatalf("%d statuses, pion %d", len(got), len(want))
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("status %d: %+v, pion %+v", i, got[i], want[i])
					}
				}
				var p rtcp.TransportLayerCC
				if err := p.Unmarshal(raw); err != nil {
					t.Fatal(err)
				}
				if f, _ := parseTWCC(raw); f.reference != int64(p.ReferenceTime)*twccReferenceUnitUs {
					t.Fatalf("reference %d µs, pion %d × 64 ms", f.reference, p.ReferenceTime)
				}
				statuses += len(got)
			}
			if statuses < len(tc.arr) {
				t.Fatalf("%d statuses for %d arrivals", statuses, len(tc.arr))
			}
		})
	}
}

// The feedback reader finds what pion's rtcp.TransportLayerCC finds, for each kind of
// chunk and delta.
func TestParseTWCCMatchesPion(t *testing.T) {
	tests := []struct {
		name string
		fb   rtcp.TransportLayerCC
	}{
		{"run length, small deltas", rtcp.TransportLayerCC{
			BaseSequenceNumber: 65534, PacketStatusCount: 3, ReferenceTime: 100, FbPktCount: 7,
			PacketChunks: []rtcp.PacketStatusChunk{twccRun(rtcp.TypeTCCPacketReceivedSmallDelta, 3)},
			RecvDeltas:   []*rtcp.RecvDelta{twccSmall(250), twccSmall(0), twccSmall(63750)},
		}},
		{"run of losses then large and negative deltas", rtcp.TransportLayerCC{
			BaseSequenceNumber: 10, PacketStatusCount: 6, ReferenceTime: 0x7FFFFF,
			PacketChunks: []rtcp.PacketStatusChunk{
				twccRun(rtcp.TypeTCCPacketNotReceived, 3),
				twccRun(rtcp.TypeTCCPacketReceivedLargeDelta, 3),
			},
			RecvDeltas: []*rtcp.RecvDelta{twccLarge(100_000), twccLarge(-8000), twccLarge(-8192000)},
		}},
		{"status vectors, 1-bit and 2-bit, the last one partly used", rtcp.TransportLayerCC{
			BaseSequenceNumber: 500, PacketStatusCount: 18, ReferenceTime: 0x800001,
			PacketChunks: []rtcp.PacketStatusChunk{
				&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeOneBit, SymbolList: []uint16{1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
				&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit, SymbolList: []uint16{2, 0, 1, 0, 0, 0, 0}},
			},
			RecvDeltas: []*rtcp.RecvDelta{twccSmall(1000), twccSmall(500), twccSmall(250), twccSmall(750), twccLarge(-250), twccSmall(2000)},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := twcctest.Marshal(t, &tc.fb)
			_, want, err := twcctest.PionStatuses(raw)
			if err != nil {
				t.Fatalf("pion: %v", err)
			}
			got, err := ourStatuses(raw)
			if err != nil {
				t.Fatalf("parseTWCC: %v", err)
			}
			if len(got) != int(tc.fb.PacketStatusCount) || len(got) != len(want) {
				t.Fatalf("%d statuses, pion %d, count %d", len(got), len(want), tc.fb.PacketStatusCount)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("status %d: %+v, pion %+v", i, got[i], want[i])
				}
			}
			f, _ := parseTWCC(raw)
			ref := int64(tc.fb.ReferenceTime)
			if ref >= 1<<23 {
				ref -= 1 << 24
			}
			if f.reference != ref*64_000 || f.fbCount != tc.fb.FbPktCount {
				t.Fatalf("reference %d µs, count %d; want %d, %d", f.reference, f.fbCount, ref*64_000, tc.fb.FbPktCount)
			}
		})
	}
}

// Malformed feedback is refused with ErrMalformedFeedback, never read past its end.
func TestParseTWCCRejectsMalformed(t *testing.T) {
	good := twcctest.Marshal(t, &rtcp.TransportLayerCC{
		BaseSequenceNumber: 1, PacketStatusCount: 2,
		PacketChunks: []rtcp.PacketStatusChunk{twccRun(rtcp.TypeTCCPacketReceivedLargeDelta, 2)},
		RecvDeltas:   []*rtcp.RecvDelta{twccLarge(250), twccLarge(500)},
	})
	if _, err := parseTWCC(good); err != nil {
		t.Fatalf("good packet refused: %v", err)
	}
	with := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		raw  []byte
	}{
		{"empty", nil},
		{"header only", good[:4]},
		{"not transport-wide feedback (FMT 1)", with(func(b []byte) []byte { b[0] = b[0]&^0x1f | 1; return b })},
		{"version 1", with(func(b []byte) []byte { b[0] = b[0]&0x3f | 0x40; return b })},
		{"length field longer than the packet", with(func(b []byte) []byte { b[3]++; return b })},
		{"truncated deltas", with(func(b []byte) []byte { b[15], b[21] = 4, 4; return b })}, // 4 large deltas, 6 bytes left
		{"statuses beyond the chunks", with(func(b []byte) []byte { b[14] = 0xff; return b })},
		{"reserved symbol", with(func(b []byte) []byte { b[20] |= 0x60; return b })}, // run of symbol 3
		{"padding larger than the packet", with(func(b []byte) []byte { b[0] |= 0x20; b[len(b)-1] = 200; return b })},
		{"zero padding", with(func(b []byte) []byte { b[0] |= 0x20; b[len(b)-1] = 0; return b })},
	}
	cc := newCongestionController(newSendHistory())
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseTWCC(tc.raw); !errors.Is(err, ErrMalformedFeedback) {
				t.Fatalf("error %v, want ErrMalformedFeedback", err)
			}
			if err := cc.onFeedback(tc.raw, testNow); !errors.Is(err, ErrMalformedFeedback) || cc.rejected.Load() != uint64(i+1) {
				t.Fatalf("congestion controller: error %v, %d rejected; want ErrMalformedFeedback, %d", err, cc.rejected.Load(), i+1)
			}
		})
	}
	if err := cc.onFeedback(good, testNow); err != nil || cc.target.Load() != initialDownlinkEstimate {
		t.Fatalf("good feedback after bad: %v, estimate %d", err, cc.target.Load())
	}
}

// FuzzParseTWCC: the transport-wide feedback reader never panics or reads past its input,
// reports exactly the count it was told, and agrees with pion's rtcp.TransportLayerCC
// wherever both accept a packet; a subscriber Peer's RTCP dispatch (compound splitting,
// the congestion controller) takes any input.
func FuzzParseTWCC(f *testing.F) {
	history := newSendHistory()
	history.allocate()
	for seq := range uint16(2000) {
		history.record(seq, 1000, int64(seq)*int64(time.Millisecond))
	}
	p := &Subscriber{rtcp: newPeerRTCP(), bw: newBandwidthController(newCongestionController(history), allocatorConfig{})}
	p.setRTCPTracksLocked()
	f.Add(twcctest.Marshal(f, &rtcp.TransportLayerCC{
		BaseSequenceNumber: 65534, PacketStatusCount: 3, ReferenceTime: 100,
		PacketChunks: []rtcp.PacketStatusChunk{twccRun(rtcp.TypeTCCPacketReceivedSmallDelta, 3)},
		RecvDeltas:   []*rtcp.RecvDelta{twccSmall(250), twccSmall(0), twccSmall(63750)},
	}))
	f.Add(twcctest.Marshal(f, &rtcp.TransportLayerCC{
		BaseSequenceNumber: 500, PacketStatusCount: 18, ReferenceTime: 0x800001,
		PacketChunks: []rtcp.PacketStatusChunk{
			&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeOneBit, SymbolList: []uint16{1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
			&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit, SymbolList: []uint16{2, 0, 1, 0, 0, 0, 0}},
		},
		RecvDeltas: []*rtcp.RecvDelta{twccSmall(1000), twccSmall(500), twccSmall(250), twccSmall(750), twccLarge(-250), twccSmall(2000)},
	}))
	f.Add([]byte{0x8f, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0xff, 0xff, 0, 0, 0, 0})       // 65535 statuses, no chunk
	f.Add([]byte{0x8f, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0}) // zero-length runs
	f.Fuzz(func(t *testing.T, raw []byte) {
		p.dispatchRTCP(1, raw, testNow)
		got, err := ourStatuses(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformedFeedback) {
				t.Fatalf("error %v not ErrMalformedFeedback", err)
			}
			return
		}
		fb, _ := parseTWCC(raw)
		if len(got) != fb.count {
			t.Fatalf("%d statuses, count says %d", len(got), fb.count)
		}
		_, want, perr := twcctest.PionStatuses(raw)
		if perr != nil || len(want) != len(got) {
			return // pion refuses or reads some odd packets differently; ours is checked above
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("status %d: %+v, pion %+v", i, got[i], want[i])
			}
		}
	})
}
