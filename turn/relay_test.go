package turn

import (
	"errors"
	"net"
	"testing"
)

// relayPair is a relayPacketConn and a peer socket on loopback.
type relayPair struct {
	relay *relayPacketConn
	peer  net.PacketConn
	gen   *relayGenerator
}

func newRelayPair(tb testing.TB, mediaAddresses ...string) *relayPair {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.ServerMediaAddresses = mediaAddresses
	policy, err := newPeerPolicy(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	inner, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	gen := &relayGenerator{policy: policy, quota: newAllocationQuota(1, 1), stats: &counters{}, tracker: newCloseTracker()}
	if _, ok := gen.quota.acquire("127.0.0.1|u"); !ok {
		tb.Fatal("quota")
	}
	gen.opened()
	p := &relayPair{relay: &relayPacketConn{PacketConn: inner, gen: gen, key: "127.0.0.1|u"}, peer: peer, gen: gen}
	tb.Cleanup(func() {
		_ = p.relay.Close()
		_ = peer.Close()
	})
	return p
}

func TestRelayPacketConnCountsAndReleases(t *testing.T) {
	p := newRelayPair(t)
	payload := []byte("hello peer")
	buf := make([]byte, 64)
	for i := 0; i < 3; i++ {
		if _, err := p.relay.WriteTo(payload, p.peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.peer.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := p.peer.WriteTo(payload[:5], p.relay.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.relay.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
	}
	st := p.gen.stats.snapshot()
	if st.RelayedBytesToPeers != 30 || st.RelayedBytesFromPeers != 15 || st.AllocationsActive != 1 {
		t.Fatalf("stats %+v, want 30 bytes out, 15 in, 1 active", st)
	}
	for i := 0; i < 2; i++ { // the second Close must not release twice
		_ = p.relay.Close()
	}
	if got := p.gen.stats.allocationsActive.Load(); got != 0 {
		t.Errorf("active allocations after Close = %d, want 0", got)
	}
	if _, ok := p.gen.quota.acquire("127.0.0.1|u"); !ok {
		t.Error("Close did not release the quota slot")
	} else if _, again := p.gen.quota.acquire("127.0.0.1|u"); again {
		t.Error("Close did not release exactly one quota slot")
	}
}

func TestRelayPacketConnPortRestriction(t *testing.T) {
	allowedPeer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer allowedPeer.Close()
	p := newRelayPair(t, allowedPeer.LocalAddr().String())

	if _, err := p.relay.WriteTo([]byte("x"), allowedPeer.LocalAddr()); err != nil {
		t.Fatalf("write to the allowed media port: %v", err)
	}
	if _, err := p.relay.WriteTo([]byte("x"), p.peer.LocalAddr()); !errors.Is(err, ErrPeerNotAllowed) {
		t.Fatalf("write to another loopback port = %v, want ErrPeerNotAllowed", err)
	}
	// A datagram from the refused port is dropped; the next one from the allowed port passes.
	if _, err := p.peer.WriteTo([]byte("bad"), p.relay.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if _, err := allowedPeer.WriteTo([]byte("good"), p.relay.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, from, err := p.relay.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "good" || from.String() != allowedPeer.LocalAddr().String() {
		t.Fatalf("read %q from %v, want \"good\" from the allowed port", buf[:n], from)
	}
	if got := p.gen.stats.refusals[RefusedRelayPacket].Load(); got != 2 {
		t.Errorf("relay packet refusals = %d, want 2", got)
	}
}

// BenchmarkRelayPacketConn measures one datagram out and one back through the wrapper.
func BenchmarkRelayPacketConn(b *testing.B) {
	for _, bc := range []struct {
		name  string
		media []string
	}{
		{"open_policy", nil},
		{"port_restricted_policy", []string{"192.168.7.7:7882"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := newRelayPair(b, bc.media...)
			payload := make([]byte, 1200)
			buf := make([]byte, 1500)
			peerAddr, relayAddr := p.peer.LocalAddr(), p.relay.LocalAddr()
			b.ReportAllocs()
			b.SetBytes(int64(2 * len(payload)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := p.relay.WriteTo(payload, peerAddr); err != nil {
					b.Fatal(err)
				}
				if _, _, err := p.peer.ReadFrom(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := p.peer.WriteTo(payload, relayAddr); err != nil {
					b.Fatal(err)
				}
				if _, _, err := p.relay.ReadFrom(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRelayPacketConnAddsNoAllocations: the wrapper allocates nothing per packet beyond
// what the kernel socket calls themselves allocate (net's ReadFrom returns a new address).
func TestRelayPacketConnAddsNoAllocations(t *testing.T) {
	p := newRelayPair(t, "192.168.7.7:7882") // port-restricted policy: the per-packet check runs
	payload := make([]byte, 1200)
	buf := make([]byte, 1500)
	peerAddr, relayAddr := p.peer.LocalAddr(), p.relay.LocalAddr()
	roundTrip := func(out net.PacketConn, in net.PacketConn) {
		if _, err := out.WriteTo(payload, peerAddr); err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.peer.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := p.peer.WriteTo(payload, relayAddr); err != nil {
			t.Fatal(err)
		}
		if _, _, err := in.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
	}
	raw := testing.AllocsPerRun(200, func() { roundTrip(p.relay.PacketConn, p.relay.PacketConn) })
	wrapped := testing.AllocsPerRun(200, func() { roundTrip(p.relay, p.relay) })
	if wrapped > raw {
		t.Errorf("wrapped round trip allocates %.1f times, raw socket %.1f: the wrapper allocates per packet", wrapped, raw)
	}
}
