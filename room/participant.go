package room

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-rtc/parley/sfu"
	"github.com/pion/webrtc/v4"
)

// Participant is one user in one room, with a publisher Peer (the client offers and
// sends) and a subscriber Peer (the server offers what the user receives), each built
// only when needed (peers.go).
type Participant struct {
	userID string
	rights Rights // fixed at Join
	sig    Signaller
	peers  peerFactory

	// baseLog is the Manager's logger; log() adds the user to it on first use, as most
	// participants (every signaling-only call's) never log (D169).
	baseLog *slog.Logger
	logOnce sync.Once
	userLog *slog.Logger

	// room is set once by Room.add, before any callback can need it.
	room *Room

	// activePub and activeSub are pub and sub while the participant is in the room (nil
	// before they are built and after Leave): the Peers' callbacks compare them with
	// their own Peer without taking room.mu.
	activePub activePeer[publisherPeer]
	activeSub activePeer[subscriberPeer]
	// activatedAt: when Activate made it a normal participant (nil before); read by the
	// timeline (timeline.go) from any goroutine.
	activatedAt atomic.Pointer[time.Time]
	// timeline: the call steps for the Manager's StepObserver (calltimeline.go), atomic.
	timeline callTimeline

	// Guarded by room.mu.
	pub            publisherPeer         // nil until the client's first offer; replaced by buildPeers(renew)
	sub            subscriberPeer        // nil until needed (peers.go); replaced together with pub
	subBuilding    bool                  // a subscriber Peer is being built in the background
	early          bool                  // joined early and not activated yet (early.go)
	reserve        []sfu.ReservedSection // an early participant's expected media (early.go), fixed at Join
	enteredAt      time.Time             // when it joined the room (early.go's timeline), fixed at Join
	connected      bool                  // one of its PeerConnections reached connected
	left           bool
	joinedReported bool
	joinedAt       time.Time // when joinedReported turned true
	audioMuted     bool
	videoMuted     bool
	published      map[upTrack]TrackKind // this participant's tracks
	held           map[upTrack]TrackKind // its tracks that arrived while early
	downTracks     map[upTrack]downTrack // others' tracks on this subscriber Peer
	wantVideo      map[string]bool       // StartRemoteView targets, by userId
	wantSize       map[string]VideoSize  // wanted video size, by userId (quality.go)
}

func newParticipant(m *Manager, userID string, opts JoinOptions, sig Signaller) *Participant {
	return &Participant{
		userID:     userID,
		rights:     opts.Rights,
		sig:        sig,
		baseLog:    m.log,
		peers:      m.peers,
		early:      opts.Early,
		reserve:    reservedSections(userID, opts),
		enteredAt:  time.Now(),
		timeline:   callTimeline{obs: m.steps, user: userID},
		published:  make(map[upTrack]TrackKind),
		held:       make(map[upTrack]TrackKind),
		downTracks: make(map[upTrack]downTrack),
		wantVideo:  make(map[string]bool),
		wantSize:   make(map[string]VideoSize),
	}
}

// log is the participant's logger (the Manager's with the user).
func (p *Participant) log() *slog.Logger {
	p.logOnce.Do(func() { p.userLog = p.baseLog.With("user", p.userID) })
	return p.userLog
}

// Rights are what the participant may do in the room.
func (p *Participant) Rights() Rights { return p.rights }

// UserID is the participant's user ID.
func (p *Participant) UserID() string { return p.userID }

// Room is the participant's room.
func (p *Participant) Room() *Room { return p.room }

// HandlePublisherOffer applies the client's offer on the publisher Peer and returns the
// answer. The first offer builds the participant's Peers (peers.go). Local candidates
// flow through Signaller.SendCandidate from now on, possibly before the caller has sent
// the answer: clients queue remote candidates until their remote description is set. An
// offer from a new client PeerConnection (the client closed its pair and made new ones)
// first replaces both Peers (buildPeers, peers.go).
func (p *Participant) HandlePublisherOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	pub, err := p.publisherFor(offer)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("publisher offer from %q: %w", p.userID, err)
	}
	answer, err := pub.HandleOffer(offer)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("publisher offer from %q: %w", p.userID, p.leftDuring(err))
	}
	pub.MarkLocalDescriptionSent()
	return answer, nil
}

// HandleSubscriberAnswer applies the client's answer to the last subscriber offer;
// ErrNotNegotiated when the server never offered (no subscriber Peer yet).
func (p *Participant) HandleSubscriberAnswer(answer webrtc.SessionDescription) error {
	_, sub, err := p.currentPeers()
	if err == nil && sub == nil {
		err = fmt.Errorf("subscriber: %w", ErrNotNegotiated)
	}
	if err != nil {
		return fmt.Errorf("subscriber answer from %q: %w", p.userID, err)
	}
	if err := sub.HandleAnswer(answer); err != nil {
		return fmt.Errorf("subscriber answer from %q: %w", p.userID, p.leftDuring(err))
	}
	return nil
}

// AddICECandidate adds a client candidate to the target Peer. A publisher candidate
// before the first offer builds the Peers (the client is negotiating) and waits for the
// offer; a subscriber candidate before the server offered is ErrNotNegotiated. A denied
// address is refused either way (sfu.ErrCandidateDenied).
func (p *Participant) AddICECandidate(target Target, c webrtc.ICECandidateInit) error {
	pub, sub, err := p.currentPeers()
	if err != nil {
		return fmt.Errorf("candidate from %q: %w", p.userID, err)
	}
	var peer mediaPeer // nil when the Peer is not built (a nil interface converts to nil)
	switch target {
	case TargetPublisher:
		peer = pub
	case TargetSubscriber:
		peer = sub
	default:
		return fmt.Errorf("candidate from %q for %v: %w", p.userID, target, ErrInvalidTarget)
	}
	if peer == nil {
		if err := p.peers.ScreenCandidate(c.Candidate); err != nil {
			return fmt.Errorf("candidate from %q for %v: %w", p.userID, target, err)
		}
		if target == TargetSubscriber {
			return fmt.Errorf("candidate from %q for %v: %w", p.userID, target, ErrNotNegotiated)
		}
		// A publisher candidate ahead of the offer: the client is negotiating, so its
		// Peers are built now and the candidate waits for the offer (rtc.max_pending_candidates).
		if peer, err = p.buildPeers(false, sub == nil); err != nil {
			return fmt.Errorf("candidate from %q for %v: %w", p.userID, target, err)
		}
	}
	if err := peer.AddICECandidate(c); err != nil {
		return fmt.Errorf("candidate from %q for %v: %w", p.userID, target, p.leftDuring(err))
	}
	return nil
}

// leftDuring is err, or ErrParticipantLeft (naming err) when the participant left while
// the negotiation ran: its Leave closed the Peer under the request (a call that ended
// while its early offer was on the wire), so the failure is the leave, not the SDP (D152).
func (p *Participant) leftDuring(err error) error {
	if _, _, cerr := p.currentPeers(); errors.Is(cerr, ErrParticipantLeft) {
		return fmt.Errorf("%w meanwhile (%v)", ErrParticipantLeft, err)
	}
	return err
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

// checkViewOf refuses a remote view request (what names it in the error) whose
// publisherUserID is p itself (ErrOwnTracks) or empty (ErrInvalidUserID).
func (p *Participant) checkViewOf(what, publisherUserID string) error {
	if publisherUserID == p.userID {
		return fmt.Errorf("%s of %q by itself: %w", what, p.userID, ErrOwnTracks)
	}
	if publisherUserID == "" {
		return fmt.Errorf("%s by %q: %w", what, p.userID, ErrInvalidUserID)
	}
	return nil
}

func (p *Participant) setRemoteView(publisherUserID string, view bool) error {
	if err := p.checkViewOf("remote view", publisherUserID); err != nil {
		return err
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

// SetMuted records the mute state of the participant's kind track and reports a change
// (not while early: nobody hears of an early participant; Room.Participants shows it).
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
	if p.early {
		return
	}
	user := p.userID
	r.emitLocked(func(l Listener, id ID) { l.TrackMuted(id, user, kind, muted) })
}

// Leave unpublishes the participant's tracks (subscribers see them end), closes its
// Peers (none when it never negotiated) and removes it from the room; the last one out
// of a room that closes when empty closes it. Idempotent.
func (p *Participant) Leave() error {
	r := p.room
	r.mu.Lock()
	if p.left {
		r.mu.Unlock()
		return nil
	}
	p.left = true
	p.activePub.Store(nil)
	p.activeSub.Store(nil)
	pub, sub := p.pub, p.sub
	p.downTracks = make(map[upTrack]downTrack) // the subscriber Peer's Close stops them
	r.mu.Unlock()

	// Closing the publisher ends its Receivers; their OnClose callbacks (trackEnded) take
	// the room lock, remove the DownTracks from the others and report TrackUnpublished.
	err := closePeers(pub, sub)

	r.mu.Lock()
	// A Receiver's OnClose may still be on its way (the sfu runs it after Close returns):
	// unpublish here so TrackUnpublished always precedes ParticipantLeft.
	for rcv, kind := range p.published {
		p.unpublishLocked(rcv, kind)
	}
	clear(p.held) // never announced
	closeNow, gen := r.removeLocked(p)
	if p.joinedReported {
		user := p.userID
		r.emitLocked(func(l Listener, id ID) { l.ParticipantLeft(id, user) })
	}
	r.mu.Unlock()
	if closeNow {
		r.manager.closeIfStillEmpty(r, gen)
	}
	if err != nil {
		return fmt.Errorf("leave room %s as %q: %w", r.id, p.userID, err)
	}
	return nil
}

// closePeers closes the Peers that exist.
func closePeers(pub publisherPeer, sub subscriberPeer) error {
	var errs []error
	for _, peer := range []mediaPeer{pub, sub} {
		if peer != nil {
			errs = append(errs, peer.Close())
		}
	}
	return errors.Join(errs...)
}

// currentPeers returns the current Peers (nil until built), ErrParticipantLeft after Leave.
func (p *Participant) currentPeers() (pub publisherPeer, sub subscriberPeer, err error) {
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.left {
		return nil, nil, ErrParticipantLeft
	}
	return p.pub, p.sub, nil
}

// subscribeLocked adds rcv to this participant's subscriber Peer unless it is there
// already; an early participant receives nothing, and one without a subscriber Peer gets
// one built (subscribeAllLocked then adds rcv). Caller holds room.mu.
func (p *Participant) subscribeLocked(rcv upTrack) {
	if p.left || p.early || !p.rights.Subscribe {
		return
	}
	if p.sub == nil {
		p.requestSubscriberLocked()
		return
	}
	if _, ok := p.downTracks[rcv]; ok {
		return
	}
	dt, err := p.sub.AddDownTrack(rcv)
	if err != nil {
		// The track ended or this Peer closed meanwhile: nothing to forward.
		p.log().Debug("add down track", "track", rcv.TrackID(), "publisher", rcv.StreamID(), "err", err)
		return
	}
	p.downTracks[rcv] = dt
	p.applyWantedSizeLocked(dt)
	p.watchFirstPacketSent(dt, rcv)
}

// subscribeAllLocked subscribes the participant to everything the room forwards to it:
// every other participant's published audio, and the video of those it views. Caller
// holds room.mu.
func (p *Participant) subscribeAllLocked() {
	for _, publisher := range p.room.participants {
		if publisher == p {
			continue
		}
		for rcv, kind := range publisher.published {
			if kind == KindAudio || p.wantVideo[publisher.userID] {
				p.subscribeLocked(rcv)
			}
		}
	}
}

// unsubscribeLocked removes rcv from this participant's subscriber Peer. Caller holds
// room.mu.
func (p *Participant) unsubscribeLocked(rcv upTrack) error {
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

// trackPublished is the publisher Peer's OnTrack callback (pion's track goroutine). An
// early participant's track is held until Activate.
func (p *Participant) trackPublished(rcv upTrack) {
	kind := kindOf(rcv.Kind())
	r := p.room
	r.mu.Lock()
	if p.left {
		r.mu.Unlock()
		_ = rcv.Close()
		return
	}
	p.connected = true // a track arrives over a connected PeerConnection
	if !p.early {
		p.reportJoinedLocked()
	}
	if !p.rights.Publish {
		// No publish right: the track is not forwarded and nobody hears of it.
		r.mu.Unlock()
		p.log().Info("track refused: no publish right", "track", rcv.TrackID(), "kind", kind.String())
		_ = rcv.Close()
		return
	}
	early := p.early
	if early {
		p.held[rcv] = kind
	} else {
		p.publishLocked(rcv, kind)
	}
	r.mu.Unlock()
	now := time.Now()
	p.timeline.note(stepFirstRTPIn, now)
	p.timelineStep(StepTrackPublished, now, "kind", kind.String(), "held", early)
	if !early {
		p.watchLayers(rcv)
	}
	// Registered after the bookkeeping: runs at once if the track already ended.
	rcv.OnClose(func() { p.trackEnded(rcv, kind) })
}

// publishLocked makes rcv one of the participant's published tracks: the others get it
// as their wishes say and hear of it. Caller holds room.mu.
func (p *Participant) publishLocked(rcv upTrack, kind TrackKind) {
	r := p.room
	p.published[rcv] = kind
	r.publishedLocked(p, rcv, kind)
	user := p.userID
	r.emitLocked(func(l Listener, id ID) { l.TrackPublished(id, user, kind) })
	p.log().Debug("track published", "track", rcv.TrackID(), "kind", kind.String())
}

// watchLayers reports the simulcast layers of published track rcv that its subscribers
// need (quality.go). Called without room.mu.
func (p *Participant) watchLayers(rcv upTrack) {
	r, user := p.room, p.userID
	rcv.OnWantedLayers(func(wanted []sfu.WantedLayer) { r.wantedLayersChanged(user, wanted) })
}

// trackEnded runs once when a published or held track ends (its Receiver already
// removed its DownTracks from the subscribers' Peers).
func (p *Participant) trackEnded(rcv upTrack, kind TrackKind) {
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(p.held, rcv)
	p.unpublishLocked(rcv, kind)
}

// unpublishLocked forgets the published track rcv and reports it, once. Caller holds
// room.mu.
func (p *Participant) unpublishLocked(rcv upTrack, kind TrackKind) {
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
	p.log().Debug("peer connection state", "state", state.String())
	if state != webrtc.PeerConnectionStateConnected {
		return
	}
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.left {
		return
	}
	p.connected = true
	if !p.early {
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
func (p *Participant) negotiateSubscriber(sub subscriberPeer) {
	offer, err := sub.CreateOffer()
	if err != nil {
		if !errors.Is(err, sfu.ErrPeerClosed) && !errors.Is(err, sfu.ErrOfferPending) {
			p.log().Warn("subscriber offer", "err", err)
		}
		return
	}
	p.sig.SendSubscriberOffer(offer)
	sub.MarkLocalDescriptionSent()
}
