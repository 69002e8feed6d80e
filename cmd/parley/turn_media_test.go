package main

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v5"

	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/turn"
)

// TestMediaAddresses: the default turn.server_media_addresses name only the SFU's media
// ports (UDP for UDP relaying, ICE-TCP for TCP allocations) on the host's addresses; the
// samples configs/parley.yaml and configs/parley.production.yaml allow no other port.
func TestMediaAddresses(t *testing.T) {
	sample, err := os.ReadFile("../../configs/parley.production.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The sample refuses to load with its placeholder secret: put in a real one.
	withSecret := filepath.Join(t.TempDir(), "parley.production.yaml")
	real := strings.ReplaceAll(string(sample), configs.SamplePlaceholderSecret, strings.Repeat("r", 32))
	if err := os.WriteFile(withSecret, []byte(real), 0o600); err != nil {
		t.Fatal(err)
	}
	production, err := configs.Load(withSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	development, err := configs.Load("../../configs/parley.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	behindNAT := configs.Default()
	behindNAT.RTC.NodeIP, behindNAT.RTC.NAT1To1IPs = "10.0.0.5", []string{"198.51.100.7", "10.0.0.5"}
	behindNAT.RTC.BindAddress, behindNAT.TURN.BindAddress = "0.0.0.0", "::"
	behindNAT.TURN.RelayIP, behindNAT.TURN.RelayBindAddress = "198.51.100.8", "10.0.0.6"
	behindNAT.HTTP.Address = "[2001:db8::1]:7880"
	tests := []struct {
		name             string
		cfg              configs.Config
		udpPort, tcpPort int
		want             []string
	}{
		{"production sample", production, 7882, 7882, []string{
			"10.0.0.5:7882/udp", "10.0.0.5:7882/tcp", "203.0.113.10:7882/udp", "203.0.113.10:7882/tcp",
		}},
		{"development sample", development, 7882, 7882, []string{"127.0.0.1:7882/udp", "127.0.0.1:7882/tcp"}},
		{"ice-tcp off", development, 7882, 0, []string{"127.0.0.1:7882/udp"}},
		{"every named address once", behindNAT, 7882, 7883, []string{
			"10.0.0.5:7882/udp", "10.0.0.5:7883/tcp", "198.51.100.7:7882/udp", "198.51.100.7:7883/tcp",
			"198.51.100.8:7882/udp", "198.51.100.8:7883/tcp", "10.0.0.6:7882/udp", "10.0.0.6:7883/tcp",
			"[2001:db8::1]:7882/udp", "[2001:db8::1]:7883/tcp",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mediaAddresses(tc.cfg, tc.udpPort, tc.tcpPort)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("mediaAddresses = %q, want %q", got, tc.want)
			}
			cfg := tc.cfg.TURN
			cfg.ServerMediaAddresses = got
			if err := cfg.Validate(); err != nil {
				t.Fatalf("the TURN server refuses them: %v", err)
			}
		})
	}
	for name, cfg := range map[string]configs.Config{"production": production, "development": development} {
		if len(cfg.TURN.ServerMediaAddresses) != 0 {
			t.Errorf("the %s sample sets turn.server_media_addresses %q: the default (media ports only) should apply", name, cfg.TURN.ServerMediaAddresses)
		}
	}
}

// TestTURNReachesOnlyTheMediaPorts: with the default configuration, a logged-in user's
// TURN credentials relay to the SFU's media ports (UDP and, with a TCP allocation, ICE-TCP)
// and to nothing else on the node's IP: a TCP allocation's CONNECT to the HTTP port (where
// /metrics is) or to TURN's own TCP port is refused, and UDP sent to another UDP service
// or to TURN's own UDP port is dropped.
func TestTURNReachesOnlyTheMediaPorts(t *testing.T) {
	r := startServe(t, turnConfig(t))
	mallory := login(t, r.wsURL(), "mallory")
	result, ok := mallory.LoginResult()
	if !ok || len(result.ICEServers) == 0 {
		t.Fatal("the login result carries no TURN credentials")
	}
	user, pass := result.ICEServers[0].Username, result.ICEServers[0].Credential
	turnAddrs, realm := r.srv.turn.Addrs(), r.srv.cfg.TURN.Realm
	mediaUDP, mediaTCP := r.srv.engine.UDPAddr(), r.srv.engine.TCPAddr()
	stats := r.srv.turn.Stats

	t.Run("tcp allocation", func(t *testing.T) {
		ctrl, err := net.Dial("tcp4", turnAddrs.TCP.String())
		if err != nil {
			t.Fatal(err)
		}
		alloc, err := turnClient(t, pionturn.NewSTUNConn(ctrl), turnAddrs.TCP.String(), realm, user, pass).AllocateTCP()
		if err != nil {
			t.Fatalf("AllocateTCP: %v", err)
		}
		t.Cleanup(func() { _ = alloc.Close() })

		conn, err := alloc.Dial("tcp4", mediaTCP.String())
		if err != nil {
			t.Fatalf("CONNECT to the SFU's ICE-TCP port %v: %v", mediaTCP, err)
		}
		_ = conn.Close()
		for _, to := range []string{r.srv.httpAddr(), turnAddrs.TCP.String()} {
			before := stats().Refusals[turn.RefusedPeer]
			if conn, err := alloc.Dial("tcp4", to); err == nil {
				_ = conn.Close()
				t.Errorf("CONNECT to %s succeeded, want refused", to)
			}
			if after := stats().Refusals[turn.RefusedPeer]; after != before+1 {
				t.Errorf("CONNECT to %s: peer refusals %d → %d, want +1", to, before, after)
			}
		}
	})

	t.Run("udp allocation", func(t *testing.T) {
		other, err := net.ListenPacket("udp4", "127.0.0.1:0") // another UDP service on the node
		if err != nil {
			t.Fatal(err)
		}
		var received atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 1500)
			for {
				if _, _, err := other.ReadFrom(buf); err != nil {
					return
				}
				received.Add(1)
			}
		}()
		t.Cleanup(func() {
			_ = other.Close()
			<-done
		})
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		relay, err := turnClient(t, pc, turnAddrs.UDP.String(), realm, user, pass).Allocate()
		if err != nil {
			t.Fatalf("Allocate: %v", err)
		}
		t.Cleanup(func() { _ = relay.Close() })

		payload := []byte(strings.Repeat("x", 100))
		before := stats()
		for _, to := range []net.Addr{other.LocalAddr(), turnAddrs.UDP} {
			if _, err := relay.WriteTo(payload, to); err != nil {
				t.Fatalf("WriteTo %v: %v", to, err)
			}
		}
		eventually(t, 10*time.Second, "both datagrams to non-media ports to be refused", func() bool {
			return stats().Refusals[turn.RefusedRelayPacket] >= before.Refusals[turn.RefusedRelayPacket]+2
		})
		if _, err := relay.WriteTo(payload, mediaUDP); err != nil {
			t.Fatalf("WriteTo the SFU's media port: %v", err)
		}
		eventually(t, 10*time.Second, "the datagram to the SFU's media port to be relayed", func() bool {
			return stats().RelayedBytesToPeers >= before.RelayedBytesToPeers+uint64(len(payload))
		})
		if got := stats().RelayedBytesToPeers - before.RelayedBytesToPeers; got != uint64(len(payload)) {
			t.Errorf("relayed %d bytes to peers, want %d (the media port's datagram only)", got, len(payload))
		}
		if n := received.Load(); n != 0 {
			t.Errorf("the other UDP service received %d datagrams through the relay, want 0", n)
		}
	})
}

// turnClient is a pion TURN client over conn (closed at test end) to the TURN server at
// addr, with the TURN REST credentials of a login result.
func turnClient(t *testing.T, conn net.PacketConn, addr, realm, user, pass string) *pionturn.Client {
	t.Helper()
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		TURNServerAddr: addr,
		STUNServerAddr: addr,
		Username:       user,
		Password:       pass,
		Realm:          realm,
		Conn:           conn,
		RTO:            200 * time.Millisecond,
	})
	if err != nil {
		_ = conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		_ = conn.Close()
	})
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	return c
}
