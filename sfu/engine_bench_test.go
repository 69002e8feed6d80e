package sfu

import (
	"testing"
)

// BenchmarkNewPeer: what one Peer costs to make and close, per role (a call's participant
// has one of each). The DTLS certificate and the subscriber's Sender queue dominate.
//
//	go test -run '^$' -bench BenchmarkNewPeer -benchmem ./sfu/
func BenchmarkNewPeer(b *testing.B) {
	for _, role := range []PeerRole{RolePublisher, RoleSubscriber} {
		b.Run("role="+role.String(), func(b *testing.B) {
			e, err := NewEngine(func() Config { c := DefaultConfig(); c.UDPPort = 0; return c }(), nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := e.Start(); err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p, err := e.NewPeer(PeerOptions{ID: "alice", Role: role})
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
