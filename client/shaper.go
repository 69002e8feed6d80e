package client

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"

	"github.com/parley-rtc/parley/internal/rxstamp"
)

// DownlinkShaper limits the rate of the media path towards a client, the way a slow
// access link would: incoming RTP (every stream of every PeerConnection configured with
// it, PeerConfig.Downlink) passes through one shared bottleneck of SetLimit bits per
// second with a bounded queue. The queue is virtual: a packet is lost when the packets
// before it would not have drained at that rate within MaxQueueDelay, and is otherwise
// delivered at once (a policer with the burst tolerance of that queue; delaying packets
// in the read goroutine would serialize the reads and hide the overload). The shaper
// sits at the network end of the interceptor chain, before the transport-wide
// congestion control feedback, so the sender's congestion controller sees the loss. A
// limit of 0 (the zero value) lets everything through. Safe for concurrent use.
type DownlinkShaper struct {
	limit atomic.Int64 // bits per second, 0 = unlimited

	// MaxQueueDelay is the longest a packet waits in the bottleneck before it is
	// dropped instead (default 200ms). Set it before use.
	MaxQueueDelay time.Duration

	mu         sync.Mutex
	drainsAtNs int64 // when the bottleneck's queue is empty again (unix ns)

	dropped atomic.Uint64
}

// SetLimit sets the bottleneck rate in bits per second; 0 removes the limit.
func (s *DownlinkShaper) SetLimit(bps int64) { s.limit.Store(max(bps, 0)) }

// Limit is the current bottleneck rate (0 = unlimited).
func (s *DownlinkShaper) Limit() int64 { return s.limit.Load() }

// Dropped counts packets the bottleneck discarded.
func (s *DownlinkShaper) Dropped() uint64 { return s.dropped.Load() }

func (s *DownlinkShaper) maxQueueDelay() time.Duration {
	if s.MaxQueueDelay > 0 {
		return s.MaxQueueDelay
	}
	return 200 * time.Millisecond
}

// admit places a packet of n bytes arriving at now in the bottleneck: it returns how
// long the packet would wait in the queue, or false when the queue is too long and the
// packet is lost.
func (s *DownlinkShaper) admit(n int, now time.Time) (time.Duration, bool) {
	limit := s.limit.Load()
	if limit <= 0 {
		return 0, true
	}
	// IP/UDP/SRTP overhead on top of the RTP packet.
	bits := int64(n+48) * 8
	transmit := bits * int64(time.Second) / limit
	nowNs := now.UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	start := max(s.drainsAtNs, nowNs)
	wait := time.Duration(start + transmit - nowNs)
	if wait > s.maxQueueDelay() {
		s.dropped.Add(1)
		return 0, false
	}
	s.drainsAtNs = start + transmit
	return wait, true
}

// NewInterceptor makes s an interceptor.Factory.
func (s *DownlinkShaper) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &shaperInterceptor{shaper: s}, nil
}

// shaperFactory is a PeerConnection's DownlinkShaper: a packet enters the bottleneck at
// its arrival on the PeerConnection's socket where stamps has it (feedback.go).
type shaperFactory struct {
	shaper *DownlinkShaper
	stamps *rxstamp.Table
}

func (f *shaperFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &shaperInterceptor{shaper: f.shaper, stamps: f.stamps}, nil
}

type shaperInterceptor struct {
	interceptor.NoOp
	shaper *DownlinkShaper
	stamps *rxstamp.Table // nil: packets enter when read
}

// BindRemoteStream drops the incoming RTP packets the bottleneck cannot carry.
func (i *shaperInterceptor) BindRemoteStream(_ *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := reader.Read(b, a)
			if err != nil {
				return n, attr, err
			}
			if _, ok := i.shaper.admit(n, arrival(i.stamps, b[:n], time.Now())); ok {
				return n, attr, nil
			}
		}
	})
}
