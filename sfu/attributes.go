package sfu

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// reusedAttributes is an interceptor, registered outermost, that gives every packet a
// local stream writes the same interceptor.Attributes map (cleared each time) instead of
// none: pion's GCC estimator otherwise makes a map for each packet to note the
// transport-wide-cc extension ID (gcc.SendSideBWE.AddStream), two allocations per packet
// a subscriber's Sender writes. A local stream is written by one goroutine only (its
// subscriber Peer's Sender), so the map is never shared between goroutines; what the
// interceptors below put in it is read within the same Write.
type reusedAttributes struct{ interceptor.NoOp }

// NewInterceptor makes the interceptor of one PeerConnection (interceptor.Factory).
func (*reusedAttributes) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &reusedAttributes{}, nil
}

// BindLocalStream wraps the stream's writer.
func (*reusedAttributes) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	attrs := interceptor.Attributes{}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if a == nil {
			clear(attrs)
			a = attrs
		}
		return w.Write(h, payload, a)
	})
}
