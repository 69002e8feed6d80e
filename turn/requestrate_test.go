package turn

import (
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// stunAllocate is an unauthenticated Allocate request (REQUESTED-TRANSPORT UDP), which
// pion answers 401 with a fresh nonce.
func stunAllocate() []byte {
	m := stunBinding()
	binary.BigEndian.PutUint16(m[0:], 0x0003)
	binary.BigEndian.PutUint16(m[2:], 8)
	return append(m, 0x00, 0x19, 0x00, 0x04, 17, 0, 0, 0)
}

// floodRequests sends n requests made by mk from a UDP socket on local and counts the
// answers that arrive within a second of the last.
func floodRequests(t *testing.T, s *Server, local string, n int, mk func() []byte) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", net.JoinHostPort(local, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range n {
		if _, err := c.WriteTo(mk(), s.Addrs().UDP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Microsecond) // stay within the socket buffers: count the limit's drops, not the kernel's
	}
	return countAnswers(c)
}

// countAnswers counts the packets (or, through pion's STUNConn, a stream's frames) c reads
// until a second passes without one.
func countAnswers(c net.PacketConn) int {
	answered := 0
	buf := make([]byte, 1600)
	for {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, err := c.ReadFrom(buf); err != nil {
			return answered
		}
		answered++
	}
}

// The STUN requests of one address to the UDP listener are bounded (D316): with the clock
// stopped, exactly turn.requests_burst_per_ip of a flood of unauthenticated Allocates and
// Bindings are answered, the rest dropped and counted; another address allocates and
// relays; a client of the flooded address whose channel is bound keeps relaying (data is
// never counted). Without the limit every request was answered (pion answers each on the
// listener's one read goroutine).
func TestRequestRatePerIP(t *testing.T) {
	now := time.Now()
	s := startServer(t, func(c *Config) {
		allowLoopbackPeers(c)
		c.RequestsPerSecondPerIP, c.RequestsBurstPerIP = 1, 30
	}, func(s *Server) { s.now = func() time.Time { return now } })
	user, pass, _ := s.Credentials("carol", now)
	carol := dialClientFrom(t, s, overUDP, "127.0.0.3", user, pass)
	relay, err := carol.allocate(t)
	if err != nil {
		t.Fatal(err)
	}
	peer := echoPeer(t)
	roundTrip(t, relay, peer, []byte("carol's media before the flood"))

	const n = 300
	tests := []struct {
		name, local string
		mk          func() []byte
		want        int
	}{
		{"unauthenticated Allocate", "127.0.0.1", stunAllocate, 30},
		{"Binding", "127.0.0.4", stunBinding, 30},
		// carol's requests (Allocate twice, CreatePermission, ChannelBind, any retransmit)
		// took tokens of her address's bucket: at most 26 are left.
		{"Allocate from carol's address", "127.0.0.3", stunAllocate, -26},
	}
	dropped := uint64(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answered := floodRequests(t, s, tt.local, n, tt.mk)
			if tt.want < 0 && answered > 0 && answered <= -tt.want {
				t.Logf("%d answered", answered)
			} else if answered != tt.want {
				t.Fatalf("%d of %d requests from %s answered, want turn.requests_burst_per_ip's %d", answered, n, tt.local, tt.want)
			}
			dropped += uint64(n - answered)
		})
	}
	if got := s.Stats().Refusals[RefusedRequestRate]; got != dropped {
		t.Fatalf("request_rate refusals %d, want %d", got, dropped)
	}
	roundTrip(t, relay, peer, []byte("carol's media after her address's bucket emptied"))
	user, pass, _ = s.Credentials("alice", now)
	alice := dialClientFrom(t, s, overUDP, "127.0.0.2", user, pass)
	aliceRelay, err := alice.allocate(t)
	if err != nil {
		t.Fatalf("alice from 127.0.0.2 beside the floods: %v", err)
	}
	roundTrip(t, aliceRelay, peer, []byte("alice's media"))
}

func TestIsSTUNRequest(t *testing.T) {
	indication := stunBinding()
	binary.BigEndian.PutUint16(indication[0:], 0x0016) // Send indication
	answer := stunBinding()
	binary.BigEndian.PutUint16(answer[0:], 0x0101) // Binding success
	noCookie := stunBinding()
	noCookie[4] = 0
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"Binding request", stunBinding(), true},
		{"Allocate request", stunAllocate(), true},
		{"Send indication", indication, false},
		{"success answer", answer, false},
		{"ChannelData", []byte{0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false},
		{"no magic cookie", noCookie, false},
		{"request with the top bits set (pion reads it as one)", append([]byte{0xC0, 0x01, 0, 0}, stunBinding()[4:]...), true},
		{"short", stunBinding()[:19], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isSTUNRequest(tt.b); got != tt.want {
				t.Fatalf("isSTUNRequest = %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzIsSTUNRequest: the classifier of turn.requests_per_second_per_ip (D316) counts
// every datagram that pion handles as a request (not ChannelData by pion's test, and a
// STUN message of the request class to pion/stun's decoder), whatever its top bits; it
// counts nothing that pion's decoder reads as an indication or answer.
func FuzzIsSTUNRequest(f *testing.F) {
	f.Add(stunBinding())
	f.Add(stunAllocate())
	f.Add([]byte{0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4})
	f.Add(append([]byte{0x00, 0x16, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42}, make([]byte, 12)...))
	f.Add(append([]byte{0xC0, 0x03, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42}, make([]byte, 12)...))
	f.Add([]byte("BA\x00\x00!\x12\xa4B000000000000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := isSTUNRequest(b)
		m := &stun.Message{Raw: append([]byte(nil), b...)}
		if m.Decode() != nil {
			return // pion drops it whatever the classifier said (a request header spends a token)
		}
		channelData := len(b) >= 4 && b[0]>>6 == 1 && int(binary.BigEndian.Uint16(b[2:4])) <= len(b)-4
		if want := m.Type.Class == stun.ClassRequest && !channelData; got != want {
			t.Fatalf("isSTUNRequest = %v for a message of class %v, channel data %v (%x)", got, m.Type.Class, channelData, b)
		}
	})
}
