package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/webrtc/v4"
)

// PeerRole says who offers on a PeerConnection.
type PeerRole int

const (
	// RolePublisher: the client offers its tracks, the server answers and receives.
	RolePublisher PeerRole = iota + 1
	// RoleSubscriber: the server offers DownTracks, the client answers and receives.
	RoleSubscriber
)

func (r PeerRole) String() string {
	switch r {
	case RolePublisher:
		return "publisher"
	case RoleSubscriber:
		return "subscriber"
	}
	return fmt.Sprintf("PeerRole(%d)", int(r))
}

// PeerOptions configures NewPeer.
type PeerOptions struct {
	// ID is the participant's ID (userId); a publisher's tracks carry it as StreamID.
	ID   string
	Role PeerRole
	// PreConnect (subscriber role): negotiate at once, before any DownTrack, so that ICE
	// and DTLS are up when the first DownTrack comes (preconnect.go). Without Reserve the
	// offer has one receive-only audio section that never carries media (clients answer
	// it inactive; the first DownTrack then costs one renegotiation and no handshake).
	PreConnect bool
	// Reserve (with PreConnect): the send sections of the first offer, one per expected
	// publisher stream and kind; the first DownTrack of each forwards without
	// renegotiation. At most MaxReservedSections.
	Reserve []ReservedSection
}

// Peer is one PeerConnection of one participant. Callbacks run on pion's goroutines (or
// one short-lived goroutine per negotiation request) and never under the Peer's lock.
type Peer struct {
	id     string
	role   PeerRole
	engine *Engine
	pc     *webrtc.PeerConnection
	logger *slog.Logger
	sender *Sender                        // subscriber role; its slots and goroutine start with the first DownTrack
	remote atomic.Pointer[netip.AddrPort] // rtc.batch_writes: the selected UDP pair's remote address (batchwrite.go)
	bw     *bandwidthController           // subscriber role (bandwidth.go); its goroutine starts with the first DownTrack
	rtcp   *peerRTCP                      // subscriber role: the RTCP queue (rtcpreader.go); its goroutine starts with the first DownTrack

	rtcpTracks atomic.Pointer[[]*DownTrack] // subscriber: the DownTracks, for the RTCP goroutine (copy on write)

	emitMu sync.Mutex // serializes delivery of local ICE candidates, keeping their order

	// mediaReady turns true once SRTP is up: before that pion silently drops what a
	// DownTrack writes, so DownTracks hold back (and video then starts at a keyframe).
	mediaReady atomic.Bool

	mu                sync.Mutex
	closed            bool
	localSent         bool
	pendingLocal      []webrtc.ICECandidateInit
	remoteSet         bool
	pendingRemote     []webrtc.ICECandidateInit
	candidates        remoteCandidates // counted against the caps (candidates.go)
	offerPending      bool
	restartICE        bool         // subscriber: the next offer restarts ICE (RestartICE)
	remoteUfrag       string       // publisher: the ICE username fragment of the last applied offer
	remoteSession     sdpSessionID // publisher: who made the last applied offer
	negotiationNeeded bool         // DownTracks changed since the last offer
	negotiationQueued bool         // a goroutine is about to fire onNegotiationNeeded
	negotiationHolds  int          // HoldNegotiation calls not released yet (negotiationhold.go)
	onICECandidate    func(webrtc.ICECandidateInit)
	onTrack           func(*Receiver)
	onNegotiation     func()
	onState           func(webrtc.PeerConnectionState)
	onICERestart      func()
	downTracks        map[*DownTrack]struct{}
	receivers         map[*Receiver]struct{}
	sending           bool               // subscriber: the Sender's slots and the sending goroutines exist
	reserved          []*reservedSection // subscriber: sections of the pre-connect offer (preconnect.go)
	endedTotals       MediaTotals        // counters of ended Receivers and removed DownTracks (totals.go)

	wg sync.WaitGroup // RTCP goroutines, negotiation goroutines, the Sender
}

func newPeer(e *Engine, api *webrtc.API, cert webrtc.Certificate, opts PeerOptions) (*Peer, error) {
	if opts.Role != RolePublisher && opts.Role != RoleSubscriber {
		return nil, fmt.Errorf("new peer %q: role %v: %w", opts.ID, opts.Role, ErrWrongRole)
	}
	var rtcpQueue *peerRTCP
	if opts.Role == RoleSubscriber { // its own API: RTCP per PeerConnection (rtcpreader.go)
		rtcpQueue = newPeerRTCP()
		api = e.subscriberAPI(rtcpQueue)
	}
	e.buildMu.Lock()
	pc, err := api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{cert}})
	var estimator cc.BandwidthEstimator
	if err == nil {
		estimator = e.estimators.take(pc.ID())
	}
	e.buildMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("new peer %q: %w", opts.ID, err)
	}
	p := &Peer{
		id:         opts.ID,
		role:       opts.Role,
		engine:     e,
		pc:         pc,
		logger:     e.logger.With("peer", opts.ID, "role", opts.Role.String()),
		downTracks: make(map[*DownTrack]struct{}),
		receivers:  make(map[*Receiver]struct{}),
		rtcp:       rtcpQueue,
	}
	p.setRTCPTracksLocked() // empty; nothing else can see p yet
	pc.OnICECandidate(p.handleLocalCandidate)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			p.markMediaReady()
		}
		p.mu.Lock()
		f := p.onState
		p.mu.Unlock()
		if f != nil {
			f(s)
		}
	})
	if opts.Role == RolePublisher {
		pc.OnTrack(p.handleRemoteTrack)
		return p, nil
	}
	p.sender = newIdleSender(e.cfg.SenderQueueSize)
	if e.batch != nil {
		p.sender.afterRun = p.flushWrites
		pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(p.rememberRemote)
	}
	p.bw = newBandwidthController(estimator, allocatorConfig{})
	if opts.PreConnect {
		if err := p.addPreConnectSections(opts.Reserve); err != nil {
			_ = pc.Close()
			return nil, fmt.Errorf("new peer %q: %w", opts.ID, err)
		}
	}
	return p, nil
}

// startSendingLocked gives a subscriber its Sender's slots and starts the Sender, RTCP
// and bandwidth goroutines, once, with its first DownTrack: a subscriber that never
// receives anything costs neither the queue (rtc.sender_queue_size slots) nor the
// goroutines. Caller holds p.mu and has checked that the Peer is open.
func (p *Peer) startSendingLocked() {
	if p.sending {
		return
	}
	p.sending = true
	p.sender.reserve()
	p.wg.Add(3)
	go func() {
		defer p.wg.Done()
		p.sender.run()
	}()
	go p.runBandwidth()
	go p.readRTCP()
}

// markMediaReady runs on pion's state-change goroutine once the PeerConnection is
// connected. The DTLS transport reports Connected under its lock only after the SRTP
// sessions exist, so reading its state waits for them.
func (p *Peer) markMediaReady() {
	if sctp := p.pc.SCTP(); sctp != nil && sctp.Transport() != nil &&
		sctp.Transport().State() != webrtc.DTLSTransportStateConnected {
		return
	}
	p.mediaReady.Store(true)
}

// ID is the participant's ID.
func (p *Peer) ID() string { return p.id }

// Role is publisher or subscriber.
func (p *Peer) Role() PeerRole { return p.role }

// HandleOffer applies a publisher's offer and returns the answer (publisher role).
// Candidates come separately through OnICECandidate once MarkLocalDescriptionSent is called.
// An offer with new ICE credentials restarts ICE: the candidates gathered for it are held
// back until MarkLocalDescriptionSent, and OnICERestart fires once the answer is set.
func (p *Peer) HandleOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	if p.role != RolePublisher {
		return webrtc.SessionDescription{}, fmt.Errorf("handle offer on %s: %w", p.role, ErrWrongRole)
	}
	ufrag, session := iceUfrag(offer.SDP), sdpSession(offer.SDP)
	sdp, candidates, err := p.screenDescription(offer.SDP)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("handle offer: %w", err)
	}
	offer.SDP = sdp
	if err := p.pc.SetRemoteDescription(offer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("handle offer: set remote description: %w", err)
	}
	p.noteRemoteDescription(sdp, candidates)
	p.flushRemoteCandidates()
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("handle offer: create answer: %w", err)
	}
	p.mu.Lock()
	restart := p.remoteUfrag != "" && ufrag != p.remoteUfrag
	if restart {
		p.localSent = false // the restart's candidates follow the answer
	}
	p.mu.Unlock()
	if err := p.pc.SetLocalDescription(answer); err != nil {
		if restart {
			p.MarkLocalDescriptionSent()
		}
		return webrtc.SessionDescription{}, fmt.Errorf("handle offer: set local description: %w", err)
	}
	p.mu.Lock()
	p.remoteUfrag = ufrag
	p.remoteSession = session
	onRestart := p.onICERestart
	p.mu.Unlock()
	if restart {
		p.logger.Debug("publisher restarted ICE")
		if onRestart != nil {
			onRestart()
		}
	}
	return answer, nil
}

// IsOtherSession reports whether offer comes from another PeerConnection than the offers
// this publisher Peer applied so far (another SDP origin session or DTLS fingerprint): the
// client closed its PeerConnection and made a new one, which this Peer cannot serve. False
// before the first offer.
func (p *Peer) IsOtherSession(offer webrtc.SessionDescription) bool {
	p.mu.Lock()
	applied := p.remoteSession
	p.mu.Unlock()
	return applied != (sdpSessionID{}) && sdpSession(offer.SDP) != applied
}

// OnICERestart sets the function called when a publisher's offer restarted ICE (after its
// answer is set), so the other PeerConnection of the same client can restart too.
func (p *Peer) OnICERestart(f func()) {
	p.mu.Lock()
	p.onICERestart = f
	p.mu.Unlock()
}

// RestartICE makes the next offer of a subscriber Peer restart ICE (new credentials, new
// candidates) and asks for that offer now, or after the answer to an outstanding one. A
// publisher Peer is restarted by its client's offer, so there it does nothing.
func (p *Peer) RestartICE() {
	if p.role != RoleSubscriber {
		return
	}
	p.mu.Lock()
	p.restartICE = true
	p.negotiationNeeded = true
	p.scheduleNegotiationLocked()
	p.mu.Unlock()
}

// CreateOffer creates the next offer of a subscriber Peer; the next one can only be
// created after HandleAnswer (ErrOfferPending).
func (p *Peer) CreateOffer() (webrtc.SessionDescription, error) {
	if p.role != RoleSubscriber {
		return webrtc.SessionDescription{}, fmt.Errorf("create offer on %s: %w", p.role, ErrWrongRole)
	}
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return webrtc.SessionDescription{}, fmt.Errorf("create offer: %w", ErrPeerClosed)
	case p.offerPending:
		p.mu.Unlock()
		return webrtc.SessionDescription{}, fmt.Errorf("create offer: %w", ErrOfferPending)
	}
	p.offerPending = true
	p.negotiationNeeded = false
	restart := p.restartICE
	p.restartICE = false
	if restart {
		p.localSent = false // the restart's candidates follow the offer
	}
	p.mu.Unlock()

	var options *webrtc.OfferOptions
	if restart {
		options = &webrtc.OfferOptions{ICERestart: true}
	}
	offer, err := p.pc.CreateOffer(options)
	if err == nil {
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		p.mu.Lock()
		p.offerPending = false
		p.negotiationNeeded = true
		p.restartICE = p.restartICE || restart
		p.mu.Unlock()
		return webrtc.SessionDescription{}, fmt.Errorf("create offer: %w", err)
	}
	return offer, nil
}

// HandleAnswer applies the subscriber's answer to the pending offer; when DownTracks
// changed meanwhile, OnNegotiationNeeded fires again.
func (p *Peer) HandleAnswer(answer webrtc.SessionDescription) error {
	if p.role != RoleSubscriber {
		return fmt.Errorf("handle answer on %s: %w", p.role, ErrWrongRole)
	}
	p.mu.Lock()
	pending := p.offerPending
	p.mu.Unlock()
	if !pending {
		return fmt.Errorf("handle answer: %w", ErrNoOfferPending)
	}
	sdp, candidates, err := p.screenDescription(answer.SDP)
	if err == nil {
		answer.SDP = sdp
		if err = p.pc.SetRemoteDescription(answer); err != nil {
			err = fmt.Errorf("set remote description: %w", err)
		}
	}
	if err == nil {
		p.noteRemoteDescription(sdp, candidates)
		p.flushRemoteCandidates()
	}
	p.mu.Lock()
	p.offerPending = false
	if err != nil {
		p.negotiationNeeded = true // the next offer starts over
	}
	p.scheduleNegotiationLocked()
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("handle answer: %w", err)
	}
	return nil
}

// OnTrack sets the function called with each new published track (publisher role).
// The Receiver is already reading; the function may add DownTracks right away.
func (p *Peer) OnTrack(f func(*Receiver)) {
	p.mu.Lock()
	p.onTrack = f
	p.mu.Unlock()
}

// OnNegotiationNeeded sets the function called when DownTracks changed and a new offer
// is needed (subscriber role). Calls are coalesced and never happen while an offer
// awaits its answer.
func (p *Peer) OnNegotiationNeeded(f func()) {
	p.mu.Lock()
	p.onNegotiation = f
	p.scheduleNegotiationLocked()
	p.mu.Unlock()
}

// OnConnectionStateChange sets the function called on PeerConnection state changes.
func (p *Peer) OnConnectionStateChange(f func(webrtc.PeerConnectionState)) {
	p.mu.Lock()
	p.onState = f
	p.mu.Unlock()
}

// requestNegotiation records a DownTrack change.
func (p *Peer) requestNegotiation() {
	p.mu.Lock()
	p.negotiationNeeded = true
	p.scheduleNegotiationLocked()
	p.mu.Unlock()
}

// scheduleNegotiationLocked starts one goroutine to fire onNegotiation unless one is
// queued already or an offer is outstanding. Caller holds p.mu.
func (p *Peer) scheduleNegotiationLocked() {
	if !p.negotiationNeeded || p.offerPending || p.negotiationQueued || p.negotiationHolds > 0 || p.closed || p.onNegotiation == nil {
		return
	}
	p.negotiationQueued = true
	p.wg.Add(1)
	go func() {
		p.mu.Lock()
		p.negotiationQueued = false
		f := p.onNegotiation
		fire := p.negotiationNeeded && !p.offerPending && !p.closed && f != nil
		p.mu.Unlock()
		p.wg.Done() // before the callback: it may Close the Peer, which waits on wg
		if fire {
			f()
		}
	}()
}

// handleRemoteTrack wraps a publisher's new track in a Receiver.
func (p *Peer) handleRemoteTrack(track *webrtc.TrackRemote, rtpReceiver *webrtc.RTPReceiver) {
	if track.RID() != "" {
		p.handleSimulcastTrack(track, rtpReceiver) // simulcast_peer.go
		return
	}
	cfg := p.engine.cfg
	size := cfg.AudioBufferPackets
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		size = cfg.VideoBufferPackets
	}
	r := newReceiver(receiverParams{
		trackID:       track.ID(),
		streamID:      p.id,
		kind:          track.Kind(),
		codec:         track.Codec(),
		ssrc:          uint32(track.SSRC()),
		bufferPackets: size,
		pliThrottle:   cfg.PLIThrottle,
		writeRTCP:     p.pc.WriteRTCP,
		logger:        p.logger.With("track", track.ID()),
	})
	r.track, r.rtpReceiver = track, rtpReceiver
	r.uplink.audioLevelID = audioLevelExtensionID(rtpReceiver)

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = rtpReceiver.Stop()
		return
	}
	p.receivers[r] = struct{}{}
	f := p.onTrack
	p.mu.Unlock()

	r.start()
	r.OnClose(func() {
		p.mu.Lock()
		// A closing Peer keeps its Receivers: their final counters fold in with the
		// Peer's once their goroutines have stopped (forgetPeer).
		if _, ok := p.receivers[r]; ok && !p.closed {
			delete(p.receivers, r)
			p.foldLocked(receiverTotals(r))
		}
		p.mu.Unlock()
	})
	p.logger.Debug("published track", "track", r.trackID, "kind", r.kind.String(), "codec", r.codec.MimeType)
	if f != nil {
		f(r)
	}
}

// AddDownTrack starts sending r to this subscriber and requests negotiation.
func (p *Peer) AddDownTrack(r *Receiver) (*DownTrack, error) {
	if p.role != RoleSubscriber {
		return nil, fmt.Errorf("add down track on %s: %w", p.role, ErrWrongRole)
	}
	p.mu.Lock()
	defer p.mu.Unlock() // held across the add so a concurrent remove sees a complete DownTrack
	if p.closed {
		return nil, fmt.Errorf("add down track %s: %w", r.TrackID(), ErrPeerClosed)
	}
	p.startSendingLocked()
	d := newDownTrack(r, p.sender, p)
	if err := r.addDownTrack(d); err != nil {
		return nil, fmt.Errorf("add down track %s: %w", r.TrackID(), err)
	}
	// A section negotiated for this stream and kind (preconnect.go): bound now, no offer.
	transceiver := p.useReservedLocked(d)
	if transceiver == nil {
		var err error
		transceiver, err = p.pc.AddTransceiverFromTrack(d, webrtc.RTPTransceiverInit{
			Direction: webrtc.RTPTransceiverDirectionSendonly,
		})
		if err != nil {
			r.removeDownTrack(d)
			return nil, fmt.Errorf("add down track %s: %w", r.TrackID(), err)
		}
		p.negotiationNeeded = true
		p.scheduleNegotiationLocked()
	}
	d.rtpSender = transceiver.Sender()
	p.downTracks[d] = struct{}{}
	p.setRTCPTracksLocked()
	if d.layers != nil {
		p.bw.wake() // its first layer cap comes from the current estimate
	}
	return d, nil
}

// RemoveDownTrack stops sending d and requests negotiation. Removing a DownTrack twice
// (or after its track ended) is not an error.
func (p *Peer) RemoveDownTrack(d *DownTrack) error {
	if p.role != RoleSubscriber {
		return fmt.Errorf("remove down track on %s: %w", p.role, ErrWrongRole)
	}
	d.receiver.removeDownTrack(d)
	p.mu.Lock()
	if _, ok := p.downTracks[d]; !ok || p.closed {
		p.mu.Unlock()
		return nil
	}
	delete(p.downTracks, d)
	p.setRTCPTracksLocked()
	p.foldLocked(downTrackTotals(d))
	p.mu.Unlock()
	if err := p.pc.RemoveTrack(d.rtpSender); err != nil {
		return fmt.Errorf("remove down track %s: %w", d.ID(), err)
	}
	p.requestNegotiation()
	return nil
}

// Close closes the PeerConnection: a publisher's tracks end (their DownTracks go away),
// a subscriber's DownTracks stop. Idempotent; waits for the Peer's goroutines.
func (p *Peer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	downTracks := make([]*DownTrack, 0, len(p.downTracks))
	for d := range p.downTracks {
		downTracks = append(downTracks, d)
	}
	receivers := make([]*Receiver, 0, len(p.receivers))
	for r := range p.receivers {
		receivers = append(receivers, r)
	}
	p.mu.Unlock()

	for _, d := range downTracks {
		d.receiver.removeDownTrack(d)
	}
	var errs []error
	if err := p.pc.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close peer %s: %w", p.id, err))
	}
	if p.sender != nil {
		p.sender.close()
	}
	if p.rtcp != nil {
		p.rtcp.close()
	}
	if p.bw != nil {
		p.bw.close()
	}
	for _, r := range receivers {
		_ = r.Close()
		r.wait()
	}
	p.wg.Wait()
	p.engine.forgetPeer(p)
	return errors.Join(errs...)
}
