package sfu

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/pion/ice/v4"
)

// CandidateRefusals counts the remote ICE candidates the Engine's Peers refused since
// Start (see Config.MaxPendingCandidates, MaxRemoteCandidates, DenyCandidateCIDRs).
type CandidateRefusals struct {
	// Pending: trickled while max_pending_candidates waited for the remote description.
	Pending uint64
	// Total: trickled beyond max_remote_candidates, or descriptions that carried more.
	Total uint64
	// Denied: addresses in deny_candidate_cidrs, trickled or removed from a description.
	Denied uint64
}

// candidateGuard applies the Engine's candidate policy and counts what it refuses.
type candidateGuard struct {
	deny                   []netip.Prefix
	pending, total, denied atomic.Uint64
}

func newCandidateGuard(cfg Config) *candidateGuard {
	g := &candidateGuard{}
	for _, s := range cfg.DenyCandidateCIDRs {
		if p, err := parsePrefix(s); err == nil { // Validate rejected the others
			g.deny = append(g.deny, p)
		}
	}
	return g
}

// CandidateRefusals reports the candidates refused so far.
func (e *Engine) CandidateRefusals() CandidateRefusals {
	g := e.candidates
	return CandidateRefusals{Pending: g.pending.Load(), Total: g.total.Load(), Denied: g.denied.Load()}
}

// ScreenCandidate checks one remote candidate against rtc.deny_candidate_cidrs (counting
// a refusal) for a caller that has no Peer to add it to yet: ErrCandidateDenied, a parse
// error, or nil.
func (e *Engine) ScreenCandidate(value string) error {
	if value == "" {
		return nil
	}
	return e.candidates.screen(value)
}

// screen checks one remote candidate (the attribute value, with or without its
// "candidate:" prefix): ErrCandidateDenied when its address is in a denied prefix, a
// parse error when pion would refuse it too, nil otherwise. Candidates pion discards by
// itself (unknown type or network) and mDNS names (never resolved: mDNS is off) pass.
func (g *candidateGuard) screen(value string) error {
	c, err := ice.UnmarshalCandidate(strings.TrimPrefix(value, "candidate:"))
	if err != nil {
		if errors.Is(err, ice.ErrUnknownCandidateTyp) || errors.Is(err, ice.ErrDetermineNetworkType) {
			return nil
		}
		return fmt.Errorf("parse candidate: %w", err)
	}
	addr, err := netip.ParseAddr(c.Address())
	if err != nil {
		return nil
	}
	addr = addr.WithZone("").Unmap()
	for _, p := range g.deny {
		if p.Contains(addr) {
			g.denied.Add(1)
			return fmt.Errorf("candidate address %s is in %s: %w", addr, p, ErrCandidateDenied)
		}
	}
	return nil
}

// filterSDP removes the a=candidate lines with a denied address from a remote
// description and counts the candidate lines it keeps.
func (g *candidateGuard) filterSDP(sdp string) (filtered string, kept int) {
	var b strings.Builder
	removed := false
	for line := range strings.Lines(sdp) {
		value, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "a=")
		if !ok || !strings.HasPrefix(value, "candidate:") {
			b.WriteString(line)
			continue
		}
		if errors.Is(g.screen(value), ErrCandidateDenied) {
			removed = true
			continue
		}
		kept++
		b.WriteString(line)
	}
	if !removed {
		return sdp, kept
	}
	return b.String(), kept
}

// remoteCandidates is a Peer's count of remote candidates in the current ICE generation.
// Guarded by Peer.mu.
type remoteCandidates struct {
	ufrag    string // ICE username fragment of the last applied remote description
	trickled int    // trickled since the generation began, queued ones included
	inSDP    int    // candidate lines of the last applied remote description
}

// admitLocked screens and counts one trickled candidate (empty: end of candidates,
// queued but not counted) or refuses it. Caller holds p.mu.
func (p *transport) admitLocked(c string) error {
	cfg, g := p.engine.cfg, p.engine.candidates
	if c != "" {
		if err := g.screen(c); err != nil {
			return err
		}
	}
	if !p.remoteSet && len(p.pendingRemote) >= cfg.MaxPendingCandidates {
		g.pending.Add(1)
		return fmt.Errorf("%d candidates queued before the remote description (rtc.max_pending_candidates): %w",
			len(p.pendingRemote), ErrTooManyCandidates)
	}
	if c == "" {
		return nil
	}
	if n := p.candidates.trickled + p.candidates.inSDP; n >= cfg.MaxRemoteCandidates {
		g.total.Add(1)
		return fmt.Errorf("%d candidates in this ICE generation (rtc.max_remote_candidates): %w", n, ErrTooManyCandidates)
	}
	p.candidates.trickled++
	return nil
}

// screenDescription removes denied candidates from a remote description and refuses
// one that carries more than rtc.max_remote_candidates; it returns the description to
// apply and its candidate count.
func (p *transport) screenDescription(sdp string) (string, int, error) {
	filtered, n := p.engine.candidates.filterSDP(sdp)
	if max := p.engine.cfg.MaxRemoteCandidates; n > max {
		p.engine.candidates.total.Add(1)
		return "", 0, fmt.Errorf("%d candidates in the description, more than %d (rtc.max_remote_candidates): %w", n, max, ErrTooManyCandidates)
	}
	return filtered, n, nil
}

// noteRemoteDescription records an applied remote description: new ICE credentials
// start a new generation's count.
func (p *transport) noteRemoteDescription(sdp string, candidates int) {
	ufrag := iceUfrag(sdp)
	p.mu.Lock()
	if p.candidates.ufrag != "" && ufrag != p.candidates.ufrag {
		p.candidates.trickled = 0
	}
	p.candidates.ufrag, p.candidates.inSDP = ufrag, candidates
	p.mu.Unlock()
}
