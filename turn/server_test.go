package turn

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// allowLoopbackPeers lets the test servers relay to peers on 127.0.0.1.
func allowLoopbackPeers(c *Config) { c.AllowCIDRs = []string{"127.0.0.1/32"} }

// roundTrip sends msg through relay to peer (an echo peer) and waits for the echo,
// resending a few times in case a loopback datagram is lost.
func roundTrip(t *testing.T, relay net.PacketConn, peer net.Addr, msg []byte) {
	t.Helper()
	buf := make([]byte, 2048)
	for attempt := 0; attempt < 5; attempt++ {
		if _, err := relay.WriteTo(msg, peer); err != nil {
			t.Fatalf("relay WriteTo %v: %v", peer, err)
		}
		if err := relay.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
			t.Fatal(err)
		}
		for {
			n, from, err := relay.ReadFrom(buf)
			if err != nil {
				break // deadline: resend
			}
			if from.String() == peer.String() && bytes.Equal(buf[:n], msg) {
				return
			}
		}
	}
	t.Fatalf("no echo of %d bytes from %v through the relay", len(msg), peer)
}

func TestRelayDataOverEachTransport(t *testing.T) {
	for _, tr := range []transport{overUDP, overTCP, overTLS} {
		t.Run(string(tr), func(t *testing.T) {
			s := startServer(t, allowLoopbackPeers)
			peer := echoPeer(t)
			user, pass, _ := s.Credentials("alice", time.Now())
			client := dialClient(t, s, tr, user, pass)
			relay, err := client.allocate(t)
			if err != nil {
				t.Fatalf("Allocate over %s: %v", tr, err)
			}
			relayAddr := relay.LocalAddr().(*net.UDPAddr)
			if !relayAddr.IP.Equal(net.IPv4(127, 0, 0, 1)) || relayAddr.Port < testRelayPortMin || relayAddr.Port > testRelayPortMax {
				t.Errorf("relay address %v: want 127.0.0.1:%d..%d", relayAddr, testRelayPortMin, testRelayPortMax)
			}

			const messages = 20
			sent := 0
			for i := 0; i < messages; i++ {
				msg := []byte(fmt.Sprintf("%s message %02d %s", tr, i, strings.Repeat("x", 100+i)))
				roundTrip(t, relay, peer, msg)
				sent += len(msg)
			}

			st := s.Stats()
			if st.AllocationsActive != 1 || st.AllocationsTotal != 1 {
				t.Errorf("allocations active/total = %d/%d, want 1/1", st.AllocationsActive, st.AllocationsTotal)
			}
			// The relay counts a datagram after the kernel took it, so the echo can overtake
			// the last count: poll.
			waitFor(t, fmt.Sprintf("%d relayed bytes each way", sent), func() bool {
				st := s.Stats()
				return st.RelayedBytesToPeers >= uint64(sent) && st.RelayedBytesFromPeers >= uint64(sent)
			})
			if err := relay.Close(); err != nil {
				t.Fatalf("close relay: %v", err)
			}
			waitFor(t, "the allocation to be released", func() bool { return s.Stats().AllocationsActive == 0 })
		})
	}
}

func TestPeerPolicyRefusesSpecialPurposePeers(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.ServerMediaAddresses = []string{"127.0.0.2:5000"}
		c.AllowCIDRs = []string{"10.9.0.0/16"}
		c.DenyCIDRs = []string{"1.2.3.0/24"}
	})
	user, pass, _ := s.Credentials("mallory", time.Now())
	client := dialClient(t, s, overUDP, user, pass)
	if _, err := client.allocate(t); err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	tests := []struct {
		peer    string
		allowed bool
	}{
		{"10.0.0.1", false},
		{"192.168.1.1", false},
		{"169.254.1.1", false},
		{"127.0.0.1", false},
		{"100.64.0.1", false},
		{"172.16.5.5", false},
		{"0.0.0.0", false},
		{"224.0.0.251", false},
		{"255.255.255.255", false},
		{"1.2.3.4", false},  // deny_cidrs
		{"127.0.0.2", true}, // server_media_addresses
		{"10.9.1.1", true},  // allow_cidrs
		{"1.1.1.1", true},   // public
	}
	for _, tc := range tests {
		t.Run(tc.peer, func(t *testing.T) {
			before := s.Stats().Refusals[RefusedPeer]
			err := client.CreatePermission(&net.UDPAddr{IP: net.ParseIP(tc.peer), Port: 5000})
			if tc.allowed && err != nil {
				t.Fatalf("CreatePermission(%s) = %v, want allowed", tc.peer, err)
			}
			if !tc.allowed {
				if err == nil {
					t.Fatalf("CreatePermission(%s) succeeded, want refused", tc.peer)
				}
				if after := s.Stats().Refusals[RefusedPeer]; after != before+1 {
					t.Errorf("peer refusals %d → %d, want +1", before, after)
				}
			}
		})
	}
}

func TestAllocationQuotaPerUser(t *testing.T) {
	s := startServer(t, func(c *Config) {
		allowLoopbackPeers(c)
		c.AllocationQuotaPerUser = 2
	})
	user, pass, _ := s.Credentials("carol", time.Now())
	var relays []net.PacketConn
	for i := 0; i < 2; i++ {
		relay, err := dialClient(t, s, overUDP, user, pass).allocate(t)
		if err != nil {
			t.Fatalf("allocation %d within quota: %v", i+1, err)
		}
		relays = append(relays, relay)
	}
	if _, err := dialClient(t, s, overTCP, user, pass).allocate(t); err == nil {
		t.Fatal("third allocation of carol succeeded, want 486 Allocation Quota Reached")
	} else if !strings.Contains(err.Error(), "486") {
		t.Errorf("third allocation error %v, want 486", err)
	}
	if got := s.Stats().Refusals[RefusedQuota]; got != 1 {
		t.Errorf("quota refusals = %d, want 1", got)
	}

	otherUser, otherPass, _ := s.Credentials("dave", time.Now())
	if _, err := dialClient(t, s, overUDP, otherUser, otherPass).allocate(t); err != nil {
		t.Fatalf("dave's allocation (own quota): %v", err)
	}

	if err := relays[0].Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "carol's released slot", func() bool { return s.Stats().AllocationsActive == 2 })
	if _, err := dialClient(t, s, overUDP, user, pass).allocate(t); err != nil {
		t.Fatalf("carol's allocation after releasing one: %v", err)
	}
}

func TestCredentialsRefused(t *testing.T) {
	s := startServer(t, func(c *Config) { c.StaticUsers = map[string]string{"tester": "static-pass"} })
	now := time.Now()
	validUser, validPass, _ := s.Credentials("erin", now)
	expiredUser, expiredPass, _ := s.Credentials("erin", now.Add(-s.cfg.CredentialTTL-time.Minute))
	tests := []struct {
		name     string
		username string
		password string
		reason   RefusalReason
	}{
		{"wrong password", validUser, "bm90IHRoZSBwYXNzd29yZA==", RefusedBadCredentials},
		{"other secret", validUser, restPassword("another-secret-0123456789", validUser), RefusedBadCredentials},
		{"expired", expiredUser, expiredPass, RefusedExpired},
		{"malformed", "erin", validPass, RefusedMalformedUsername},
		{"empty user id", strings.TrimSuffix(validUser, "erin"), restPassword(testSecret, strings.TrimSuffix(validUser, "erin")), RefusedMalformedUsername},
		{"static wrong password", "tester", "nope", RefusedBadCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Stats().Refusals[tc.reason]
			if _, err := dialClient(t, s, overUDP, tc.username, tc.password).allocate(t); err == nil {
				t.Fatal("allocation succeeded, want refused")
			}
			if after := s.Stats().Refusals[tc.reason]; after <= before {
				t.Errorf("%s refusals stayed %d", tc.reason, after)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		if _, err := dialClient(t, s, overUDP, validUser, validPass).allocate(t); err != nil {
			t.Fatalf("valid REST credentials refused: %v", err)
		}
	})
	t.Run("static user", func(t *testing.T) {
		if _, err := dialClient(t, s, overUDP, "tester", "static-pass").allocate(t); err != nil {
			t.Fatalf("static user refused: %v", err)
		}
	})
}

func TestGarbageIsIgnored(t *testing.T) {
	s := startServer(t, allowLoopbackPeers)
	addrs := s.Addrs()

	udp, err := net.Dial("udp4", addrs.UDP.String())
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	junk := make([]byte, 1500)
	for i := 0; i < 500; i++ {
		size := 1 + i%len(junk)
		if _, err := rand.Read(junk[:size]); err != nil {
			t.Fatal(err)
		}
		switch i % 4 {
		case 1: // STUN-looking header with the magic cookie and a bogus length
			copy(junk, []byte{0x00, 0x03, 0xff, 0xf0, 0x21, 0x12, 0xa4, 0x42})
		case 2: // ChannelData-looking header
			copy(junk, []byte{0x40, 0x00, 0x05, 0xdc})
		}
		if _, err := udp.Write(junk[:size]); err != nil {
			t.Fatal(err)
		}
	}
	for _, target := range []string{addrs.TCP.String(), addrs.TLS.String()} {
		c, err := net.Dial("tcp4", target)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rand.Read(junk); err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(junk)
		_ = c.Close()
	}

	// A proper client is still served, over every transport.
	peer := echoPeer(t)
	user, pass, _ := s.Credentials("frank", time.Now())
	for _, tr := range []transport{overUDP, overTCP, overTLS} {
		relay, err := dialClient(t, s, tr, user, pass).allocate(t)
		if err != nil {
			t.Fatalf("allocation over %s after garbage: %v", tr, err)
		}
		roundTrip(t, relay, peer, []byte("still serving over "+string(tr)))
	}
}

func TestCloseEndsClientsAndAllocations(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Secret = testSecret
	s, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.anyPorts = true
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	user, pass, _ := s.Credentials("gina", time.Now())
	for _, tr := range []transport{overUDP, overTCP, overTLS} {
		if _, err := dialClient(t, s, tr, user, pass).allocate(t); err != nil {
			t.Fatalf("Allocate over %s: %v", tr, err)
		}
	}
	// A TLS client that never handshakes.
	stalled, err := net.Dial("tcp4", s.Addrs().TLS.String())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()

	if got := s.Stats().AllocationsActive; got != 3 {
		t.Fatalf("active allocations = %d, want 3", got)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := s.Stats().AllocationsActive; got != 0 {
		t.Errorf("active allocations after Close = %d, want 0", got)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := stalled.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := stalled.Read(make([]byte, 1)); err == nil {
		t.Error("stalled TLS connection still open after Close")
	}
}

func TestLifecycle(t *testing.T) {
	t.Run("close before start", func(t *testing.T) {
		s, err := New(DefaultConfig(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Start after Close = %v, want ErrClosed", err)
		}
	})
	t.Run("start twice", func(t *testing.T) {
		s := startServer(t, nil)
		if err := s.Start(); !errors.Is(err, ErrAlreadyStarted) {
			t.Fatalf("second Start = %v, want ErrAlreadyStarted", err)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		s := startServer(t, func(c *Config) { c.Enabled = false })
		if a := s.Addrs(); a.UDP != nil || a.TCP != nil || a.TLS != nil {
			t.Errorf("disabled server bound %+v", a)
		}
		if got := s.ICEServers("u", time.Now(), "example.com"); got != nil {
			t.Errorf("disabled server ICEServers = %v, want nil", got)
		}
	})
	t.Run("invalid config", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.RelayPortMax = 40000
		if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "turn.relay_port_min") {
			t.Fatalf("New with bad config = %v, want turn.relay_port_min error", err)
		}
	})
	t.Run("port in use", func(t *testing.T) {
		busy := startServer(t, nil)
		cfg := DefaultConfig()
		cfg.Secret = testSecret
		cfg.UDPPort = busy.Addrs().UDP.(*net.UDPAddr).Port
		s, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err == nil || !strings.Contains(err.Error(), "turn.udp_port") {
			t.Fatalf("Start on a busy port = %v, want turn.udp_port error", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestEphemeralSecret(t *testing.T) {
	a, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.secret == "" || a.secret == b.secret {
		t.Fatalf("ephemeral secrets %q and %q: want random and different", a.secret, b.secret)
	}
	now := time.Now()
	ua, pa, _ := a.Credentials("u", now)
	ub, pb, _ := b.Credentials("u", now)
	if ua != ub || pa == pb {
		t.Errorf("same username %q/%q must get different passwords under different secrets", ua, ub)
	}
}

// An allocation whose credential expires can no longer be used: every later request
// (CreatePermission here, Refresh likewise) is re-authenticated and refused.
func TestCredentialExpiresDuringAllocation(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	cfg := DefaultConfig()
	cfg.Secret = testSecret
	cfg.CredentialTTL = time.Hour
	s, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.anyPorts = true
	s.now = clock.Now
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	user, pass, _ := s.Credentials("hank", clock.Now())
	client := dialClient(t, s, overUDP, user, pass)
	if _, err := client.allocate(t); err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	if err := client.CreatePermission(&net.UDPAddr{IP: net.IPv4(1, 1, 1, 1), Port: 5000}); err != nil {
		t.Fatalf("CreatePermission before expiry: %v", err)
	}
	clock.Advance(time.Hour + time.Second)
	if err := client.CreatePermission(&net.UDPAddr{IP: net.IPv4(1, 1, 1, 2), Port: 5000}); err == nil {
		t.Fatal("CreatePermission with an expired credential succeeded")
	}
	if got := s.Stats().Refusals[RefusedExpired]; got == 0 {
		t.Error("expired refusal not counted")
	}
}
