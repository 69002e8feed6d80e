package room

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/parley-rtc/parley/sfu"
	"github.com/pion/webrtc/v4"
)

// What the room needs of the media plane, as small interfaces owned here (D85): the
// participants, subscriptions, remote views, reports and early rooms run on them, so room
// tests can drive them with fakes (fakes_test.go) and no PeerConnection. In a server they
// are the sfu's types: *sfu.Receiver is an upTrack, *sfu.DownTrack a downTrack, and
// sfuPublisher and sfuSubscriber below adapt sfu.Publisher and sfu.Subscriber, whose
// methods take and return the sfu's concrete track types.

// upTrack is one published track (sfu.Receiver).
type upTrack interface {
	TrackID() string
	StreamID() string
	Kind() webrtc.RTPCodecType
	Simulcast() bool
	Stats() sfu.UplinkStats
	Volume(now time.Time) int
	SetMuted(muted bool)
	OnWantedLayers(f func([]sfu.WantedLayer))
	OnClose(f func()) (cancel func())
	Close() error
}

// downTrack is one published track sent to one subscriber (sfu.DownTrack).
type downTrack interface {
	StreamID() string
	SetWantedSize(width, height int)
	CurrentLayer() int
	TargetLayer() int
	OnFirstPacketSent(f func(at time.Time))
}

// mediaPeer is what both of a participant's PeerConnections offer: trickle ICE, state
// and close.
type mediaPeer interface {
	AddICECandidate(c webrtc.ICECandidateInit) error
	OnICECandidate(f func(webrtc.ICECandidateInit))
	MarkLocalDescriptionSent()
	OnConnectionStateChange(f func(webrtc.PeerConnectionState))
	OnConnectStep(f func(step string)) // sfu.StepICEConnected, sfu.StepDTLSConnected
	ConnectionState() webrtc.PeerConnectionState
	Close() error
}

// publisherPeer is the PeerConnection the client offers on and publishes with
// (sfu.Publisher).
type publisherPeer interface {
	mediaPeer
	HandleOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, error)
	IsOtherSession(offer webrtc.SessionDescription) bool
	GatheredLocalDescription(ctx context.Context) (webrtc.SessionDescription, error)
	OnICERestart(f func())
	OnTrack(f func(upTrack))
	Tracks() []upTrack
	// RemoteSends reports whether the client's offer sends a section of kind (a track of
	// it is coming before its first packet).
	RemoteSends(kind webrtc.RTPCodecType) bool
}

// subscriberPeer is the PeerConnection the server offers the participant's down tracks
// on (sfu.Subscriber).
type subscriberPeer interface {
	mediaPeer
	CreateOffer() (webrtc.SessionDescription, error)
	HandleAnswer(answer webrtc.SessionDescription) error
	OnNegotiationNeeded(f func())
	HoldNegotiation() (release func())
	RestartICE()
	AddDownTrack(t upTrack) (downTrack, error)
	RemoveDownTrack(d downTrack) error
	DownlinkStats() sfu.DownlinkStats
}

// peerFactory builds a participant's Peers and screens candidates for Peers not built
// yet (the sfu.Engine through enginePeers).
type peerFactory interface {
	NewPublisher(id string) (publisherPeer, error)
	// NewSubscriber builds a subscriber Peer; preConnect negotiates at once, with the
	// sections reserve names (sfu.SubscriberOptions).
	NewSubscriber(id string, preConnect bool, reserve []sfu.ReservedSection) (subscriberPeer, error)
	ScreenCandidate(candidate string) error
}

// errForeignTrack: a track of another implementation than the Peer's (a bug, never
// input).
var errForeignTrack = errors.New("track of another media plane")

// enginePeers is the peerFactory of a server: the sfu.Engine.
type enginePeers struct{ engine *sfu.Engine }

func (e enginePeers) NewPublisher(id string) (publisherPeer, error) {
	if e.engine == nil {
		return nil, sfu.ErrNotStarted
	}
	pub, err := e.engine.NewPublisher(id)
	if err != nil {
		return nil, err
	}
	return sfuPublisher{pub}, nil
}

func (e enginePeers) NewSubscriber(id string, preConnect bool, reserve []sfu.ReservedSection) (subscriberPeer, error) {
	if e.engine == nil {
		return nil, sfu.ErrNotStarted
	}
	sub, err := e.engine.NewSubscriber(sfu.SubscriberOptions{ID: id, PreConnect: preConnect, Reserve: reserve})
	if err != nil {
		return nil, err
	}
	return sfuSubscriber{sub}, nil
}

func (e enginePeers) ScreenCandidate(candidate string) error {
	if e.engine == nil {
		return nil
	}
	return e.engine.ScreenCandidate(candidate)
}

// sfuPublisher adapts sfu.Publisher: its tracks are *sfu.Receiver.
type sfuPublisher struct{ *sfu.Publisher }

func (p sfuPublisher) OnTrack(f func(upTrack)) {
	p.Publisher.OnTrack(func(r *sfu.Receiver) { f(r) })
}

func (p sfuPublisher) Tracks() []upTrack {
	receivers := p.Receivers()
	out := make([]upTrack, len(receivers))
	for i, r := range receivers {
		out[i] = r
	}
	return out
}

// sfuSubscriber adapts sfu.Subscriber: it sends *sfu.Receiver tracks as *sfu.DownTrack.
type sfuSubscriber struct{ *sfu.Subscriber }

func (s sfuSubscriber) AddDownTrack(t upTrack) (downTrack, error) {
	r, ok := t.(*sfu.Receiver)
	if !ok {
		return nil, fmt.Errorf("add down track %s: %w", t.TrackID(), errForeignTrack)
	}
	d, err := s.Subscriber.AddDownTrack(r)
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (s sfuSubscriber) RemoveDownTrack(d downTrack) error {
	dt, ok := d.(*sfu.DownTrack)
	if !ok {
		return fmt.Errorf("remove down track of %s: %w", d.StreamID(), errForeignTrack)
	}
	return s.Subscriber.RemoveDownTrack(dt)
}

// activePeer holds a participant's current Peer of one kind for lock-free comparison by
// the Peers' callbacks (nil: none).
type activePeer[T comparable] struct{ v atomic.Value }

type peerBox[T comparable] struct{ peer T }

func (a *activePeer[T]) Store(peer T) { a.v.Store(peerBox[T]{peer}) }

func (a *activePeer[T]) Load() T {
	b, _ := a.v.Load().(peerBox[T])
	return b.peer
}
