package turn

import (
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// FuzzServerDatagram feeds arbitrary datagrams to a running server's UDP port (through
// pion's STUN/ChannelData parsing, our auth handler and quota/permission callbacks) and
// checks after each that the server still answers a Binding request.
func FuzzServerDatagram(f *testing.F) {
	cfg := DefaultConfig()
	cfg.Secret = testSecret
	cfg.StaticUsers = map[string]string{"fuzz": "fuzz-password"}
	cfg.RequestsPerSecondPerIP = 0 // every datagram reaches pion, and the Binding after it is answered
	s, err := New(cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	s.anyPorts = true
	if err := s.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })

	username, password, _ := s.Credentials("fuzzer", time.Now())
	build := func(setters ...stun.Setter) []byte {
		m, err := stun.Build(append([]stun.Setter{stun.TransactionID}, setters...)...)
		if err != nil {
			f.Fatal(err)
		}
		return m.Raw
	}
	allocate := stun.NewType(stun.MethodAllocate, stun.ClassRequest)
	udpTransport := stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}
	key := stun.NewLongTermIntegrity(username, "parley", password)
	f.Add(build(stun.BindingRequest))
	f.Add(build(allocate, udpTransport))
	f.Add(build(allocate, udpTransport, stun.NewUsername(username), stun.NewRealm("parley"), stun.NewNonce("bogus"), key, stun.Fingerprint))
	f.Add(build(allocate, udpTransport, stun.NewUsername("1:"), stun.NewRealm("parley"), stun.NewNonce("bogus"), key))
	f.Add(build(stun.NewType(stun.MethodCreatePermission, stun.ClassRequest), stun.NewUsername("fuzz")))
	f.Add([]byte{0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4}) // ChannelData
	f.Add([]byte{0x00, 0x01, 0xff, 0xff, 0x21, 0x12, 0xa4, 0x42})
	f.Add([]byte{})

	client, err := net.Dial("udp4", s.Addrs().UDP.String())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = client.Close() })
	buf := make([]byte, 2048)

	f.Fuzz(func(t *testing.T, datagram []byte) {
		if _, err := client.Write(datagram); err != nil {
			t.Fatalf("write: %v", err)
		}
		probe := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
		for attempt := 0; attempt < 5; attempt++ {
			if _, err := client.Write(probe.Raw); err != nil {
				t.Fatalf("write probe: %v", err)
			}
			if err := client.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
				t.Fatal(err)
			}
			for {
				n, err := client.Read(buf)
				if err != nil {
					break // resend the probe
				}
				res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
				if res.Decode() == nil && res.TransactionID == probe.TransactionID {
					if res.Type != stun.BindingSuccess {
						t.Fatalf("binding probe answered with %v", res.Type)
					}
					return
				}
			}
		}
		t.Fatalf("server stopped answering after datagram %x", datagram)
	})
}
