package sfu

import (
	"fmt"

	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// Publisher is the PeerConnection a participant publishes on: the client offers its
// tracks (HandleOffer), the server answers and receives each track into a Receiver
// (OnTrack). Callbacks run on pion's goroutines and never under the Publisher's lock.
type Publisher struct {
	transport // its mu also guards the fields below

	remoteUfrag   string       // the ICE username fragment of the last applied offer
	remoteSession sdpSessionID // who made the last applied offer
	onTrack       func(*Receiver)
	onICERestart  func()
	receivers     map[*Receiver]struct{}
	in            *publisherIn // the own read path (rtpin.go); nil with rtc.own_srtp_inbound off
}

func newPublisher(e *Engine, api *webrtc.API, cert webrtc.Certificate, id string) (*Publisher, error) {
	p := &Publisher{receivers: make(map[*Receiver]struct{})}
	if e.cfg.OwnSRTPInbound {
		// Its own API: the DTLS hooks that learn the client's key (dtlskeys.go).
		in := &publisherIn{
			keys: &dtlsKeys{inbound: true}, routes: &e.stamping.stamps.inbound, fbs: &e.stamping.stamps.routes,
			log: e.logger.With("peer", id, "role", "publisher"),
		}
		api = e.publisherAPI(in)
		p.in = in
		p.iceFailed = func() { in.rememberRemote(nil) } // consent expired: pion's path until a pair is selected again
	}
	if err := p.open(e, api, cert, id, "publisher"); err != nil {
		return nil, err
	}
	if in := p.in; in != nil {
		ice := p.pc.SCTP().Transport().ICETransport()
		in.pair = func() *webrtc.ICECandidatePair {
			pair, err := ice.GetSelectedCandidatePair()
			if err != nil {
				return nil
			}
			return pair
		}
		in.cryptex = func() srtp.CryptexMode { return cryptexOf(p.pc.RemoteDescription()) }
		in.rtcp.write, in.rtcp.log = p.pc.WriteRTCP, p.logger
		ice.OnSelectedCandidatePairChange(in.rememberRemote)
	}
	p.pc.OnTrack(p.handleRemoteTrack)
	return p, nil
}

// HandleOffer applies the client's offer and returns the answer. Candidates come
// separately through OnICECandidate once MarkLocalDescriptionSent is called. An offer
// with new ICE credentials restarts ICE: the candidates gathered for it are held back
// until MarkLocalDescriptionSent, and OnICERestart fires once the answer is set.
func (p *Publisher) HandleOffer(offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	if err := checkPublishOffer(offer.SDP); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("handle offer: %w", err)
	}
	ufrag, session := iceUfrag(offer.SDP), sdpSession(offer.SDP)
	sdp, candidates, err := p.screenDescription(offer.SDP)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("handle offer: %w", err)
	}
	offer.SDP = sdp
	if p.in != nil && p.pc.RemoteDescription() == nil && offersDTLSServer(sdp) {
		// The own read path's publisher API answers as the DTLS server (setup:passive)
		// whatever the offer says, while pion takes the client role a passive offer leaves
		// it: both ends would wait for a ClientHello, as for WHEP viewers (D253).
		return webrtc.SessionDescription{}, fmt.Errorf("handle offer: %w", ErrPassiveOffer)
	}
	// Held back before pion restarts ICE (in SetRemoteDescription, which gathers at once):
	// a candidate of the restart that went out before the answer would carry a ufrag the
	// client does not know yet, and the client drops it (and if the answer was made before
	// the candidate was gathered, the client never learns it: the restart cannot complete).
	p.mu.Lock()
	restart := p.remoteUfrag != "" && ufrag != p.remoteUfrag
	if restart {
		p.localSent = false // the restart's candidates follow the answer
	}
	p.mu.Unlock()
	answer, err := p.applyOffer(offer, sdp, candidates)
	if err != nil {
		if restart {
			p.MarkLocalDescriptionSent()
		}
		return webrtc.SessionDescription{}, err
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

// applyOffer sets the screened offer, makes the answer and sets it (HandleOffer).
func (p *Publisher) applyOffer(offer webrtc.SessionDescription, sdp string, candidates int) (webrtc.SessionDescription, error) {
	if err := p.pc.SetRemoteDescription(offer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("handle offer: set remote description: %w", err)
	}
	p.noteRemoteDescription(sdp, candidates)
	p.flushRemoteCandidates()
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("handle offer: create answer: %w", err)
	}
	if err := p.pc.SetLocalDescription(answer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("handle offer: set local description: %w", err)
	}
	return answer, nil
}

// IsOtherSession reports whether offer comes from another PeerConnection than the offers
// this Publisher applied so far (another SDP origin session or DTLS fingerprint): the
// client closed its PeerConnection and made a new one, which this Publisher cannot
// serve. False before the first offer.
func (p *Publisher) IsOtherSession(offer webrtc.SessionDescription) bool {
	p.mu.Lock()
	applied := p.remoteSession
	p.mu.Unlock()
	return applied != (sdpSessionID{}) && sdpSession(offer.SDP) != applied
}

// OnICERestart sets the function called when an offer restarted ICE (after its answer
// is set), so the other PeerConnection of the same client can restart too.
func (p *Publisher) OnICERestart(f func()) {
	p.mu.Lock()
	p.onICERestart = f
	p.mu.Unlock()
}

// OnTrack sets the function called with each new published track. The Receiver is
// already reading; the function may add DownTracks right away.
func (p *Publisher) OnTrack(f func(*Receiver)) {
	p.mu.Lock()
	p.onTrack = f
	p.mu.Unlock()
}

// handleRemoteTrack wraps a new track in a Receiver.
func (p *Publisher) handleRemoteTrack(track *webrtc.TrackRemote, rtpReceiver *webrtc.RTPReceiver) {
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
		in:            p.in,
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
		// A closing Publisher keeps its Receivers: their final counters fold in with the
		// Publisher's once their goroutines have stopped (forgetPeer).
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

// Receivers returns the published tracks that have not ended (none once the Publisher
// is closed).
func (p *Publisher) Receivers() []*Receiver {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	out := make([]*Receiver, 0, len(p.receivers))
	for r := range p.receivers {
		out = append(out, r)
	}
	return out
}

// Close closes the PeerConnection: the published tracks end (their DownTracks go
// away). Idempotent; waits for the Receivers' goroutines.
func (p *Publisher) Close() error {
	if !p.markClosed() {
		return nil
	}
	p.mu.Lock()
	receivers := make([]*Receiver, 0, len(p.receivers))
	for r := range p.receivers {
		receivers = append(receivers, r)
	}
	p.mu.Unlock()
	err := p.closePC()
	for _, r := range receivers {
		_ = r.Close()
		r.wait()
	}
	if p.in != nil {
		p.in.rtcp.close()
		p.in.keys.forget()
	}
	p.engine.forgetPeer(p)
	return err
}

// RemoteSends reports whether the remote description of p has a
// section of kind that sends to the server (sendrecv or sendonly, port not 0): a track of
// that kind is coming even before its first packet arrived. False before any description.
func (p *Publisher) RemoteSends(kind webrtc.RTPCodecType) bool {
	desc := p.pc.RemoteDescription()
	if desc == nil {
		return false
	}
	// Parsed here from the SDP text: desc is pion's own description, and its Unmarshal
	// caches the result in it, racing with pion's readers of that cache (the race
	// detector caught it beside handleIncomingSSRC).
	var parsed sdp.SessionDescription
	if err := parsed.UnmarshalString(desc.SDP); err != nil {
		return false
	}
	for _, md := range parsed.MediaDescriptions {
		if md.MediaName.Media != kind.String() || md.MediaName.Port.Value == 0 {
			continue
		}
		sends := true // sendrecv is the default direction
		for _, a := range md.Attributes {
			switch a.Key {
			case "recvonly", "inactive":
				sends = false
			}
		}
		if sends {
			return true
		}
	}
	return false
}
