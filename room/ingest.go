package room

import (
	"context"
	"fmt"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/sfu"
)

// Ingest participants (WHIP publishers, signaling/whip.go) have no signaling channel
// after their answer: they need the answer with the server's candidates in it, and the
// server must notice on its own when their PeerConnection fails or closes.

// PublisherStateObserver is implemented by a Signaller that wants the state changes of
// the participant's current publisher PeerConnection (called on pion's goroutine, never
// under a room lock).
type PublisherStateObserver interface {
	PublisherState(state webrtc.PeerConnectionState)
}

// GatheredPublisherAnswer waits until the publisher Peer gathered its ICE candidates for
// the last answer (HandlePublisherOffer) and returns that answer with them (ctx bounds
// the wait). ErrNotNegotiated before the first offer, ErrParticipantLeft after Leave.
func (p *Participant) GatheredPublisherAnswer(ctx context.Context) (webrtc.SessionDescription, error) {
	pub, _, err := p.currentPeers()
	if err == nil && pub == nil {
		err = ErrNotNegotiated
	}
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("publisher answer of %q: %w", p.userID, err)
	}
	answer, err := pub.GatheredLocalDescription(ctx)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("publisher answer of %q: %w", p.userID, err)
	}
	return answer, nil
}

// observePublisherState tells the Signaller, when it is a PublisherStateObserver, the
// states of pub while it is the current publisher Peer.
func (p *Participant) observePublisherState(pub *sfu.Peer, current func() bool) {
	obs, ok := p.sig.(PublisherStateObserver)
	pub.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		p.connectionStateChanged(state)
		if ok && current() {
			obs.PublisherState(state)
		}
	})
}
