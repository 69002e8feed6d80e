package turn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestIdleClientConnectionsAreClosed: a TCP or TLS client connection that sends nothing
// and holds no allocation is closed after the allocate timeout and counted
// (no_allocation); a connection holding an allocation stays open however quiet it is.
func TestIdleClientConnectionsAreClosed(t *testing.T) {
	const idle = time.Second
	s := startServer(t, allowLoopbackPeers, func(s *Server) { s.allocateTimeout = idle })
	addrs := s.Addrs()

	tcp, err := net.Dial("tcp4", addrs.TCP.String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	roots := x509.NewCertPool()
	roots.AddCert(s.certificateLeaf())
	tlsConn, err := tls.Dial("tcp4", addrs.TLS.String(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer tlsConn.Close()

	peer := echoPeer(t)
	user, pass, _ := s.Credentials("grace", time.Now())
	relays := map[transport]net.PacketConn{}
	for _, tr := range []transport{overTCP, overTLS} {
		// A client allocates at once; on a machine so loaded that its request came later
		// than idle after the connect, the server closed it as idle: dial again.
		var err error
		for try := 0; try < 3 && relays[tr] == nil; try++ {
			relays[tr], err = dialClient(t, s, tr, user, pass).allocate(t)
		}
		if err != nil {
			t.Fatalf("allocation over %s: %v", tr, err)
		}
	}

	for name, c := range map[string]net.Conn{"tcp": tcp, "tls": tlsConn} {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("silent %s connection: read %v, want EOF (closed by the server)", name, err)
		}
	}
	if got := s.Stats().Refusals[RefusedNoAllocation]; got < 2 {
		t.Fatalf("no_allocation refusals %d, want at least the 2 silent connections", got)
	}
	time.Sleep(3 * idle) // the allocating clients were as quiet as the others
	for tr, relay := range relays {
		roundTrip(t, relay, peer, []byte("an allocation keeps its connection over "+string(tr)))
	}
}
