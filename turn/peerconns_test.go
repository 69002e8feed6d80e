package turn

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tcpPeers are n TCP echo peers on 127.0.0.1 (distinct ports: an allocation connects to
// a peer address once); accepted counts their connections.
func tcpPeers(t *testing.T, n int, accepted *atomic.Int64) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		serveTCPEcho(t, ln, accepted)
		addrs[i] = ln.Addr().String()
	}
	return addrs
}

// connectEach dials the peers through alloc in order and checks each outcome: the first
// ok connect, the rest get 447 (the relay refuses).
func connectEach(t *testing.T, alloc tcpAllocation, peers []string, ok int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for i, p := range peers {
		c, err := alloc.Dial("tcp", p)
		switch {
		case i < ok && err != nil:
			t.Fatalf("connect %d to %s: %v, want a connection", i, p, err)
		case i >= ok && (err == nil || !strings.Contains(err.Error(), "447")):
			t.Fatalf("connect %d to %s: %v, want 447", i, p, err)
		}
		if err == nil {
			t.Cleanup(func() { _ = c.Close() })
			conns = append(conns, c)
		}
	}
	return conns
}

// The peer connections of RFC 6062 TCP allocations are bounded per allocation and per
// client address (D271): a Connect beyond either gets 447 and a peer's connection to the
// relay beyond them is closed, both counted; a closed allocation gives its slots back and
// the next connection relays.
func TestPeerConnectionsBounded(t *testing.T) {
	s := startServer(t, allowLoopbackPeers, func(s *Server) { s.peerConns = newAllocationQuota(3, 5) })
	var accepted atomic.Int64
	peers := tcpPeers(t, 5, &accepted)
	user, pass, _ := s.Credentials("mallory", time.Now())

	first := dialClient(t, s, overTCP, user, pass).allocateTCP(t)
	connectEach(t, first, peers[:4], 3) // the allocation's 3, then 447
	second := dialClient(t, s, overTCP, user, pass).allocateTCP(t)
	connectEach(t, second, peers[:3], 2) // the address's 5, then 447

	// A peer's connection to the full allocation's relay is closed at once.
	if err := second.CreatePermissions(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	dialClosed(t, second.Addr().String(), "a peer connection beyond the bound")
	waitFor(t, "3 refusals counted", func() bool { return s.Stats().Refusals[RefusedPeerConns] == 3 })

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the closed allocation's slots given back", func() bool { return s.peerConns.held() == 2 })
	conn := connectEach(t, second, peers[3:4], 1)[0]
	if _, err := conn.Write([]byte("relayed")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "relayed" {
		t.Fatalf("echo through a freed slot: %q, %v", buf, err)
	}
	if got := accepted.Load(); got != 6 {
		t.Fatalf("peers accepted %d connections, want 6 (the refused Connects dial nothing)", got)
	}
}

// dialClosed dials addr over TCP and checks that the server closes the connection.
func dialClosed(t *testing.T, addr, what string) {
	t.Helper()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("%s: read %v, want it closed", what, err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}

// held is the number of slots taken over all address buckets.
func (q *allocationQuota) held() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, c := range q.ips {
		n += c
	}
	return n
}
