package sfu

import (
	"log/slog"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// BenchmarkSubscriberInterceptorWrite measures what the Engine's interceptor chain (sender
// reports, GCC estimator without pacer, TWCC header extension) costs per packet the
// Sender writes: the part of the forwarding path that is pion's.
//
//	go test -run xxx -bench BenchmarkSubscriberInterceptorWrite -benchmem ./sfu/
func BenchmarkSubscriberInterceptorWrite(b *testing.B) {
	var router estimatorRouter
	full, err := buildInterceptors(pionLoggerFactory{logger: slog.New(slog.DiscardHandler)}, &router, &arrivalStamps{})
	if err != nil {
		b.Fatal(err)
	}
	// The same chain without the estimator, for comparison.
	withoutGCC := &interceptor.Registry{}
	senderReports, err := report.NewSenderInterceptor()
	if err != nil {
		b.Fatal(err)
	}
	withoutGCC.Add(senderReports)
	withoutGCC.Add(twccNumberingFactory{})
	withoutGCC.Add(&reusedAttributes{})
	b.Run("engine", func(b *testing.B) { benchmarkChainWrite(b, full) })
	b.Run("without-gcc", func(b *testing.B) { benchmarkChainWrite(b, withoutGCC) })
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

// The Engine's interceptors allocate no more per written packet than pion's GCC send
// history does (its list element and the interface value holding the entry): the
// per-packet Attributes map is reused (attributes.go) and the transport-wide sequence
// number written into a buffer of the stream (twccseq.go).
func TestSubscriberInterceptorWriteAllocations(t *testing.T) {
	var router estimatorRouter
	registry, err := buildInterceptors(pionLoggerFactory{logger: slog.New(slog.DiscardHandler)}, &router, &arrivalStamps{})
	if err != nil {
		t.Fatal(err)
	}
	write := chainWriter(t, registry)
	for range 100 { // past the history's first growth
		write()
	}
	if allocs := testing.AllocsPerRun(1000, write); allocs > 2 {
		t.Fatalf("%.1f allocations per written packet, want ≤ 2 (pion's send history)", allocs)
	}
}
