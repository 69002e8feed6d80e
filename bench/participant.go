package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
	"github.com/parley-rtc/parley/signaling/token"
)

// leaveTimeout bounds the logout a participant sends before closing its socket.
const leaveTimeout = 3 * time.Second

// Errors a run can fail with; each is wrapped with what was being done.
var (
	// ErrUnreachable: the signaling URL does not accept a WebSocket.
	ErrUnreachable = errors.New("server unreachable")
	// ErrWrongSecret: the server rejected a userSig minted with the given app and secret.
	ErrWrongSecret = errors.New("wrong secret or app id")
	// ErrInvalidScenario: the scenario cannot be run as configured.
	ErrInvalidScenario = errors.New("invalid scenario")
)

// Publishing says what a participant sends.
type Publishing struct {
	Audio bool `json:"audio" yaml:"audio"`
	Video bool `json:"video" yaml:"video"`
	// Simulcast sends the video as three layers (client.DefaultSimulcastLayers: 320×180 at
	// 15 fps and 150 kbit/s, 640×360 at 20 fps and 500 kbit/s, 1280×720 at 30 fps and
	// 1.7 Mbit/s); otherwise one 1280×720 stream at 30 fps and VideoBitrate.
	Simulcast bool `json:"simulcast" yaml:"simulcast"`
	// Codec frames the video: client.VideoCodecVP8 (default) or client.VideoCodecH264.
	Codec client.VideoCodec `json:"codec,omitempty" yaml:"codec"`
	// VideoBitrate of the single-stream video in bit/s (default 1.5 Mbit/s).
	VideoBitrate int `json:"video_bitrate,omitempty" yaml:"video_bitrate"`
	// VideoFile and AudioFile, when not nil, are sent instead of synthetic media
	// (Scenario.VideoFile, AudioFile, loaded once per run and shared).
	VideoFile *client.IVFVideo `json:"-" yaml:"-"`
	AudioFile *client.OggOpus  `json:"-" yaml:"-"`
}

// target is where and as whom participants connect.
type target struct {
	url      string
	appID    int
	secret   []byte
	loopback bool
	logger   *slog.Logger
	meter    *meter
	// noTransportCC: the clients negotiate no transport-wide congestion control
	// (Scenario.NoTransportCC).
	noTransportCC bool
}

// participant is one simulated user: its own WebSocket (client.Conn), its own publisher
// PeerConnection (client.Publisher) when it publishes, and its own measuring subscriber
// PeerConnection (receiver; none for a signaling-only user). The Conn's handler goroutine
// applies the server's offers and candidates; mu guards the view request times read by
// the read loops; arrivals has its own lock.
type participant struct {
	id     string
	target *target
	conn   *client.Conn
	pub    *client.Publisher
	recv   *receiver
	unreg  []func()

	dialStart time.Time
	joined    sync.Once
	mediaUp   chan struct{} // closed when media flows (first packet received or publisher sending)

	arrivals arrivals // first packets and keyframes per remote publisher

	mu         sync.Mutex
	viewAsked  map[string]time.Time
	firstFrame map[string]time.Time
}

// connect dials, logs in and, with media, builds the receiver; nothing is joined yet.
func connect(ctx context.Context, tg *target, userID string, media bool) (*participant, error) {
	p := &participant{
		id: userID, target: tg, dialStart: time.Now(), mediaUp: make(chan struct{}),
		viewAsked: map[string]time.Time{}, firstFrame: map[string]time.Time{},
	}
	conn, err := client.Dial(ctx, tg.url, client.Options{Logger: tg.logger})
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w: %w", userID, ErrUnreachable, err)
	}
	p.conn = conn
	sig, err := token.MintUserSig(tg.appID, tg.secret, userID, 24*time.Hour, time.Now())
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("bench: mint userSig for %s: %w", userID, err)
	}
	login, err := conn.Login(ctx, tg.appID, userID, sig)
	if err != nil {
		_ = conn.Close()
		switch protocol.ErrorCode(err) {
		case protocol.CodeUserSigInvalid, protocol.CodeUnknownApp:
			return nil, fmt.Errorf("bench: login %s rejected (code %d): %w", userID, protocol.ErrorCode(err), ErrWrongSecret)
		}
		return nil, fmt.Errorf("bench: login %s: %w", userID, err)
	}
	if !media {
		return p, nil
	}
	api, err := client.NewAPI(tg.peerConfig())
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	recv, err := newReceiver(api, webrtc.Configuration{ICEServers: tg.iceServers(login)}, tg.meter)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	p.recv = recv
	recv.onFirstPacket = func(time.Time) { p.markMediaUp() }
	recv.onTrackFirstPacket = func(publisher string, kind webrtc.RTPCodecType, at time.Time) {
		if kind == webrtc.RTPCodecTypeVideo {
			p.arrivals.mark(publisher, arrivedVideo, at)
		} else {
			p.arrivals.mark(publisher, arrivedAudio, at)
		}
	}
	recv.onFirstKeyframe = p.sawKeyframe
	recv.onKeyframeComplete = func(publisher string, at time.Time) { p.arrivals.mark(publisher, arrivedDecodable, at) }
	recv.setOnLocal(func(c webrtc.ICECandidateInit) { p.trickle(protocol.TargetSubscriber, c) })
	p.unreg = append(p.unreg,
		conn.On(protocol.MethodOffer, p.handleOffer),
		conn.On(protocol.MethodTrickle, p.handleTrickle),
	)
	return p, nil
}

// peerConfig is every bench PeerConnection's configuration: transport-wide congestion
// control as browsers negotiate it (unless Scenario.NoTransportCC), so the server's
// congestion control runs for the bench's users as it does for browsers.
func (tg *target) peerConfig() client.PeerConfig {
	return client.PeerConfig{Loopback: tg.loopback, Logger: tg.logger, TransportCC: !tg.noTransportCC}
}

func (tg *target) iceServers(login protocol.LoginResult) []webrtc.ICEServer {
	if tg.loopback {
		return nil
	}
	var out []webrtc.ICEServer
	for _, s := range login.ICEServers {
		out = append(out, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}

func (p *participant) markMediaUp() {
	p.joined.Do(func() {
		p.target.meter.joinTime.Record(time.Since(p.dialStart))
		close(p.mediaUp)
	})
}

func (p *participant) sawKeyframe(publisher string, at time.Time) {
	p.arrivals.mark(publisher, arrivedKeyframe, at)
	p.mu.Lock()
	asked, ok := p.viewAsked[publisher]
	_, seen := p.firstFrame[publisher]
	if !seen {
		p.firstFrame[publisher] = at
	}
	p.mu.Unlock()
	if ok && !seen {
		p.target.meter.firstFrame.Record(at.Sub(asked))
	}
}

// trickle sends a local candidate as a notification (no response to wait for).
func (p *participant) trickle(target protocol.Target, c webrtc.ICECandidateInit) {
	_ = p.conn.Notify(protocol.MethodTrickle, protocol.TrickleParams{Target: target, Candidate: protocol.ICECandidate{
		Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment,
	}})
}

// handleOffer answers a server offer for the subscriber PeerConnection (handler goroutine).
func (p *participant) handleOffer(ev client.Event) {
	var params protocol.OfferParams
	if err := ev.Decode(&params); err != nil || params.Target != protocol.TargetSubscriber {
		return
	}
	answer, err := p.recv.handleOffer(params.SDP.SDP)
	if err != nil {
		p.target.logger.Warn("subscriber offer", "user", p.id, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = p.conn.Request(ctx, protocol.MethodAnswer, protocol.AnswerParams{
		Target: protocol.TargetSubscriber,
		SDP:    protocol.SessionDescription{Type: webrtc.SDPTypeAnswer.String(), SDP: answer},
	}, nil)
	if err != nil && protocol.ErrorCode(err) != protocol.CodeNotInRoom {
		p.target.logger.Warn("subscriber answer", "user", p.id, "err", err)
	}
	p.recv.answerSent()
}

// handleTrickle adds a server candidate to the right PeerConnection (handler goroutine).
func (p *participant) handleTrickle(ev client.Event) {
	var params protocol.TrickleParams
	if err := ev.Decode(&params); err != nil {
		return
	}
	c := webrtc.ICECandidateInit{
		Candidate: params.Candidate.Candidate, SDPMid: params.Candidate.SDPMid,
		SDPMLineIndex: params.Candidate.SDPMLineIndex, UsernameFragment: params.Candidate.UsernameFragment,
	}
	var err error
	switch params.Target {
	case protocol.TargetSubscriber:
		err = p.recv.addCandidate(c)
	case protocol.TargetPublisher:
		p.mu.Lock()
		pub := p.pub
		p.mu.Unlock()
		if pub != nil {
			err = pub.AddICECandidate(c)
		}
	}
	if err != nil {
		p.target.logger.Debug("server candidate", "user", p.id, "err", err)
	}
}

// publish negotiates the publisher PeerConnection and starts sending once it connects.
// The synthetic media follow the reference model: 80-byte Opus payloads every 20 ms, a
// keyframe every 120 frames of a layer; media files are sent as they are.
func (p *participant) publish(ctx context.Context, what Publishing) error {
	cfg := client.PublisherConfig{
		Peer: p.target.peerConfig(), StreamID: p.id, NoAudio: !what.Audio, NoVideo: !what.Video,
		AudioLevel: 30, VoiceActivity: true, AudioPayloadSize: client.ReferenceAudioPayloadSize,
		VideoCodec: what.Codec, VideoFPS: 30, KeyframeInterval: 120,
		VideoBitrate: what.VideoBitrate, Width: 1280, Height: 720,
		VideoFile: what.VideoFile, AudioFile: what.AudioFile,
	}
	if cfg.VideoBitrate == 0 {
		cfg.VideoBitrate = 1_500_000
	}
	if what.Simulcast {
		cfg.Simulcast = client.DefaultSimulcastLayers()
	}
	login, _ := p.conn.LoginResult()
	cfg.Peer.ICEServers = p.target.iceServers(login)
	pub, err := client.NewPublisher(cfg)
	if err != nil {
		return fmt.Errorf("bench: %s: publisher: %w", p.id, err)
	}
	p.mu.Lock()
	p.pub = pub
	p.mu.Unlock()
	connected, failed := client.WatchConnection(pub.OnConnectionStateChange)
	pub.OnICECandidate(func(c webrtc.ICECandidateInit) { p.trickle(protocol.TargetPublisher, c) })
	offer, err := pub.CreateOffer()
	if err != nil {
		return fmt.Errorf("bench: %s: %w", p.id, err)
	}
	var res protocol.OfferResult
	if err := p.conn.Request(ctx, protocol.MethodOffer, protocol.OfferParams{
		Target: protocol.TargetPublisher,
		SDP:    protocol.SessionDescription{Type: webrtc.SDPTypeOffer.String(), SDP: offer.SDP},
	}, &res); err != nil {
		return fmt.Errorf("bench: %s: publisher offer: %w", p.id, err)
	}
	if err := pub.SetAnswer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: res.SDP.SDP}); err != nil {
		return fmt.Errorf("bench: %s: %w", p.id, err)
	}
	select {
	case <-connected:
	case <-failed:
		return fmt.Errorf("bench: %s: publisher connection %s", p.id, pub.ConnectionState())
	case <-ctx.Done():
		return fmt.Errorf("bench: %s: publisher connect: %w", p.id, ctx.Err())
	}
	if err := pub.Start(); err != nil {
		return fmt.Errorf("bench: %s: publisher start: %w", p.id, err)
	}
	return nil
}

// view asks for publisher's video at the given size (0×0: any).
func (p *participant) view(ctx context.Context, publisher string, width, height int) error {
	p.mu.Lock()
	p.viewAsked[publisher] = time.Now()
	p.mu.Unlock()
	q := protocol.VideoQuality{Width: width, Height: height}
	if err := p.conn.StartRemoteView(ctx, publisher, q); err != nil {
		return fmt.Errorf("bench: %s views %s: %w", p.id, publisher, err)
	}
	return nil
}

// waitMedia waits until media flows to or from this participant.
func (p *participant) waitMedia(ctx context.Context) error {
	select {
	case <-p.mediaUp:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bench: %s: no media: %w", p.id, ctx.Err())
	}
}

// close logs out (so the server frees the session at once rather than keeping it for a
// resume), then closes the PeerConnections and the socket. Safe to call once.
func (p *participant) close() {
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	_ = p.conn.Logout(ctx)
	for _, u := range p.unreg {
		u()
	}
	p.mu.Lock()
	pub := p.pub
	p.mu.Unlock()
	if pub != nil {
		_ = pub.Close()
	}
	if p.recv != nil {
		_ = p.recv.close()
	}
	_ = p.conn.Close()
}
