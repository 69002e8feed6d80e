package sfu

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// rtpBytes marshals a minimal RTP packet (optionally with a one-byte header extension,
// which the media plane must strip).
func rtpBytes(seq uint16, ts uint32, marker bool, withExtension bool, payload []byte) []byte {
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: 0x1234, Marker: marker}
	if withExtension {
		_ = h.SetExtension(3, []byte{0xAB, 0xCD})
	}
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// vp8Payload is a VP8 payload descriptor (S=1, PID=0) plus a frame header byte whose
// P bit says keyframe or not, then id as a 2-byte tag so packets can be told apart.
func vp8Payload(keyframe bool, id uint16) []byte {
	p := []byte{0x10, 0x01, 0, 0}
	if keyframe {
		p[1] = 0x00
	}
	binary.BigEndian.PutUint16(p[2:], id)
	return p
}

// recordedPacket is one packet a fakeTrackWriter saw.
type recordedPacket struct {
	header  rtp.Header
	payload []byte
}

// fakeTrackWriter is a webrtc.TrackLocalWriter that records WriteRTP calls.
type fakeTrackWriter struct {
	mu      sync.Mutex
	packets []recordedPacket
}

func (w *fakeTrackWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	hc := *h
	hc.Extensions = append([]rtp.Extension(nil), h.Extensions...)
	w.packets = append(w.packets, recordedPacket{header: hc, payload: append([]byte(nil), payload...)})
	return len(payload), nil
}

func (w *fakeTrackWriter) Write(b []byte) (int, error) {
	panic("the media plane must use WriteRTP")
}

func (w *fakeTrackWriter) snapshot() []recordedPacket {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]recordedPacket(nil), w.packets...)
}

// rtcpRecorder collects what a Receiver sends to its publisher.
type rtcpRecorder struct {
	mu   sync.Mutex
	pkts []rtcp.Packet
}

// write records p as pion's RTCP writer would send it: marshalled, so already-written
// packets (rtcpCompound) are recorded as the packets they carry.
func (r *rtcpRecorder) write(p []rtcp.Packet) error {
	raw, err := rtcp.Marshal(p)
	if err != nil {
		return err
	}
	pkts, err := rtcp.Unmarshal(raw)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pkts = append(r.pkts, pkts...)
	return nil
}

func (r *rtcpRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pkts)
}

// testReceiver is a Receiver not attached to a PeerConnection.
func testReceiver(kind webrtc.RTPCodecType, rec *rtcpRecorder) *Receiver {
	codec := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}
	size := 1024
	if kind == webrtc.RTPCodecTypeAudio {
		codec = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}
		size = 256
	}
	p := receiverParams{
		trackID: "track", streamID: "alice", kind: kind, codec: codec, ssrc: 0x1234,
		bufferPackets: size, pliThrottle: 500 * time.Millisecond,
	}
	if rec != nil {
		p.writeRTCP = rec.write
	}
	return newReceiver(p)
}

// bindTestDownTrack attaches a DownTrack on s to r, bound to w as if negotiated.
func bindTestDownTrack(r *Receiver, s *Sender, w webrtc.TrackLocalWriter) *DownTrack {
	d := newDownTrack(r, s, nil)
	d.binding.Store(&downTrackBinding{ssrc: 0xBEEF, payloadType: 100, writer: w})
	if err := r.addDownTrack(d); err != nil {
		panic(err)
	}
	return d
}

// drainSender writes every queued packet synchronously, as the writer goroutine would.
func drainSender(s *Sender) {
	s.mu.Lock()
	start, n := s.head, s.count
	s.mu.Unlock()
	for k := 0; k < n; k++ {
		s.nowNs = 0
		s.write(&s.slots[(start+k)%len(s.slots)])
	}
	s.flushOwn()
	s.mu.Lock()
	s.head = (start + n) % len(s.slots)
	s.count -= n
	s.mu.Unlock()
}
