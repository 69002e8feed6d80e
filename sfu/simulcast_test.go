package sfu

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// simSource generates one simulcast layer's packets: VP8 with 15-bit picture IDs and
// TL0PICIDX, a keyframe header with the layer's size, and the layer index and frame
// number after the headers so a test can tell what it received.
type simSource struct {
	layer         byte
	width, height uint16
	seq           uint16
	ts            uint32
	pic           uint16
	tl0           uint8
	frame         uint32
	size          int // payload bytes per packet
}

// simPayload is one VP8 payload of a simSource frame.
func simPayload(layer byte, pic uint16, tl0 uint8, frame uint32, first, keyframe bool, w, h uint16, size int) []byte {
	b := []byte{0x80, 0xC0, 0x80 | byte(pic>>8&0x7f), byte(pic), tl0}
	if first {
		b[0] |= 0x10
		if keyframe {
			b = append(b, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a)
			b = binary.LittleEndian.AppendUint16(b, w)
			b = binary.LittleEndian.AppendUint16(b, h)
		} else {
			b = append(b, 0x01, 0x00, 0x00)
		}
	}
	b = append(b, layer)
	b = binary.BigEndian.AppendUint32(b, frame)
	for len(b) < size {
		b = append(b, 0xAA)
	}
	return b
}

// next returns the raw RTP packets of the source's next frame.
func (s *simSource) next(keyframe bool, packets int) [][]byte {
	var out [][]byte
	for i := 0; i < packets; i++ {
		payload := simPayload(s.layer, s.pic, s.tl0, s.frame, i == 0, keyframe, s.width, s.height, s.size)
		raw := rtpBytes(s.seq, s.ts, i == packets-1, true, payload)
		binary.BigEndian.PutUint32(raw[8:], 0x1000+uint32(s.layer)) // SSRC per layer
		out = append(out, raw)
		s.seq++
	}
	s.ts += 3000
	s.pic = (s.pic + 1) & 0x7fff
	s.tl0++
	s.frame++
	return out
}

// simFixture is a three-layer simulcast Receiver fed by simSources.
type simFixture struct {
	t        testing.TB
	receiver *Receiver
	sources  []*simSource
	frame    int
	now      time.Time
	rtcp     *rtcpRecorder
	stopped  [3]bool // layers that send nothing at step
}

func newSimFixture(t testing.TB) *simFixture {
	rec := &rtcpRecorder{}
	p := receiverParams{
		trackID: "cam", streamID: "alice", kind: webrtc.RTPCodecTypeVideo,
		codec:         webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96},
		bufferPackets: 1024, pliThrottle: 500 * time.Millisecond, writeRTCP: rec.write,
	}
	f := &simFixture{t: t, receiver: newSimulcastReceiver(p, []string{"q", "h", "f"}), now: testNow, rtcp: rec}
	sizes := [][2]uint16{{320, 180}, {640, 360}, {1280, 720}}
	for i, sz := range sizes {
		f.sources = append(f.sources, &simSource{
			layer: byte(i), width: sz[0], height: sz[1], size: 100 * (1 + 3*i),
			seq: uint16(1000*i + 65000), ts: uint32(i) * 77777, pic: uint16(30000 + 500*i), tl0: uint8(250 - i*3),
		})
		f.receiver.sim.layers[i].ssrc.Store(0x1000 + uint32(i))
	}
	return f
}

// keyframeAt says whether layer i sends a keyframe at frame n: all at 0, then every 30
// frames with a different phase per layer.
func keyframeAt(i, n int) bool { return n == 0 || (n+10*i)%30 == 0 }

// step sends one frame (2 packets) of every layer.
func (f *simFixture) step() {
	for i, s := range f.sources {
		if f.stopped[i] {
			continue
		}
		for _, raw := range s.next(keyframeAt(i, f.frame), 2) {
			if err := f.receiver.sim.layers[i].writePacket(raw, f.now); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	f.frame++
	f.now = f.now.Add(33 * time.Millisecond)
}

// sentLayer returns the layer index and frame number a simPayload carries.
func sentLayer(t *testing.T, payload []byte) (layer byte, frame uint32, desc vp8Descriptor) {
	t.Helper()
	if !parseVP8Descriptor(payload, &desc) {
		t.Fatalf("forwarded payload without a VP8 descriptor: % x", payload)
	}
	i := desc.headerLen
	if payload[0]&0x10 != 0 {
		if payload[i]&1 == 0 {
			i += 10
		} else {
			i += 3
		}
	}
	return payload[i], binary.BigEndian.Uint32(payload[i+1:]), desc
}

// checkContinuity: sequence numbers without gaps, timestamps increasing per frame,
// picture ID and TL0PICIDX +1 per frame, and every layer change at a keyframe.
func checkContinuity(t *testing.T, name string, got []recordedPacket) (layers []byte) {
	t.Helper()
	var prevLayer byte = 255
	var prevPic uint16
	var prevTL0 uint8
	for i, p := range got {
		layer, _, desc := sentLayer(t, p.payload)
		start := p.payload[0]&0x10 != 0
		if i > 0 {
			prev := got[i-1].header
			if p.header.SequenceNumber != prev.SequenceNumber+1 {
				t.Fatalf("%s packet %d: seq %d after %d", name, i, p.header.SequenceNumber, prev.SequenceNumber)
			}
			if start && int32(p.header.Timestamp-prev.Timestamp) <= 0 {
				t.Fatalf("%s packet %d: frame timestamp %d not after %d", name, i, p.header.Timestamp, prev.Timestamp)
			}
			wantPic, wantTL0 := prevPic, prevTL0
			if start {
				wantPic, wantTL0 = (prevPic+1)&0x7fff, prevTL0+1
			}
			if desc.pictureID != wantPic || desc.tl0PicIdx != wantTL0 {
				t.Fatalf("%s packet %d (layer %d): picture %d tl0 %d, want %d %d", name, i, layer, desc.pictureID, desc.tl0PicIdx, wantPic, wantTL0)
			}
		}
		if layer != prevLayer {
			if !start || p.payload[desc.headerLen]&1 != 0 {
				t.Fatalf("%s packet %d: switched to layer %d on a non-keyframe packet", name, i, layer)
			}
			layers = append(layers, layer)
		}
		prevLayer, prevPic, prevTL0 = layer, desc.pictureID, desc.tl0PicIdx
	}
	return layers
}

func TestSimulcastLayerChoiceAndKeyframeAlignedSwitch(t *testing.T) {
	f := newSimFixture(t)
	type sub struct {
		name   string
		w, h   int
		writer *fakeTrackWriter
		sender *Sender
		dt     *DownTrack
	}
	subs := []*sub{{name: "wants 640x360", w: 640, h: 360}, {name: "wants 1280x720", w: 1280, h: 720}, {name: "no wish"}}
	for _, s := range subs {
		s.writer, s.sender = &fakeTrackWriter{}, newSender(1024)
		s.dt = bindTestDownTrack(f.receiver, s.sender, s.writer)
		s.dt.SetWantedSize(s.w, s.h)
	}
	for n := 0; n < 20; n++ {
		f.step()
	}
	want := []byte{1, 2, 2}
	for i, s := range subs {
		drainSender(s.sender)
		layers := checkContinuity(t, s.name, s.writer.snapshot())
		if len(layers) == 0 || layers[len(layers)-1] != want[i] {
			t.Errorf("%s: received layers %v, want to end on %d", s.name, layers, want[i])
		}
		if s.dt.CurrentLayer() != int(want[i]) {
			t.Errorf("%s: current layer %d, want %d", s.name, s.dt.CurrentLayer(), want[i])
		}
	}
	info := f.receiver.Layers()
	if len(info) != 3 || info[1].Width != 640 || info[1].Height != 360 || info[2].RID != "f" || !info[0].Active || info[0].Bitrate == 0 {
		t.Fatalf("Layers() = %+v", info)
	}

	// The first subscriber now wants 1280x720: it keeps h until f's next keyframe.
	plisBefore := f.rtcp.count()
	subs[0].dt.SetWantedSize(1280, 720)
	if subs[0].dt.TargetLayer() != 2 || subs[0].dt.CurrentLayer() != 1 {
		t.Fatalf("after the wish: target %d current %d", subs[0].dt.TargetLayer(), subs[0].dt.CurrentLayer())
	}
	if f.rtcp.count() != plisBefore+1 {
		t.Fatalf("no keyframe request for the new layer")
	}
	for n := 0; n < 40; n++ {
		f.step()
	}
	drainSender(subs[0].sender)
	got := subs[0].writer.snapshot()
	layers := checkContinuity(t, subs[0].name, got)
	if len(layers) < 2 || layers[len(layers)-2] != 1 || layers[len(layers)-1] != 2 {
		t.Fatalf("layers received %v, want ... 1, 2", layers)
	}
	if n := subs[0].dt.LayerSwitches(); n != uint64(len(layers)) {
		t.Fatalf("LayerSwitches %d, layers seen %v", n, layers)
	}

	// NACKs on both sides of the switch are answered from the right layer, renumbered
	// as first sent.
	var before, after int = -1, -1
	for i, p := range got {
		l, _, _ := sentLayer(t, p.payload)
		if l == 1 {
			before = i
		} else if l == 2 && after < 0 && before >= 0 {
			after = i + 3
		}
	}
	for _, i := range []int{before, after} {
		sent := got[i]
		subs[0].dt.resend(sent.header.SequenceNumber, f.now)
		drainSender(subs[0].sender)
		all := subs[0].writer.snapshot()
		re := all[len(all)-1]
		if re.header.SequenceNumber != sent.header.SequenceNumber || re.header.Timestamp != sent.header.Timestamp || string(re.payload) != string(sent.payload) {
			t.Fatalf("resend of packet %d differs:\n got %d %d % x\nwant %d %d % x", i, re.header.SequenceNumber, re.header.Timestamp, re.payload[:8],
				sent.header.SequenceNumber, sent.header.Timestamp, sent.payload[:8])
		}
	}
}

func TestSimulcastPinnedLayerBudgetAndInactiveLayer(t *testing.T) {
	f := newSimFixture(t)
	s, w := newSender(1024), &fakeTrackWriter{}
	dt := bindTestDownTrack(f.receiver, s, w)
	dt.SetTargetLayer(0)
	for n := 0; n < 35; n++ {
		f.step()
	}
	if dt.CurrentLayer() != 0 {
		t.Fatalf("pinned layer 0, forwarding %d", dt.CurrentLayer())
	}
	dt.SetTargetLayer(-1)
	if dt.TargetLayer() != 2 {
		t.Fatalf("automatic without a wish targets %d, want 2", dt.TargetLayer())
	}
	// The downlink allows h at most.
	dt.setLayerCap(1, f.now)
	if dt.TargetLayer() != 1 {
		t.Fatalf("capped at h: target %d (layers %+v)", dt.TargetLayer(), f.receiver.Layers())
	}
	dt.setLayerCap(-1, f.now)
	// f stops: after layerInactiveAfter the DownTrack wants h.
	f.sources = f.sources[:2]
	for n := 0; n < 60; n++ {
		f.step()
	}
	if dt.TargetLayer() != 1 || dt.CurrentLayer() != 1 {
		t.Fatalf("with f gone: target %d current %d", dt.TargetLayer(), dt.CurrentLayer())
	}
	drainSender(s)
	checkContinuity(t, "pinned", w.snapshot())
}

func TestSimulcastSubscriberPLIGoesToCurrentLayer(t *testing.T) {
	f := newSimFixture(t)
	s := newSender(1024)
	dt := bindTestDownTrack(f.receiver, s, &fakeTrackWriter{})
	dt.SetWantedSize(320, 180)
	for n := 0; n < 3; n++ {
		f.step()
	}
	f.rtcp.mu.Lock()
	f.rtcp.pkts = nil
	f.rtcp.mu.Unlock()
	raw, err := (&rtcp.PictureLossIndication{MediaSSRC: 0xBEEF}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	dt.handleRTCP(raw, f.now.Add(time.Second))
	f.rtcp.mu.Lock()
	defer f.rtcp.mu.Unlock()
	if len(f.rtcp.pkts) != 1 || f.rtcp.pkts[0].(*rtcp.PictureLossIndication).MediaSSRC != 0x1000 {
		t.Fatalf("PLI forwarded as %v, want one for layer q's SSRC", f.rtcp.pkts)
	}
}

func TestSimulcastForwardDoesNotAllocate(t *testing.T) {
	f := newSimFixture(t)
	var senders []*Sender
	for i := 0; i < 3; i++ {
		s := newSender(4096)
		dt := bindTestDownTrack(f.receiver, s, &fakeTrackWriter{})
		dt.SetWantedSize([]int{320, 640, 0}[i], []int{180, 360, 0}[i])
		senders = append(senders, s)
	}
	f.step() // keyframes: every DownTrack starts
	frames := make([][][]byte, 3)
	for i, src := range f.sources {
		frames[i] = src.next(false, 2)
	}
	n := 0
	allocs := testing.AllocsPerRun(300, func() {
		for i, l := range f.receiver.sim.layers {
			raw := frames[i][n%2]
			binary.BigEndian.PutUint16(raw[2:], uint16(n+i*1000))
			if err := l.writePacket(raw, f.now); err != nil {
				t.Fatal(err)
			}
		}
		n++
		if n%512 == 0 {
			for _, s := range senders {
				s.discardQueued()
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per simulcast packet set, want 0", allocs)
	}
}

func TestChooseLayer(t *testing.T) {
	q := layerView{active: true, width: 320, height: 180, bitrate: 150_000}
	h := layerView{active: true, width: 640, height: 360, bitrate: 500_000}
	fl := layerView{active: true, width: 1280, height: 720, bitrate: 1_500_000}
	unknown := layerView{active: true}
	off := layerView{width: 1280, height: 720}
	hOff := layerView{width: 640, height: 360}
	tests := []struct {
		name  string
		views []layerView
		wish  layerWish
		want  int
	}{
		{"no wish: largest", []layerView{q, h, fl}, layerWish{pinned: -1}, 2},
		{"exact size", []layerView{q, h, fl}, layerWish{width: 640, height: 360, pinned: -1}, 1},
		{"smaller than q", []layerView{q, h, fl}, layerWish{width: 160, height: 90, pinned: -1}, 0},
		{"within tolerance", []layerView{q, h, fl}, layerWish{width: 700, height: 394, pinned: -1}, 1},
		{"640x480 needs f", []layerView{q, h, fl}, layerWish{width: 640, height: 480, pinned: -1}, 2},
		{"portrait wish", []layerView{q, h, fl}, layerWish{width: 360, height: 640, pinned: -1}, 1},
		{"bigger than all", []layerView{q, h, fl}, layerWish{width: 1920, height: 1080, pinned: -1}, 2},
		{"f inactive", []layerView{q, h, off}, layerWish{width: 1280, height: 720, pinned: -1}, 1},
		{"none active", []layerView{{}, {}}, layerWish{pinned: -1}, -1},
		{"pinned", []layerView{q, h, fl}, layerWish{width: 1280, height: 720, pinned: 0}, 0},
		{"pinned inactive", []layerView{q, h, off}, layerWish{pinned: 2}, 1},
		{"capped at h", []layerView{q, h, fl}, layerWish{pinned: -1, limit: 2}, 1},
		{"capped at q", []layerView{q, h, fl}, layerWish{pinned: -1, limit: 1}, 0},
		{"cap at an inactive layer: the next smaller", []layerView{q, hOff, fl}, layerWish{pinned: -1, limit: 2}, 0},
		{"cap above the wish", []layerView{q, h, fl}, layerWish{width: 320, height: 180, pinned: -1, limit: 3}, 0},
		{"cap applies to a pinned layer", []layerView{q, h, fl}, layerWish{pinned: 2, limit: 2}, 1},
		{"cap by size when the publisher lists f first", []layerView{fl, h, q}, layerWish{pinned: -1, limit: 2}, 1},
		{"sizes unknown: by index", []layerView{unknown, unknown, unknown}, layerWish{width: 320, height: 180, pinned: -1}, 2},
		{"publisher lists f first", []layerView{fl, h, q}, layerWish{width: 640, height: 360, pinned: -1}, 1},
		{"publisher lists f first, no wish", []layerView{fl, h, q}, layerWish{pinned: -1}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := chooseLayer(tc.views, tc.wish); got != tc.want {
				t.Fatalf("chooseLayer = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestOrderRIDs(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"f", "h", "q"}, []string{"q", "h", "f"}},
		{[]string{"q", "f"}, []string{"q", "f"}},
		{[]string{"2", "0", "1"}, []string{"2", "0", "1"}},
		{[]string{"q", "hi"}, []string{"q", "hi"}},
	}
	for _, tc := range tests {
		if got := orderRIDs(tc.in); len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) || got[len(got)-1] != tc.want[len(tc.want)-1] {
			t.Errorf("orderRIDs(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSeqHistoryLayer(t *testing.T) {
	h := newSeqHistory(16)
	for seq := uint16(0); seq < 20; seq++ {
		if _, _, _, ok := h.getLayer(seq); ok {
			t.Fatalf("empty history answered %d", seq)
		}
	}
	for seq := uint16(65530); seq != 6; seq++ {
		h.putLayer(seq, seq+7, uint8(seq%3), uint32(seq)*10)
	}
	for seq := uint16(65530); seq != 6; seq++ {
		in, layer, ts, ok := h.getLayer(seq)
		if !ok || in != seq+7 || layer != uint8(seq%3) || ts != uint32(seq)*10 {
			t.Fatalf("getLayer(%d) = %d %d %d %v", seq, in, layer, ts, ok)
		}
		if _, _, _, ok := h.getLayer(seq + 16); ok {
			t.Fatalf("getLayer(%d) answered for a different packet", seq+16)
		}
	}
}

// BenchmarkForwardSimulcast: one packet of each of three layers through the simulcast
// Receiver to n subscribers spread over the layers (each forwards one layer).
func BenchmarkForwardSimulcast(b *testing.B) {
	for _, n := range []int{3, 30, 300} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			const queue, drainEvery = 256, 32
			f := newSimFixture(b)
			var senders []*Sender
			wishes := [][2]int{{320, 180}, {640, 360}, {0, 0}}
			for i := 0; i < n; i++ {
				s := newSender(queue)
				dt := bindTestDownTrack(f.receiver, s, &fakeTrackWriter{})
				dt.SetWantedSize(wishes[i%3][0], wishes[i%3][1])
				senders = append(senders, s)
			}
			f.step()
			for _, s := range senders {
				s.discardQueued()
			}
			frames := make([][][]byte, 3)
			for i, src := range f.sources {
				src.size = 1100 // a realistic video packet, as in BenchmarkForward
				frames[i] = src.next(false, 2)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for k := 0; k < b.N; k++ {
				if k%drainEvery == drainEvery-1 {
					b.StopTimer()
					for _, s := range senders {
						s.discardQueued()
					}
					b.StartTimer()
				}
				for i, l := range f.receiver.sim.layers {
					raw := frames[i][k%2]
					binary.BigEndian.PutUint16(raw[2:], uint16(k+i*1000))
					if err := l.writePacket(raw, f.now); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/3, "ns/packet")
		})
	}
}

// A switch asks for the target layer's keyframe at once, even within pli_throttle when
// the layer's last requested keyframe has already passed; it asks again every
// pli_throttle while none comes; the old layer keeps flowing, and stays wanted (not
// paused), until the switch.
func TestSimulcastSwitchKeyframeRequestsAndNoGap(t *testing.T) {
	f := newSimFixture(t)
	wanted := &wantedRecorder{}
	f.receiver.OnWantedLayers(wanted.record)
	s, w := newSender(4096), &fakeTrackWriter{}
	dt := bindTestDownTrack(f.receiver, s, w)
	dt.setWantedSize(320, 180, f.now)
	frame := func(keyframes ...int) { // one frame of every layer; keyframes on the given ones
		for i, src := range f.sources {
			key := false
			for _, k := range keyframes {
				key = key || k == i
			}
			for _, raw := range src.next(key, 2) {
				if err := f.receiver.sim.layers[i].writePacket(raw, f.now); err != nil {
					t.Fatal(err)
				}
			}
		}
		f.now = f.now.Add(33 * time.Millisecond)
	}
	plis := func() int { // keyframe requests for f so far
		f.rtcp.mu.Lock()
		defer f.rtcp.mu.Unlock()
		n := 0
		for _, p := range f.rtcp.pkts {
			if p.(*rtcp.PictureLossIndication).MediaSSRC == 0x1002 {
				n++
			}
		}
		return n
	}
	frame(0, 1, 2)
	for n := 0; n < 3; n++ {
		frame()
	}
	if dt.CurrentLayer() != 0 || wanted.last() != "q:on h:off f:off" {
		t.Fatalf("start: current %d, wanted %q", dt.CurrentLayer(), wanted.last())
	}
	// Someone else's request for f, answered by f's keyframe 66 ms later.
	f.receiver.sim.layers[2].requestKeyframe(f.now, false)
	frame()
	frame(2)
	before := plis()
	dt.setWantedSize(1280, 720, f.now) // 100 ms after that request
	if got := plis(); got != before+1 {
		t.Fatalf("keyframe requests for f at the switch: %d, want 1 at once (the last one was answered)", got-before)
	}
	// No keyframe comes: q keeps flowing, and f is asked again after pli_throttle.
	for n := 0; n < 16; n++ { // f's packets from 0 to 495 ms after the request
		frame()
	}
	if got := plis(); got != before+1 {
		t.Fatalf("keyframe requests within pli_throttle: %d, want 1", got-before)
	}
	frame() // 528 ms
	if got := plis(); got != before+2 {
		t.Fatalf("keyframe requests after pli_throttle without a keyframe: %d, want 2", got-before)
	}
	frame(2)
	frame()
	if dt.CurrentLayer() != 2 {
		t.Fatalf("after f's keyframe: current %d", dt.CurrentLayer())
	}

	// Back to q: f stays wanted until q's keyframe switches the DownTrack over.
	dt.setWantedSize(320, 180, f.now)
	frame()
	if got := wanted.last(); got != "q:on h:off f:on" {
		t.Fatalf("waiting for q's keyframe: wanted %q, want f still on", got)
	}
	frame(0)
	if got := wanted.last(); got != "q:on h:off f:off" || dt.CurrentLayer() != 0 {
		t.Fatalf("after the switch to q: wanted %q, current %d", got, dt.CurrentLayer())
	}
	drainSender(s)
	got := w.snapshot()
	if layers := checkContinuity(t, "switches", got); len(layers) != 3 {
		t.Fatalf("layers %v, want q, f, q", layers)
	}
	// No gap: every frame of the old layer until the switch was forwarded (in the step of
	// the switch to f, q's frame and then f's keyframe).
	frames := 0
	for _, p := range got {
		if p.header.Marker {
			frames++
		}
	}
	if want := 4 + 2 + 17 + 2 + 1 + 1 + 1; frames != want {
		t.Fatalf("%d frames forwarded, want %d", frames, want)
	}
}

// TestSimulcastFirstKeyframesAskForNoKeyframe: a DownTrack bound before the publisher's
// first packets starts on the layers' first keyframes as they arrive, without asking the
// publisher for another keyframe of any layer (D171).
func TestSimulcastFirstKeyframesAskForNoKeyframe(t *testing.T) {
	f := newSimFixture(t)
	writer, sender := &fakeTrackWriter{}, newSender(1024)
	dt := bindTestDownTrack(f.receiver, sender, writer)
	f.step() // the first frame: a keyframe of every layer
	if n := f.rtcp.count(); n != 0 {
		t.Fatalf("%d keyframe requests with the first keyframes at hand, want 0", n)
	}
	for n := 0; n < 5; n++ {
		f.step()
	}
	drainSender(sender)
	layers := checkContinuity(t, "no wish", writer.snapshot())
	if len(layers) == 0 || layers[len(layers)-1] != 2 || dt.CurrentLayer() != 2 {
		t.Fatalf("received layers %v (current %d), want to end on f", layers, dt.CurrentLayer())
	}
	if n := f.rtcp.count(); n != 0 {
		t.Fatalf("%d keyframe requests, want 0", n)
	}
}
