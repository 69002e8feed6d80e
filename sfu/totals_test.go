package sfu

import "testing"

// What Peers counted stays in the Engine's totals after they close, including what they
// counted after the last reading (a collector summing open Peers at scrape time lost it).
func TestEngineTotalsKeepClosedPeers(t *testing.T) {
	c := newLoopbackCall(t, 1)
	before := c.engine.MediaTotals()
	if before.ForwardedPackets == 0 || before.ReceivedPackets == 0 {
		t.Fatalf("totals while the call runs: %+v, want packets received and forwarded", before)
	}
	const n = 40
	for range n {
		c.write(false)
	}
	c.gate.wait(n)
	delivered := n - c.gate.lost
	if delivered == 0 {
		t.Fatal("nothing delivered")
	}
	for _, s := range c.subs {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.pub.Close(); err != nil {
		t.Fatal(err)
	}
	if peers := c.engine.PeerCount(); peers != 0 {
		t.Fatalf("%d Peers still open", peers)
	}
	after := c.engine.MediaTotals()
	if after.ForwardedPackets < before.ForwardedPackets+delivered || after.ForwardedBytes <= before.ForwardedBytes ||
		after.ReceivedPackets < before.ReceivedPackets+delivered || after.ReceivedBytes <= before.ReceivedBytes {
		t.Fatalf("totals after the Peers closed: %+v; before the last %d packets (%d delivered): %+v", after, n, delivered, before)
	}
	if again := c.engine.MediaTotals(); again != after {
		t.Fatalf("totals moved with no Peer open: %+v, then %+v", after, again)
	}
}
