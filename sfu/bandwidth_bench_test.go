package sfu

import (
	"log/slog"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// BenchmarkSubscriberInterceptorWrite measures what a subscriber's interceptor chain
// (sender reports, TWCC header extension recording into the send history) costs per
// packet the Sender writes: the part of the forwarding path that is pion's.
//
//	go test -run xxx -bench BenchmarkSubscriberInterceptorWrite -benchmem ./sfu/
func BenchmarkSubscriberInterceptorWrite(b *testing.B) {
	factories := testInterceptorFactories(b)
	b.Run("engine", func(b *testing.B) { benchmarkChainWrite(b, interceptorRegistry(factories, newSendHistory(), nil)) })
	b.Run("without-history", func(b *testing.B) { benchmarkChainWrite(b, interceptorRegistry(factories, nil, nil)) })
}

func testInterceptorFactories(tb testing.TB) []interceptor.Factory {
	factories, err := buildInterceptors(pionLoggerFactory{logger: slog.New(slog.DiscardHandler)}, &arrivalStamps{})
	if err != nil {
		tb.Fatal(err)
	}
	return factories
}

func benchmarkChainWrite(b *testing.B, registry *interceptor.Registry) {
	write := chainWriter(b, registry)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		write()
	}
}

// chainWriter builds registry's chain with one local VP8 stream that negotiated
// transport-wide-cc and returns a function writing its next packet (headers as the
// Sender writes them).
func chainWriter(tb testing.TB, registry *interceptor.Registry) (write func()) {
	chain, err := registry.Build("bench")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = chain.Close() })
	info := &interceptor.StreamInfo{
		SSRC: 1, ClockRate: 90000, MimeType: "video/VP8",
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 5}},
	}
	writer := chain.BindLocalStream(info, interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) {
		return 0, nil
	}))
	payload := make([]byte, 1100)
	h := &rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}
	return func() {
		h.SequenceNumber++
		h.Timestamp += 3000
		h.Extension, h.Extensions = false, h.Extensions[:0]
		if _, err := writer.Write(h, payload, nil); err != nil {
			tb.Fatal(err)
		}
	}
}

// A subscriber's interceptors allocate nothing per written packet (no pion GCC; the
// transport-wide sequence number is written into a buffer of the stream, twccseq.go) and
// record each packet in the Peer's send history (congestion.go).
func TestSubscriberInterceptorWriteAllocations(t *testing.T) {
	history := newSendHistory()
	write := chainWriter(t, interceptorRegistry(testInterceptorFactories(t), history, nil))
	if allocs := testing.AllocsPerRun(1000, write); allocs != 0 {
		t.Fatalf("%.1f allocations per written packet, want 0", allocs)
	}
	for range 2000 {
		write()
	}
	// 3001 packets written (numbered 0…3000): the last sendHistorySize are in the history.
	for _, seq := range []uint16{3000, 3000 - sendHistorySize + 1} {
		if _, size, ok := history.lookup(seq); !ok || size != 12+8+1100 {
			t.Fatalf("history of %d: size %d, found %v; want %d bytes", seq, size, ok, 12+8+1100)
		}
	}
	if _, _, ok := history.lookup(3000 - sendHistorySize); ok {
		t.Fatal("a packet older than the ring still found")
	}
}
