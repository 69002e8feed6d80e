package room

import (
	"fmt"
)

// Early participants (JoinOptions.Early) get their media ready before they take part: a
// call's users join while it rings, so that ICE and DTLS are done when the call is
// accepted. Until Activate an early participant
//   - negotiates as any other: its first publisher offer builds both Peers, the
//     subscriber one pre-connected (an offer with one receive-only audio section that
//     carries nothing), so both PeerConnections connect;
//   - is not announced: no ParticipantJoined even when connected, no place in the
//     NetworkQuality list, Room.Participants lists it with Early set (and nothing
//     published) so that signaling can skip it;
//   - publishes nothing: its tracks are held (no TrackPublished, forwarded to nobody);
//   - receives nothing: no DownTracks. Its remote-view wishes (StartRemoteView,
//     SetRemoteViewQuality) are kept and apply at Activate.
//
// Activate then publishes the held tracks (the others' subscriber Peers renegotiate to
// add them), subscribes the participant to the room's audio and its wanted videos (its
// pre-connected subscriber Peer renegotiates once: one server offer and the client's
// answer, no ICE or DTLS), and reports ParticipantJoined when a PeerConnection is
// already up (otherwise when one comes up). Leaving while early costs the others nothing
// and tells them nothing.

// Activate turns an early participant into a normal one at once (see above); a no-op
// for a participant that is not early, ErrParticipantLeft after Leave.
func (p *Participant) Activate() error {
	r := p.room
	r.mu.Lock()
	if p.left {
		r.mu.Unlock()
		return fmt.Errorf("activate %q in room %s: %w", p.userID, r.id, ErrParticipantLeft)
	}
	if !p.early {
		r.mu.Unlock()
		return nil
	}
	p.early = false
	// One offer per subscriber for everything this adds (the held audio and video, and
	// what p receives), not one offer per track each waiting for the previous answer.
	release := r.holdNegotiationsLocked()
	defer release()
	if p.connected {
		p.reportJoinedLocked()
	}
	held := make([]upTrack, 0, len(p.held))
	for rcv, kind := range p.held {
		p.publishLocked(rcv, kind)
		held = append(held, rcv)
	}
	clear(p.held)
	p.subscribeAllLocked()
	r.mu.Unlock()
	for _, rcv := range held {
		p.watchLayers(rcv)
	}
	p.log.Debug("participant activated", "room", r.id.String(), "tracks", len(held))
	return nil
}

// Early reports whether the participant joined early and was not activated yet.
func (p *Participant) Early() bool {
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.early
}

// holdNegotiationsLocked holds every participant's subscriber Peer
// (sfu.Subscriber.HoldNegotiation) until the returned release, which may be called after
// room.mu is released. Caller holds room.mu.
func (r *Room) holdNegotiationsLocked() (release func()) {
	var releases []func()
	for _, q := range r.participants {
		if q.sub != nil {
			releases = append(releases, q.sub.HoldNegotiation())
		}
	}
	return func() {
		for _, f := range releases {
			f()
		}
	}
}
