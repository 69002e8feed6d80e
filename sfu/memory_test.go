package sfu

import (
	"runtime"
	"testing"

	"github.com/pion/webrtc/v4"
)

// subscriberMemory is the heap one subscriber of one video track costs the media plane
// above the track's packet buffer: its Sender (queue slots reserved, as with a first
// DownTrack) and its DownTrack, averaged over n subscribers. pion's own per-track state
// is not included.
func subscriberMemory(n int) float64 {
	r := testReceiver(webrtc.RTPCodecTypeVideo, nil)
	queue := DefaultConfig().SenderQueueSize
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	senders := make([]*Sender, n)
	for i := range senders {
		senders[i] = newSender(queue)
		if err := r.addDownTrack(newDownTrack(r, senders[i], nil)); err != nil {
			panic(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(senders)
	runtime.KeepAlive(r)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// A subscribed video track costs at most 64 KB above the buffer it reads from: the
// Sender's queue holds references into the Receiver's buffer, not copies.
func TestSubscriberMemory(t *testing.T) {
	const limit = 64 << 10
	per := subscriberMemory(50)
	t.Logf("%.0f bytes per subscriber of one video track (sender_queue_size %d)", per, DefaultConfig().SenderQueueSize)
	if per > limit {
		t.Fatalf("%.0f bytes per subscribed video track, want ≤ %d", per, limit)
	}
}

// BenchmarkSubscriberMemory reports subscriberMemory (B/subscriber).
func BenchmarkSubscriberMemory(b *testing.B) {
	var per float64
	for b.Loop() {
		per = subscriberMemory(50)
	}
	b.ReportMetric(per, "B/subscriber")
}
