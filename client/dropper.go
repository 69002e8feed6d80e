package client

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/pion/interceptor"
)

// dropInterceptorFactory builds the loss simulator: an interceptor that discards a
// fraction of the incoming RTP packets of every NACK-enabled stream, before the NACK
// generator sees them. Streams without NACK feedback (audio) are left alone because their
// losses could never be repaired.
type dropInterceptorFactory struct {
	rate    float64
	seed    int64
	dropped atomic.Uint64 // packets dropped by every interceptor of this factory
}

func (f *dropInterceptorFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &dropInterceptor{factory: f}, nil
}

type dropInterceptor struct {
	interceptor.NoOp
	factory *dropInterceptorFactory
}

func streamSupportsNACK(info *interceptor.StreamInfo) bool {
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			return true
		}
	}
	return false
}

// BindRemoteStream wraps the stream's reader. Each stream has its own generator seeded
// from the configured seed and the SSRC, read only by that stream's read goroutine. The
// stream's first packet is never dropped: with nothing received before it, no NACK could
// ever ask for it again.
func (d *dropInterceptor) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if !streamSupportsNACK(info) {
		return reader
	}
	rate := d.factory.rate
	rng := rand.New(rand.NewPCG(uint64(d.factory.seed), uint64(info.SSRC)))
	first := true
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := reader.Read(b, a)
			if err != nil || first || rng.Float64() >= rate {
				first = first && err != nil
				return n, attr, err
			}
			d.factory.dropped.Add(1)
		}
	})
}
