package turn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestOwnAddressReachableOnlyOnMediaPorts: the server's own IP (127.0.0.1, also in
// allow_cidrs as a public node IP would be allowed anyway) is listed as "ip:U/udp" and
// "ip:T/tcp". A UDP allocation reaches U only: another UDP port and the TCP media port
// number over UDP are refused. A TCP allocation CONNECTs to T only: the "HTTP port" (another
// TCP listener) and the UDP media port number over TCP are refused. Nothing refused arrives.
func TestOwnAddressReachableOnlyOnMediaPorts(t *testing.T) {
	var udpOnTCPMedia, udpOther, tcpOnUDPMedia, tcpHTTP atomic.Int64
	udpMedia, tcpOnUDPMediaLn := samePortSockets(t) // U: UDP media port; TCP on U is not media
	serveUDPEcho(t, udpMedia, nil)
	serveTCPEcho(t, tcpOnUDPMediaLn, &tcpOnUDPMedia)
	udpOnTCPMediaPC, tcpMedia := samePortSockets(t) // T: TCP media port; UDP on T is not media
	serveUDPEcho(t, udpOnTCPMediaPC, &udpOnTCPMedia)
	serveTCPEcho(t, tcpMedia, nil)
	other, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveUDPEcho(t, other, &udpOther)
	httpLn, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveTCPEcho(t, httpLn, &tcpHTTP)

	s := startServer(t, func(c *Config) {
		allowLoopbackPeers(c)
		c.ServerMediaAddresses = []string{udpMedia.LocalAddr().String() + "/udp", tcpMedia.Addr().String() + "/tcp"}
	})
	user, pass, _ := s.Credentials("mallory", time.Now())

	t.Run("udp allocation", func(t *testing.T) {
		relay, err := dialClient(t, s, overUDP, user, pass).allocate(t)
		if err != nil {
			t.Fatalf("Allocate: %v", err)
		}
		roundTrip(t, relay, udpMedia.LocalAddr(), []byte("to the UDP media port"))
		before := s.Stats().Refusals[RefusedRelayPacket]
		for _, to := range []net.Addr{other.LocalAddr(), udpOnTCPMediaPC.LocalAddr()} {
			if _, err := relay.WriteTo([]byte("to "+to.String()), to); err != nil {
				t.Fatalf("WriteTo %v: %v", to, err)
			}
		}
		waitFor(t, "both datagrams to non-media ports to be refused", func() bool {
			return s.Stats().Refusals[RefusedRelayPacket] >= before+2
		})
		roundTrip(t, relay, udpMedia.LocalAddr(), []byte("the media port still works"))
		if n, m := udpOther.Load(), udpOnTCPMedia.Load(); n != 0 || m != 0 {
			t.Errorf("%d datagrams reached another UDP port and %d the TCP media port number over UDP, want 0", n, m)
		}
	})

	t.Run("tcp allocation", func(t *testing.T) {
		alloc := dialClient(t, s, overTCP, user, pass).allocateTCP(t)
		conn, err := alloc.Dial("tcp4", tcpMedia.Addr().String())
		if err != nil {
			t.Fatalf("CONNECT to the TCP media port: %v", err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		msg := []byte("through a TCP allocation")
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo from the TCP media port: %q, %v", got, err)
		}

		before := s.Stats().Refusals[RefusedPeer]
		for _, to := range []net.Addr{httpLn.Addr(), tcpOnUDPMediaLn.Addr()} {
			if c, err := alloc.Dial("tcp4", to.String()); err == nil {
				_ = c.Close()
				t.Errorf("CONNECT to %v succeeded, want refused", to)
			} else if !strings.Contains(err.Error(), "447") {
				t.Errorf("CONNECT to %v: %v, want 447 Connection Timeout or Failure", to, err)
			}
		}
		if got := s.Stats().Refusals[RefusedPeer]; got != before+2 {
			t.Errorf("peer refusals %d → %d, want +2", before, got)
		}
		if n, m := tcpHTTP.Load(), tcpOnUDPMedia.Load(); n != 0 || m != 0 {
			t.Errorf("the HTTP port accepted %d and the UDP media port number over TCP %d connections, want 0", n, m)
		}
	})
}

// TestSetServerMediaAddresses: the list set before Start is the one the relay enforces; a
// bare IP is refused naming the entry; after Start (or Close) the list cannot change.
func TestSetServerMediaAddresses(t *testing.T) {
	media, other := echoPeer(t), echoPeer(t)
	cfg := DefaultConfig()
	cfg.Secret = testSecret
	allowLoopbackPeers(&cfg) // without the media list every loopback port would be reachable
	s, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.anyPorts = true
	t.Cleanup(func() { _ = s.Close() })
	if err := s.SetServerMediaAddresses([]string{media.String() + "/udp", "127.0.0.1"}); err == nil ||
		!strings.Contains(err.Error(), `turn.server_media_addresses[1]: "127.0.0.1" has no port`) {
		t.Fatalf("SetServerMediaAddresses with a bare IP = %v, want an error naming entry 1", err)
	}
	if err := s.SetServerMediaAddresses([]string{media.String() + "/udp"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetServerMediaAddresses(nil); !errors.Is(err, ErrAlreadyStarted) {
		t.Errorf("SetServerMediaAddresses after Start = %v, want ErrAlreadyStarted", err)
	}

	user, pass, _ := s.Credentials("mallory", time.Now())
	relay, err := dialClient(t, s, overUDP, user, pass).allocate(t)
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	roundTrip(t, relay, media, []byte("to the media port"))
	if _, err := relay.WriteTo([]byte("to another port"), other); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the datagram to another port to be refused", func() bool {
		return s.Stats().Refusals[RefusedRelayPacket] >= 1
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetServerMediaAddresses(nil); !errors.Is(err, ErrClosed) {
		t.Errorf("SetServerMediaAddresses after Close = %v, want ErrClosed", err)
	}
}
