package turn

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v5"
)

// stunSend is a Send indication (relayed data: never counted).
func stunSend() []byte {
	m := stunBinding()
	binary.BigEndian.PutUint16(m[0:], 0x0016)
	return m
}

// channelData is a ChannelData frame of channel 0x4001 with data, padded to 4.
func channelData(data []byte) []byte {
	b := []byte{0x40, 0x01, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(len(data))) //nolint:gosec // test data is short
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func TestStreamFrame(t *testing.T) {
	tests := []struct {
		name          string
		b             []byte
		size          int
		request, more bool
		bad           bool
	}{
		{"Binding", stunBinding(), 20, true, false, false},
		{"Allocate", stunAllocate(), 28, true, false, false},
		{"Send indication", stunSend(), 20, false, false, false},
		{"ChannelData padded", channelData([]byte{1, 2, 3, 4, 5}), 12, false, false, false},
		{"ChannelData, 9 bytes", channelData([]byte{1, 2, 3, 4, 5})[:9], 12, false, false, false},
		{"8 bytes", stunBinding()[:8], 0, false, true, false},
		{"STUN header, 19 bytes", stunBinding()[:19], 0, false, true, false},
		{"ChannelData with the cookie, 12 bytes", channelData([]byte{0x21, 0x12, 0xA4, 0x42, 1}), 0, false, true, false},
		{"STUN with a channel number: ChannelData to pion's handler", append([]byte{0x40, 0x01, 0, 0}, stunBinding()[4:]...), 20, false, false, false},
		{"request with the top bits set", append([]byte{0xC0, 0x01, 0, 0}, stunBinding()[4:]...), 20, true, false, false},
		{"not TURN", make([]byte, 20), 0, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size, request, more, bad := streamFrame(tt.b)
			if size != tt.size || request != tt.request || more != tt.more || bad != tt.bad {
				t.Fatalf("streamFrame = %d %v %v %v, want %d %v %v %v", size, request, more, bad, tt.size, tt.request, tt.more, tt.bad)
			}
		})
	}
}

// TestStreamLimitedConnDropsWholeFrames: over a stream cut anywhere (1 byte a read and
// up), the requests beyond the burst are skipped whole and pion's STUNConn reads every
// other frame intact, in order: relayed data and indications take no token.
func TestStreamLimitedConnDropsWholeFrames(t *testing.T) {
	a, b, c, d := stunBinding(), stunAllocate(), stunBinding(), stunAllocate()
	cd, send, cd2 := channelData([]byte("media")), stunSend(), channelData(bytes.Repeat([]byte{7}, 300))
	stream := bytes.Join([][]byte{a, cd, b, send, c, cd2, d, cd}, nil)
	want := [][]byte{a, cd, b, send, cd2, cd}
	for _, chunk := range []int{1, 3, 7, 19, 20, 21, 64, len(stream)} {
		server, client := net.Pipe()
		var refused atomic.Int64
		now := time.Now()
		conn := &streamLimitedConn{Conn: server, limiter: newRequestLimiter(1, 2), key: netip.MustParsePrefix("192.0.2.1/32"),
			refused: func(net.Addr) { refused.Add(1) }, now: func() time.Time { return now }}
		go func() {
			for i := 0; i < len(stream); i += chunk {
				if _, err := client.Write(stream[i:min(i+chunk, len(stream))]); err != nil {
					return
				}
			}
			_ = client.Close()
		}()
		pion := pionturn.NewSTUNConn(conn)
		buf := make([]byte, 1600)
		var got [][]byte
		for {
			n, _, err := pion.ReadFrom(buf)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("chunk %d: %v", chunk, err)
				}
				break
			}
			got = append(got, append([]byte(nil), buf[:n]...))
		}
		_ = server.Close()
		if len(got) != len(want) {
			t.Fatalf("chunk %d: %d frames, want %d", chunk, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("chunk %d: frame %d is %x, want %x", chunk, i, got[i], want[i])
			}
		}
		if refused.Load() != 2 {
			t.Fatalf("chunk %d: %d refused, want 2", chunk, refused.Load())
		}
	}
}

// floodStream writes n Bindings to conn at once and counts the answers pion's framing
// reads within a second of the last.
func floodStream(t *testing.T, conn net.Conn, n int) int {
	t.Helper()
	flood := make([]byte, 0, n*20)
	for range n {
		flood = append(flood, stunBinding()...)
	}
	if _, err := conn.Write(flood); err != nil {
		t.Fatal(err)
	}
	return countAnswers(pionturn.NewSTUNConn(conn))
}

// The STUN requests of one address over TCP and TLS take the tokens of its UDP requests'
// bucket (D332): with the clock stopped, a connection flooding 300 Bindings at once gets
// exactly turn.requests_burst_per_ip answers, the rest dropped whole and counted, and the
// connection stays usable: after a second more its next Binding is answered. Another
// address allocates and relays over TCP beside the floods. Without the limit every
// Binding over TCP was answered.
func TestRequestRatePerIPOverStreams(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	s := startServer(t, func(c *Config) {
		allowLoopbackPeers(c)
		c.RequestsPerSecondPerIP, c.RequestsBurstPerIP = 1, 30
	}, func(s *Server) { s.now = func() time.Time { return time.Unix(0, clock.Load()) } })

	tcpConn, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}}).Dial("tcp4", s.Addrs().TCP.String())
	if err != nil {
		t.Fatal(err)
	}
	defer tcpConn.Close()
	roots := x509.NewCertPool()
	roots.AddCert(s.certificateLeaf())
	tlsConn, err := tls.DialWithDialer(&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.5")}}, "tcp4", s.Addrs().TLS.String(),
		&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer tlsConn.Close()

	const n = 300
	for _, c := range []struct {
		name string
		conn net.Conn
	}{{"tcp", tcpConn}, {"tls", tlsConn}} {
		if got := floodStream(t, c.conn, n); got != 30 {
			t.Fatalf("%s: %d of %d Bindings answered, want turn.requests_burst_per_ip's 30", c.name, got, n)
		}
	}
	if got := s.Stats().Refusals[RefusedRequestRate]; got != 2*(n-30) {
		t.Fatalf("request_rate refusals %d, want %d", got, 2*(n-30))
	}

	clock.Add(int64(time.Second))
	for _, c := range []net.Conn{tcpConn, tlsConn} {
		if got := floodStream(t, c, 1); got != 1 {
			t.Fatalf("%s after a second: %d answers, want 1 (the framing survived the drops)", c.RemoteAddr(), got)
		}
	}

	user, pass, _ := s.Credentials("alice", time.Unix(0, clock.Load()))
	relay, err := dialClientFrom(t, s, overTCP, "127.0.0.2", user, pass).allocate(t)
	if err != nil {
		t.Fatalf("alice over TCP beside the floods: %v", err)
	}
	roundTrip(t, relay, echoPeer(t), []byte("alice's media over TCP"))
}

// oneRead is a net.Conn whose first Read returns b whole, the next io.EOF.
type oneRead struct {
	net.Conn
	b    []byte
	done bool
}

func (c *oneRead) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	c.done = true
	return copy(p, c.b), nil
}

func (c *oneRead) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1} }

// FuzzStreamFrame: streamFrame cuts a stream's first frame where pion's STUNConn does,
// given the same bytes (one read): the same size when pion reads a frame, more when pion
// needs more, bad when pion finds no frame; and request is isSTUNRequest of the frame (how
// pion's handler reads it). The one divergence is documented: with under 20 bytes, a
// channel number and the cookie, streamFrame waits for 20 bytes.
func FuzzStreamFrame(f *testing.F) {
	f.Add(stunBinding())
	f.Add(stunAllocate())
	f.Add(append(stunBinding(), channelData([]byte("media"))...))
	f.Add(channelData([]byte{1, 2, 3, 4, 5}))
	f.Add(append([]byte{0x40, 0x01, 0, 0}, stunBinding()[4:]...))
	f.Add(make([]byte, 20))
	f.Add([]byte{0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 70000 {
			return
		}
		size, request, more, bad := streamFrame(b)
		n, _, err := pionturn.NewSTUNConn(&oneRead{b: b}).ReadFrom(make([]byte, 70000))
		switch {
		case bad:
			if err == nil || errors.Is(err, io.EOF) {
				t.Fatalf("streamFrame: not TURN; pion: %d, %v", n, err)
			}
		case more || size > len(b):
			if more && len(b) < 20 && binary.BigEndian.Uint32(b[4:8]) == stunMagicCookie {
				return // the documented divergence
			}
			if !errors.Is(err, io.EOF) {
				t.Fatalf("streamFrame: %d bytes, more %v; pion read %d, %v", size, more, n, err)
			}
		default:
			if err != nil || n != size {
				t.Fatalf("streamFrame: %d bytes; pion read %d, %v", size, n, err)
			}
			if request != isSTUNRequest(b[:size]) {
				t.Fatalf("streamFrame: request %v, isSTUNRequest %v", request, !request)
			}
		}
	})
}
