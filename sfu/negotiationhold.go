package sfu

// HoldNegotiation keeps a subscriber Peer from starting an offer until the returned
// release is called, so that DownTracks added together (a participant's audio and video,
// everything a participant receives when it starts) go out in one offer. Without it the
// first AddDownTrack starts an offer at once and the next ones wait for its answer: one
// more offer/answer round trip with the subscriber before they can forward. Holds nest;
// release is idempotent and starts the offer that was held back. Any goroutine.
func (p *Subscriber) HoldNegotiation() (release func()) {
	p.mu.Lock()
	p.negotiationHolds++
	p.mu.Unlock()
	released := false
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if released {
			return
		}
		released = true
		p.negotiationHolds--
		p.scheduleNegotiationLocked()
	}
}
