package client

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/internal/rxstamp"
)

// Header extension URIs the client negotiates.
const (
	AudioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
	MidURI        = "urn:ietf:params:rtp-hdrext:sdes:mid"
)

// Payload types the client offers (the answerer's choice wins when it answers).
const (
	opusPayloadType = 111
	vp8PayloadType  = 96
	h264PayloadType = 102
)

// videoFeedbackTypes is every RTCP feedback the client's video may negotiate (transport-cc
// only with PeerConfig.TransportCC or Downlink).
func videoFeedbackTypes(transportCC bool) []webrtc.RTCPFeedback {
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	if transportCC {
		fb = append(fb, webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC})
	}
	return fb
}

// registeredCodec is codec as a transceiver's codec preference: the payload type comes from
// the API's registration, the feedback is what both have.
func registeredCodec(codec webrtc.RTPCodecCapability) (webrtc.RTPCodecParameters, bool) {
	if codec.MimeType != webrtc.MimeTypeVP8 && codec.MimeType != webrtc.MimeTypeH264 {
		return webrtc.RTPCodecParameters{}, false
	}
	codec.RTCPFeedback = videoFeedbackTypes(true)
	return webrtc.RTPCodecParameters{RTPCodecCapability: codec}, true
}

// PeerConfig configures one client PeerConnection.
type PeerConfig struct {
	// Loopback restricts ICE to UDP over IPv4 on the loopback interface, includes loopback
	// candidates and disables mDNS: what tests and a same-host bench need.
	Loopback bool
	// ICEServers are passed to the PeerConnection (STUN/TURN); empty on loopback.
	ICEServers []webrtc.ICEServer
	// RelayOnly sets webrtc.ICETransportPolicyRelay: only relay (TURN) candidates are
	// used, so all media goes through a TURN server. A Conn then takes the login result's
	// iceServers even when Loopback is set (and ICEServers is empty).
	RelayOnly bool
	// ICEServerURLFilter, when set, keeps only the login result's ICE server URLs it
	// accepts (e.g. to force TURN over one transport); servers left with no URL are dropped.
	ICEServerURLFilter func(url string) bool
	// TURNTLSConfig verifies turns: (TURN over TLS) servers, e.g. with a RootCAs pool that
	// holds a development certificate. pion's ICE agent verifies turns: servers against the
	// system roots only and offers no way to add a root; when this is set, TCP connections
	// to the turns: servers of ICEServers are dialled through SettingEngine.SetICEProxyDialer
	// with this configuration instead (ServerName defaults to the URL's host).
	TURNTLSConfig *tls.Config
	// NetworkTypes, when set, replaces the candidate network types (Loopback's UDP4), e.g.
	// []webrtc.NetworkType{webrtc.NetworkTypeTCP4} to connect with ICE over TCP only.
	NetworkTypes []webrtc.NetworkType
	// DropRate (0..1) is the fraction of incoming RTP packets of NACK-enabled streams that a
	// client-side interceptor placed before the NACK generator drops, to simulate loss on
	// the path towards this client. 0 disables it.
	DropRate float64
	// DropSeed seeds the drop decisions so a run is reproducible.
	DropSeed int64
	// UnrepairedLoss (0..1) is a fraction of the incoming RTP packets of every stream,
	// evenly spaced by sequence number, discarded after the NACK generator: loss that no
	// retransmission repairs, which this client's receiver reports show (impairment.go).
	UnrepairedLoss float64
	// Network, when set, can cut this PeerConnection's whole network path, ICE included
	// (netswitch.go; requires Loopback; not with NewAPI).
	Network *NetworkSwitch
	// Link, when set, can cut this PeerConnection's media path: RTP and RTCP in both
	// directions are discarded while ICE keeps it connected (impairment.go).
	Link *LinkSwitch
	// Downlink, when set, limits the rate of the media towards this PeerConnection
	// (shaper.go) and turns on transport-wide congestion control feedback (the
	// transport-wide-cc header extension and the TWCC feedback sender), so the sending
	// side can estimate the limited link.
	Downlink *DownlinkShaper
	// TransportCC negotiates transport-wide congestion control as browsers do: the
	// transport-wide-cc header extension on audio and video, transport-cc feedback on
	// video, a sequence number in every RTP packet this PeerConnection sends (pion's
	// twcc header extension interceptor) and TWCC feedback for the packets it receives
	// (pion's twcc sender interceptor), so the remote side runs its congestion control.
	// Downlink turns on the feedback without numbering what this side sends.
	TransportCC bool
	// NACKInterval is how often the NACK generator reports missing packets (default 50ms).
	NACKInterval time.Duration
	// Logger receives connection-level logs; nil discards them.
	Logger *slog.Logger
}

func (c PeerConfig) validate() error {
	if c.DropRate < 0 || c.DropRate > 1 {
		return fmt.Errorf("client: drop rate %v out of range 0..1: %w", c.DropRate, ErrInvalidConfig)
	}
	if c.UnrepairedLoss < 0 || c.UnrepairedLoss > 1 {
		return fmt.Errorf("client: unrepaired loss %v out of range 0..1: %w", c.UnrepairedLoss, ErrInvalidConfig)
	}
	if c.Network != nil && !c.Loopback {
		return fmt.Errorf("client: a network switch needs a loopback PeerConfig: %w", ErrInvalidConfig)
	}
	if c.NACKInterval < 0 {
		return fmt.Errorf("client: negative NACK interval %s: %w", c.NACKInterval, ErrInvalidConfig)
	}
	return nil
}

// configuration is the webrtc.Configuration of a PeerConnection built from c.
func (c PeerConfig) configuration() webrtc.Configuration {
	conf := webrtc.Configuration{ICEServers: c.ICEServers}
	if c.RelayOnly {
		conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	return conf
}

func (c PeerConfig) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// NewAPI builds a pion API for one client PeerConnection: codecs Opus, VP8 and H.264
// (packetization mode 1, profile-level-id 42e01f; NACK and PLI feedback on video), the ssrc-audio-level and mid header extensions, and an
// explicit interceptor chain: the loss simulator (when DropRate > 0), NACK generator and
// responder, receiver and sender reports, and with TransportCC the transport-wide-cc
// header extension and TWCC feedback. No default interceptors are registered.
func NewAPI(cfg PeerConfig) (*webrtc.API, error) {
	if cfg.Network != nil {
		return nil, fmt.Errorf("client: NewAPI cannot own a network switch's socket: %w", ErrInvalidConfig)
	}
	api, _, err := newAPI(cfg, false)
	return api, err
}

// apiParts are what newAPI makes besides the API.
type apiParts struct {
	dropper *dropInterceptorFactory // the loss simulator, nil when DropRate is 0
	// closeNetwork closes the PeerConnection's own socket (a no-op without one); call it
	// after the PeerConnection closed.
	closeNetwork func() error
}

// newAPI is NewAPI that also returns the loss simulator and, with ownSocket, opens the
// PeerConnection's own UDP socket (on loopback, with TWCC feedback or a network switch;
// feedback.go, netswitch.go), which parts.closeNetwork closes.
func newAPI(cfg PeerConfig, ownSocket bool) (*webrtc.API, apiParts, error) {
	parts := apiParts{closeNetwork: func() error { return nil }}
	if err := cfg.validate(); err != nil {
		return nil, parts, err
	}
	media := &webrtc.MediaEngine{}
	transportCC := cfg.TransportCC || cfg.Downlink != nil
	videoFeedback := videoFeedbackTypes(transportCC)
	codecs := []struct {
		params webrtc.RTPCodecParameters
		kind   webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
			PayloadType:        opusPayloadType,
		}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback},
			PayloadType:        vp8PayloadType,
		}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264FmtpLine, RTCPFeedback: videoFeedback},
			PayloadType:        h264PayloadType,
		}, webrtc.RTPCodecTypeVideo},
	}
	for _, c := range codecs {
		if err := media.RegisterCodec(c.params, c.kind); err != nil {
			return nil, parts, fmt.Errorf("client: register codec %s: %w", c.params.MimeType, err)
		}
	}
	extensions := []struct {
		uri   string
		kinds []webrtc.RTPCodecType
	}{
		{MidURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}},
		{RIDURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}}, // simulcast layers (simulcast.go)
		{AudioLevelURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio}},
	}
	if transportCC {
		extensions = append(extensions, struct {
			uri   string
			kinds []webrtc.RTPCodecType
		}{sdp.TransportCCURI, []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo}})
	}
	for _, ext := range extensions {
		for _, kind := range ext.kinds {
			if err := media.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: ext.uri}, kind); err != nil {
				return nil, parts, fmt.Errorf("client: register header extension %s: %w", ext.uri, err)
			}
		}
	}

	registry := &interceptor.Registry{}
	// Order matters for incoming RTP: the first factory reads from the network, so the
	// loss simulator sits before the NACK generator and the generator sees the holes.
	if cfg.Link != nil {
		registry.Add(cfg.Link)
	}
	// A PeerConnection that owns its socket notes each packet's arrival there
	// (feedback.go): the TWCC feedback and the bottleneck then see when it arrived, not
	// when a goroutine got to it.
	var stamps *rxstamp.Table
	if ownSocket && cfg.Loopback && (transportCC || cfg.Network != nil) {
		stamps = &rxstamp.Table{}
	}
	if cfg.Downlink != nil {
		// The bottleneck, then the TWCC feedback sender, which so reports its losses.
		registry.Add(&shaperFactory{shaper: cfg.Downlink, stamps: stamps})
	}
	if transportCC {
		registry.Add(&feedbackFactory{stamps: stamps})
	}
	if cfg.TransportCC {
		// The first factories wrap the network writer, so this one sees every packet that
		// leaves, the NACK responder's retransmissions included, and numbers it.
		numbering, err := twcc.NewHeaderExtensionInterceptor()
		if err != nil {
			return nil, parts, fmt.Errorf("client: twcc header extension: %w", err)
		}
		registry.Add(numbering)
	}
	if cfg.DropRate > 0 {
		parts.dropper = &dropInterceptorFactory{rate: cfg.DropRate, seed: cfg.DropSeed}
		registry.Add(parts.dropper)
	}
	nackInterval := cfg.NACKInterval
	if nackInterval == 0 {
		nackInterval = 50 * time.Millisecond
	}
	generator, err := nack.NewGeneratorInterceptor(nack.GeneratorInterval(nackInterval))
	if err != nil {
		return nil, parts, fmt.Errorf("client: nack generator: %w", err)
	}
	responder, err := nack.NewResponderInterceptor()
	if err != nil {
		return nil, parts, fmt.Errorf("client: nack responder: %w", err)
	}
	receiverReports, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, parts, fmt.Errorf("client: receiver reports: %w", err)
	}
	senderReports, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, parts, fmt.Errorf("client: sender reports: %w", err)
	}
	registry.Add(generator)
	registry.Add(responder)
	if cfg.UnrepairedLoss > 0 {
		registry.Add(&unrepairedLossFactory{rate: cfg.UnrepairedLoss})
	}
	registry.Add(receiverReports)
	registry.Add(senderReports)

	settings := webrtc.SettingEngine{}
	if cfg.Loopback {
		settings.SetIncludeLoopbackCandidate(true)
		settings.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		settings.SetInterfaceFilter(func(name string) bool { return name == "lo" })
		settings.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		settings.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	if len(cfg.NetworkTypes) > 0 {
		settings.SetNetworkTypes(cfg.NetworkTypes)
	}
	if cfg.TURNTLSConfig != nil {
		dialer, err := newTURNTLSDialer(cfg.ICEServers, cfg.TURNTLSConfig)
		if err != nil {
			return nil, parts, err
		}
		settings.SetICEProxyDialer(dialer)
	}
	if parts.dropper != nil {
		// The simulated loss happens after SRTP decryption, so the SRTP layer has already
		// seen the sequence numbers that the NACKed retransmissions carry again; its replay
		// protection would discard every repair.
		settings.DisableSRTPReplayProtection(true)
	}
	if stamps != nil {
		if parts.closeNetwork, err = ownUDPMux(&settings, cfg.Network, stamps); err != nil {
			return nil, parts, err
		}
	}
	return webrtc.NewAPI(
		webrtc.WithMediaEngine(media),
		webrtc.WithInterceptorRegistry(registry),
		webrtc.WithSettingEngine(settings),
	), parts, nil
}
