package turn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v5"
	"go.uber.org/goleak"

	"github.com/parley-rtc/parley/internal/testwait"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testSecret is the shared secret of the test servers.
const testSecret = "parley-test-secret-0123456789"

// startServer starts a TURN server on 127.0.0.1 with kernel-chosen listening ports; edit
// adjusts the configuration first, tune the server before Start. The server is closed at
// the end of the test.
func startServer(t *testing.T, edit func(*Config), tune ...func(*Server)) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Secret = testSecret
	cfg.RelayPortMin, cfg.RelayPortMax = testRelayPortMin, testRelayPortMax
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.anyPorts = true
	for _, f := range tune {
		f(s)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// The relay ports of the test servers: a wide range, so that the random picks of pion's
// port-range generator (10 tries) find free ports when other suites on the same machine
// run TURN servers with relays on 127.0.0.1 at the same time (the default range, 41
// ports, once ran out beside another suite: coturn's client got 508 Insufficient
// Capacity).
const testRelayPortMin, testRelayPortMax = 43000, 43999

// testLogger writes to the test log at debug level when -v, else discards.
func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// quietPion is a pion logger factory for the test clients that drops everything.
func quietPion() pionLoggerFactory {
	return pionLoggerFactory{throttle: newLogThrottle(slog.New(slog.DiscardHandler), time.Second, 1, time.Now)}
}

// transport selects how a test client reaches the TURN server.
type transport string

const (
	overUDP transport = "udp"
	overTCP transport = "tcp"
	overTLS transport = "tls"
)

// turnClient is a pion TURN client connected to s over tr; closed at test end.
type turnClient struct {
	*pionturn.Client
	conn net.PacketConn
}

func dialClient(t *testing.T, s *Server, tr transport, username, password string) *turnClient {
	t.Helper()
	return dialClientFrom(t, s, tr, "127.0.0.1", username, password)
}

// dialClientFrom is dialClient from the loopback address local (127.0.0.2: another
// client's IP; UDP and TCP only).
func dialClientFrom(t *testing.T, s *Server, tr transport, local, username, password string) *turnClient {
	t.Helper()
	addrs := s.Addrs()
	var conn net.PacketConn
	var serverAddr string
	switch tr {
	case overUDP:
		pc, err := net.ListenPacket("udp4", net.JoinHostPort(local, "0"))
		if err != nil {
			t.Fatal(err)
		}
		conn, serverAddr = pc, addrs.UDP.String()
	case overTCP:
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		c, err := d.Dial("tcp4", addrs.TCP.String())
		if err != nil {
			t.Fatal(err)
		}
		conn, serverAddr = pionturn.NewSTUNConn(c), addrs.TCP.String()
	case overTLS:
		roots := x509.NewCertPool()
		roots.AddCert(s.certificateLeaf())
		c, err := tls.Dial("tcp4", addrs.TLS.String(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		conn, serverAddr = pionturn.NewSTUNConn(c), addrs.TLS.String()
	}
	client, err := pionturn.NewClient(&pionturn.ClientConfig{
		TURNServerAddr: serverAddr,
		STUNServerAddr: serverAddr,
		Username:       username,
		Password:       password,
		Realm:          "parley",
		Conn:           conn,
		LoggerFactory:  quietPion(),
		RTO:            200 * time.Millisecond,
	})
	if err != nil {
		_ = conn.Close()
		t.Fatal(err)
	}
	if err := client.Listen(); err != nil {
		client.Close()
		_ = conn.Close()
		t.Fatal(err)
	}
	tc := &turnClient{Client: client, conn: conn}
	t.Cleanup(func() {
		client.Close()
		_ = conn.Close()
	})
	return tc
}

// allocate makes a UDP allocation; the relay conn is closed at test end.
func (c *turnClient) allocate(t *testing.T) (net.PacketConn, error) {
	t.Helper()
	relay, err := c.Allocate()
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = relay.Close() })
	return relay, nil
}

// echoPeer is a UDP peer on 127.0.0.1 that sends every datagram back; closed at test end.
func echoPeer(t *testing.T) *net.UDPAddr {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveUDPEcho(t, pc, nil)
	return pc.LocalAddr().(*net.UDPAddr)
}

// serveUDPEcho sends every datagram pc receives back and counts them in received (if not
// nil); pc is closed at test end.
func serveUDPEcho(t *testing.T, pc net.PacketConn, received *atomic.Int64) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if received != nil {
				received.Add(1)
			}
			if _, err := pc.WriteTo(buf[:n], from); err != nil && errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = pc.Close()
		wg.Wait()
	})
}

// serveTCPEcho accepts on ln, counts the connections in accepted (if not nil) and echoes
// what each sends; ln and the connections are closed at test end.
func serveTCPEcho(t *testing.T, ln net.Listener, accepted *atomic.Int64) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if accepted != nil {
				accepted.Add(1)
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(conn, conn)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// samePortSockets opens a UDP socket and a TCP listener on 127.0.0.1 with the same port
// number (a media port is one number for both transports).
func samePortSockets(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp4", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		_ = pc.Close()
	}
	t.Fatal("no port number free for both UDP and TCP on 127.0.0.1")
	return nil, nil
}

// tcpAllocation is a pion client's RFC 6062 TCP allocation.
type tcpAllocation interface {
	Dial(network, address string) (net.Conn, error)
	Addr() net.Addr
	CreatePermissions(addrs ...net.Addr) error
	Close() error
}

// allocateTCP makes a TCP allocation (the client must be connected over TCP or TLS); it
// is closed at test end.
func (c *turnClient) allocateTCP(t *testing.T) tcpAllocation {
	t.Helper()
	alloc, err := c.AllocateTCP()
	if err != nil {
		t.Fatalf("AllocateTCP: %v", err)
	}
	t.Cleanup(func() { _ = alloc.Close() })
	return alloc
}

// waitFor polls cond until true or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, 10*time.Second, what, cond)
}
