package sfu

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// FuzzReceiverWrite feeds arbitrary bytes to the Receiver's packet path (RTP parsing,
// keyframe detection, buffering, rewriting, queueing) with one bound subscriber.
func FuzzReceiverWrite(f *testing.F) {
	f.Add(rtpBytes(1, 1, false, false, vp8Payload(true, 1)))
	f.Add(rtpBytes(65535, 4294967295, true, true, vp8Payload(false, 2)))
	f.Add([]byte{0x80})
	f.Add([]byte{0xBF, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1})                         // 15 CSRCs claimed
	f.Add([]byte{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0xFF, 0xFF}) // extension past the end
	f.Add([]byte{0xA0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 200})           // padding longer than the packet
	f.Add([]byte{0xA0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 4})             // padding only
	f.Fuzz(func(t *testing.T, raw []byte) {
		rec := &rtcpRecorder{}
		r := testReceiver(webrtc.RTPCodecTypeVideo, rec)
		s := newSender(16)
		w := &fakeTrackWriter{}
		bindTestDownTrack(r, s, w)
		var p rtpPacket
		err := parseRTP(raw, &p)
		if err == nil && (len(p.Payload) > len(raw)-12) {
			t.Fatalf("payload of %d bytes from a %d-byte packet", len(p.Payload), len(raw))
		}
		if werr := r.writePacket(raw, testNow); (werr == nil) != (err == nil) {
			t.Fatalf("writePacket error %v, parseRTP error %v", werr, err)
		}
		// Split the input into packets too, so sequences of odd packets are exercised.
		for i := 0; i+12 <= len(raw); i += 12 {
			_ = r.writePacket(raw[i:], testNow.Add(time.Duration(i)*time.Millisecond))
		}
		drainSender(s)
		for _, got := range w.snapshot() {
			if got.header.SSRC != 0xBEEF || got.header.Extension {
				t.Fatalf("forwarded header not rewritten: %+v", got.header)
			}
		}
	})
}

// FuzzKeyframeDetectors: no detector may panic or read past its input.
func FuzzKeyframeDetectors(f *testing.F) {
	f.Add(vp8Payload(true, 0))
	f.Add([]byte{0x90, 0x80, 0x81, 0x00})       // VP8 with X, 2-byte picture ID, truncated
	f.Add([]byte{0x90, 0xF0, 0x12, 0x34, 0x00}) // VP8 with I, L, T/K
	f.Add([]byte{0x08, 0x01})                   // VP9 keyframe start / AV1 N bit
	f.Add([]byte{0x18, 0x00, 0x02, 0x67, 0x42}) // H.264 STAP-A with SPS
	f.Add([]byte{0x18, 0x00, 0x00})             // STAP-A with a zero-sized unit
	f.Add([]byte{0x7C, 0x85})                   // FU-A start of IDR
	f.Add([]byte{0x65})                         // IDR
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, mime := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeVP9, webrtc.MimeTypeH264, webrtc.MimeTypeAV1} {
			keyframeDetectorFor(mime)(payload)
		}
	})
}

// FuzzSubscriberRTCP feeds arbitrary bytes to a DownTrack's RTCP handler (NACK, PLI,
// FIR, reports) after some packets were forwarded, so NACKs can hit real history.
func FuzzSubscriberRTCP(f *testing.F) {
	seed := func(p rtcp.Packet) {
		b, err := p.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(&rtcp.TransportLayerNack{MediaSSRC: 0xBEEF, Nacks: []rtcp.NackPair{{PacketID: 3, LostPackets: 0xFFFF}}})
	seed(&rtcp.PictureLossIndication{MediaSSRC: 0xBEEF})
	seed(&rtcp.FullIntraRequest{MediaSSRC: 0xBEEF, FIR: []rtcp.FIREntry{{SSRC: 0xBEEF, SequenceNumber: 1}}})
	seed(&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 0xBEEF, LastSenderReport: 12345, Delay: 99}}})
	seed(&rtcp.SenderReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 0xBEEF, LastSenderReport: 1, Delay: 0xFFFFFFFF}}})
	compound, _ := rtcp.Marshal([]rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 1},
		&rtcp.TransportLayerNack{MediaSSRC: 0xBEEF, Nacks: []rtcp.NackPair{{PacketID: 0}}},
	})
	f.Add(compound)
	f.Add([]byte{0x81, 0xCD, 0x00, 0x01})
	f.Fuzz(func(t *testing.T, raw []byte) {
		rec := &rtcpRecorder{}
		r := testReceiver(webrtc.RTPCodecTypeVideo, rec)
		s := newSender(64)
		d := bindTestDownTrack(r, s, &fakeTrackWriter{})
		d.fwd.m.rw.startAt(0, 0)
		for i := uint16(0); i < 8; i++ {
			_ = r.writePacket(rtpBytes(100+i, uint32(i), false, false, vp8Payload(i == 0, i)), testNow)
		}
		drainSender(s)
		for i := 0; i < 5; i++ {
			d.handleRTCP(raw, testNow.Add(time.Duration(i)*time.Millisecond))
		}
		if d.rtt <= 0 || d.rtt >= 10*time.Second {
			t.Fatalf("rtt = %s", d.rtt)
		}
		s.mu.Lock()
		queued := s.count
		s.mu.Unlock()
		if queued > 8*maxResends {
			t.Fatalf("%d resends queued for 8 packets", queued)
		}
	})
}

// FuzzSDPIdentity feeds arbitrary client SDP to the readers of its ICE generation and
// session identity: they never panic, and what they return is a trimmed value of the SDP.
func FuzzSDPIdentity(f *testing.F) {
	f.Add("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\na=fingerprint:sha-256 AB:CD\r\na=ice-ufrag:abcd\r\n")
	f.Add("o=\r\na=ice-ufrag:\r\na=fingerprint:")
	f.Add("o=onlyuser\na=ice-ufrag: spaced \n")
	f.Add("")
	f.Fuzz(func(t *testing.T, sdp string) {
		ufrag := iceUfrag(sdp)
		if ufrag != strings.TrimSpace(ufrag) || !strings.Contains(sdp, ufrag) {
			t.Fatalf("ufrag %q is not a trimmed part of the SDP", ufrag)
		}
		id := sdpSession(sdp)
		if !strings.Contains(sdp, id.origin) || !strings.Contains(sdp, id.fingerprint) {
			t.Fatalf("session %+v is not part of the SDP", id)
		}
		if sdpSession(sdp) != id {
			t.Fatal("sdpSession is not deterministic")
		}
	})
}

// FuzzCandidateFilter feeds arbitrary descriptions to the remote-candidate filter: it
// must keep every line but the denied candidates, leave no denied candidate, count
// the candidate lines it keeps, and change nothing on a second pass.
func FuzzCandidateFilter(f *testing.F) {
	f.Add("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=candidate:1 1 udp 2130706431 169.254.169.254 4444 typ host\r\n")
	f.Add("a=candidate:1 1 udp 2130706431 127.0.0.1 4444 typ host\na=candidate:2 1 udp 1 fe80::1%eth0 9 typ host\n")
	f.Add("a=candidate:3 1 tcp 1 ::ffff:169.254.1.1 9 typ host tcptype passive\r\na=end-of-candidates\r\n")
	f.Add("a=candidate:4 1 udp 1 fd00:ec2::254 9 typ srflx raddr 0.0.0.0 rport 0\r\n")
	f.Add("a=candidate:5 1 udp 1 host.local 9 typ host\r\na=candidate:\r\na=candidate")
	f.Fuzz(func(t *testing.T, sdp string) {
		g := newCandidateGuard(DefaultConfig())
		out, kept := g.filterSDP(sdp)
		candidateLines := 0
		for line := range strings.Lines(out) {
			value, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "a=")
			if !ok || !strings.HasPrefix(value, "candidate:") {
				continue
			}
			candidateLines++
			if errors.Is(g.screen(value), ErrCandidateDenied) {
				t.Fatalf("denied candidate kept: %q", line)
			}
		}
		if candidateLines != kept {
			t.Fatalf("kept %d candidate lines, counted %d", candidateLines, kept)
		}
		if again, n := g.filterSDP(out); again != out || n != kept {
			t.Fatalf("second pass changed the description: %q -> %q", out, again)
		}
		if len(out) > len(sdp) {
			t.Fatalf("filter added text: %q -> %q", sdp, out)
		}
	})
}

// FuzzTransportSequence: the transport-wide sequence number parser of the publishers'
// feedback (twcc.go) finds what pion's rtp.Header finds, never panics, and the socket's
// arrival stamps take any datagram.
func FuzzTransportSequence(f *testing.F) {
	for _, profile := range []uint16{0xBEDE, 0x1000} {
		h := rtp.Header{Version: 2, SequenceNumber: 7, SSRC: 9, Extension: true, ExtensionProfile: profile}
		_ = h.SetExtension(1, []byte{0xAB})
		_ = h.SetExtension(3, []byte{0x12, 0x34})
		raw, err := (&rtp.Packet{Header: h, Payload: []byte{1, 2, 3}}).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, uint8(3))
	}
	f.Add([]byte{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0, 0x31, 1, 2}, uint8(3))  // padding first
	f.Add([]byte{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0xF1, 1, 2, 3}, uint8(15)) // reserved id
	f.Add([]byte{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, 0x00, 0, 1, 3, 9, 1, 2}, uint8(3))     // two-byte, too long
	f.Add([]byte{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0xFF, 0xFF}, uint8(3))           // past the end
	f.Fuzz(func(t *testing.T, raw []byte, id uint8) {
		var stamps arrivalStamps
		stamps.record(raw, 1)
		got, ok := transportSequence(raw, id)
		var h rtp.Header
		if _, err := h.Unmarshal(raw); err != nil || raw[0]>>6 != 2 || id == 0 || id > 14 && h.ExtensionProfile == 0xBEDE {
			return
		}
		ext := h.GetExtension(id)
		want, wantOK := uint16(0), len(ext) >= 2
		if wantOK {
			want = binary.BigEndian.Uint16(ext)
		}
		if ok != wantOK || got != want {
			t.Fatalf("transportSequence = %d %v, pion's header: extension %d = % x", got, ok, id, ext)
		}
	})
}

// FuzzNACKReporter feeds raw bytes as a publisher's RTP packet and as its compound
// RTCP to the NACK and receiver-report interceptor (nackreporter.go): no panic, and
// the sequence number and timestamp it reads are pion's (for version 2: pion's parser does
// not check the version, this one skips other versions), and pion parses the feedback it
// writes.
func FuzzNACKReporter(f *testing.F) {
	f.Add(rtpBytes(65535, 90000, true, true, []byte{1, 2, 3}))
	sr, err := rtcp.Marshal([]rtcp.Packet{
		&rtcp.SenderReport{SSRC: 0x1234, NTPTime: 1 << 40},
		&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 0x1234, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "x"}}}}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sr)
	f.Add(sr[:20])                                   // cut inside the sender report
	f.Add([]byte{0x80, 200, 0xFF, 0xFF, 0, 0, 0x12}) // length past the end
	f.Add([]byte{0x80, 200, 0, 0})                   // a sender report of one word
	f.Fuzz(func(t *testing.T, raw []byte) {
		pf := &nackReporter{policy: defaultNACKPolicy, streams: map[uint32]*receivedStream{}}
		s := &receivedStream{ssrc: 0x1234, nack: newNACKLog(defaultNACKPolicy), rx: receptionStats{clockRate: 90000}}
		pf.streams[s.ssrc] = s
		s.onRTP(rtpBytes(1, 1, false, false, nil), 1)
		s.onRTP(raw, 2)
		pf.onRTCP(raw, 3)
		out := &rtcpCompound{write: func(p []rtcp.Packet) (int, error) { // what it writes, pion parses
			raw, err := rtcp.Marshal(p)
			if err == nil {
				_, err = rtcp.Unmarshal(raw)
			}
			if err != nil {
				t.Fatalf("feedback pion does not parse: %v", err)
			}
			return len(raw), nil
		}}
		pf.send(out, true, &nackScratch{}, 4)
		seq, ts, ok := rtpSeqTimestamp(raw)
		var h rtp.Header
		if _, err := h.Unmarshal(raw); err == nil && h.Version == 2 && (!ok || seq != h.SequenceNumber || ts != h.Timestamp) {
			t.Fatalf("read seq %d ts %d ok %v, pion reads %d %d", seq, ts, ok, h.SequenceNumber, h.Timestamp)
		}
	})
}

// FuzzCheckPublishOffer: the offer bounds never panic, and refuse only with
// ErrTooManyTracks.
func FuzzCheckPublishOffer(f *testing.F) {
	f.Add(offerWithSections("audio 9 sendonly", "video 9 sendrecv"))
	f.Add(offerWithSections(slices.Repeat([]string{"video 9 sendonly"}, MaxPublishSections+1)...))
	f.Add(offerWithSections(slices.Repeat([]string{"video 0 sendonly"}, MaxOfferSections+1)...))
	f.Add(offerWithSections("video 65536 sendonly", "audio -1 recvonly"))
	f.Add(offerWithSections("video 9 sendonly rids=5"))
	f.Add("v=0\r\nm=video 9 RTP/AVP 96\r\na=rid:\r\na=rid:x\r\na=rid:y send pt=96;max-width=1280\r\n")
	f.Add("v=0\r\nm=video 9\r\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, offer string) {
		if err := checkPublishOffer(offer); err != nil && !errors.Is(err, ErrTooManyTracks) {
			t.Fatalf("checkPublishOffer: %v", err)
		}
	})
}
