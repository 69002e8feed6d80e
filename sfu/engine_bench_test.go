package sfu

import (
	"testing"
)

// BenchmarkNewPeer: what one Publisher and one Subscriber cost to make and close (a
// call's participant has one of each). The DTLS certificate and the subscriber's Sender queue dominate.
//
//	go test -run '^$' -bench BenchmarkNewPeer -benchmem ./sfu/
func BenchmarkNewPeer(b *testing.B) {
	kinds := []struct {
		name  string
		build func(e *Engine) (interface{ Close() error }, error)
	}{
		{"publisher", func(e *Engine) (interface{ Close() error }, error) { return e.NewPublisher("alice") }},
		{"subscriber", func(e *Engine) (interface{ Close() error }, error) {
			return e.NewSubscriber(SubscriberOptions{ID: "alice"})
		}},
	}
	for _, kind := range kinds {
		b.Run("role="+kind.name, func(b *testing.B) {
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
				p, err := kind.build(e)
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
