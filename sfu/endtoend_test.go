package sfu

import (
	"runtime"
	"testing"
)

// sendBursts publishes bursts of benchBurst packets on c, waiting after each until every
// subscribing client has read them all (waitFor: lost packets must be repaired). The
// gate's target counts the packets sent since its reset.
func (c *loopbackCall) sendBursts(t *testing.T, bursts int) {
	t.Helper()
	for range bursts {
		for range benchBurst {
			c.write(false)
		}
		target := c.gate.target.Add(benchBurst)
		waitFor(t, func() bool {
			for i := range c.gate.counts {
				if c.gate.counts[i].Load() < target {
					return false
				}
			}
			return true
		})
	}
}

// The benchmark's lean clients send what a browser sends and the server acts on it
// (leanclient_test.go): a subscribing client's transport-wide feedback reaches its Peer's
// congestion controller, its receiver reports give the DownTrack the round-trip time
// (they answer the sender reports the client reads), and what it lost is NACKed and
// resent by the server; the publishing client's lost packets are NACKed by the server and
// resent from its ring, and it reads the server's transport-wide feedback about the
// packets it numbered.
func TestLeanClientsSendFeedback(t *testing.T) {
	c := newLossyLoopbackCall(t, 2, callLoss{
		publisher:  func(seq uint16) bool { return seq%50 == 7 },
		subscriber: func(seq uint16) bool { return seq%40 == 11 },
	})
	c.sendBursts(t, 10)
	if c.responder.resent.Load() == 0 {
		t.Error("the publishing client resent nothing; the server did not NACK its losses")
	}
	if c.repaired.Load() == 0 {
		t.Error("no subscribing client got a lost packet again; the server did not answer their NACKs")
	}
	waitFor(t, func() bool {
		c.sendBursts(t, 1) // keep the reports coming
		for _, sub := range c.subs {
			s := sub.DownlinkStats()
			if len(s.Tracks) != 1 || s.Tracks[0].Reports == 0 || s.Tracks[0].RTT == 0 || s.Tracks[0].NACKed == 0 ||
				sub.bw.lastTWCCNs.Load() == 0 {
				return false
			}
		}
		return c.responder.feedback.Load() > 0
	})
}

// Forwarding end to end allocates nothing per packet but the transport-wide feedback the
// clients and the server build at their interval (pion's twcc.Recorder; docs/performance.md,
// "Lean benchmark clients"): with pion's default interceptors the clients allocated 6–8
// objects per delivered packet. One subscriber: an allocation per published or per
// delivered packet shows as 1 more, and the allocations per interval, which count for more
// per packet the slower a busy machine forwards, stay fewest.
func TestForwardEndToEndAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("pion's packet pools (sync.Pool) drop items under -race")
	}
	const subscribers, bursts = 1, 100
	c := newLoopbackCall(t, subscribers)
	c.sendBursts(t, 10) // past start-up
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c.sendBursts(t, bursts)
	runtime.ReadMemStats(&after)
	delivered := float64(bursts * benchBurst * subscribers)
	if per := float64(after.Mallocs-before.Mallocs) / delivered; per > 1 {
		t.Fatalf("%.2f allocations per delivered packet, want < 1", per)
	} else {
		t.Logf("%.3f allocations per delivered packet", per)
	}
}
