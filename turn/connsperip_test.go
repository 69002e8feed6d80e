package turn

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// stunBinding is an unauthenticated STUN Binding request.
func stunBinding() []byte {
	m := make([]byte, 20)
	binary.BigEndian.PutUint16(m[0:], 0x0001)
	binary.BigEndian.PutUint32(m[4:], 0x2112A442)
	_, _ = rand.Read(m[8:])
	return m
}

// bindingConn dials the TURN TCP port from local and checks that it answers a Binding
// request; the connection is closed at test end.
func bindingConn(t *testing.T, s *Server, local string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp4", s.Addrs().TCP.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(stunBinding()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1500)); err != nil {
		t.Fatalf("Binding over TCP from %s: %v, want an answer", local, err)
	}
	return c
}

// The TCP and TLS connections of one address to the TURN listeners are capped (D272):
// beyond turn.max_conns_per_ip a connection is closed at accept and counted, whichever
// listener; another address is served and allocates; a closed connection frees its slot.
func TestClientConnectionsPerIP(t *testing.T) {
	s := startServer(t, func(c *Config) {
		allowLoopbackPeers(c)
		c.MaxConnsPerIP = 3
	})
	held := []net.Conn{bindingConn(t, s, "127.0.0.1"), bindingConn(t, s, "127.0.0.1"), bindingConn(t, s, "127.0.0.1")}

	dialClosed(t, s.Addrs().TCP.String(), "a fourth TCP connection")
	roots := x509.NewCertPool()
	roots.AddCert(s.certificateLeaf())
	if c, err := tls.Dial("tcp4", s.Addrs().TLS.String(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}); err == nil {
		_ = c.Close()
		t.Fatal("a fourth connection over TLS completed its handshake, want it closed")
	}
	waitFor(t, "2 ip_connections refusals", func() bool { return s.Stats().Refusals[RefusedConnsIP] == 2 })

	user, pass, _ := s.Credentials("alice", time.Now())
	relay, err := dialClientFrom(t, s, overTCP, "127.0.0.2", user, pass).allocate(t)
	if err != nil {
		t.Fatalf("allocation from another address: %v", err)
	}
	roundTrip(t, relay, echoPeer(t), []byte("served beside a full address"))

	_ = held[0].Close()
	waitFor(t, "a freed slot", func() bool { return servesBinding(s, "127.0.0.1") })
}

// servesBinding reports whether a new TCP connection from local gets a Binding answered.
func servesBinding(s *Server, local string) bool {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp4", s.Addrs().TCP.String())
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	_, _ = c.Write(stunBinding())
	_, err = c.Read(make([]byte, 1500))
	return err == nil
}

// All clients together hold at most turn.max_conns TCP and TLS connections (D272): beyond
// it a connection of any address is closed at accept and counted; a closed one frees its
// slot.
func TestClientConnectionsServerWide(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MaxConns, c.MaxConnsPerIP = 3, 0 })
	held := []net.Conn{bindingConn(t, s, "127.0.0.1"), bindingConn(t, s, "127.0.0.1"), bindingConn(t, s, "127.0.0.2")}
	dialClosed(t, s.Addrs().TCP.String(), "a fourth connection of the server")
	waitFor(t, "a connections refusal", func() bool { return s.Stats().Refusals[RefusedConns] == 1 })
	_ = held[2].Close()
	waitFor(t, "a freed slot", func() bool { return servesBinding(s, "127.0.0.3") })
}
