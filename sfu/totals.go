package sfu

// MediaTotals are the media plane's counters summed over every Peer an Engine has had:
// the live counters of what is open plus, folded in when they ended, the final counters
// of closed Peers, ended Receivers and removed DownTracks. They never decrease, and
// nothing a part counted before it ended is lost (a collector that sums live parts at
// scrape time misses what a part counted between the last scrape and its end).
type MediaTotals struct {
	// ReceivedPackets and ReceivedBytes count RTP from publishers (UplinkStats).
	ReceivedPackets uint64
	ReceivedBytes   uint64
	// ForwardedPackets, ForwardedBytes and Dropped are the subscribers' SenderStats.
	ForwardedPackets uint64
	ForwardedBytes   uint64
	Dropped          uint64
	// ForwardWrites is the subscribers' SenderStats.Writes.
	ForwardWrites uint64
	// NACKed and PLIs are what subscribers asked for (DownTrackStats).
	NACKed uint64
	PLIs   uint64
}

func (t *MediaTotals) add(o MediaTotals) {
	t.ReceivedPackets += o.ReceivedPackets
	t.ReceivedBytes += o.ReceivedBytes
	t.ForwardedPackets += o.ForwardedPackets
	t.ForwardedBytes += o.ForwardedBytes
	t.Dropped += o.Dropped
	t.ForwardWrites += o.ForwardWrites
	t.NACKed += o.NACKed
	t.PLIs += o.PLIs
}

func receiverTotals(r *Receiver) MediaTotals {
	s := r.Stats()
	return MediaTotals{ReceivedPackets: s.Packets, ReceivedBytes: s.Bytes}
}

func downTrackTotals(d *DownTrack) MediaTotals {
	return MediaTotals{NACKed: d.downlink.nacks.Load(), PLIs: d.downlink.plis.Load()}
}

// MediaTotals returns the Engine's totals. Safe from any goroutine; it takes the
// Engine's lock and each open Peer's, and allocates nothing.
func (e *Engine) MediaTotals() MediaTotals {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.closedTotals
	for p := range e.peers {
		t.add(p.mediaTotals())
	}
	return t
}

// mediaTotals is what this Publisher counted: its open Receivers and those that ended.
// Takes p.mu.
func (p *Publisher) mediaTotals() MediaTotals {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.endedTotals
	for r := range p.receivers {
		t.add(receiverTotals(r))
	}
	return t
}

// mediaTotals is what this Subscriber counted: its Sender, its open DownTracks and
// those that were removed. Takes p.mu.
func (p *Subscriber) mediaTotals() MediaTotals {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.endedTotals
	st := p.SenderStats()
	t.add(MediaTotals{ForwardedPackets: st.ForwardedPackets, ForwardedBytes: st.ForwardedBytes, Dropped: st.Dropped,
		ForwardWrites: st.Writes})
	for d := range p.downTracks {
		t.add(downTrackTotals(d))
	}
	return t
}

// foldLocked adds the final counters of a part leaving the Peer's sets. Caller holds p.mu.
func (t *transport) foldLocked(m MediaTotals) { t.endedTotals.add(m) }
