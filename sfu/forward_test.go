package sfu

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/internal/testwait"
)

var testNow = time.Unix(1_700_000_000, 0)

func TestForwardRewritesStartsAtKeyframeAndStripsExtensions(t *testing.T) {
	rec := &rtcpRecorder{}
	r := testReceiver(webrtc.RTPCodecTypeVideo, rec)
	s := newSender(64)
	w := &fakeTrackWriter{}
	bindTestDownTrack(r, s, w)

	// Two delta packets first: not forwarded, and a PLI goes to the publisher.
	for seq := uint16(65530); seq != 65532; seq++ {
		if err := r.writePacket(rtpBytes(seq, 1000, false, true, vp8Payload(false, seq)), testNow); err != nil {
			t.Fatal(err)
		}
	}
	if rec.count() != 1 {
		t.Fatalf("PLIs sent while waiting for a keyframe = %d, want 1 (throttled)", rec.count())
	}
	// A keyframe, then delta packets across the input wraparound.
	var sent [][]byte
	for i, seq := 0, uint16(65532); i < 8; i, seq = i+1, seq+1 {
		payload := vp8Payload(i == 0, seq)
		sent = append(sent, payload)
		if err := r.writePacket(rtpBytes(seq, 4000+uint32(i/3)*3000, i%3 == 2, true, payload), testNow); err != nil {
			t.Fatal(err)
		}
	}
	drainSender(s)
	got := w.snapshot()
	if len(got) != len(sent) {
		t.Fatalf("forwarded %d packets, want %d", len(got), len(sent))
	}
	first := got[0].header
	for i, p := range got {
		h := p.header
		if h.SSRC != 0xBEEF || h.PayloadType != 100 || h.Version != 2 {
			t.Errorf("packet %d: ssrc %x pt %d version %d", i, h.SSRC, h.PayloadType, h.Version)
		}
		if h.Extension || len(h.Extensions) != 0 {
			t.Errorf("packet %d: publisher's header extension not stripped: %+v", i, h.Extensions)
		}
		if h.SequenceNumber != first.SequenceNumber+uint16(i) {
			t.Errorf("packet %d: seq %d, want %d", i, h.SequenceNumber, first.SequenceNumber+uint16(i))
		}
		if h.Timestamp-first.Timestamp != uint32(i/3)*3000 {
			t.Errorf("packet %d: ts delta %d, want %d", i, h.Timestamp-first.Timestamp, (i/3)*3000)
		}
		if h.Marker != (i%3 == 2) {
			t.Errorf("packet %d: marker %v", i, h.Marker)
		}
		if !bytes.Equal(p.payload, sent[i]) {
			t.Errorf("packet %d: payload %x, want %x", i, p.payload, sent[i])
		}
	}
}

// videoWriter returns a function that writes r's next VP8 packet (sequence numbers from
// 100, timestamp 10 × seq, the payload tagged with seq) at *now.
func videoWriter(t *testing.T, r *Receiver, now *time.Time) func(keyframe bool) {
	seq := uint16(100)
	return func(keyframe bool) {
		t.Helper()
		if err := r.writePacket(rtpBytes(seq, uint32(seq)*10, false, false, vp8Payload(keyframe, seq)), *now); err != nil {
			t.Fatal(err)
		}
		seq++
	}
}

func TestSlowSubscriberDropsUntilKeyframeWithoutGap(t *testing.T) {
	rec := &rtcpRecorder{}
	r := testReceiver(webrtc.RTPCodecTypeVideo, rec)
	slow, fast := newSender(16), newSender(64)
	slowW, fastW := &fakeTrackWriter{}, &fakeTrackWriter{}
	bindTestDownTrack(r, slow, slowW)
	bindTestDownTrack(r, fast, fastW)

	now := testNow
	write := videoWriter(t, r, &now)
	write(true)
	for i := 0; i < 19; i++ { // the slow queue holds 16: 4 drops
		write(false)
	}
	drainSender(fast)
	drainSender(slow)
	pliAfterDrop := rec.count()
	if pliAfterDrop != 1 {
		t.Fatalf("PLIs = %d, want 1 after the slow subscriber's drop", pliAfterDrop)
	}
	now = now.Add(time.Second)
	for i := 0; i < 5; i++ { // the slow one waits for a keyframe
		write(false)
	}
	if rec.count() != 2 {
		t.Fatalf("PLIs = %d, want 2 (throttle passed once more)", rec.count())
	}
	write(true)
	write(false)
	drainSender(fast)
	drainSender(slow)

	if n := len(fastW.snapshot()); n != 27 {
		t.Fatalf("fast subscriber got %d packets, want all 27", n)
	}
	got := slowW.snapshot()
	if len(got) != 18 {
		t.Fatalf("slow subscriber got %d packets, want 16 + keyframe + 1", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].header.SequenceNumber != got[i-1].header.SequenceNumber+1 {
			t.Fatalf("slow subscriber: gap between %d and %d", got[i-1].header.SequenceNumber, got[i].header.SequenceNumber)
		}
	}
	if !bytes.Equal(got[16].payload, vp8Payload(true, 125)) {
		t.Fatalf("slow subscriber resumed with %x, want the keyframe of seq 125", got[16].payload)
	}
	if got[16].header.Timestamp-got[0].header.Timestamp != 250 {
		t.Fatalf("timestamps must keep real time across the drop: delta %d", got[16].header.Timestamp-got[0].header.Timestamp)
	}
}

// A subscriber's writer that falls behind by more than the Receiver's buffer finds the
// oldest queued packets overwritten: it drops them (never a wrong payload), the publisher
// is never held up, and the video DownTrack waits for the next keyframe, continuing
// without a further gap.
func TestWriterDropsOverwrittenPacketsAndWaitsForKeyframe(t *testing.T) {
	rec := &rtcpRecorder{}
	r := testReceiver(webrtc.RTPCodecTypeVideo, rec)
	r.buffer = newPacketBuffer(16)
	r.one.buffer = r.buffer // the single layer reads the same buffer
	s := newSender(64)
	w := &fakeTrackWriter{}
	bindTestDownTrack(r, s, w)
	now := testNow
	write := videoWriter(t, r, &now)
	write(true)
	for i := 0; i < 19; i++ { // 20 queued, the buffer keeps the last 16
		write(false)
	}
	drainSender(s)
	got := w.snapshot()
	if len(got) != 16 || s.dropped.Load() != 4 {
		t.Fatalf("wrote %d, dropped %d; want the 16 still buffered written and 4 dropped", len(got), s.dropped.Load())
	}
	for i, p := range got {
		if !bytes.Equal(p.payload, vp8Payload(false, 104+uint16(i))) {
			t.Fatalf("packet %d: payload %x, want that of seq %d", i, p.payload, 104+i)
		}
	}
	plis := rec.count()
	for i := 0; i < 3; i++ { // the frame is broken: wait for a keyframe
		write(false)
	}
	if rec.count() != plis+1 {
		t.Fatalf("PLIs after the drop: %d, want 1", rec.count()-plis)
	}
	write(true)
	drainSender(s)
	got = w.snapshot()
	if len(got) != 17 || !bytes.Equal(got[16].payload, vp8Payload(true, 123)) {
		t.Fatalf("after the drop: %d packets written, want 17 ending with the keyframe of seq 123", len(got))
	}
	if got[16].header.SequenceNumber != got[15].header.SequenceNumber+1 {
		t.Fatalf("gap between %d and the keyframe %d", got[15].header.SequenceNumber, got[16].header.SequenceNumber)
	}
}

func TestUpstreamLossKeepsGapAndAudioDropsCloseUp(t *testing.T) {
	r := testReceiver(webrtc.RTPCodecTypeAudio, nil)
	s := newSender(16)
	w := &fakeTrackWriter{}
	bindTestDownTrack(r, s, w)
	for _, seq := range []uint16{1, 2, 4, 5} { // 3 lost upstream
		if err := r.writePacket(rtpBytes(seq, uint32(seq)*960, false, false, []byte{byte(seq)}), testNow); err != nil {
			t.Fatal(err)
		}
	}
	drainSender(s)
	got := w.snapshot()
	base := got[0].header.SequenceNumber
	want := []uint16{0, 1, 3, 4}
	for i, p := range got {
		if p.header.SequenceNumber-base != want[i] {
			t.Fatalf("packet %d: seq offset %d, want %d (upstream loss must stay visible for NACK)", i, p.header.SequenceNumber-base, want[i])
		}
	}
}

func TestNACKAnsweredFromBuffer(t *testing.T) {
	r := testReceiver(webrtc.RTPCodecTypeVideo, nil)
	s := newSender(64)
	w := &fakeTrackWriter{}
	d := bindTestDownTrack(r, s, w)
	for i := uint16(0); i < 10; i++ {
		if err := r.writePacket(rtpBytes(5000+i, 7000+uint32(i), i == 9, false, vp8Payload(i == 0, i)), testNow); err != nil {
			t.Fatal(err)
		}
	}
	drainSender(s)
	out := w.snapshot()
	target := out[3].header // ask for packet 3 and 5 (bitmask bit 1)
	nack := func() []byte {
		b, err := (&rtcp.TransportLayerNack{MediaSSRC: 0xBEEF, Nacks: []rtcp.NackPair{{PacketID: target.SequenceNumber, LostPackets: 0b10}}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	resent := func(at time.Duration) []recordedPacket {
		before := len(w.snapshot())
		d.handleRTCP(nack(), testNow.Add(at))
		drainSender(s)
		return w.snapshot()[before:]
	}
	got := resent(0)
	if len(got) != 2 {
		t.Fatalf("resent %d packets, want 2", len(got))
	}
	if got[0].header.SequenceNumber != target.SequenceNumber || got[0].header.Timestamp != target.Timestamp ||
		!bytes.Equal(got[0].payload, out[3].payload) || got[1].header.SequenceNumber != out[5].header.SequenceNumber {
		t.Fatalf("resend %+v, want the original outgoing packet %+v", got[0].header, target)
	}
	if n := len(resent(10 * time.Millisecond)); n != 0 {
		t.Fatalf("repeat NACK within one RTT resent %d packets", n)
	}
	if n := len(resent(150 * time.Millisecond)); n != 2 {
		t.Fatalf("NACK after one RTT resent %d packets, want 2", n)
	}
	if n := len(resent(300 * time.Millisecond)); n != 2 {
		t.Fatalf("third NACK resent %d packets, want 2", n)
	}
	if n := len(resent(450 * time.Millisecond)); n != 0 {
		t.Fatalf("fourth NACK resent %d packets, want 0 (limit 3)", n)
	}
}

func TestPLIForwardedAndThrottled(t *testing.T) {
	rec := &rtcpRecorder{}
	r := testReceiver(webrtc.RTPCodecTypeVideo, rec)
	d := bindTestDownTrack(r, newSender(16), &fakeTrackWriter{})
	pli, _ := (&rtcp.PictureLossIndication{MediaSSRC: 0xBEEF}).Marshal()
	fir, _ := (&rtcp.FullIntraRequest{MediaSSRC: 0xBEEF, FIR: []rtcp.FIREntry{{SSRC: 0xBEEF}}}).Marshal()
	d.handleRTCP(pli, testNow)
	d.handleRTCP(fir, testNow.Add(100*time.Millisecond))
	d.handleRTCP(pli, testNow.Add(499*time.Millisecond))
	if rec.count() != 1 {
		t.Fatalf("PLIs to publisher = %d, want 1 within pli_throttle", rec.count())
	}
	d.handleRTCP(fir, testNow.Add(500*time.Millisecond))
	if rec.count() != 2 {
		t.Fatalf("PLIs to publisher = %d, want 2", rec.count())
	}
	p, ok := rec.pkts[0].(*rtcp.PictureLossIndication)
	if !ok || p.MediaSSRC != 0x1234 {
		t.Fatalf("sent %#v, want a PLI for the publisher's SSRC 0x1234", rec.pkts[0])
	}
}

func TestRTTFromReceiverReport(t *testing.T) {
	r := testReceiver(webrtc.RTPCodecTypeVideo, nil)
	d := bindTestDownTrack(r, newSender(16), &fakeTrackWriter{})
	sentAt := testNow
	now := sentAt.Add(300 * time.Millisecond)
	rr, _ := (&rtcp.ReceiverReport{Reports: []rtcp.ReceptionReport{{
		SSRC: 0xBEEF, LastSenderReport: ntpShort(sentAt), Delay: 65536 / 10, // held 100 ms
	}}}).Marshal()
	d.handleRTCP(rr, now)
	if d.rtt < 195*time.Millisecond || d.rtt > 205*time.Millisecond {
		t.Fatalf("rtt = %s, want ~200ms", d.rtt)
	}
}

func TestReceiverCloseDetachesDownTracksOnce(t *testing.T) {
	r := testReceiver(webrtc.RTPCodecTypeAudio, nil)
	s := newSender(16)
	w := &fakeTrackWriter{}
	bindTestDownTrack(r, s, w)
	calls := 0
	r.OnClose(func() { calls++ })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	if calls != 1 {
		t.Fatalf("OnClose ran %d times", calls)
	}
	late := 0
	r.OnClose(func() { late++ })
	if late != 1 {
		t.Fatal("OnClose after close did not run immediately")
	}
	if err := r.writePacket(rtpBytes(1, 1, false, false, []byte{1}), testNow); err != nil {
		t.Fatal(err)
	}
	drainSender(s)
	if n := len(w.snapshot()); n != 0 {
		t.Fatalf("closed receiver still forwarded %d packets", n)
	}
	if err := r.addDownTrack(newDownTrack(r, s, nil)); err == nil {
		t.Fatal("addDownTrack on a closed receiver succeeded")
	}
}

func TestSenderWriterGoroutine(t *testing.T) {
	r := testReceiver(webrtc.RTPCodecTypeAudio, nil)
	s := newSender(16)
	w := &fakeTrackWriter{}
	bindTestDownTrack(r, s, w)
	done := make(chan struct{})
	go func() { defer close(done); s.run() }()
	for seq := uint16(1); seq <= 200; seq++ {
		if err := r.writePacket(rtpBytes(seq, uint32(seq), false, false, []byte{byte(seq)}), testNow); err != nil {
			t.Fatal(err)
		}
		// Pace so the 16-slot queue does not overflow in this test.
		waitFor(t, func() bool { return len(w.snapshot()) == int(seq) })
	}
	s.close()
	<-done
	if s.enqueue(nil, r.buffer, 1, 1, 1, vp8Munge{}) {
		t.Fatal("enqueue after close succeeded")
	}
}

// waitFor polls cond with a generous deadline.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testwait.For(t, 20*time.Second, "the condition", cond)
}

// A DownTrack bound before its subscriber's DTLS is up misses the keyframe its bind asked
// for (and when the connection took long, that keyframe is too old to start from); its
// first packet after that asks again at once, within pli_throttle, and only once (the
// next request waits for the throttle as usual).
func TestFirstPacketAsksForKeyframeAgain(t *testing.T) {
	tests := []struct {
		name      string
		simulcast bool
	}{{"single layer", false}, {"simulcast", true}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &rtcpRecorder{}
			now := testNow
			var write func(keyframe bool)
			var r *Receiver
			if tc.simulcast {
				f := newSimFixture(t)
				r, rec = f.receiver, f.rtcp
				write = func(keyframe bool) {
					for i, src := range f.sources {
						for _, raw := range src.next(keyframe, 2) {
							if err := r.sim.layers[i].writePacket(raw, now); err != nil {
								t.Fatal(err)
							}
						}
					}
				}
			} else {
				r = testReceiver(webrtc.RTPCodecTypeVideo, rec)
				seq := uint16(1)
				write = func(keyframe bool) {
					if err := r.writePacket(rtpBytes(seq, uint32(seq)*3000, true, false, vp8Payload(keyframe, seq)), now); err != nil {
						t.Fatal(err)
					}
					seq++
				}
			}
			for i := 0; i < r.layerCount(); i++ {
				r.layerAt(i).pli.interval = 5 * time.Second // longer than the connection setup below
			}
			write(true)                           // the publisher's first keyframe: layer sizes known
			now = now.Add(600 * time.Millisecond) // past pli_throttle, the layers still active
			p := &Subscriber{}                    // not connected yet
			d := bindTestDownTrack(r, newSender(256), &fakeTrackWriter{})
			d.peer = p
			d.setWantedSize(1280, 720, now)
			d.requestKeyframe(now) // as Bind does
			asked := rec.count()
			now = now.Add(30 * time.Millisecond)
			write(true)               // the answer, before the subscriber can receive it
			for n := 0; n < 25; n++ { // too long ago to start from it (fastfirst.go)
				now = now.Add(33 * time.Millisecond)
				write(false)
			}
			p.mediaReady.Store(true)
			now = now.Add(30 * time.Millisecond)
			write(false)
			if got := rec.count() - asked; got != 1 {
				t.Fatalf("keyframe requests after the first packet: %d, want 1 at once", got)
			}
			now = now.Add(30 * time.Millisecond)
			write(false)
			if got := rec.count() - asked; got != 1 {
				t.Fatalf("keyframe requests after the second packet: %d, want still 1 (throttled)", got)
			}
		})
	}
}
