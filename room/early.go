package room

import (
	"fmt"
	"time"

	"github.com/parley-rtc/parley/sfu"
	"github.com/pion/webrtc/v4"
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
// Activate then publishes the held tracks, subscribes the participant to the room's
// audio and its wanted videos, and reports ParticipantJoined when a PeerConnection is
// already up (otherwise when one comes up). Leaving while early costs the others nothing
// and tells them nothing.
//
// What a subscription costs after Activate: when the early participant joined with
// JoinOptions.Expect (a call's other members), its pre-connected subscriber offered a
// send section for each expected user's audio (and video, ExpectVideo) from the start
// (sfu SubscriberOptions.Reserve), so their tracks forward at once, with no offer and no
// answer (D104); so do the expected users' subscriptions to the participant's tracks
// where their own subscriber Peers reserved sections for it (they were early too). Any
// other subscription costs one renegotiation of the subscriber Peer (one server offer and
// the client's answer, no ICE or DTLS).
//
// Timeline (debug log "early media timeline", per participant; steps in timeline.go):
// the ICE and DTLS of each PeerConnection, Activate (with the time since the join and
// whether a PeerConnection is up), each track the participant publishes (its first
// packet reached the server) and the first packet of each track sent to it, each with
// the time since the join and since Activate. The clients measure the rest (first
// packet received, first frame decoded).

// MaxExpected bounds JoinOptions.Expect: the reserved sections of one subscriber Peer
// (an audio and a video section per user) stay within sfu.MaxReservedSections.
const MaxExpected = sfu.MaxReservedSections / 2

// reservedSections are the sections an early participant's subscriber Peer reserves
// for the users opts.Expect names (at most MaxExpected, not itself, each once).
func reservedSections(self string, opts JoinOptions) []sfu.ReservedSection {
	if !opts.Early || len(opts.Expect) == 0 {
		return nil
	}
	var out []sfu.ReservedSection
	seen := make(map[string]bool, len(opts.Expect))
	for _, user := range opts.Expect {
		if user == "" || user == self || seen[user] {
			continue
		}
		if len(seen) == MaxExpected {
			break
		}
		seen[user] = true
		out = append(out, sfu.ReservedSection{StreamID: user, Kind: webrtc.RTPCodecTypeAudio})
		if opts.ExpectVideo {
			out = append(out, sfu.ReservedSection{StreamID: user, Kind: webrtc.RTPCodecTypeVideo})
		}
	}
	return out
}

// Activate turns an early participant into a normal one at once (see above); a no-op
// for a participant that is not early, ErrParticipantLeft after Leave.
func (p *Participant) Activate() error { return p.ActivateAt(time.Time{}) }

// ActivateAt is Activate at the accept of the participant's call, acceptedAt (as the
// server handled it): the origin of its call steps (calltimeline.go); zero is none. The
// origin is set even when the participant was not early (it joined at the accept).
func (p *Participant) ActivateAt(acceptedAt time.Time) error {
	defer p.timeline.accepted(acceptedAt)
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
	activatedAt, connected := time.Now(), p.connected
	p.activatedAt.Store(&activatedAt)
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
	p.timeline.note(stepActivated, activatedAt)
	p.timelineStep(StepActivated, activatedAt, "connected", connected, "heldTracks", len(held))
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
