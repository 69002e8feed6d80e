package sfu

import (
	"errors"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// ErrNoOfferedSection is returned by AnswerViewer when the client's offer has no free
// section of a track's kind: a viewer's answer cannot add sections.
var ErrNoOfferedSection = errors.New("the offer has no free section of this kind")

// AnswerViewer answers a client's receive-only offer on a subscriber Peer (WHEP: the
// client offers, the server answers and never offers). At the first offer each of
// receivers gets a DownTrack on an offered section of its kind (the first free one);
// later offers (an ICE restart) are answered with the DownTracks in place and receivers
// ignored. The Peer never asks for negotiation (set no OnNegotiationNeeded): a DownTrack
// that goes away (its track ended) leaves its section idle. The answer's candidates come
// with GatheredLocalDescription, or through OnICECandidate after MarkLocalDescriptionSent.
func (p *Peer) AnswerViewer(offer webrtc.SessionDescription, receivers []*Receiver) (webrtc.SessionDescription, []*DownTrack, error) {
	if p.role != RoleSubscriber {
		return webrtc.SessionDescription{}, nil, fmt.Errorf("answer viewer on %s: %w", p.role, ErrWrongRole)
	}
	sdp, candidates, err := p.screenDescription(offer.SDP)
	if err != nil {
		return webrtc.SessionDescription{}, nil, fmt.Errorf("answer viewer: %w", err)
	}
	offer.SDP = sdp
	first := p.pc.RemoteDescription() == nil
	if err := p.pc.SetRemoteDescription(offer); err != nil {
		return webrtc.SessionDescription{}, nil, fmt.Errorf("answer viewer: set remote description: %w", err)
	}
	p.noteRemoteDescription(sdp, candidates)
	p.flushRemoteCandidates()
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
func (p *Peer) addViewerDownTrack(r *Receiver) (*DownTrack, error) {
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
	sender, err := p.pc.AddTrack(d)
	if err != nil {
		r.removeDownTrack(d)
		return nil, fmt.Errorf("add down track %s: %w", r.TrackID(), err)
	}
	d.rtpSender = sender
	p.downTracks[d] = struct{}{}
	p.setRTCPTracksLocked() // its RTCP comes through the Peer's one reader (rtcpreader.go)
	if d.layered() {
		p.bw.wake()
	}
	return d, nil
}

// RemoteSends reports whether the remote description of p (a publisher Peer) has a
// section of kind that sends to the server (sendrecv or sendonly, port not 0): a track of
// that kind is coming even before its first packet arrived. False before any description.
func (p *Peer) RemoteSends(kind webrtc.RTPCodecType) bool {
	desc := p.pc.RemoteDescription()
	if desc == nil {
		return false
	}
	parsed, err := desc.Unmarshal()
	if err != nil {
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
