package sfu

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// Trickle ICE on a Peer: remote candidates wait for the remote description (screened and
// counted by the candidate policy, candidates.go); local candidates wait until the
// description they belong to is on the wire (MarkLocalDescriptionSent), so a client never
// gets a candidate before its description.

// AddICECandidate adds a remote candidate, or keeps it until the remote description is
// set. It refuses a candidate whose address is denied (ErrCandidateDenied), one beyond the
// caps (ErrTooManyCandidates) and one pion could not parse; none of them reaches ICE.
func (p *transport) AddICECandidate(c webrtc.ICECandidateInit) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("add ice candidate: %w", ErrPeerClosed)
	}
	if err := p.admitLocked(c.Candidate); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("add ice candidate: %w", err)
	}
	if !p.remoteSet {
		p.pendingRemote = append(p.pendingRemote, c)
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("add ice candidate: %w", err)
	}
	return nil
}

func (p *transport) flushRemoteCandidates() {
	p.mu.Lock()
	p.remoteSet = true
	pending := p.pendingRemote
	p.pendingRemote = nil
	p.mu.Unlock()
	for _, c := range pending {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.logger.Debug("add queued ice candidate", "err", err)
		}
	}
}

// OnICECandidate sets the function that receives local candidates (after
// MarkLocalDescriptionSent; earlier ones are queued).
func (p *transport) OnICECandidate(f func(webrtc.ICECandidateInit)) {
	p.mu.Lock()
	p.onICECandidate = f
	p.mu.Unlock()
	p.flushLocalCandidates()
}

// MarkLocalDescriptionSent says the offer/answer is on the wire: queued local candidates
// go out now, later ones immediately.
func (p *transport) MarkLocalDescriptionSent() {
	p.mu.Lock()
	p.localSent = true
	p.mu.Unlock()
	p.flushLocalCandidates()
}

func (p *transport) handleLocalCandidate(c *webrtc.ICECandidate) {
	if c == nil {
		return // gathering complete
	}
	p.emitMu.Lock()
	defer p.emitMu.Unlock()
	p.mu.Lock()
	f := p.onICECandidate
	if !p.localSent || f == nil || len(p.pendingLocal) > 0 {
		p.pendingLocal = append(p.pendingLocal, c.ToJSON())
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	f(c.ToJSON())
}

func (p *transport) flushLocalCandidates() {
	p.emitMu.Lock()
	defer p.emitMu.Unlock()
	p.mu.Lock()
	f := p.onICECandidate
	if !p.localSent || f == nil {
		p.mu.Unlock()
		return
	}
	pending := p.pendingLocal
	p.pendingLocal = nil
	p.mu.Unlock()
	for _, c := range pending {
		f(c)
	}
}
