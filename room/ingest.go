package room

import (
	"context"
	"errors"
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
func (p *Participant) observePublisherState(pub publisherPeer, current func() bool) {
	obs, ok := p.sig.(PublisherStateObserver)
	pub.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		p.connectionStateChanged(state)
		if ok && current() {
			obs.PublisherState(state)
		}
	})
}

// ErrNothingPublished: the user is not in the room, or publishes nothing there (yet).
var ErrNothingPublished = errors.New("user publishes nothing in the room")

// Viewers (WHEP, signaling/whip.go) receive one publisher's tracks on a PeerConnection
// of their own, outside the room's membership: nobody hears of them and the room's
// subscription rules do not apply. They take the tracks published when they start.

// PublishedTracks returns the tracks userID publishes in room id (audio before video),
// or ErrNothingPublished. An early participant's held tracks are not published.
func (m *Manager) PublishedTracks(id ID, userID string) ([]*sfu.Receiver, error) {
	r, ok := m.Room(id)
	if !ok {
		return nil, fmt.Errorf("tracks of %q in room %s: %w", userID, id, ErrNothingPublished)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*sfu.Receiver
	if p := r.findLocked(userID); p != nil && !p.left {
		for _, kind := range []TrackKind{KindAudio, KindVideo} {
			for rcv, k := range p.published {
				if r, ok := rcv.(*sfu.Receiver); ok && k == kind {
					out = append(out, r)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("tracks of %q in room %s: %w", userID, id, ErrNothingPublished)
	}
	return out, nil
}

// AwaitsVideo reports whether userID in room id announced video that is not published yet:
// its publisher PeerConnection's offer sends a video section and no video track of it
// arrived. A viewer that started now would miss it (WHEP waits for it, docs/whip.md).
func (m *Manager) AwaitsVideo(id ID, userID string) bool {
	r, ok := m.Room(id)
	if !ok {
		return false
	}
	r.mu.Lock()
	p := r.findLocked(userID)
	if p == nil || p.left {
		r.mu.Unlock()
		return false
	}
	for _, k := range p.published {
		if k == KindVideo {
			r.mu.Unlock()
			return false
		}
	}
	r.mu.Unlock()
	pub, _, err := p.currentPeers()
	return err == nil && pub != nil && pub.RemoteSends(webrtc.RTPCodecTypeVideo)
}

// NewViewerPeer makes a Subscriber for a viewer (sfu.Subscriber.AnswerViewer); the caller
// owns and closes it.
func (m *Manager) NewViewerPeer(viewerID string) (*sfu.Subscriber, error) {
	if m.engine == nil {
		return nil, fmt.Errorf("viewer peer: %w", sfu.ErrNotStarted)
	}
	peer, err := m.engine.NewSubscriber(sfu.SubscriberOptions{ID: viewerID})
	if err != nil {
		return nil, fmt.Errorf("viewer peer: %w", err)
	}
	return peer, nil
}
