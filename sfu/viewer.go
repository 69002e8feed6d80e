package sfu

import (
	"errors"
	"fmt"

	"github.com/pion/sdp/v3"

	"github.com/pion/webrtc/v4"
)

// ErrNoOfferedSection is returned by AnswerViewer when the client's offer has no free
// section of a track's kind: a viewer's answer cannot add sections.
var ErrNoOfferedSection = errors.New("the offer has no free section of this kind")

// ErrPassiveOffer is returned by AnswerViewer, and by Publisher.HandleOffer with
// rtc.own_srtp_inbound (D255), for a first offer with setup:passive (the client asking to
// be the DTLS server; RFC 8842 5.2 wants actpass): such an answer is always
// setup:passive (D235), and pion would still take the DTLS client role the offer leaves
// it, so both ends would wait for a ClientHello (D253).
var ErrPassiveOffer = errors.New("a first offer must say setup:actpass (or active), not passive")

// AnswerViewer answers a client's receive-only offer on a subscriber Peer (WHEP: the
// client offers, the server answers and never offers). At the first offer each of
// receivers gets a DownTrack on an offered section of its kind (the first free one);
// later offers (an ICE restart) are answered with the DownTracks in place and receivers
// ignored. The Peer never asks for negotiation (set no OnNegotiationNeeded): a DownTrack
// that goes away (its track ended) leaves its section idle. The answer's candidates come
// with GatheredLocalDescription, or through OnICECandidate after MarkLocalDescriptionSent.
func (p *Subscriber) AnswerViewer(offer webrtc.SessionDescription, receivers []*Receiver) (webrtc.SessionDescription, []*DownTrack, error) {
	sdp, candidates, err := p.screenDescription(offer.SDP)
	if err != nil {
		return webrtc.SessionDescription{}, nil, fmt.Errorf("answer viewer: %w", err)
	}
	offer.SDP = sdp
	first := p.pc.RemoteDescription() == nil
	if first && offersDTLSServer(sdp) {
		return webrtc.SessionDescription{}, nil, fmt.Errorf("answer viewer: %w", ErrPassiveOffer)
	}
	if err := p.pc.SetRemoteDescription(offer); err != nil {
		return webrtc.SessionDescription{}, nil, fmt.Errorf("answer viewer: set remote description: %w", err)
	}
	p.noteRemoteDescription(sdp, candidates)
	p.flushRemoteCandidates()
	p.out.setCryptex(sdp)
	var added []*DownTrack
	if first {
		for _, r := range receivers {
			d, err := p.addViewerDownTrack(r)
			if err != nil {
				return webrtc.SessionDescription{}, nil, fmt.Errorf("answer viewer: %w", err)
			}
			added = append(added, d)
		}
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(answer)
	}
	if err != nil {
		return webrtc.SessionDescription{}, nil, fmt.Errorf("answer viewer: %w", err)
	}
	return answer, added, nil
}

// addViewerDownTrack is AddDownTrack on a section the client offered (pion's AddTrack
// takes a free transceiver of the kind) without asking for negotiation.
func (p *Subscriber) addViewerDownTrack(r *Receiver) (*DownTrack, error) {
	free := false
	for _, t := range p.pc.GetTransceivers() {
		if t.Kind() == r.Kind() && t.Sender() == nil && t.Direction() != webrtc.RTPTransceiverDirectionInactive {
			free = true
			break
		}
	}
	if !free {
		return nil, fmt.Errorf("%s track %s: %w", r.Kind(), r.TrackID(), ErrNoOfferedSection)
	}
	return p.addDownTrack(r, func(d *DownTrack) (*webrtc.RTPSender, bool, error) {
		sender, err := p.pc.AddTrack(d)
		return sender, false, err
	})
}

// offersDTLSServer reports whether an offer asks to be the DTLS server (setup:passive):
// the first setup attribute of its media sections, as pion reads a remote description's
// DTLS role.
func offersDTLSServer(description string) bool {
	var parsed sdp.SessionDescription
	if parsed.UnmarshalString(description) != nil {
		return false
	}
	for _, m := range parsed.MediaDescriptions {
		if v, ok := m.Attribute("setup"); ok {
			return v == sdp.ConnectionRolePassive.String()
		}
	}
	return false
}
