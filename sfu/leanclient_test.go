package sfu

import (
	"encoding/binary"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Lean client PeerConnections: the clients of the end-to-end benchmark (loopbackCall),
// built as a lean real client would build them, with interceptors that allocate nothing
// per packet but still send what a browser sends. pion's defaults
// (webrtc.RegisterDefaultInterceptors) allocate on every packet read and written
// (docs/performance.md, "Lean benchmark clients"; D145). A lean client's chain is the Engine's
// own (buildInterceptors and the transport-wide numbering, interceptorRegistry):
//   - receiving, it sends transport-wide feedback (twcc.go; the server's congestion
//     controller reads it), NACKs and receiver reports (nackreporter.go) — what the
//     Engine sends its publishers;
//   - sending, it numbers its packets for transport-wide feedback (twccseq.go) and sends
//     sender reports (pion's interceptor: the Engine sends its own from its Senders,
//     senderreport.go, which a client's track writer does not have);
//
// and, outermost, a ringNACKResponder answering the server's NACKs for what it sent.

// leanClientInterceptors registers a lean client's chain. stamps is where its feedback
// looks for socket arrival times; nothing writes them (a client's socket does not stamp),
// so every packet is stamped when its track reads it, and the clients of a call share one.
func leanClientInterceptors(stamps *arrivalStamps, responder *ringNACKResponderFactory) func(*webrtc.MediaEngine, *webrtc.SettingEngine) (*interceptor.Registry, error) {
	return func(media *webrtc.MediaEngine, _ *webrtc.SettingEngine) (*interceptor.Registry, error) {
		if err := registerLeanFeedback(media); err != nil {
			return nil, err
		}
		factories, err := buildInterceptors(pionLoggerFactory{logger: slog.New(slog.DiscardHandler)}, stamps)
		if err != nil {
			return nil, err
		}
		senderReports, err := report.NewSenderInterceptor()
		if err != nil {
			return nil, err
		}
		factories = append(factories, senderReports)
		registry := interceptorRegistry(factories, nil, nil)
		registry.Add(responder) // outermost: its resends are numbered anew, as a browser's are
		return registry, nil
	}
}

// registerLeanFeedback registers in media what webrtc.RegisterDefaultInterceptors does
// for its interceptors: the simulcast header extensions, NACK and PLI on video,
// transport-cc feedback and its header extension on audio and video.
func registerLeanFeedback(media *webrtc.MediaEngine) error {
	if err := webrtc.ConfigureSimulcastExtensionHeaders(media); err != nil {
		return err
	}
	media.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBNACK}, webrtc.RTPCodecTypeVideo)
	media.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		media.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, kind)
		if err := media.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return err
		}
	}
	return nil
}

// ringNACKResponderFactory makes the NACK responder of a sending client
// (interceptor.Factory): each local stream that negotiated NACK keeps what it sent in a
// packetBuffer (the ring the Receiver keeps a published track in) and resends what the
// server NACKs from it, at most maxResends times per packet and not again within
// defaultRTT (nackResponder, as a DownTrack limits its resends). pion's responder copies
// every packet written into a new one (rtpbuffer.PacketFactoryCopy).
//
// drop, when set (tests), is asked about each packet's first transmission: a packet it
// drops is stored but not sent, as if lost on the way.
type ringNACKResponderFactory struct {
	size     int // packets kept per stream, a power of two
	drop     func(seq uint16) bool
	resent   atomic.Uint64 // packets resent, all PeerConnections
	feedback atomic.Uint64 // transport-wide feedback packets read (tests)
}

func (f *ringNACKResponderFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &ringNACKResponder{factory: f, streams: make(map[uint32]*ringStream)}, nil
}

// ringNACKResponder is one PeerConnection's responder. mu guards the stream map.
type ringNACKResponder struct {
	interceptor.NoOp
	factory *ringNACKResponderFactory
	mu      sync.Mutex
	streams map[uint32]*ringStream
}

// ringStream is one local stream: the packets it sent and the writer below the
// responder. mu serializes the writes, the application's and the resends (the chain
// below keeps per-stream scratch, twccseq.go), and guards the ring and the scratch.
type ringStream struct {
	mu      sync.Mutex
	w       interceptor.RTPWriter
	ssrc    uint32
	pt      uint8
	sent    *packetBuffer
	limit   *nackResponder
	header  rtp.Header // a resend's
	payload [maxPacketSize]byte
}

// BindLocalStream keeps every packet of a stream that negotiated NACK as it is written.
// No allocation per packet.
func (r *ringNACKResponder) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	nack := false
	for _, fb := range info.RTCPFeedback {
		nack = nack || fb.Type == "nack" && fb.Parameter == ""
	}
	if !nack {
		return w
	}
	s := &ringStream{w: w, ssrc: info.SSRC, pt: info.PayloadType,
		sent: newPacketBuffer(r.factory.size), limit: newNACKResponder(r.factory.size)}
	r.mu.Lock()
	r.streams[info.SSRC] = s
	r.mu.Unlock()
	drop := r.factory.drop
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.sent.put(&rtpPacket{SequenceNumber: h.SequenceNumber, Timestamp: h.Timestamp, Marker: h.Marker, Payload: payload})
		if drop != nil && drop(h.SequenceNumber) {
			return h.MarshalSize() + len(payload), nil
		}
		return s.w.Write(h, payload, a)
	})
}

// UnbindLocalStream forgets the stream.
func (r *ringNACKResponder) UnbindLocalStream(info *interceptor.StreamInfo) {
	r.mu.Lock()
	delete(r.streams, info.SSRC)
	r.mu.Unlock()
}

// BindRTCPReader answers the NACKs in what the application reads (RTPSender.Read).
func (r *ringNACKResponder) BindRTCPReader(reader interceptor.RTCPReader) interceptor.RTCPReader {
	return readingRTCP(reader, r.onRTCP)
}

// onRTCP answers the generic NACKs in compound RTCP packet raw, read at nowNs, in place
// (RFC 4585 section 6.2.1: sender and media SSRC, then pairs of a lost packet ID and a
// bitmask of the 16 after it), and counts the transport-wide feedback.
func (r *ringNACKResponder) onRTCP(raw []byte, nowNs int64) {
	now := time.Unix(0, nowNs)
	for {
		pkt, rest, ok := nextRTCP(raw)
		if !ok {
			return
		}
		raw = rest
		if isTWCC(pkt) {
			r.factory.feedback.Add(1)
		}
		if len(pkt) < 12 || pkt[1] != rtcpTypeTransportFeedback || pkt[0]&0x1f != rtcp.FormatTLN {
			continue
		}
		r.mu.Lock()
		s := r.streams[binary.BigEndian.Uint32(pkt[8:12])]
		r.mu.Unlock()
		if s == nil {
			continue
		}
		for fci := pkt[12:]; len(fci) >= 4; fci = fci[4:] {
			id, lost := binary.BigEndian.Uint16(fci), binary.BigEndian.Uint16(fci[2:])
			r.resend(s, id, now)
			for bit := range uint16(16) {
				if lost&(1<<bit) != 0 {
					r.resend(s, id+bit+1, now)
				}
			}
		}
	}
}

// resend writes packet seq of s again when the ring still has it and the limits allow.
func (r *ringNACKResponder) resend(s *ringStream, seq uint16, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sent.has(seq) || !s.limit.allow(seq, now, defaultRTT) {
		return
	}
	n, ts, marker, ok := s.sent.read(seq, s.payload[:])
	if !ok {
		return
	}
	h := &s.header
	*h = rtp.Header{Version: 2, Marker: marker, PayloadType: s.pt, SequenceNumber: seq, Timestamp: ts,
		SSRC: s.ssrc, Extensions: h.Extensions[:0]}
	if _, err := s.w.Write(h, s.payload[:n], nil); err == nil {
		r.factory.resent.Add(1)
	}
}

// lossyConn is a receiving client's own UDP socket that loses packets (tests): the first
// arrival of each RTP packet drop picks (by its sequence number, in the clear under SRTP)
// is read and thrown away, before SRTP sees it, as on the way; a later arrival of a
// dropped packet (the server's resend) is counted in repaired and passed on. Read by the
// ICE mux's one read goroutine, which owns dropped.
type lossyConn struct {
	*net.UDPConn
	drop     func(seq uint16) bool
	repaired *atomic.Uint64
	dropped  [1 << 16 / 64]uint64 // by sequence number
}

// lossyUDPMux is an ICE UDP mux on a lossyConn on 127.0.0.1, closed at the end of tb
// (after the client PeerConnections that tb closes later-registered cleanups for).
func lossyUDPMux(tb testing.TB, drop func(seq uint16) bool, repaired *atomic.Uint64) ice.UDPMux {
	tb.Helper()
	return clientUDPMux(tb, func(conn *net.UDPConn) net.PacketConn {
		return &lossyConn{UDPConn: conn, drop: drop, repaired: repaired}
	})
}

// clientUDPMux is an ICE UDP mux on a socket on 127.0.0.1 that wrap wraps, closed at
// the end of tb (after the client PeerConnections that tb closes later-registered
// cleanups for).
func clientUDPMux(tb testing.TB, wrap func(*net.UDPConn) net.PacketConn) ice.UDPMux {
	tb.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: quietLoggers().NewLogger("client"), UDPConn: wrap(conn)})
	tb.Cleanup(func() { _ = mux.Close() })
	return mux
}

// blockedConn is a client's UDP socket on a network that may block UDP (tests): while
// blocked is true, what arrives is thrown away and what is written goes nowhere.
type blockedConn struct {
	*net.UDPConn
	blocked *atomic.Bool
}

// blockableUDPMux is clientUDPMux on a blockedConn.
func blockableUDPMux(tb testing.TB, blocked *atomic.Bool) ice.UDPMux {
	tb.Helper()
	return clientUDPMux(tb, func(conn *net.UDPConn) net.PacketConn { return &blockedConn{UDPConn: conn, blocked: blocked} })
}

func (c *blockedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(b)
		if err != nil || !c.blocked.Load() {
			return n, addr, err
		}
	}
}

func (c *blockedConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.blocked.Load() {
		return len(b), nil
	}
	return c.UDPConn.WriteTo(b, addr)
}

func (c *lossyConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(b)
		// RTP, not RTCP (RFC 5761: payload types 72–76 with the marker bit are RTCP).
		if err != nil || n < 12 || b[0]>>6 != 2 || b[1]&0x7f >= 72 && b[1]&0x7f <= 76 {
			return n, addr, err
		}
		seq := binary.BigEndian.Uint16(b[2:4])
		word, bit := &c.dropped[seq/64], uint64(1)<<(seq%64)
		switch {
		case *word&bit != 0:
			*word &^= bit
			c.repaired.Add(1)
		case c.drop(seq):
			*word |= bit
			continue
		}
		return n, addr, nil
	}
}

// quietLoggers is a pion logger factory that logs nothing (tests whose pion parts report
// the errors of their closing).
func quietLoggers() *logging.DefaultLoggerFactory {
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	return quiet
}
