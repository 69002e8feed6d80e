package sfu

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// SubscriberOptions configures Engine.NewSubscriber.
type SubscriberOptions struct {
	// ID is the participant's ID (userId).
	ID string
	// PreConnect: negotiate at once, before any DownTrack, so that ICE and DTLS are up
	// when the first DownTrack comes (preconnect.go). Without Reserve the offer has one
	// receive-only audio section that never carries media (clients answer it inactive;
	// the first DownTrack then costs one renegotiation and no handshake).
	PreConnect bool
	// Reserve (with PreConnect): the send sections of the first offer, one per expected
	// publisher stream and kind; the first DownTrack of each forwards without
	// renegotiation. At most MaxReservedSections.
	Reserve []ReservedSection
}

// Subscriber is the PeerConnection a participant receives on: the server offers its
// DownTracks (CreateOffer), the client answers (HandleAnswer); or, for a viewer, the
// client offers and the server answers (AnswerViewer, viewer.go). Callbacks run on
// pion's goroutines (or one short-lived goroutine per negotiation request) and never
// under the Subscriber's lock.
type Subscriber struct {
	transport // its mu also guards the fields below

	sender     *Sender                        // its slots and goroutine start with the first DownTrack
	remote     atomic.Pointer[netip.AddrPort] // rtc.batch_writes: the selected UDP pair's remote address (batchwrite.go)
	history    *sendHistory                   // the congestion controller's send times (congestion.go)
	remoteMu   sync.Mutex                     // serializes watching remote (pion's ICE goroutine, Close)
	remoteGone bool                           // Close unwatched remote; guarded by remoteMu
	bw         *bandwidthController           // bandwidth.go; its goroutine starts with the first DownTrack
	rtcp       *peerRTCP                      // the RTCP queue (rtcpreader.go); its goroutine starts with the first DownTrack
	keys       *dtlsKeys                      // the SRTP keys learnt from the DTLS handshake (dtlskeys.go)
	rtcpIn     *rtcpInbound                   // rtc.own_srtp_inbound: its SRTCP read on the socket's goroutine (rtcpin.go); else nil
	out        *rtpOut                        // the Sender's own RTP write path (rtpout.go)

	rtcpTracks atomic.Pointer[[]*DownTrack] // the DownTracks, for the RTCP goroutine (copy on write)

	offerPending      bool
	restartICE        bool // the next offer restarts ICE (RestartICE)
	negotiationNeeded bool // DownTracks changed since the last offer
	negotiationQueued bool // a goroutine is about to fire onNegotiation
	negotiationHolds  int  // HoldNegotiation calls not released yet (negotiationhold.go)
	onNegotiation     func()
	downTracks        map[*DownTrack]struct{}
	sending           bool               // the Sender's slots and the sending goroutines exist
	reserved          []*reservedSection // sections of the pre-connect offer (preconnect.go)

	wg sync.WaitGroup // the RTCP, bandwidth and negotiation goroutines, the Sender
}

func newSubscriber(e *Engine, cert webrtc.Certificate, opts SubscriberOptions) (*Subscriber, error) {
	// Its own API: RTCP per PeerConnection (rtcpreader.go), send history (congestion.go).
	rtcpQueue, history, keys, next := newPeerRTCP(), newSendHistory(), &dtlsKeys{inbound: e.cfg.OwnSRTPInbound}, new(atomic.Uint32)
	p := &Subscriber{downTracks: make(map[*DownTrack]struct{}), rtcp: rtcpQueue, history: history, keys: keys}
	if e.cfg.OwnSRTPInbound {
		p.rtcpIn = &rtcpInbound{keys: keys, queue: rtcpQueue}
	}
	// Consent expired: the own path stops sending as pion's does, over UDP and ICE-TCP,
	// until an ICE restart selects a pair again (pairChanged) (D254).
	p.iceFailed = func() { p.pairChanged(nil) }
	if err := p.open(e, e.subscriberAPI(rtcpQueue, history, keys, next), cert, opts.ID, "subscriber"); err != nil {
		return nil, err
	}
	p.setRTCPTracksLocked() // empty; nothing else can see p yet
	p.sender = newIdleSender(e.cfg.SenderQueueSize)
	p.sender.reports = &senderReports{
		tracks: func() []*DownTrack { return *p.rtcpTracks.Load() },
		out:    rtcpCompound{write: p.pc.SCTP().Transport().WriteRTCP},
	}
	p.out = p.newRTPOut(e, next)
	p.sender.out = p.out
	p.sender.reports.out.raw = p.out.sendRTCP
	if e.batch != nil {
		p.sender.afterRun = p.flushWrites
	}
	p.pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(p.pairChanged)
	p.bw = newBandwidthController(newCongestionController(history), allocatorConfig{})
	if p.rtcpIn != nil {
		p.rtcpIn.bw = p.bw // before any route: the pair changes come after open
	}
	if opts.PreConnect {
		if err := p.addPreConnectSections(opts.Reserve); err != nil {
			_ = p.pc.Close()
			return nil, fmt.Errorf("new subscriber %q: %w", opts.ID, err)
		}
	}
	return p, nil
}

// startSendingLocked gives the Subscriber its Sender's slots and starts the Sender, RTCP
// and bandwidth goroutines, once, with its first DownTrack: a subscriber that never
// receives anything costs neither the queue (rtc.sender_queue_size slots) nor the
// goroutines. Caller holds p.mu and has checked that the Subscriber is open.
func (p *Subscriber) startSendingLocked() {
	if p.sending {
		return
	}
	p.sending = true
	p.sender.reserve()
	run := func() {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.sender.run()
		}()
	}
	if pool := p.engine.pool; pool != nil {
		pool.assign(p.sender, run) // its writer hands it over to run when it must (writerpool.go)
	} else {
		run()
	}
	p.wg.Add(2)
	go p.runBandwidth()
	go p.readRTCP()
}

// RestartICE makes the next offer restart ICE (new credentials, new candidates) and asks
// for that offer now, or after the answer to an outstanding one.
func (p *Subscriber) RestartICE() {
	p.mu.Lock()
	p.restartICE = true
	p.negotiationNeeded = true
	p.scheduleNegotiationLocked()
	p.mu.Unlock()
}

// CreateOffer creates the next offer; the next one can only be created after
// HandleAnswer (ErrOfferPending).
func (p *Subscriber) CreateOffer() (webrtc.SessionDescription, error) {
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

// HandleAnswer applies the client's answer to the pending offer; when DownTracks
// changed meanwhile, OnNegotiationNeeded fires again.
func (p *Subscriber) HandleAnswer(answer webrtc.SessionDescription) error {
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
		p.out.setCryptex(sdp)
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

// OnNegotiationNeeded sets the function called when DownTracks changed and a new offer
// is needed. Calls are coalesced and never happen while an offer awaits its answer.
func (p *Subscriber) OnNegotiationNeeded(f func()) {
	p.mu.Lock()
	p.onNegotiation = f
	p.scheduleNegotiationLocked()
	p.mu.Unlock()
}

// requestNegotiation records a DownTrack change.
func (p *Subscriber) requestNegotiation() {
	p.mu.Lock()
	p.negotiationNeeded = true
	p.scheduleNegotiationLocked()
	p.mu.Unlock()
}

// scheduleNegotiationLocked starts one goroutine to fire onNegotiation unless one is
// queued already or an offer is outstanding. Caller holds p.mu.
func (p *Subscriber) scheduleNegotiationLocked() {
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
		p.wg.Done() // before the callback: it may Close the Subscriber, which waits on wg
		if fire {
			f()
		}
	}()
}

// AddDownTrack starts sending r to this subscriber and requests negotiation, unless a
// section reserved for r's stream and kind takes it (preconnect.go): then it is bound
// now and needs no offer.
func (p *Subscriber) AddDownTrack(r *Receiver) (*DownTrack, error) {
	return p.addDownTrack(r, func(d *DownTrack) (*webrtc.RTPSender, bool, error) {
		if transceiver := p.useReservedLocked(d); transceiver != nil {
			return transceiver.Sender(), false, nil
		}
		transceiver, err := p.pc.AddTransceiverFromTrack(d, webrtc.RTPTransceiverInit{
			Direction: webrtc.RTPTransceiverDirectionSendonly,
		})
		if err != nil {
			return nil, false, err
		}
		return transceiver.Sender(), true, nil
	})
}

// addDownTrack binds a new DownTrack of r to the section attach gives it, and requests
// negotiation when attach says so. The Subscriber's lock is held across the add (and
// attach) so a concurrent remove sees a complete DownTrack.
func (p *Subscriber) addDownTrack(r *Receiver, attach func(*DownTrack) (*webrtc.RTPSender, bool, error)) (*DownTrack, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("add down track %s: %w", r.TrackID(), ErrPeerClosed)
	}
	p.startSendingLocked()
	d := newDownTrack(r, p.sender, p)
	if err := r.addDownTrack(d); err != nil {
		return nil, fmt.Errorf("add down track %s: %w", r.TrackID(), err)
	}
	sender, negotiate, err := attach(d)
	if err != nil {
		r.removeDownTrack(d)
		return nil, fmt.Errorf("add down track %s: %w", r.TrackID(), err)
	}
	d.rtpSender = sender
	p.downTracks[d] = struct{}{}
	p.setRTCPTracksLocked() // its RTCP comes through the Subscriber's one reader (rtcpreader.go)
	if negotiate {
		p.negotiationNeeded = true
		p.scheduleNegotiationLocked()
	}
	if d.layered() {
		p.bw.wake() // its first layer cap comes from the current estimate
	}
	return d, nil
}

// RemoveDownTrack stops sending d and requests negotiation. Removing a DownTrack twice
// (or after its track ended) is not an error.
func (p *Subscriber) RemoveDownTrack(d *DownTrack) error {
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

// Close closes the PeerConnection: the DownTracks stop. Idempotent; waits for the
// Subscriber's goroutines.
func (p *Subscriber) Close() error {
	if !p.markClosed() {
		return nil
	}
	p.mu.Lock()
	downTracks := make([]*DownTrack, 0, len(p.downTracks))
	for d := range p.downTracks {
		downTracks = append(downTracks, d)
	}
	p.mu.Unlock()

	for _, d := range downTracks {
		d.receiver.removeDownTrack(d)
	}
	err := p.closePC()
	p.forgetRemote()
	p.out.tcp.Store(nil)
	p.sender.close()
	p.rtcp.close()
	p.bw.close()
	p.wg.Wait()
	p.keys.forget()
	p.out.ctx = nil // the Sender has stopped: drop the keys
	p.engine.forgetPeer(p)
	return err
}
