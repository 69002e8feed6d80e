package sfu

// Accessors for server-wide metrics. A metrics collector calls them at scrape time; they
// read the atomics the packet goroutines keep anyway and add no work per packet.

// SenderStats counts what one subscriber Peer's writer did since the Peer was created.
type SenderStats struct {
	// ForwardedPackets and ForwardedBytes (RTP payload) count packets handed to the
	// subscriber's transport, retransmissions included.
	ForwardedPackets uint64
	ForwardedBytes   uint64
	// Dropped counts packets of a slow subscriber: refused by its full queue, or
	// overwritten in the publisher's buffer before its writer got to them.
	Dropped uint64
	// Writes counts the socket writes (sendto, sendmmsg, ICE-TCP frames) that carried the
	// own path's packets (rtpout.go): ForwardedPackets / Writes is the datagrams per
	// write that rtc.send_batch achieves (D260).
	Writes uint64
}

// SenderStats returns the writer counters of the Subscriber.
// Safe from any goroutine; lock-free.
func (p *Subscriber) SenderStats() SenderStats {
	st := SenderStats{
		ForwardedPackets: p.sender.forwardedPackets.Load(),
		ForwardedBytes:   p.sender.forwardedBytes.Load(),
		Dropped:          p.sender.dropped.Load(),
	}
	if p.out != nil {
		st.Writes = p.out.writes.Load()
	}
	return st
}
