package sfu

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// Pre-connected subscribers (SubscriberOptions.PreConnect). A Subscriber that pre-connects
// negotiates at once, before any DownTrack, so that ICE and DTLS are up when the first
// DownTrack comes. Its first offer carries either
//   - one receive-only audio section that never carries media (SubscriberOptions.Reserve
//     empty): the first DownTrack then costs one renegotiation (an offer and its answer);
//   - or one send section per SubscriberOptions.Reserve entry (a publisher's stream ID and a
//     kind), each holding a placeholder track that sends nothing under the publisher's
//     stream ID (msid). AddDownTrack puts the first DownTrack of that stream and kind on
//     the reserved section (RTPSender.ReplaceTrack): it is bound and forwards at once, no
//     offer and no answer (D104). Later DownTracks of the same stream and kind, those of
//     other streams, and one the section refuses (a codec it did not negotiate; the
//     section then counts as used) get sections of their own as always; a reserved
//     section whose DownTrack is removed is stopped as any other (negotiated inactive)
//     and not reused.
//
// The reserved sections are guarded by Subscriber.mu; AddDownTrack holds it across the
// ReplaceTrack.

// MaxReservedSections bounds SubscriberOptions.Reserve.
const MaxReservedSections = 32

// ReservedSection is a send section a pre-connected Subscriber negotiates in its
// first offer for a publisher it expects (SubscriberOptions.Reserve).
type ReservedSection struct {
	// StreamID is the publisher's participant ID (a Receiver's StreamID).
	StreamID string
	// Kind is audio or video.
	Kind webrtc.RTPCodecType
}

// reservedSection is one ReservedSection with its transceiver; used once a DownTrack took it.
type reservedSection struct {
	ReservedSection
	transceiver *webrtc.RTPTransceiver
	used        bool
}

// addPreConnectSections adds the sections of a pre-connecting subscriber's first offer
// (see above) to its PeerConnection and marks the Subscriber as needing that offer. Called by
// newSubscriber before anyone else can see p.
func (p *Subscriber) addPreConnectSections(reserve []ReservedSection) error {
	if len(reserve) > MaxReservedSections {
		return fmt.Errorf("pre-connect: %d reserved sections, at most %d: %w", len(reserve), MaxReservedSections, ErrInvalidReserve)
	}
	p.negotiationNeeded = true // offered once OnNegotiationNeeded is set
	if len(reserve) == 0 {
		_, err := p.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{
			Direction: webrtc.RTPTransceiverDirectionRecvonly,
		})
		if err != nil {
			return fmt.Errorf("pre-connect section: %w", err)
		}
		return nil
	}
	for i, rs := range reserve {
		if rs.Kind != webrtc.RTPCodecTypeAudio && rs.Kind != webrtc.RTPCodecTypeVideo {
			return fmt.Errorf("pre-connect: reserved section %d of %q: kind %v: %w", i, rs.StreamID, rs.Kind, ErrInvalidReserve)
		}
		placeholder := &reservedTrack{kind: rs.Kind, id: fmt.Sprintf("%s-%s-%d", rs.StreamID, rs.Kind, i), streamID: rs.StreamID}
		t, err := p.pc.AddTransceiverFromTrack(placeholder, webrtc.RTPTransceiverInit{
			Direction: webrtc.RTPTransceiverDirectionSendonly,
		})
		if err != nil {
			return fmt.Errorf("pre-connect: reserved section %d of %q: %w", i, rs.StreamID, err)
		}
		p.reserved = append(p.reserved, &reservedSection{ReservedSection: rs, transceiver: t})
	}
	return nil
}

// useReservedLocked puts d on the unused reserved section of its stream and kind and
// returns that section's transceiver; nil when there is none or it refused d (the
// section then counts as used, and d gets a section of its own). Caller holds p.mu.
func (p *Subscriber) useReservedLocked(d *DownTrack) *webrtc.RTPTransceiver {
	r := d.receiver
	for _, rs := range p.reserved {
		if rs.used || rs.StreamID != r.StreamID() || rs.Kind != r.Kind() {
			continue
		}
		rs.used = true
		if err := rs.transceiver.Sender().ReplaceTrack(d); err != nil {
			p.logger.Debug("reserved section refused the down track", "track", r.TrackID(), "err", err)
			return nil
		}
		return rs.transceiver
	}
	return nil
}

// ReservedSections reports how many reserved sections the Subscriber has and how many a
// DownTrack took.
func (p *Subscriber) ReservedSections() (total, used int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rs := range p.reserved {
		if rs.used {
			used++
		}
	}
	return len(p.reserved), used
}

// reservedTrack is the placeholder of a reserved section: a webrtc.TrackLocal that binds
// to the first negotiated codec of its kind and never writes anything.
type reservedTrack struct {
	kind     webrtc.RTPCodecType
	id       string
	streamID string
}

func (t *reservedTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codecs := ctx.CodecParameters()
	if len(codecs) == 0 {
		return webrtc.RTPCodecParameters{}, fmt.Errorf("bind reserved section %s: %w", t.id, ErrCodecNotNegotiated)
	}
	return codecs[0], nil
}

func (t *reservedTrack) Unbind(webrtc.TrackLocalContext) error { return nil }
func (t *reservedTrack) ID() string                            { return t.id }
func (t *reservedTrack) RID() string                           { return "" }
func (t *reservedTrack) StreamID() string                      { return t.streamID }
func (t *reservedTrack) Kind() webrtc.RTPCodecType             { return t.kind }
