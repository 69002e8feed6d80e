package sfu

import "time"

// maxResends is how often one packet is retransmitted to one subscriber at most.
const maxResends = 3

// nackResponder decides whether a NACKed packet is retransmitted: at most maxResends
// times, and not again within one round-trip time of the previous resend (the NACK was
// probably sent before our resend arrived). Owned by one DownTrack's RTCP goroutine.
type nackResponder struct {
	mask    uint16
	entries []nackEntry
}

type nackEntry struct {
	used     bool
	seq      uint16
	resends  uint8
	lastSent int64 // UnixNano
}

func newNACKResponder(size int) *nackResponder {
	return &nackResponder{mask: uint16(size - 1), entries: make([]nackEntry, size)}
}

// allow reports whether outSeq may be resent at now given the current rtt, and counts
// the resend when it may.
func (n *nackResponder) allow(outSeq uint16, now time.Time, rtt time.Duration) bool {
	e := &n.entries[outSeq&n.mask]
	if !e.used || e.seq != outSeq {
		*e = nackEntry{used: true, seq: outSeq}
	}
	t := now.UnixNano()
	if e.resends >= maxResends {
		return false
	}
	if e.resends > 0 && t-e.lastSent < int64(rtt) && t >= e.lastSent {
		return false
	}
	e.resends++
	e.lastSent = t
	return true
}
