package sfu

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

const testAudioLevelID = 1

// audioPacket is an Opus packet carrying the ssrc-audio-level extension (voice flag set)
// next to another one-byte extension, as browsers send it.
func audioPacket(seq uint16, ts uint32, level uint8) []byte {
	h := rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: ts, SSRC: 0x1234}
	if err := h.SetExtension(4, []byte{0x01, 0x02, 0x03}); err != nil {
		panic(err)
	}
	if err := h.SetExtension(testAudioLevelID, []byte{0x80 | level}); err != nil {
		panic(err)
	}
	b, err := (&rtp.Packet{Header: h, Payload: []byte{0xfc, 0xff, 0xfe}}).Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

func TestHeaderExtension(t *testing.T) {
	oneByte := func(exts map[uint8][]byte) []byte {
		h := rtp.Header{Version: 2, SequenceNumber: 1, SSRC: 5, CSRC: []uint32{7}}
		for id, payload := range exts {
			if err := h.SetExtension(id, payload); err != nil {
				t.Fatal(err)
			}
		}
		b, err := (&rtp.Packet{Header: h, Payload: []byte{1, 2, 3}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	twoByte := func(id uint8, payload []byte) []byte {
		h := rtp.Header{Version: 2, SequenceNumber: 1, SSRC: 5, Extension: true, ExtensionProfile: 0x1000}
		if err := h.SetExtension(id, payload); err != nil {
			t.Fatal(err)
		}
		b, err := (&rtp.Packet{Header: h, Payload: []byte{1}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// One-byte block with padding before the element: 0xBEDE, 2 words: pad, pad, id 2 len 1.
	padded := []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0xBE, 0xDE, 0, 2, 0, 0, 0x21, 0xAA, 0xBB, 0, 0, 0}
	tests := []struct {
		name string
		raw  []byte
		id   uint8
		want []byte
	}{
		{"one-byte, first", oneByte(map[uint8][]byte{1: {0x9e}, 3: {1, 2, 3, 4}}), 1, []byte{0x9e}},
		{"one-byte, second", oneByte(map[uint8][]byte{1: {0x9e}, 3: {1, 2, 3, 4}}), 3, []byte{1, 2, 3, 4}},
		{"one-byte, absent", oneByte(map[uint8][]byte{1: {0x9e}}), 2, nil},
		{"one-byte, id out of range", oneByte(map[uint8][]byte{1: {0x9e}}), 15, nil},
		{"one-byte, after padding", padded, 2, []byte{0xAA, 0xBB}},
		{"two-byte", twoByte(20, []byte{7, 8}), 20, []byte{7, 8}},
		{"two-byte, empty element", twoByte(21, []byte{}), 21, []byte{}},
		{"no extension", rtpBytes(1, 1, false, false, []byte{1}), 1, nil},
		{"id zero", oneByte(map[uint8][]byte{1: {0x9e}}), 0, nil},
		{"truncated block", oneByte(map[uint8][]byte{1: {0x9e}})[:14], 1, nil},
		{"element past the block", []byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0xBE, 0xDE, 0, 1, 0x13, 0, 0, 0}, 1, nil},
		{"short header", []byte{0x90, 0}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := headerExtension(tt.raw, tt.id)
			if ok != (tt.want != nil) || !bytes.Equal(got, tt.want) {
				t.Errorf("headerExtension(id %d) = %x, %v; want %x, %v", tt.id, got, ok, tt.want, tt.want != nil)
			}
		})
	}
}

// FuzzHeaderExtension: never panics, the payload lies inside the packet, and it agrees
// with pion's parser whenever pion accepts the packet and finds the element.
func FuzzHeaderExtension(f *testing.F) {
	f.Add(audioPacket(1, 960, 20), uint8(testAudioLevelID))
	f.Add(audioPacket(1, 960, 20), uint8(4))
	f.Add(rtpBytes(7, 0, true, true, []byte{1, 2}), uint8(3))
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0x10, 0x00, 0, 1, 9, 2, 0xAA, 0xBB}, uint8(9))
	f.Add([]byte{0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0xBE, 0xDE, 0, 1, 0x00, 0x10, 0x7F, 0x00}, uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, id uint8) {
		payload, ok := headerExtension(raw, id)
		if !ok {
			if payload != nil {
				t.Fatalf("payload %x without ok", payload)
			}
			return
		}
		if len(payload) > len(raw) {
			t.Fatalf("payload of %d bytes from a %d-byte packet", len(payload), len(raw))
		}
		var h rtp.Header
		if _, err := h.Unmarshal(raw); err != nil {
			return
		}
		if want := h.GetExtension(id); want != nil && !bytes.Equal(payload, want) {
			t.Fatalf("id %d: got %x, pion says %x", id, payload, want)
		}
	})
}

func TestUplinkStats(t *testing.T) {
	r := testReceiver(webrtc.RTPCodecTypeAudio, nil)
	r.uplink.audioLevelID = testAudioLevelID
	if s := r.Stats(); s.Packets != 0 || !s.LastPacket.IsZero() || s.Sequence.Expected != 0 {
		t.Fatalf("fresh receiver stats %+v", s)
	}
	if v := r.Volume(testNow); v != 0 {
		t.Fatalf("volume before any packet = %d, want 0", v)
	}
	// 50 packets of 20 ms at -20 dBov, every tenth one lost, perfectly paced.
	start := testNow
	var now time.Time
	for i := 0; i < 50; i++ {
		if i%10 == 5 {
			continue
		}
		now = start.Add(time.Duration(i) * 20 * time.Millisecond)
		if err := r.writePacket(audioPacket(uint16(65530+i), uint32(i*960), 20), now); err != nil {
			t.Fatal(err)
		}
	}
	s := r.Stats()
	if s.Kind != webrtc.RTPCodecTypeAudio || s.Packets != 45 || s.Bytes != 45*uint64(len(audioPacket(0, 0, 20))) {
		t.Errorf("packets %d bytes %d kind %v", s.Packets, s.Bytes, s.Kind)
	}
	if s.Sequence.Expected != 50 || s.Sequence.Received != 45 || s.Sequence.Lost() != 5 {
		t.Errorf("sequence %+v, want 50 expected, 45 received", s.Sequence)
	}
	if s.Jitter > time.Millisecond {
		t.Errorf("jitter %s on a perfectly paced stream", s.Jitter)
	}
	if !s.LastPacket.Equal(now) || !s.LastRTCP.IsZero() {
		t.Errorf("last packet %v (want %v), last RTCP %v", s.LastPacket, now, s.LastRTCP)
	}
	// The documented volume of -20 dBov steady speech.
	if v := r.Volume(now.Add(10 * time.Millisecond)); v != 67 {
		t.Errorf("volume = %d, want 67", v)
	}
	r.SetMuted(true)
	if err := r.writePacket(audioPacket(20, 50*960, 0), now.Add(20*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if v := r.Volume(now.Add(30 * time.Millisecond)); v != 0 {
		t.Errorf("muted volume = %d, want 0", v)
	}
	r.SetMuted(false)
	if err := r.writePacket(audioPacket(21, 51*960, 0), now.Add(40*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if v := r.Volume(now.Add(50 * time.Millisecond)); v != 100 {
		t.Errorf("unmuted 0 dBov volume = %d, want 100", v)
	}
}

func TestUplinkJitterIgnoresRetransmissions(t *testing.T) {
	r := testReceiver(webrtc.RTPCodecTypeAudio, nil)
	for i := 0; i < 100; i++ {
		now := testNow.Add(time.Duration(i) * 20 * time.Millisecond)
		if err := r.writePacket(audioPacket(uint16(i), uint32(i*960), 30), now); err != nil {
			t.Fatal(err)
		}
		if i%5 == 4 { // a late retransmission of an older packet
			if err := r.writePacket(audioPacket(uint16(i-3), uint32((i-3)*960), 30), now.Add(time.Millisecond)); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := r.Stats()
	if s.Jitter > time.Millisecond {
		t.Errorf("jitter %s: retransmissions were counted", s.Jitter)
	}
	if s.Sequence.Duplicates != 20 || s.Packets != 120 {
		t.Errorf("duplicates %d packets %d, want 20 and 120", s.Sequence.Duplicates, s.Packets)
	}
	// Without the negotiated extension there is no level: the volume stays 0.
	if v := r.Volume(testNow.Add(2 * time.Second)); v != 0 {
		t.Errorf("volume without the audio level extension = %d", v)
	}
}

func TestDownlinkStats(t *testing.T) {
	r := testReceiver(webrtc.RTPCodecTypeVideo, nil)
	d := bindTestDownTrack(r, newSender(16), &fakeTrackWriter{})
	if s := d.Stats(); s.Reports != 0 || s.RTT != 0 || !s.LastRTCP.IsZero() || s.Track != d || s.Kind != webrtc.RTPCodecTypeVideo {
		t.Fatalf("fresh stats %+v", s)
	}
	now := testNow
	// Our SR went out at now-250ms; the subscriber held it 200 ms: RTT 50 ms.
	lsr := ntpShort(now.Add(-250 * time.Millisecond))
	report := func(ssrc uint32, fraction uint8, lost, highest, jitter uint32) []byte {
		b, err := rtcp.Marshal([]rtcp.Packet{
			&rtcp.ReceiverReport{SSRC: 9, Reports: []rtcp.ReceptionReport{{
				SSRC: ssrc, FractionLost: fraction, TotalLost: lost, LastSequenceNumber: highest,
				Jitter: jitter, LastSenderReport: lsr, Delay: 200 * 65536 / 1000,
			}}},
			&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: 10, LostPackets: 0b101}}},
			&rtcp.PictureLossIndication{MediaSSRC: ssrc},
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	d.handleRTCP(report(0xBEEF, 64, 30, 1<<16|500, 900), now)
	d.handleRTCP(report(0xDEAD, 255, 999, 9, 9), now.Add(time.Second)) // about another stream
	s := d.Stats()
	if s.Reports != 1 || s.FractionLost != 64 || s.TotalLost != 30 || s.ExtendedHighest != 1<<16|500 {
		t.Errorf("report fields %+v", s)
	}
	if s.Jitter != 10*time.Millisecond { // 900 units at 90 kHz
		t.Errorf("jitter %s, want 10ms", s.Jitter)
	}
	if s.RTT < 49*time.Millisecond || s.RTT > 51*time.Millisecond {
		t.Errorf("RTT %s, want 50ms", s.RTT)
	}
	if !s.LastReport.Equal(now) || !s.LastRTCP.Equal(now.Add(time.Second)) {
		t.Errorf("last report %v, last RTCP %v", s.LastReport, s.LastRTCP)
	}
	if s.NACKed != 6 || s.PLIs != 2 { // 3 packets per NACK, twice
		t.Errorf("NACKed %d PLIs %d, want 6 and 2", s.NACKed, s.PLIs)
	}
	// A report without LSR keeps the last RTT.
	lsr = 0
	d.handleRTCP(report(0xBEEF, 0, 30, 1<<16|600, 0), now.Add(2*time.Second))
	if s := d.Stats(); s.Reports != 2 || s.RTT != 0 && (s.RTT < 49*time.Millisecond || s.RTT > 51*time.Millisecond) || s.ExtendedHighest != 1<<16|600 {
		t.Errorf("after a report without LSR: %+v", s)
	}
}

// TestUplinkAccountingDoesNotAllocate: an audio packet with its level extension through
// the Receiver (statistics, level meter, forwarding to 3 subscribers) allocates nothing.
func TestUplinkAccountingDoesNotAllocate(t *testing.T) {
	r := testReceiver(webrtc.RTPCodecTypeAudio, nil)
	r.uplink.audioLevelID = testAudioLevelID
	senders := make([]*Sender, 3)
	for i := range senders {
		senders[i] = newSender(1024)
		bindTestDownTrack(r, senders[i], &fakeTrackWriter{})
	}
	raw := audioPacket(0, 0, 20)
	i := 0
	allocs := testing.AllocsPerRun(500, func() {
		if i%512 == 511 {
			for _, s := range senders {
				s.discardQueued()
			}
		}
		seq := uint16(i)
		raw[2], raw[3] = byte(seq>>8), byte(seq)
		if err := r.writePacket(raw, testNow.Add(time.Duration(i)*20*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per audio packet, want 0", allocs)
	}
	if got := r.Stats().Packets; got < 500 {
		t.Errorf("%d packets accounted", got)
	}
}

func TestDownlinkRTCPDoesNotAllocate(t *testing.T) {
	r := testReceiver(webrtc.RTPCodecTypeAudio, nil)
	d := bindTestDownTrack(r, newSender(16), &fakeTrackWriter{})
	pkts := []rtcp.Packet{&rtcp.ReceiverReport{SSRC: 9, Reports: []rtcp.ReceptionReport{{SSRC: 0xBEEF, FractionLost: 3, LastSenderReport: 1}}}}
	allocs := testing.AllocsPerRun(200, func() {
		d.downlink.observeRTCP(pkts, 0xBEEF, testNow)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per RTCP packet accounted, want 0", allocs)
	}
}

// BenchmarkUplinkAudioPacket: one audio packet with a level extension through the
// Receiver with one subscriber.
func BenchmarkUplinkAudioPacket(b *testing.B) {
	r := testReceiver(webrtc.RTPCodecTypeAudio, nil)
	r.uplink.audioLevelID = testAudioLevelID
	s := newSender(1024)
	bindTestDownTrack(r, s, &fakeTrackWriter{})
	raw := audioPacket(0, 0, 20)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%512 == 511 {
			b.StopTimer()
			s.discardQueued()
			b.StartTimer()
		}
		seq := uint16(i)
		raw[2], raw[3] = byte(seq>>8), byte(seq)
		if err := r.writePacket(raw, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
