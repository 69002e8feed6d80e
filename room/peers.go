package room

import (
	"errors"
	"fmt"

	"github.com/parley-rtc/parley/sfu"
	"github.com/pion/webrtc/v4"
)

// A participant's Peers are built when needed, never at Join, and never under room.mu
// (a PeerConnection is built first, then room.mu is taken to install it, re-checking
// that the participant is still there):
//   - the client's first publisher offer builds both Peers (HandlePublisherOffer), the
//     subscriber one pre-connected when the participant is early (sfu
//     SubscriberOptions.PreConnect: ICE and DTLS come up before it receives anything, with
//     sections reserved for the media it expects, JoinOptions.Expect);
//   - a participant that has none when the room has something to send it (another's
//     audio, a video it views) gets a subscriber Peer built in the background
//     (requestSubscriberLocked): clients that receive only never offer (client.StartMedia
//     without audio or video; the browser SDK without open devices), they answer the
//     server's offer;
//   - an offer from a new client PeerConnection replaces both (renew).
//
// Until then nothing is subscribed: the subscriber Peer, once installed, gets everything
// the room forwards to the participant (subscribeAllLocked), as renewed Peers do. A user
// who never negotiates in a room where nobody publishes costs no PeerConnection.

// publisherFor returns the publisher Peer that takes offer: the current one, or new Peers
// at the first offer and for an offer from a new client PeerConnection.
func (p *Participant) publisherFor(offer webrtc.SessionDescription) (publisherPeer, error) {
	pub, sub, err := p.currentPeers()
	switch {
	case err != nil:
		return nil, err
	case pub == nil:
		return p.buildPeers(false, sub == nil)
	case pub.IsOtherSession(offer):
		return p.buildPeers(true, true)
	}
	return pub, nil
}

// buildPeers builds a publisher Peer, and a subscriber Peer when withSub, and installs
// them: at the first offer beside a subscriber Peer that exists already, or in place of
// both (renew: the client made new PeerConnections; the old publisher's tracks end,
// others see them unpublished, the new subscriber Peer gets everything the old one
// forwarded and offers it afresh).
func (p *Participant) buildPeers(renew, withSub bool) (publisherPeer, error) {
	r := p.room
	r.mu.Lock()
	preConnect := p.early
	r.mu.Unlock()
	var reserve []sfu.ReservedSection
	if preConnect {
		reserve = p.reserve
	}
	pub, err := p.newPublisherPeer()
	if err != nil {
		return nil, err
	}
	var sub subscriberPeer
	if withSub {
		if sub, err = p.newSubscriberPeer(preConnect, reserve); err != nil {
			return nil, errors.Join(err, pub.Close())
		}
	}

	r.mu.Lock()
	if p.left {
		r.mu.Unlock()
		return nil, errors.Join(ErrParticipantLeft, closePeers(pub, sub))
	}
	if !renew && p.pub != nil { // another offer installed Peers meanwhile: use them
		current := p.pub
		r.mu.Unlock()
		_ = closePeers(pub, sub)
		return current, nil
	}
	stalePub, staleSub := p.pub, sub // sub: one was built in the background meanwhile
	p.pub = pub
	p.activePub.Store(pub)
	installSub := sub != nil && (renew || p.sub == nil)
	if installSub {
		staleSub = p.sub
		p.downTracks = make(map[upTrack]downTrack) // the old subscriber's Close stops them
		p.installSubLocked(sub)
	}
	r.mu.Unlock()
	if installSub {
		p.watchNegotiation(sub)
	}
	if renew {
		p.log().Info("client made new PeerConnections: peers renewed")
	}
	// Closing the old publisher ends its Receivers; trackEnded unpublishes them.
	if err := closePeers(stalePub, staleSub); err != nil {
		p.log().Debug("close replaced peers", "err", err)
	}
	return pub, nil
}

// requestSubscriberLocked builds a subscriber Peer in the background for a participant
// the room has something to send to and that has none (and is not early: it receives
// nothing). Caller holds room.mu.
func (p *Participant) requestSubscriberLocked() {
	if p.sub != nil || p.subBuilding || p.left || p.early || !p.rights.Subscribe {
		return
	}
	p.subBuilding = true
	m := p.room.manager
	m.builds.Add(1) // before Manager.Close waits: p has not left, and Close makes it leave first
	go func() {
		defer m.builds.Done()
		p.buildSubscriber()
	}()
}

// buildSubscriber is the background build of requestSubscriberLocked.
func (p *Participant) buildSubscriber() {
	sub, err := p.newSubscriberPeer(false, nil)
	r := p.room
	r.mu.Lock()
	p.subBuilding = false
	if err != nil {
		r.mu.Unlock()
		if !errors.Is(err, sfu.ErrEngineClosed) {
			p.log().Warn("build subscriber peer", "err", err)
		}
		return
	}
	if p.left || p.sub != nil {
		r.mu.Unlock()
		_ = sub.Close()
		return
	}
	p.installSubLocked(sub)
	r.mu.Unlock()
	p.watchNegotiation(sub)
}

// installSubLocked makes sub the participant's subscriber Peer and subscribes it to
// everything the room forwards to the participant. Caller holds room.mu; the caller
// then calls watchNegotiation without it.
func (p *Participant) installSubLocked(sub subscriberPeer) {
	p.sub = sub
	p.activeSub.Store(sub)
	p.subscribeAllLocked()
}

// watchNegotiation makes sub offer whenever its DownTracks change (and now, when
// subscribeAllLocked added some or it pre-connects), while it is the current one. Set
// after installSubLocked so that no offer goes out for a Peer that is not installed.
func (p *Participant) watchNegotiation(sub subscriberPeer) {
	sub.OnNegotiationNeeded(func() {
		if p.activeSub.Load() == sub {
			p.negotiateSubscriber(sub)
		}
	})
}

// newPublisherPeer makes a publisher Peer wired to this participant; its callbacks do
// nothing once it is no longer the current one.
func (p *Participant) newPublisherPeer() (publisherPeer, error) {
	pub, err := p.peers.NewPublisher(p.userID)
	if err != nil {
		return nil, fmt.Errorf("publisher peer: %w", err)
	}
	current := func() bool { return p.activePub.Load() == pub }
	p.sendCandidates(pub, TargetPublisher, current)
	p.observePublisherState(pub, current) // ingest.go: connectionStateChanged, and the Signaller when it observes
	// A client that restarts ICE on its publisher (network change) needs new candidates
	// on the subscriber too, and only the server can offer them there.
	pub.OnICERestart(func() {
		if sub := p.activeSub.Load(); sub != nil && current() {
			sub.RestartICE()
		}
	})
	pub.OnTrack(p.trackPublished)
	p.watchConnectSteps(pub, "publisher")
	return pub, nil
}

// newSubscriberPeer makes a subscriber Peer wired to this participant (OnNegotiationNeeded
// comes with watchNegotiation); its callbacks do nothing once it is no longer the current
// one.
func (p *Participant) newSubscriberPeer(preConnect bool, reserve []sfu.ReservedSection) (subscriberPeer, error) {
	sub, err := p.peers.NewSubscriber(p.userID, preConnect, reserve)
	if err != nil {
		return nil, fmt.Errorf("subscriber peer: %w", err)
	}
	current := func() bool { return p.activeSub.Load() == sub }
	p.sendCandidates(sub, TargetSubscriber, current)
	sub.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		if state == webrtc.PeerConnectionStateFailed && current() {
			// The client's network changed or broke: offer new ICE credentials, which
			// gathers afresh on both sides (the client restarts its publisher itself).
			p.log().Info("subscriber connection failed, restarting ICE")
			sub.RestartICE()
		}
		p.connectionStateChanged(state)
	})
	p.watchConnectSteps(sub, "subscriber")
	return sub, nil
}

// sendCandidates sends peer's local candidates to the client while current() holds.
func (p *Participant) sendCandidates(peer mediaPeer, target Target, current func() bool) {
	peer.OnICECandidate(func(c webrtc.ICECandidateInit) {
		if current() {
			p.sig.SendCandidate(target, c)
		}
	})
}
