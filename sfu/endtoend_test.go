package sfu

import (
	"fmt"
	"runtime"
	"testing"
)

// sendBursts publishes bursts of benchBurst packets on c as the benchmark does, waiting
// after each until every subscribing client has read it or a second passed (deliveryGate:
// the rest counts as lost). The gate's target counts the packets sent since its reset.
func (c *loopbackCall) sendBursts(bursts int) {
	for range bursts {
		for range benchBurst {
			c.write(false)
		}
		c.gate.wait(c.gate.target.Load() + benchBurst)
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
	missing := "nothing checked yet"
	defer func() {
		if t.Failed() {
			t.Logf("last missing: %s", missing)
		}
	}()
	waitFor(t, func() bool {
		c.sendBursts(1) // keep losses, repairs and reports coming
		switch {
		case c.responder.resent.Load() == 0:
			missing = "a resend by the publishing client (the server NACKs its losses)"
		case c.repaired.Load() == 0:
			missing = "a lost packet resent to a subscribing client (the server answers their NACKs)"
		case c.responder.feedback.Load() == 0:
			missing = "transport-wide feedback read by the publishing client"
		default:
			missing = ""
		}
		for i, sub := range c.subs {
			s := sub.DownlinkStats()
			switch {
			case missing != "":
			case len(s.Tracks) != 1:
				missing = fmt.Sprintf("subscriber %d: %d DownTracks", i, len(s.Tracks))
			case s.Tracks[0].Reports == 0 || s.Tracks[0].RTT == 0:
				missing = fmt.Sprintf("subscriber %d: receiver reports with an RTT (%+v)", i, s.Tracks[0])
			case s.Tracks[0].NACKed == 0:
				missing = fmt.Sprintf("subscriber %d: NACKs", i)
			case sub.bw.lastTWCCNs.Load() == 0:
				missing = fmt.Sprintf("subscriber %d: transport-wide feedback at its congestion controller", i)
			}
		}
		return missing == ""
	})
}

// Forwarding end to end (on the own read path, rtpin.go, and the own write path)
// allocates nothing per packet but pion's RTCP writes at their
// interval (since D155 the transport-wide feedback itself allocates nothing; 0.006 per
// delivered packet, 0.07–0.16 with pion's twcc.Recorder; docs/performance.md, "Own
// transport-wide feedback writer"): with pion's default interceptors the clients allocated 6–8
// objects per delivered packet. One subscriber: an allocation per published or per
// delivered packet shows as 1 more, and the allocations per interval, which count for more
// per packet the slower a busy machine forwards, stay fewest.
func TestForwardEndToEndAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("pion's packet pools (sync.Pool) drop items under -race")
	}
	for _, tc := range []struct {
		name                 string
		writers, subscribers int
	}{
		{"a goroutine per subscriber", 0, 1},
		{"writer pool (rtc.writers)", 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const bursts = 100
			c := newLoopbackCall(t, tc.subscribers, withOwnInbound(true), func(c *Config) { c.Writers = tc.writers })
			c.sendBursts(10) // past start-up
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			c.sendBursts(bursts)
			runtime.ReadMemStats(&after)
			if c.pub.in == nil || c.pub.in.taken.Load() < bursts*benchBurst {
				t.Fatal("the publisher's packets did not go the own read path (rtpin.go): it is not measured")
			}
			if pooled := c.engine.pool != nil; pooled != (tc.writers > 0) {
				t.Fatalf("writer pool %v with rtc.writers %d", pooled, tc.writers)
			} else if pooled {
				var assigned int64
				for _, w := range c.engine.pool.writers {
					assigned += w.assigned.Load()
				}
				if assigned != int64(tc.subscribers) {
					t.Fatalf("%d of %d subscribers written by the pool (the others handed over)", assigned, tc.subscribers)
				}
				if h := c.engine.stamping.wakes.Load(); h == nil || h.inlineTurns.Load()+h.woken.Load() == 0 {
					t.Fatal("the read goroutine neither wrote for the writers nor woke them (rtc.reader_turns, readerwrites.go)")
				} else {
					t.Logf("read goroutine: %d inline turns, %d writers woken", h.inlineTurns.Load(), h.woken.Load())
				}
			}
			delivered := float64(bursts * benchBurst * tc.subscribers)
			if per := float64(after.Mallocs-before.Mallocs) / delivered; per > 1 {
				t.Fatalf("%.2f allocations per delivered packet, want < 1", per)
			} else {
				t.Logf("%.3f allocations per delivered packet", per)
			}
		})
	}
}
