package sfu

import (
	"fmt"
	"testing"

	"github.com/pion/srtp/v3"
)

// A subscriber's every RTP packet — first transmissions and the resends its NACKs ask
// for — leaves through the Sender's own path (sealed with the keys learnt from the DTLS
// handshake, written from the Engine's socket), with and without rtc.batch_writes, and
// the pion client decrypts and plays all of it: the delivery gate counts what its track
// read, its NACKs are answered, its transport-wide feedback reaches the congestion
// controller about the numbers the own path gave, and its receiver reports give the
// DownTrack an RTT: they answer the sender reports, which leave sealed by the own SRTCP
// context. pion clients declare
// cryptex (RFC 9335), so the header extension is sealed as they expect.
func TestOwnRTPPathCarriesAllMedia(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch_writes=%v", batch), func(t *testing.T) {
			c := newLossyLoopbackCall(t, 1, callLoss{subscriber: func(seq uint16) bool { return seq%40 == 11 }},
				func(cfg *Config) { cfg.BatchWrites = batch })
			sub := c.subs[0]
			missing := "nothing checked yet"
			waitFor(t, func() bool {
				c.sendBursts(1)
				s := sub.DownlinkStats()
				switch {
				case c.repaired.Load() == 0:
					missing = "a lost packet resent to the client"
				case sub.bw.lastTWCCNs.Load() == 0:
					missing = "transport-wide feedback at the congestion controller"
				case len(s.Tracks) != 1 || s.Tracks[0].RTT == 0:
					missing = fmt.Sprintf("receiver reports with an RTT (%+v)", s.Tracks)
				default:
					missing = ""
				}
				return missing == ""
			})
			if missing != "" {
				t.Fatalf("missing: %s", missing)
			}
			forwarded, own := sub.sender.forwardedPackets.Load(), sub.out.own.Load()
			if forwarded == 0 || own != forwarded {
				t.Fatalf("%d of %d forwarded packets went the own path, want all", own, forwarded)
			}
			if sub.out.ownRTCP.Load() == 0 {
				t.Fatal("no sender report went the own path")
			}
			if n := sub.out.unroutable.Load(); n != 0 {
				t.Fatalf("%d packets unroutable", n)
			}
			if mode := srtp.CryptexMode(sub.out.cryptex.Load()); mode != srtp.CryptexModeEnabled {
				t.Fatalf("cryptex mode %v, want enabled (the pion client declares it)", mode)
			}
			if w := c.engine.batch; batch && w.packets.Load() == 0 {
				t.Fatal("rtc.batch_writes on, but nothing went through the batched writer")
			}
		})
	}
}
