package room

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/parley-rtc/parley/sfu"
	"github.com/pion/webrtc/v4"
)

// Participant is one user in one room, with a publisher Peer (the client offers and
// sends) and a subscriber Peer (the server offers what the user receives).
type Participant struct {
	userID string
	rights Rights // fixed at Join
	sig    Signaller
	log    *slog.Logger
	engine *sfu.Engine

	// room is set once by Room.add, before any callback can need it.
	room *Room

	// activePub is pub while the participant is in the room (nil after Leave): the Peers'
	// callbacks compare it with their own publisher without taking room.mu.
	activePub atomic.Pointer[sfu.Peer]

	// Guarded by room.mu.
	pub            *sfu.Peer // replaced when the client offers from a new PeerConnection (renewPeers)
	sub            *sfu.Peer // replaced together with pub
	left           bool
	joinedReported bool
	joinedAt       time.Time // when joinedReported turned true
	audioMuted     bool
	videoMuted     bool
	published      map[*sfu.Receiver]TrackKind      // this participant's tracks
	downTracks     map[*sfu.Receiver]*sfu.DownTrack // others' tracks on this subscriber Peer
	wantVideo      map[string]bool                  // StartRemoteView targets, by userId
	wantSize       map[string]VideoSize             // wanted video size, by userId (quality.go)
}

func newParticipant(m *Manager, userID string, rights Rights, sig Signaller) (*Participant, error) {
	p := &Participant{
		userID:     userID,
		rights:     rights,
		sig:        sig,
		log:        m.log.With("user", userID),
		engine:     m.engine,
		published:  make(map[*sfu.Receiver]TrackKind),
		downTracks: make(map[*sfu.Receiver]*sfu.DownTrack),
		wantVideo:  make(map[string]bool),
		wantSize:   make(map[string]VideoSize),
	}
	pub, sub, err := p.newPeers()
	if err != nil {
		return nil, err
	}
	p.pub, p.sub = pub, sub
	p.activePub.Store(pub)
	return p, nil
}

// newPeers makes a publisher and a subscriber Peer wired to this participant. Their
// callbacks do nothing once the pair has been replaced (renewPeers) or closed.
func (p *Participant) newPeers() (pub, sub *sfu.Peer, err error) {
	pub, err = p.engine.NewPeer(sfu.PeerOptions{ID: p.userID, Role: sfu.RolePublisher})
	if err != nil {
		return nil, nil, fmt.Errorf("publisher peer: %w", err)
	}
	sub, err = p.engine.NewPeer(sfu.PeerOptions{ID: p.userID, Role: sfu.RoleSubscriber})
	if err != nil {
		_ = pub.Close()
		return nil, nil, fmt.Errorf("subscriber peer: %w", err)
	}
	current := func() bool { return p.activePub.Load() == pub }
	pub.OnICECandidate(func(c webrtc.ICECandidateInit) {
		if current() {
			p.sig.SendCandidate(TargetPublisher, c)
		}
	})
	sub.OnICECandidate(func(c webrtc.ICECandidateInit) {
		if current() {
			p.sig.SendCandidate(TargetSubscriber, c)
		}
	})
	pub.OnConnectionStateChange(p.connectionStateChanged)
	sub.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		if state == webrtc.PeerConnectionStateFailed && current() {
			// The client's network changed or broke: offer new ICE credentials, which
			// gathers afresh on both sides (the client restarts its publisher itself).
			p.log.Info("subscriber connection failed, restarting ICE")
			sub.RestartICE()
		}
		p.connectionStateChanged(state)
	})
	// A client that restarts ICE on its publisher (network change) needs new candidates on
	// the subscriber too, and only the server can offer them there.
	pub.OnICERestart(sub.RestartICE)
	pub.OnTrack(p.trackPublished)
	sub.OnNegotiationNeeded(func() {
		if current() {
			p.negotiateSubscriber(sub)
		}
	})
	return pub, sub, nil
}

// peers returns the current publisher and subscriber Peers.
func (p *Participant) peers() (pub, sub *sfu.Peer) {
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.pub, p.sub
}

// Rights are what the participant may do in the room.
func (p *Participant) Rights() Rights { return p.rights }

// UserID is the participant's user ID.
func (p *Participant) UserID() string { return p.userID }

// Room is the participant's room.
func (p *Participant) Room() *Room { return p.room }

// HandlePublisherOffer applies the client's offer on the publisher Peer and returns the
// answer. Local candidates flow through Signaller.SendCandidate from now on, possibly
// before the caller has sent the answer: clients queue remote candidates until their
// remote description is set. An offer from a new client PeerConnection (the client closed
// its pair and made new ones) first replaces both Peers (renewPeers).
func (p *Participant) HandlePublisherOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	if p.hasLeft() {
		return webrtc.SessionDescription{}, fmt.Errorf("publisher offer from %q: %w", p.userID, ErrParticipantLeft)
	}
	pub, _ := p.peers()
	if pub.IsOtherSession(offer) {
		if err := p.renewPeers(); err != nil {
			return webrtc.SessionDescription{}, fmt.Errorf("publisher offer from %q: %w", p.userID, err)
		}
		pub, _ = p.peers()
	}
	answer, err := pub.HandleOffer(offer)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("publisher offer from %q: %w", p.userID, err)
	}
	pub.MarkLocalDescriptionSent()
	return answer, nil
}

// renewPeers replaces both Peers with new ones for a client that made new
// PeerConnections: the old publisher's tracks end (others see them unpublished), the new
// subscriber Peer gets every track the old one forwarded and offers them afresh.
func (p *Participant) renewPeers() error {
	pub, sub, err := p.newPeers()
	if err != nil {
		return fmt.Errorf("renew peers: %w", err)
	}
	r := p.room
	r.mu.Lock()
	if p.left {
		r.mu.Unlock()
		return errors.Join(ErrParticipantLeft, pub.Close(), sub.Close())
	}
	oldPub, oldSub := p.pub, p.sub
	p.pub, p.sub = pub, sub
	p.activePub.Store(pub)
	forwarded := make([]*sfu.Receiver, 0, len(p.downTracks))
	for rcv := range p.downTracks {
		forwarded = append(forwarded, rcv)
	}
	p.downTracks = make(map[*sfu.Receiver]*sfu.DownTrack) // the old subscriber's Close stops them
	for _, rcv := range forwarded {
		p.subscribeLocked(rcv)
	}
	r.mu.Unlock()
	p.log.Info("client made new PeerConnections: peers renewed")
	// Closing the old publisher ends its Receivers; trackEnded unpublishes them.
	if err := errors.Join(oldPub.Close(), oldSub.Close()); err != nil {
		p.log.Debug("close replaced peers", "err", err)
	}
	return nil
}

// HandleSubscriberAnswer applies the client's answer to the last subscriber offer.
func (p *Participant) HandleSubscriberAnswer(answer webrtc.SessionDescription) error {
	if p.hasLeft() {
		return fmt.Errorf("subscriber answer from %q: %w", p.userID, ErrParticipantLeft)
	}
	_, sub := p.peers()
	if err := sub.HandleAnswer(answer); err != nil {
		return fmt.Errorf("subscriber answer from %q: %w", p.userID, err)
	}
	return nil
}

// AddICECandidate adds a client candidate to the target Peer.
func (p *Participant) AddICECandidate(target Target, c webrtc.ICECandidateInit) error {
	if p.hasLeft() {
		return fmt.Errorf("candidate from %q: %w", p.userID, ErrParticipantLeft)
	}
	pub, sub := p.peers()
	var err error
	switch target {
	case TargetPublisher:
		err = pub.AddICECandidate(c)
	case TargetSubscriber:
		err = sub.AddICECandidate(c)
	default:
		return fmt.Errorf("candidate from %q for %v: %w", p.userID, target, ErrInvalidTarget)
	}
	if err != nil {
		return fmt.Errorf("candidate from %q for %v: %w", p.userID, target, err)
	}
	return nil
}

// StartRemoteView subscribes to publisherUserID's video, now if it publishes and
// whenever it (re)publishes later, until StopRemoteView.
func (p *Participant) StartRemoteView(publisherUserID string) error {
	return p.setRemoteView(publisherUserID, true)
}

// StopRemoteView unsubscribes from publisherUserID's video.
func (p *Participant) StopRemoteView(publisherUserID string) error {
	return p.setRemoteView(publisherUserID, false)
}

func (p *Participant) setRemoteView(publisherUserID string, view bool) error {
	if publisherUserID == p.userID {
		return fmt.Errorf("remote view of %q by itself: %w", p.userID, ErrOwnTracks)
	}
	if publisherUserID == "" {
		return fmt.Errorf("remote view by %q: %w", p.userID, ErrInvalidUserID)
	}
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.left {
		return fmt.Errorf("remote view by %q: %w", p.userID, ErrParticipantLeft)
	}
	if view {
		if err := p.admitWishLocked(publisherUserID); err != nil {
			return err
		}
		p.wantVideo[publisherUserID] = true
	} else {
		delete(p.wantVideo, publisherUserID)
		delete(p.wantSize, publisherUserID)
	}
	publisher := r.findLocked(publisherUserID)
	if publisher == nil {
		return nil
	}
	var errs []error
	for rcv, kind := range publisher.published {
		if kind != KindVideo {
			continue
		}
		if view {
			p.subscribeLocked(rcv)
		} else if err := p.unsubscribeLocked(rcv); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// SetMuted records the mute state of the participant's kind track and reports a change.
func (p *Participant) SetMuted(kind TrackKind, muted bool) {
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.left {
		return
	}
	state := &p.audioMuted
	if kind == KindVideo {
		state = &p.videoMuted
	} else if kind != KindAudio {
		return
	}
	if *state == muted {
		return
	}
	*state = muted
	user := p.userID
	r.emitLocked(func(l Listener, id ID) { l.TrackMuted(id, user, kind, muted) })
}

// Leave unpublishes the participant's tracks (subscribers see them end), closes both
// Peers and removes it from the room. Idempotent.
func (p *Participant) Leave() error {
	r := p.room
	r.mu.Lock()
	if p.left {
		r.mu.Unlock()
		return nil
	}
	p.left = true
	p.activePub.Store(nil)
	p.downTracks = make(map[*sfu.Receiver]*sfu.DownTrack) // the subscriber Peer's Close stops them
	r.mu.Unlock()

	// Closing the publisher ends its Receivers; their OnClose callbacks (trackEnded) take
	// the room lock, remove the DownTracks from the others and report TrackUnpublished.
	err := p.closePeers()

	r.mu.Lock()
	// A Receiver's OnClose may still be on its way (the sfu runs it after Close returns):
	// unpublish here so TrackUnpublished always precedes ParticipantLeft.
	for rcv, kind := range p.published {
		p.unpublishLocked(rcv, kind)
	}
	r.removeLocked(p)
	if p.joinedReported {
		user := p.userID
		r.emitLocked(func(l Listener, id ID) { l.ParticipantLeft(id, user) })
	}
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("leave room %s as %q: %w", r.id, p.userID, err)
	}
	return nil
}

func (p *Participant) closePeers() error {
	pub, sub := p.peers()
	return errors.Join(pub.Close(), sub.Close())
}

func (p *Participant) hasLeft() bool {
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.left
}

// subscribeLocked adds rcv to this participant's subscriber Peer unless it is there
// already. Caller holds room.mu.
func (p *Participant) subscribeLocked(rcv *sfu.Receiver) {
	if p.left || !p.rights.Subscribe {
		return
	}
	if _, ok := p.downTracks[rcv]; ok {
		return
	}
	dt, err := p.sub.AddDownTrack(rcv)
	if err != nil {
		// The track ended or this Peer closed meanwhile: nothing to forward.
		p.log.Debug("add down track", "track", rcv.TrackID(), "publisher", rcv.StreamID(), "err", err)
		return
	}
	p.downTracks[rcv] = dt
	p.applyWantedSizeLocked(dt)
}

// unsubscribeLocked removes rcv from this participant's subscriber Peer. Caller holds
// room.mu.
func (p *Participant) unsubscribeLocked(rcv *sfu.Receiver) error {
	dt, ok := p.downTracks[rcv]
	if !ok {
		return nil
	}
	delete(p.downTracks, rcv)
	if err := p.sub.RemoveDownTrack(dt); err != nil {
		return fmt.Errorf("stop forwarding %s of %q to %q: %w", rcv.TrackID(), rcv.StreamID(), p.userID, err)
	}
	return nil
}

// trackPublished is the publisher Peer's OnTrack callback (pion's track goroutine).
func (p *Participant) trackPublished(rcv *sfu.Receiver) {
	kind := kindOf(rcv.Kind())
	r := p.room
	r.mu.Lock()
	if p.left {
		r.mu.Unlock()
		_ = rcv.Close()
		return
	}
	p.reportJoinedLocked()
	if !p.rights.Publish {
		// No publish right: the track is not forwarded and nobody hears of it.
		r.mu.Unlock()
		p.log.Info("track refused: no publish right", "track", rcv.TrackID(), "kind", kind.String())
		_ = rcv.Close()
		return
	}
	p.published[rcv] = kind
	r.publishedLocked(p, rcv, kind)
	user := p.userID
	r.emitLocked(func(l Listener, id ID) { l.TrackPublished(id, user, kind) })
	r.mu.Unlock()
	p.log.Debug("track published", "track", rcv.TrackID(), "kind", kind.String())
	rcv.OnWantedLayers(func(wanted []sfu.WantedLayer) { r.wantedLayersChanged(user, wanted) }) // quality.go
	// Registered after the bookkeeping: runs at once if the track already ended.
	rcv.OnClose(func() { p.trackEnded(rcv, kind) })
}

// trackEnded runs once when a published track ends (its Receiver already removed its
// DownTracks from the subscribers' Peers).
func (p *Participant) trackEnded(rcv *sfu.Receiver, kind TrackKind) {
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	p.unpublishLocked(rcv, kind)
}

// unpublishLocked forgets the published track rcv and reports it, once. Caller holds
// room.mu.
func (p *Participant) unpublishLocked(rcv *sfu.Receiver, kind TrackKind) {
	r := p.room
	if _, ok := p.published[rcv]; !ok {
		return
	}
	delete(p.published, rcv)
	for _, other := range r.participants {
		delete(other.downTracks, rcv)
	}
	user := p.userID
	r.emitLocked(func(l Listener, id ID) { l.TrackUnpublished(id, user, kind) })
}

func (p *Participant) connectionStateChanged(state webrtc.PeerConnectionState) {
	p.log.Debug("peer connection state", "state", state.String())
	if state != webrtc.PeerConnectionStateConnected {
		return
	}
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if !p.left {
		p.reportJoinedLocked()
	}
}

// reportJoinedLocked reports ParticipantJoined once, before any other event of this
// participant. Caller holds room.mu.
func (p *Participant) reportJoinedLocked() {
	if p.joinedReported {
		return
	}
	p.joinedReported = true
	p.joinedAt = time.Now()
	p.room.joinedReports++
	user := p.userID
	p.room.emitLocked(func(l Listener, id ID) { l.ParticipantJoined(id, user) })
}

// negotiateSubscriber is the subscriber Peer's OnNegotiationNeeded callback: offer, send,
// then release the candidates held back until the offer was on the wire.
func (p *Participant) negotiateSubscriber(sub *sfu.Peer) {
	offer, err := sub.CreateOffer()
	if err != nil {
		if !errors.Is(err, sfu.ErrPeerClosed) && !errors.Is(err, sfu.ErrOfferPending) {
			p.log.Warn("subscriber offer", "err", err)
		}
		return
	}
	p.sig.SendSubscriberOffer(offer)
	sub.MarkLocalDescriptionSent()
}
