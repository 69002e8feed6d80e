package sfu

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/pion/webrtc/v4"
)

// A subscriber on the own path (D235) whose network starts blocking UDP gets an ICE
// restart that can only end on an ICE-TCP pair; its media keeps arriving, decrypted by
// the client, sealed by the same SRTP context (its counters go on, no nonce repeats)
// and framed onto the TCP connection through the Engine's TCP mux (D250), with and
// without rtc.batch_writes. Without that the own path dropped those packets as
// unroutable.
func TestOwnRTPPathFollowsICERestartOntoTCP(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch_writes=%v", batch), func(t *testing.T) { testOwnRTPPathOntoTCP(t, batch) })
	}
}

func testOwnRTPPathOntoTCP(t *testing.T, batch bool) {
	var blocked atomic.Bool
	c := newLossyLoopbackCall(t, 1, callLoss{udpBlocked: &blocked}, func(cfg *Config) { cfg.BatchWrites = batch })
	sub, client := c.subs[0], c.clients[0]
	waitFor(t, func() bool { c.sendBursts(1); return sub.out.own.Load() > 0 })
	if n := sub.out.overTCP.Load(); n != 0 {
		t.Fatalf("%d packets on TCP while the pair is UDP", n)
	}

	blocked.Store(true)
	sub.RestartICE()
	negotiate(t, sub, client)
	selected := func() *webrtc.ICECandidatePair {
		pair, err := sub.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		if err != nil {
			return nil
		}
		return pair
	}
	waitFor(t, func() bool {
		pair := selected()
		return pair != nil && pair.Local.Protocol == webrtc.ICEProtocolTCP
	})

	before, rtcpBefore := c.reads.Load(), sub.out.ownRTCP.Load()
	waitFor(t, func() bool {
		c.sendBursts(1)
		return c.reads.Load() >= before+4*benchBurst && sub.out.ownRTCP.Load() > rtcpBefore
	})
	if sub.out.overTCP.Load() == 0 {
		t.Fatal("the media after the restart did not go over the ICE-TCP pair")
	}
	if forwarded, own := sub.sender.forwardedPackets.Load(), sub.out.own.Load(); own != forwarded {
		t.Fatalf("%d of %d forwarded packets went the own path, want all (pion's context must not seal them)", own, forwarded)
	}
	if pair := selected(); pair == nil || pair.Local.Protocol != webrtc.ICEProtocolTCP {
		t.Fatalf("selected pair %v, want ICE-TCP", pair)
	}
	// The TCP mux's record of connections ends with the PeerConnections.
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.pub.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return c.engine.tcpMux.len() == 0 })
}
