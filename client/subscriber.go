package client

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	Peer PeerConfig
}

// Subscriber is a PeerConnection that answers the server's offers and checks every
// packet of every remote track it receives. Its methods are safe for concurrent use.
type Subscriber struct {
	log     *slog.Logger
	pc      *webrtc.PeerConnection
	trickle *trickle
	dropper *dropInterceptorFactory
	// closeNetwork closes the PeerConfig.Network socket after the PeerConnection.
	closeNetwork func() error

	mu      sync.Mutex
	tracks  []*trackCounter
	onTrack func(TrackStats)
	closed  bool
	wg      sync.WaitGroup
}

// NewSubscriber builds the PeerConnection; it connects once HandleOffer has been called.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	api, parts, err := newAPI(cfg.Peer, true)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(cfg.Peer.configuration())
	if err != nil {
		_ = parts.closeNetwork()
		return nil, fmt.Errorf("client: new peer connection: %w", err)
	}
	s := &Subscriber{log: cfg.Peer.logger(), pc: pc, trickle: newTrickle(pc), dropper: parts.dropper, closeNetwork: parts.closeNetwork}
	pc.OnTrack(s.handleTrack)
	return s, nil
}

// HandleOffer applies the server's offer and returns the answer (also set as the local
// description). Call MarkLocalDescriptionSent once the answer is on the wire.
func (s *Subscriber) HandleOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	if err := s.pc.SetRemoteDescription(offer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("client: set remote offer: %w", err)
	}
	if err := s.trickle.remoteDescriptionSet(); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("client: add queued candidate: %w", err)
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("client: create answer: %w", err)
	}
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("client: set local answer: %w", err)
	}
	return answer, nil
}

// MarkLocalDescriptionSent releases the local candidates held back until the first
// answer was sent.
func (s *Subscriber) MarkLocalDescriptionSent() { s.trickle.markLocalSent() }

// AddICECandidate adds a remote candidate, queueing it until the first offer is applied.
func (s *Subscriber) AddICECandidate(c webrtc.ICECandidateInit) error {
	if err := s.trickle.addRemote(c); err != nil {
		return fmt.Errorf("client: add candidate: %w", err)
	}
	return nil
}

// OnICECandidate sets the handler of local candidates.
func (s *Subscriber) OnICECandidate(fn func(webrtc.ICECandidateInit)) { s.trickle.setOnLocal(fn) }

// OnConnectionStateChange sets the PeerConnection state handler.
func (s *Subscriber) OnConnectionStateChange(fn func(webrtc.PeerConnectionState)) {
	s.pc.OnConnectionStateChange(fn)
}

// OnTrack sets a handler called (from the track's read goroutine) when a remote track
// starts, with its first stats.
func (s *Subscriber) OnTrack(fn func(TrackStats)) {
	s.mu.Lock()
	s.onTrack = fn
	s.mu.Unlock()
}

// ConnectionState returns the PeerConnection state.
func (s *Subscriber) ConnectionState() webrtc.PeerConnectionState { return s.pc.ConnectionState() }

// isOtherSession reports whether offer comes from another server PeerConnection than the
// offers applied so far (another o= session id or DTLS fingerprint); false before the
// first one.
func (s *Subscriber) isOtherSession(offer string) bool {
	applied := s.pc.CurrentRemoteDescription()
	return applied != nil && sdpSession(offer) != sdpSession(applied.SDP)
}

// RemoteDescription is the server's offer applied last (nil before the first one).
func (s *Subscriber) RemoteDescription() *webrtc.SessionDescription {
	return s.pc.CurrentRemoteDescription()
}

// Dropped returns how many packets the loss simulator (PeerConfig.DropRate) discarded.
func (s *Subscriber) Dropped() uint64 {
	if s.dropper == nil {
		return 0
	}
	return s.dropper.dropped.Load()
}

// Tracks returns the stats of every remote track received so far, in arrival order.
func (s *Subscriber) Tracks() []TrackStats {
	s.mu.Lock()
	counters := append([]*trackCounter(nil), s.tracks...)
	s.mu.Unlock()
	out := make([]TrackStats, len(counters))
	for i, c := range counters {
		out[i] = c.snapshot()
	}
	return out
}

// Close closes the PeerConnection and waits for the track readers. It is idempotent.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := errors.Join(s.pc.Close(), s.closeNetwork())
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("client: close subscriber: %w", err)
	}
	return nil
}

func (s *Subscriber) handleTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	levelID := uint8(0)
	if track.Kind() == webrtc.RTPCodecTypeAudio {
		for _, ext := range receiver.GetParameters().HeaderExtensions {
			if ext.URI == AudioLevelURI {
				levelID = uint8(ext.ID)
			}
		}
	}
	codec, _ := VideoCodecOfMimeType(track.Codec().MimeType)
	c := newTrackCounter(track.ID(), track.StreamID(), track.Kind(), codec, levelID)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.tracks = append(s.tracks, c)
	onTrack := s.onTrack
	s.wg.Add(1)
	s.mu.Unlock()
	// OnTrack runs on pion's goroutine; the read loop is ours and ends with the track.
	defer s.wg.Done()
	if onTrack != nil {
		onTrack(c.snapshot())
	}
	s.readTrack(track, c)
}

// keyframeRequestInterval spaces the PLIs of a video track that has not had a keyframe.
const keyframeRequestInterval = 300 * time.Millisecond

func (s *Subscriber) readTrack(track *webrtc.TrackRemote, c *trackCounter) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	// Like a decoder, a video track that starts without a keyframe asks for one.
	waitingKeyframe := track.Kind() == webrtc.RTPCodecTypeVideo
	var lastPLI time.Time
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			c.end(errors.Is(err, io.EOF))
			s.log.Debug("track read ended", "track", track.ID(), "stream", track.StreamID(), "err", err)
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			c.badPacket()
			continue
		}
		now := time.Now()
		if c.add(&pkt, now) {
			waitingKeyframe = false
		}
		if waitingKeyframe && now.Sub(lastPLI) >= keyframeRequestInterval {
			lastPLI = now
			pli := []rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(track.SSRC())}}
			if err := s.pc.WriteRTCP(pli); err == nil {
				c.pliSent()
			}
		}
	}
}
