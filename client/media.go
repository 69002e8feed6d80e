package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// Bounds of the media state.
const (
	// maxPendingSubscriberMessages bounds the subscriber offers and candidates kept while
	// no Subscriber exists (before StartMedia).
	maxPendingSubscriberMessages = 256
	// maxMediaErrors bounds the negotiation errors kept for MediaErrors.
	maxMediaErrors = 64
	// trackPollInterval is how often WaitTracks looks at the Subscriber's stats.
	trackPollInterval = 20 * time.Millisecond
)

// MediaOptions configures StartMedia.
type MediaOptions struct {
	// Audio and Video select the tracks to publish (synthetic Opus and VP8 or H.264, stream
	// id = the user id). Neither: receive only, no publisher PeerConnection.
	Audio, Video bool
	// VideoCodec frames the video: VideoCodecVP8 (default) or VideoCodecH264.
	VideoCodec VideoCodec
	// AudioLevel (0 loudest .. 127 silence) and VoiceActivity go into every audio packet's
	// ssrc-audio-level extension.
	AudioLevel    uint8
	VoiceActivity bool
	// VideoFPS, VideoBitrate (bit/s) and KeyframeInterval (frames) shape the synthetic video;
	// zero takes the Publisher's defaults (30 fps, 500 kbit/s, 60). Width and Height go into
	// keyframes (default 640x480).
	VideoFPS, VideoBitrate, KeyframeInterval int
	Width, Height                            uint16
	// Simulcast, when set, publishes the video as these rid layers (smallest first);
	// the Conn then follows onPublishLayersChanged, pausing the layers no one needs.
	Simulcast []SimulcastLayer
	// VideoFile and AudioFile, when set, are sent instead of the synthetic video and audio
	// (PublisherConfig.VideoFile, AudioFile: at the file's pace, looping; not with
	// Simulcast or H.264).
	VideoFile *IVFVideo
	AudioFile *OggOpus
	// DropRate (0..1) and DropSeed simulate loss on the received media (subscriber side),
	// before the NACK generator, so the server's retransmissions can be observed.
	DropRate float64
	DropSeed int64
}

// mediaTask is one unit of the media worker: a server notification (offer, trickle) or
// the attachment of a new Subscriber.
type mediaTask struct {
	ev       Event
	attach   *Subscriber
	attached chan struct{} // closed once attach's pending messages are applied
	gen      uint64
}

// mediaState owns the Conn's Publisher and Subscriber. The media worker goroutine (run)
// applies the server's negotiation notifications one at a time, in arrival order, so
// re-offers are answered serially; StartMedia and StopMedia run on the caller's
// goroutine. mu guards every field below it; gen changes at each StartMedia and StopMedia
// so late work of an older media session is recognised and ignored.
type mediaState struct {
	c    *Conn
	wake chan struct{} // capacity 1

	mu        sync.Mutex
	queue     []mediaTask
	gen       uint64
	active    bool             // between StartMedia and StopMedia
	pub       *Publisher       // set by StartMedia
	created   *Subscriber      // set by StartMedia (or replaced by renewSubscriber); closed by StopMedia
	sub       *Subscriber      // set by the worker when it attaches created
	subConfig SubscriberConfig // how StartMedia made created, for renewSubscriber
	// stoppedSession is the server subscriber PeerConnection (sdpSession) that StopMedia
	// abandoned: its later offers are dropped; the server renews it on the next publisher
	// offer from a new PeerConnection.
	stoppedSession string
	pendingSub     []Event // subscriber notifications received while sub is nil
	errs           []error
}

func newMediaState(c *Conn) *mediaState {
	return &mediaState{c: c, wake: make(chan struct{}, 1)}
}

func (m *mediaState) push(t mediaTask) {
	m.mu.Lock()
	m.queue = append(m.queue, t)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// enqueue hands a server offer or trickle notification to the worker; it never blocks.
func (m *mediaState) enqueue(ev Event) { m.push(mediaTask{ev: ev}) }

func (m *mediaState) run(stop <-chan struct{}) {
	for {
		m.mu.Lock()
		var task mediaTask
		ok := len(m.queue) > 0
		if ok {
			task = m.queue[0]
			m.queue[0] = mediaTask{}
			m.queue = m.queue[1:]
		}
		m.mu.Unlock()
		if ok {
			m.process(task)
			continue
		}
		select {
		case <-stop:
			return
		case <-m.wake:
		}
	}
}

func (m *mediaState) process(t mediaTask) {
	if t.attach != nil {
		m.mu.Lock()
		if t.gen != m.gen {
			m.mu.Unlock()
			close(t.attached)
			return
		}
		m.sub = t.attach
		pending := m.pendingSub
		m.pendingSub = nil
		m.mu.Unlock()
		for _, ev := range pending {
			m.apply(ev)
		}
		close(t.attached)
		return
	}
	m.apply(t.ev)
}

// apply carries out one server negotiation notification.
func (m *mediaState) apply(ev Event) {
	switch ev.Name {
	case protocol.EventPublishLayersChanged:
		var p protocol.PublishLayersChangedEvent
		if err := ev.Decode(&p); err != nil {
			m.fail(0, err)
			return
		}
		m.mu.Lock()
		pub := m.pub
		m.mu.Unlock()
		if pub != nil {
			for _, l := range p.Layers {
				pub.SetSimulcastLayerActive(l.RID, l.Active)
			}
		}
	case protocol.MethodTrickle:
		var p protocol.TrickleParams
		if err := ev.Decode(&p); err != nil {
			m.fail(0, err)
			return
		}
		m.applyCandidate(ev, p)
	case protocol.MethodOffer:
		var p protocol.OfferParams
		if err := ev.Decode(&p); err != nil {
			m.fail(0, err)
			return
		}
		if p.Target != protocol.TargetSubscriber || p.SDP.Type != "offer" {
			m.fail(0, fmt.Errorf("client: server offer #%d for target %q of type %q", ev.Seq, p.Target, p.SDP.Type))
			return
		}
		m.mu.Lock()
		sub, gen := m.sub, m.gen
		if m.stoppedSession != "" && sdpSession(p.SDP.SDP) == m.stoppedSession {
			m.mu.Unlock()
			m.c.log.Debug("offer of a subscriber PeerConnection closed by StopMedia dropped", "seq", ev.Seq)
			return
		}
		if sub == nil {
			m.keepPendingLocked(ev)
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		if sub.isOtherSession(p.SDP.SDP) {
			// The server made a new PeerConnection (it renews both when this client
			// offered from a new publisher): answer it from a new Subscriber too.
			renewed, err := m.renewSubscriber(sub, gen)
			if err != nil {
				m.fail(gen, err)
				return
			}
			sub = renewed
		}
		m.answer(sub, gen, p.SDP.SDP)
	}
}

func (m *mediaState) applyCandidate(ev Event, p protocol.TrickleParams) {
	cand := webrtc.ICECandidateInit{
		Candidate: p.Candidate.Candidate, SDPMid: p.Candidate.SDPMid,
		SDPMLineIndex: p.Candidate.SDPMLineIndex, UsernameFragment: p.Candidate.UsernameFragment,
	}
	m.mu.Lock()
	gen := m.gen
	switch p.Target {
	case protocol.TargetPublisher:
		pub := m.pub
		m.mu.Unlock()
		if pub == nil {
			m.c.log.Debug("publisher candidate without a publisher", "seq", ev.Seq)
			return
		}
		if err := pub.AddICECandidate(cand); err != nil {
			m.fail(gen, err)
		}
	case protocol.TargetSubscriber:
		sub := m.sub
		if sub == nil {
			m.keepPendingLocked(ev)
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		if err := sub.AddICECandidate(cand); err != nil {
			m.fail(gen, err)
		}
	default:
		m.mu.Unlock()
		m.fail(0, fmt.Errorf("client: server candidate #%d for unknown target %q", ev.Seq, p.Target))
	}
}

func (m *mediaState) keepPendingLocked(ev Event) {
	if len(m.pendingSub) >= maxPendingSubscriberMessages {
		m.errs = appendBounded(m.errs, fmt.Errorf("client: %s #%d dropped: %d subscriber messages wait for StartMedia", ev.Name, ev.Seq, len(m.pendingSub)))
		return
	}
	m.pendingSub = append(m.pendingSub, ev)
}

// renewSubscriber replaces old, the running Subscriber of media session gen, with a new
// one made the same way, and closes old.
func (m *mediaState) renewSubscriber(old *Subscriber, gen uint64) (*Subscriber, error) {
	m.mu.Lock()
	cfg := m.subConfig
	m.mu.Unlock()
	sub, err := NewSubscriber(cfg)
	if err != nil {
		return nil, fmt.Errorf("client: renew subscriber: %w", err)
	}
	m.mu.Lock()
	if gen != m.gen || m.sub != old {
		m.mu.Unlock()
		_ = sub.Close()
		return nil, fmt.Errorf("client: renew subscriber: %w", ErrClosed)
	}
	m.sub, m.created = sub, sub
	m.mu.Unlock()
	sub.OnICECandidate(m.trickler(protocol.TargetSubscriber, gen))
	m.c.log.Debug("server offered from a new subscriber PeerConnection: subscriber renewed")
	if err := old.Close(); err != nil {
		m.c.log.Debug("close replaced subscriber", "err", err)
	}
	return sub, nil
}

// answer applies a subscriber offer and sends the answer; the Subscriber's candidates
// are released once the answer is on the wire.
func (m *mediaState) answer(sub *Subscriber, gen uint64, sdp string) {
	answer, err := sub.HandleOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp})
	if err != nil {
		m.fail(gen, err)
		return
	}
	params := protocol.AnswerParams{
		Target: protocol.TargetSubscriber,
		SDP:    protocol.SessionDescription{Type: webrtc.SDPTypeAnswer.String(), SDP: answer.SDP},
	}
	if err := m.c.roundTrip(m.c.ctx, protocol.MethodAnswer, params, nil, sub.MarkLocalDescriptionSent); err != nil {
		m.failUnlessLeft(gen, err)
	}
}

// failUnlessLeft records err unless the server answered "not in a room": the call ended or
// the room was left while a re-offer or a candidate was in flight, which is not a
// negotiation failure (the media session is over; StopMedia closes it).
func (m *mediaState) failUnlessLeft(gen uint64, err error) {
	if protocol.ErrorCode(err) == protocol.CodeNotInRoom {
		m.c.log.Debug("negotiation after leaving the room", "err", err)
		return
	}
	m.fail(gen, err)
}

// fail records a media error unless it belongs to a media session that was stopped since
// (gen 0: always record).
func (m *mediaState) fail(gen uint64, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if gen != 0 && gen != m.gen {
		return
	}
	select {
	case <-m.c.closing:
		return
	default:
	}
	m.c.log.Warn("media negotiation", "err", err)
	m.errs = appendBounded(m.errs, err)
}

func appendBounded(errs []error, err error) []error {
	if len(errs) >= maxMediaErrors {
		return errs
	}
	return append(errs, err)
}

// trickler returns the local candidate handler of target: each candidate goes out as a
// trickle request whose failure is recorded.
func (m *mediaState) trickler(target protocol.Target, gen uint64) func(webrtc.ICECandidateInit) {
	return func(c webrtc.ICECandidateInit) {
		params := protocol.TrickleParams{Target: target, Candidate: protocol.ICECandidate{
			Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment,
		}}
		m.c.requestAsync(protocol.MethodTrickle, params, func(err error) {
			if err != nil && !errors.Is(err, ErrClosed) {
				m.failUnlessLeft(gen, err)
			}
		})
	}
}

// StartMedia creates the PeerConnections of the current room or call (call it after
// JoinRoom or onCallBegin): a Subscriber that answers the server's offers (those that
// came before StartMedia are applied first), and, when opts publishes audio or video, a
// Publisher that offers, is answered, and starts sending once connected. It returns when
// the publisher sends (or at once when receiving only). On failure nothing stays up.
func (c *Conn) StartMedia(ctx context.Context, opts MediaOptions) error {
	login, ok := c.LoginResult()
	if !ok {
		return fmt.Errorf("client: start media: %w", ErrNotLoggedIn)
	}
	select {
	case <-c.closing:
		return fmt.Errorf("client: start media: %w", ErrClosed)
	default:
	}
	m := c.media
	m.mu.Lock()
	if m.active {
		m.mu.Unlock()
		return fmt.Errorf("client: start media: %w", ErrMediaStarted)
	}
	m.active = true
	m.gen++
	gen := m.gen
	m.mu.Unlock()

	if err := c.startMedia(ctx, opts, login, gen); err != nil {
		_ = c.StopMedia()
		return fmt.Errorf("client: start media: %w", err)
	}
	return nil
}

func (c *Conn) startMedia(ctx context.Context, opts MediaOptions, login protocol.LoginResult, gen uint64) error {
	m := c.media
	peer := c.peerConfig(login)
	subPeer := peer
	subPeer.DropRate, subPeer.DropSeed = opts.DropRate, opts.DropSeed
	sub, err := NewSubscriber(SubscriberConfig{Peer: subPeer})
	if err != nil {
		return err
	}
	m.mu.Lock()
	if gen != m.gen {
		m.mu.Unlock()
		_ = sub.Close()
		return ErrClosed
	}
	m.created = sub
	m.subConfig = SubscriberConfig{Peer: subPeer}
	m.mu.Unlock()
	sub.OnICECandidate(m.trickler(protocol.TargetSubscriber, gen))
	attached := make(chan struct{})
	m.push(mediaTask{attach: sub, attached: attached, gen: gen})
	if !opts.Audio && !opts.Video {
		return nil
	}
	// The subscriber offers that came before StartMedia are answered before the publisher
	// offers: the server handles a session's requests in order, so an answer to an offer
	// of a server PeerConnection that the publisher offer replaces (PROTOCOL.md §6 rule 8)
	// reaches it before the replacement, never the new one.
	select {
	case <-attached:
	case <-c.closing:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("client: answering the pending subscriber offers: %w", ctx.Err())
	}

	pub, err := NewPublisher(PublisherConfig{
		Peer: peer, StreamID: login.UserID, NoAudio: !opts.Audio, NoVideo: !opts.Video,
		AudioLevel: opts.AudioLevel, VoiceActivity: opts.VoiceActivity, VideoFPS: opts.VideoFPS,
		VideoBitrate: opts.VideoBitrate, KeyframeInterval: opts.KeyframeInterval,
		Width: opts.Width, Height: opts.Height, Simulcast: opts.Simulcast, VideoCodec: opts.VideoCodec,
		VideoFile: opts.VideoFile, AudioFile: opts.AudioFile,
	})
	if err != nil {
		return err
	}
	m.mu.Lock()
	if gen != m.gen {
		m.mu.Unlock()
		_ = pub.Close()
		return ErrClosed
	}
	m.pub = pub
	m.mu.Unlock()
	connected, failed := make(chan struct{}), make(chan struct{})
	var connectedOnce, failedOnce sync.Once
	pub.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			connectedOnce.Do(func() { close(connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			failedOnce.Do(func() { close(failed) })
		}
	})
	pub.OnICECandidate(m.trickler(protocol.TargetPublisher, gen))
	offer, err := pub.CreateOffer()
	if err != nil {
		return err
	}
	var res protocol.OfferResult
	params := protocol.OfferParams{
		Target: protocol.TargetPublisher,
		SDP:    protocol.SessionDescription{Type: webrtc.SDPTypeOffer.String(), SDP: offer.SDP},
	}
	if err := c.roundTrip(ctx, protocol.MethodOffer, params, &res, pub.MarkLocalDescriptionSent); err != nil {
		return err
	}
	if res.SDP.Type != webrtc.SDPTypeAnswer.String() {
		return fmt.Errorf("client: publisher answer of type %q", res.SDP.Type)
	}
	if err := pub.SetAnswer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: res.SDP.SDP}); err != nil {
		return err
	}
	select {
	case <-connected:
	case <-failed:
		return fmt.Errorf("client: publisher connection %s", pub.ConnectionState())
	case <-ctx.Done():
		return fmt.Errorf("client: waiting for the publisher to connect: %w", ctx.Err())
	}
	return pub.Start()
}

// RestartICE renews ICE on both PeerConnections, as after a network change: it sends the
// Publisher's offer with new ICE credentials and applies the answer; the server then
// restarts ICE on the Subscriber with its next offer, which the Subscriber answers as any
// other. It returns once the publisher's answer is applied (ErrNoPublisher when receiving
// only).
func (c *Conn) RestartICE(ctx context.Context) error {
	pub := c.Publisher()
	if pub == nil {
		return fmt.Errorf("client: restart ice: %w", ErrNoPublisher)
	}
	offer, err := pub.CreateRestartOffer()
	if err != nil {
		return fmt.Errorf("client: restart ice: %w", err)
	}
	var res protocol.OfferResult
	params := protocol.OfferParams{
		Target: protocol.TargetPublisher,
		SDP:    protocol.SessionDescription{Type: webrtc.SDPTypeOffer.String(), SDP: offer.SDP},
	}
	if err := c.roundTrip(ctx, protocol.MethodOffer, params, &res, pub.MarkLocalDescriptionSent); err != nil {
		return fmt.Errorf("client: restart ice: %w", err)
	}
	if err := pub.SetAnswer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: res.SDP.SDP}); err != nil {
		return fmt.Errorf("client: restart ice: %w", err)
	}
	return nil
}

// peerConfig is Options.Peer with the login's ICE servers (those URLs ICEServerURLFilter
// keeps) when none are configured and the connection is relay-only or not loopback-only.
func (c *Conn) peerConfig(login protocol.LoginResult) PeerConfig {
	peer := c.opts.Peer
	if (peer.Loopback && !peer.RelayOnly) || len(peer.ICEServers) > 0 {
		return peer
	}
	for _, s := range login.ICEServers {
		urls := s.URLs
		if peer.ICEServerURLFilter != nil {
			urls = nil
			for _, u := range s.URLs {
				if peer.ICEServerURLFilter(u) {
					urls = append(urls, u)
				}
			}
		}
		if len(urls) > 0 {
			peer.ICEServers = append(peer.ICEServers, webrtc.ICEServer{URLs: urls, Username: s.Username, Credential: s.Credential})
		}
	}
	return peer
}

// StopMedia closes the Publisher and Subscriber (call it when the call ended or the room
// was left; a later StartMedia builds new ones for the next room). Subscriber offers and
// candidates not yet applied are dropped, and so are later offers of the closed
// subscriber's server PeerConnection. A StartMedia that publishes in the same room makes
// the server replace both of its PeerConnections (PROTOCOL.md §6 rule 8); a receive-only
// one there gets no offer: leave and join the room again instead. It is idempotent and
// returns the first close error.
func (c *Conn) StopMedia() error {
	m := c.media
	m.mu.Lock()
	m.gen++
	m.active = false
	pub, sub := m.pub, m.created
	m.pub, m.created, m.sub = nil, nil, nil
	m.pendingSub = nil
	if sub != nil {
		if d := sub.RemoteDescription(); d != nil {
			m.stoppedSession = sdpSession(d.SDP)
		}
	}
	m.mu.Unlock()
	var errs []error
	if pub != nil {
		errs = append(errs, pub.Close())
	}
	if sub != nil {
		errs = append(errs, sub.Close())
	}
	return errors.Join(errs...)
}

// Publisher is the running Publisher (nil without media or when receiving only).
func (c *Conn) Publisher() *Publisher {
	c.media.mu.Lock()
	defer c.media.mu.Unlock()
	return c.media.pub
}

// Subscriber is the running Subscriber (nil without media).
func (c *Conn) Subscriber() *Subscriber {
	c.media.mu.Lock()
	defer c.media.mu.Unlock()
	return c.media.created
}

// MediaErrors returns the negotiation errors of the running media session(s) so far
// (a failed server offer, a rejected answer or candidate, …), oldest first, at most 64.
func (c *Conn) MediaErrors() []error {
	c.media.mu.Lock()
	defer c.media.mu.Unlock()
	return append([]error(nil), c.media.errs...)
}

// RemoteTracks returns the stats of the received tracks published by userID ("" = all).
func (c *Conn) RemoteTracks(userID string) []TrackStats {
	sub := c.Subscriber()
	if sub == nil {
		return nil
	}
	var out []TrackStats
	for _, t := range sub.Tracks() {
		if userID == "" || t.StreamID == userID {
			out = append(out, t)
		}
	}
	return out
}

// WaitTracks polls the received tracks until cond accepts them and returns them; it fails
// with ctx's error (wrapping the last tracks seen in the message).
func (c *Conn) WaitTracks(ctx context.Context, cond func([]TrackStats) bool) ([]TrackStats, error) {
	ticker := time.NewTicker(trackPollInterval)
	defer ticker.Stop()
	for {
		tracks := c.RemoteTracks("")
		if cond(tracks) {
			return tracks, nil
		}
		select {
		case <-ctx.Done():
			return tracks, fmt.Errorf("client: wait for tracks (have %d): %w", len(tracks), ctx.Err())
		case <-ticker.C:
		}
	}
}

// WaitRemoteTrack waits until a track of kind published by userID has received at least
// minPackets packets, and returns its stats.
func (c *Conn) WaitRemoteTrack(ctx context.Context, userID string, kind webrtc.RTPCodecType, minPackets uint64) (TrackStats, error) {
	var found TrackStats
	_, err := c.WaitTracks(ctx, func(tracks []TrackStats) bool {
		for _, t := range tracks {
			if t.StreamID == userID && t.Kind == kind && t.Packets >= minPackets {
				found = t
				return true
			}
		}
		return false
	})
	if err != nil {
		return TrackStats{}, fmt.Errorf("client: %s track of %s: %w", kind, userID, err)
	}
	return found, nil
}
