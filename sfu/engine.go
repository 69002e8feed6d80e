package sfu

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Engine owns the webrtc.API every Peer is built from (codecs, header extensions, an
// explicit interceptor registry), the one UDP socket all PeerConnections share through the
// ICE UDP mux and, unless tcp_port is -1, the TCP listener they share for ICE over TCP
// (passive candidates) through the ICE TCP mux.
type Engine struct {
	cfg    Config
	logger *slog.Logger

	mu       sync.Mutex
	started  bool
	closed   bool
	conn     *net.UDPConn
	stamping *stampingConn // conn as the mux reads it (twcc.go)
	batch    *batchWriter  // nil unless rtc.batch_writes (batchwrite.go)
	// sendBatch writes the own path's batches (rtpoutbatch.go); nil with rtc.batch_writes
	// or rtc.send_batch 1.
	sendBatch batchConn
	pool      *writerPool // nil unless rtc.writers (writerpool.go)
	mux       ice.UDPMux
	tcpLn     net.Listener // nil when ICE-TCP is disabled
	tcpMux    *tcpConns    // nil when ICE-TCP is disabled; pion's mux, remembering its connections (icetcpconns.go)
	api       *webrtc.API  // publishers' (subscribers get their own: subscriberAPI)
	apiParts  apiParts     // what api is built from; a subscriber Peer's API adds its RTCP buffers (rtcpreader.go)
	peers     map[enginePeer]struct{}
	cert      webrtc.Certificate // the DTLS certificate every PeerConnection shares (certificate.go)

	closedTotals MediaTotals // what closed Peers counted (totals.go); guarded by mu

	candidates *candidateGuard // remote candidate policy and refusal counts (candidates.go)
}

// NewEngine validates cfg and returns an Engine; it opens nothing (see Start).
func NewEngine(cfg Config, logger *slog.Logger) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sfu engine: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, logger: logger, peers: make(map[enginePeer]struct{}), candidates: newCandidateGuard(cfg)}, nil
}

// Start makes the DTLS certificate every PeerConnection shares (certificate.go), opens
// the UDP socket on bind_address:udp_port and the ICE-TCP listener (see Config.TCPPort),
// and builds the API.
func (e *Engine) Start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrEngineClosed
	}
	if e.started {
		return nil
	}
	cert, err := newCertificate()
	if err != nil {
		return fmt.Errorf("sfu engine: %w", err)
	}
	e.cert = cert
	addr := &net.UDPAddr{IP: net.ParseIP(e.cfg.BindAddress), Port: e.cfg.UDPPort}
	network, ipv4Socket := udpNetwork(e.cfg)
	conn, err := net.ListenUDP(network, addr)
	if err != nil {
		return fmt.Errorf("sfu engine: listen on %s: %w", addr, err)
	}
	if e.cfg.OwnSRTPInbound {
		// The mux's read goroutine forwards publishers' packets itself (rtpin.go): the
		// socket holds a burst that arrives meanwhile (the kernel caps it at rmem_max).
		_ = conn.SetReadBuffer(ownInboundReadBuffer)
	}
	loggerFactory := pionLoggerFactory{logger: e.logger}
	stamps := &arrivalStamps{} // arrival times for the publishers' feedback (twcc.go)
	stamping := newStampingConn(conn, stamps)
	if e.cfg.BatchWrites {
		stamping.batch = newBatchWriter(conn, ipv4Socket)
	}
	mux := webrtc.NewICEUDPMux(loggerFactory.NewLogger("udpmux"), stamping)
	var tcpLn net.Listener
	var tcpMux *tcpConns
	if e.cfg.iceTCPEnabled() {
		tcpAddr := &net.TCPAddr{IP: net.ParseIP(e.cfg.BindAddress), Port: e.cfg.iceTCPPort()}
		if tcpLn, err = net.ListenTCP("tcp", tcpAddr); err != nil {
			_ = mux.Close()
			return fmt.Errorf("sfu engine: rtc.tcp_port: listen on %s: %w", tcpAddr, err)
		}
		tcpMux = newTCPConns(ice.NewTCPMuxDefault(ice.TCPMuxParams{
			Listener:       tcpLn,
			Logger:         loggerFactory.NewLogger("tcpmux"),
			ReadBufferSize: iceTCPReadBufferPackets,
			// A full write buffer drops packets instead of blocking the subscriber's Sender.
			WriteBufferSize: iceTCPWriteBufferBytes,
		}))
	}
	parts, err := e.buildAPI(mux, tcpMux, loggerFactory, stamps)
	if err != nil {
		_ = mux.Close()
		if tcpMux != nil {
			_ = tcpMux.Close()
		}
		return fmt.Errorf("sfu engine: %w", err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(parts.media), webrtc.WithInterceptorRegistry(parts.registry),
		webrtc.WithSettingEngine(parts.settings))
	e.conn, e.mux, e.tcpLn, e.tcpMux, e.api, e.apiParts, e.started = conn, mux, tcpLn, tcpMux, api, parts, true
	e.stamping, e.batch = stamping, stamping.batch
	if e.batch == nil && e.cfg.SendBatch > 1 {
		e.sendBatch = newBatchConn(conn, ipv4Socket)
	}
	if e.batch != nil {
		go e.batch.run()
	}
	if e.cfg.Writers > 0 && e.cfg.OwnSRTP {
		e.pool = newWriterPool(e.cfg.Writers, e.sendBatch, e.cfg.SendBatch)
		if e.cfg.OwnSRTPInbound && e.cfg.ReaderTurns > 0 {
			stamping.wakes.Store(e.pool.readerWrites(e.cfg.ReaderTurns))
		}
		e.pool.start()
	}
	tcpListening := "disabled"
	if tcpLn != nil {
		tcpListening = tcpLn.Addr().String()
	}
	e.logger.Info("media plane listening", "udp", conn.LocalAddr().String(), "tcp", tcpListening, "node_ip", e.cfg.NodeIP)
	return nil
}

// udpNetwork is the network the UDP socket listens on. With batched writes an IPv4
// bind address gets an IPv4 socket ("udp4"): x/net's WriteBatch addresses each datagram
// in its own family, which a dual-stack IPv6 socket (what "udp" makes of 0.0.0.0) refuses
// for IPv4 destinations.
func udpNetwork(cfg Config) (network string, ipv4Socket bool) {
	if ip := net.ParseIP(cfg.BindAddress); cfg.BatchWrites && ip != nil && ip.To4() != nil {
		return "udp4", true
	}
	return "udp", false
}

// ICE-TCP mux buffers: packets queued per connection for reading, bytes per connection
// for writing.
const (
	iceTCPReadBufferPackets = 256
	iceTCPWriteBufferBytes  = 1 << 20
)

// TCPAddr is the address of the ICE-TCP listener; nil before Start or when disabled.
func (e *Engine) TCPAddr() *net.TCPAddr {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tcpLn == nil {
		return nil
	}
	return e.tcpLn.Addr().(*net.TCPAddr)
}

// UDPAddr is the address of the shared UDP socket; nil before Start.
func (e *Engine) UDPAddr() *net.UDPAddr {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		return nil
	}
	return e.conn.LocalAddr().(*net.UDPAddr)
}

// Close closes every Peer and the socket. Idempotent.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	peers := make([]enginePeer, 0, len(e.peers))
	for p := range e.peers {
		peers = append(peers, p)
	}
	mux, tcpMux, batch, pool := e.mux, e.tcpMux, e.batch, e.pool
	e.mu.Unlock()

	var errs []error
	for _, p := range peers {
		errs = append(errs, p.Close())
	}
	if pool != nil {
		pool.close()
	}
	if batch != nil {
		batch.close(true)
	}
	if mux != nil {
		if err := mux.Close(); err != nil && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("sfu engine: close udp mux: %w", err))
		}
	}
	if tcpMux != nil {
		if err := tcpMux.Close(); err != nil && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("sfu engine: close tcp mux: %w", err))
		}
	}
	return errors.Join(errs...)
}

// forgetPeer is called by a Publisher's or Subscriber's Close once its goroutines have stopped: its final
// counters fold into the Engine's totals as it leaves the set.
func (e *Engine) forgetPeer(p enginePeer) {
	e.mu.Lock()
	if _, ok := e.peers[p]; ok {
		delete(e.peers, p)
		e.closedTotals.add(p.mediaTotals())
	}
	e.mu.Unlock()
}

// buildAPI assembles codecs, header extensions, interceptors and ICE settings.
func (e *Engine) buildAPI(mux ice.UDPMux, tcpMux *tcpConns, loggerFactory pionLoggerFactory, stamps *arrivalStamps) (apiParts, error) {
	media := &webrtc.MediaEngine{}
	if err := registerCodecs(media); err != nil {
		return apiParts{}, err
	}
	factories, err := buildInterceptors(loggerFactory, stamps)
	if err != nil {
		return apiParts{}, err
	}
	registry := interceptorRegistry(factories, nil, nil)
	settings := webrtc.SettingEngine{LoggerFactory: loggerFactory}
	settings.SetICEUDPMux(mux)
	settings.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	settings.SetICETimeouts(e.cfg.ICEDisconnectedTimeout, e.cfg.ICEFailedTimeout, e.cfg.ICEKeepaliveInterval)
	networkTypes := []webrtc.NetworkType{webrtc.NetworkTypeUDP6, webrtc.NetworkTypeTCP6}
	if ip := net.ParseIP(e.cfg.BindAddress); ip.To4() != nil {
		networkTypes = []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4}
	}
	if tcpMux != nil {
		// Passive candidates on the shared listener; never dial clients (active TCP).
		settings.SetICETCPMux(tcpMux)
		settings.DisableActiveTCP(true)
	} else {
		networkTypes = networkTypes[:1]
	}
	settings.SetNetworkTypes(networkTypes)
	nodeIP := net.ParseIP(e.cfg.NodeIP)
	if nodeIP.IsLoopback() {
		settings.SetIncludeLoopbackCandidate(true)
		settings.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		settings.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	switch {
	case len(e.cfg.NAT1To1IPs) > 0:
		settings.SetNAT1To1IPs(e.cfg.NAT1To1IPs, webrtc.ICECandidateTypeHost)
	case !nodeIP.Equal(net.ParseIP(e.cfg.BindAddress)):
		settings.SetNAT1To1IPs([]string{e.cfg.NodeIP}, webrtc.ICECandidateTypeHost)
	}
	return apiParts{media: media, registry: registry, factories: factories, settings: settings}, nil
}

// ownInboundReadBuffer is the UDP socket's receive buffer with rtc.own_srtp_inbound:
// a keyframe's burst from every publisher while the read goroutine forwards.
const ownInboundReadBuffer = 4 << 20

// Payload types the server offers to subscribers (publishers' offers keep theirs).
const (
	payloadTypeOpus = 111
	payloadTypeVP8  = 96
	payloadTypeVP9  = 98
	payloadTypeH264 = 102
	payloadTypeAV1  = 45
)

func registerCodecs(media *webrtc.MediaEngine) error {
	videoFeedback := []webrtc.RTCPFeedback{
		{Type: webrtc.TypeRTCPFBNACK},
		{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
		{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
		{Type: webrtc.TypeRTCPFBGoogREMB},
		{Type: webrtc.TypeRTCPFBTransportCC},
	}
	codecs := []struct {
		kind  webrtc.RTPCodecType
		codec webrtc.RTPCodecParameters
	}{
		{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
				SDPFmtpLine: "minptime=10;useinbandfec=1",
			},
			PayloadType: payloadTypeOpus,
		}},
		{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback,
			},
			PayloadType: payloadTypeVP8,
		}},
		{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, SDPFmtpLine: "profile-id=0",
				RTCPFeedback: videoFeedback,
			},
			PayloadType: payloadTypeVP9,
		}},
		{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
				SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
				RTCPFeedback: videoFeedback,
			},
			PayloadType: payloadTypeH264,
		}},
		{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeAV1, ClockRate: 90000, RTCPFeedback: videoFeedback,
			},
			PayloadType: payloadTypeAV1,
		}},
	}
	for _, c := range codecs {
		if err := media.RegisterCodec(c.codec, c.kind); err != nil {
			return fmt.Errorf("register codec %s: %w", c.codec.MimeType, err)
		}
	}
	extensions := []struct {
		uri   string
		kinds []webrtc.RTPCodecType
	}{
		{sdp.SDESMidURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},
		{sdp.SDESRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}},
		{sdp.SDESRepairRTPStreamIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}},
		{sdp.AudioLevelURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}},
		{sdp.ABSSendTimeURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},
		{sdp.TransportCCURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},
	}
	for _, ext := range extensions {
		for _, kind := range ext.kinds {
			if err := media.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: ext.uri}, kind); err != nil {
				return fmt.Errorf("register header extension %s: %w", ext.uri, err)
			}
		}
	}
	return nil
}

// buildInterceptors is the explicit interceptor chain but its outermost one
// (interceptorRegistry adds it): transport-wide-cc feedback with socket arrival times
// (twcc.go), NACKs and receiver reports toward publishers (Parley's own, reading each
// packet in place: nackreporter.go, D113). No sender-report interceptor: a subscriber's
// Sender sends its DownTracks' sender reports (senderreport.go, D174). No NACK responder:
// DownTracks answer NACKs from the Receiver's buffer. No pion congestion controller: a
// subscriber Peer runs its own (congestion.go).
// The feedback sender and the NACK reporter of a PeerConnection share one goroutine
// (publisherFeedbackFactory, D334).
func buildInterceptors(loggerFactory pionLoggerFactory, stamps *arrivalStamps) ([]interceptor.Factory, error) {
	feedback, err := newPublisherFeedbackFactory(
		// Transport-wide feedback toward publishers: without it a browser's send-side
		// estimate has nothing to work with.
		&feedbackFactory{stamps: stamps, interval: twccFeedbackInterval},
		&nackReporterFactory{policy: defaultNACKPolicy, logger: loggerFactory.logger},
	)
	if err != nil {
		return nil, err
	}
	return []interceptor.Factory{feedback}, nil
}

// interceptorRegistry is factories followed, outermost, by the TWCC header extension
// (recording into history when not nil: a subscriber Peer's, twccseq.go; counting with
// next when not nil, the counter the subscriber's own RTP path shares, rtpout.go). Nothing in
// the chain needs an Attributes map on the way out (the map pion's GCC made per packet,
// which attributes.go reused until D90, went with it).
func interceptorRegistry(factories []interceptor.Factory, history *sendHistory, next *atomic.Uint32) *interceptor.Registry {
	registry := &interceptor.Registry{}
	for _, f := range factories {
		registry.Add(f)
	}
	registry.Add(twccNumberingFactory{history: history, next: next})
	return registry
}
