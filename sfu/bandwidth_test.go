package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
)

// The estimate is the congestion controller's only while TWCC feedback arrives, REMB's while REMBs arrive, the
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
			var cc *congestionController
			if tc.gcc > 0 {
				cc = newCongestionController(newSendHistory())
				cc.target.Store(int64(tc.gcc))
			}
			p := &Subscriber{bw: newBandwidthController(cc, allocatorConfig{})}
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

// A subscriber's compound RTCP reaches both paths: transport-wide feedback the congestion
// controller (read in place, no allocation), the rest the DownTracks and REMB.
func TestDispatchFeedsCongestionController(t *testing.T) {
	history := newSendHistory()
	history.allocate()
	cc := newCongestionController(history)
	p := &Subscriber{rtcp: newPeerRTCP(), bw: newBandwidthController(cc, allocatorConfig{})}
	p.setRTCPTracksLocked()
	rec := twcc.NewRecorder(1)
	for seq := range uint16(100) {
		history.record(seq, 1200, int64(seq)*int64(5*time.Millisecond))
		if seq != 50 {
			rec.Record(1, seq, int64(seq)*5000+20_000)
		}
	}
	feedback := rec.BuildFeedbackPacket()
	twccOnly, err := feedback[0].Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var compound []byte
	for _, pkt := range append([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 2, Reports: []rtcp.ReceptionReport{{SSRC: 1}}},
	}, append(feedback, &rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 800_000, SSRCs: []uint32{1}})...) {
		raw, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		compound = append(compound, raw...)
	}
	p.dispatchRTCP(1, compound, testNow)
	if cc.highest != 99 || cc.est.acked.n != 99 {
		t.Fatalf("controller saw up to %d, %d received; want 99, 99", cc.highest, cc.est.acked.n)
	}
	if got := p.bw.currentEstimate(testNow); got != 800_000 {
		t.Fatalf("estimate %d, want the REMB's 800000 (below the controller's)", got)
	}
	if allocs := testing.AllocsPerRun(100, func() { p.dispatchRTCP(1, twccOnly, testNow) }); allocs != 0 {
		t.Fatalf("%.1f allocations per transport-wide feedback packet, want 0", allocs)
	}
}

// A subscriber without a simulcast video has nothing to allocate: its bandwidth goroutine
// does not tick and DownlinkEstimate reads the estimate as it stands (D335); a simulcast
// DownTrack's wake-up starts the ticks, which go on by themselves until it is gone.
func TestBandwidthGoroutineTicksOnlyForVideo(t *testing.T) {
	f := newSimFixture(t)
	audio := &DownTrack{}
	p := &Subscriber{downTracks: map[*DownTrack]struct{}{audio: {}}, bw: newBandwidthController(nil, allocatorConfig{})}
	p.wg.Add(1)
	go p.runBandwidth()
	defer func() { p.bw.close(); p.wg.Wait() }()

	p.bw.noteREMB(700_000, time.Now())
	p.bw.wake() // a wish changed somewhere: one allocation, no ticks after it
	waitFor(t, func() bool { return p.bw.estimate.Load() == 700_000 })
	p.bw.noteREMB(650_000, time.Now())
	time.Sleep(3 * bandwidthTick)
	if got := p.bw.estimate.Load(); got != 700_000 {
		t.Errorf("allocated estimate %d without a video, want the woken allocation's 700000 and no tick after it", got)
	}
	if got := p.DownlinkEstimate(); got != 650_000 {
		t.Errorf("DownlinkEstimate %d without a video, want the current 650000", got)
	}

	video := bindTestDownTrack(f.receiver, newSender(64), &fakeTrackWriter{})
	video.peer = p
	p.mu.Lock()
	p.downTracks[video] = struct{}{}
	p.mu.Unlock()
	p.bw.wake() // as AddDownTrack does for a simulcast DownTrack
	waitFor(t, func() bool { return !p.bw.idle.Load() })
	p.bw.noteREMB(600_000, time.Now())
	waitFor(t, func() bool { return p.bw.estimate.Load() == 600_000 && p.DownlinkEstimate() == 600_000 }) // ticked

	p.mu.Lock()
	delete(p.downTracks, video)
	p.mu.Unlock()
	waitFor(t, func() bool { return p.bw.idle.Load() })
	p.bw.noteREMB(500_000, time.Now())
	if got := p.DownlinkEstimate(); got != 500_000 {
		t.Errorf("DownlinkEstimate %d once the video is gone, want the current 500000", got)
	}
}

// When the goroutine starts ticking again, the allocator is where the ticks it skipped
// would have left it: an estimate was known when feedback came meanwhile, even if it is
// stale by now (its levels are then held, not set to the wish).
func TestBandwidthResumeKnowsEarlierFeedback(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name      string
		feedback  func(b *bandwidthController)
		wantKnown bool
	}{
		{"no feedback", func(*bandwidthController) {}, false},
		{"a REMB while idle", func(b *bandwidthController) { b.noteREMB(800_000, t0.Add(time.Second)) }, true},
		{"a REMB of 0", func(b *bandwidthController) { b.noteREMB(0, t0.Add(time.Second)) }, false},
		{"transport-wide feedback while idle", func(b *bandwidthController) { b.noteTWCC(t0.Add(time.Second)) }, true},
		{"feedback before the idle time", func(b *bandwidthController) { b.noteTWCC(t0.Add(-time.Second)) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBandwidthController(newCongestionController(newSendHistory()), allocatorConfig{})
			b.idleNs = t0.UnixNano()
			tc.feedback(b)
			b.resume(t0.Add(10 * time.Second)) // every estimate stale by now
			if b.alloc.known != tc.wantKnown {
				t.Errorf("known %v, want %v", b.alloc.known, tc.wantKnown)
			}
		})
	}
}
