package sfu

import (
	"log/slog"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
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
	twccExtension, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		b.Fatal(err)
	}
	withoutGCC.Add(senderReports)
	withoutGCC.Add(twccExtension)
	b.Run("engine", func(b *testing.B) { benchmarkChainWrite(b, full) })
	b.Run("without-gcc", func(b *testing.B) { benchmarkChainWrite(b, withoutGCC) })
}

func benchmarkChainWrite(b *testing.B, registry *interceptor.Registry) {
	chain, err := registry.Build("bench")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = chain.Close() }()
	info := &interceptor.StreamInfo{
		SSRC: 1, ClockRate: 90000, MimeType: "video/VP8",
		RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: 5}},
	}
	writer := chain.BindLocalStream(info, interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) {
		return 0, nil
	}))
	payload := make([]byte, 1100)
	h := &rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.SequenceNumber++
		h.Timestamp += 3000
		h.Extension, h.Extensions = false, h.Extensions[:0]
		if _, err := writer.Write(h, payload, nil); err != nil {
			b.Fatal(err)
		}
	}
}
