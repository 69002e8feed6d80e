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
	connected, failed := WatchConnection(pub.OnConnectionStateChange)
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

// WatchConnection sets a PeerConnection state handler through set (the
// OnConnectionStateChange of a webrtc.PeerConnection or a Publisher: it replaces any
// other) and returns a channel closed when the connection first reaches connected and
// one closed when it first fails or closes.
func WatchConnection(set func(func(webrtc.PeerConnectionState))) (connected, failed <-chan struct{}) {
	c, f := make(chan struct{}), make(chan struct{})
	var connectedOnce, failedOnce sync.Once
	set(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			connectedOnce.Do(func() { close(c) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			failedOnce.Do(func() { close(f) })
		}
	})
	return c, f
}
