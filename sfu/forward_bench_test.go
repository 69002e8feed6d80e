package sfu

import (
	"fmt"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// forwardFixture is one video Receiver fanning out to n subscribers, each with its own
// Sender (no writer goroutine: the benchmark frees the queues itself).
type forwardFixture struct {
	receiver *Receiver
	senders  []*Sender
	packets  [][]byte
}

func newForwardFixture(subscribers, queueSize int) *forwardFixture {
	f := &forwardFixture{receiver: testReceiver(webrtc.RTPCodecTypeVideo, nil)}
	for i := 0; i < subscribers; i++ {
		s := newSender(queueSize)
		bindTestDownTrack(f.receiver, s, &fakeTrackWriter{})
		f.senders = append(f.senders, s)
	}
	// A realistic video packet: header extensions (stripped on the way) and ~1100 bytes.
	payload := make([]byte, 1100)
	copy(payload, vp8Payload(false, 0))
	for i := 0; i < 256; i++ {
		f.packets = append(f.packets, rtpBytes(uint16(i), uint32(i/4)*3000, i%4 == 3, true, payload))
	}
	// Start every DownTrack with a keyframe.
	if err := f.receiver.writePacket(rtpBytes(65535, 0, false, true, vp8Payload(true, 0)), testNow); err != nil {
		panic(err)
	}
	f.discard()
	return f
}

func (f *forwardFixture) discard() {
	for _, s := range f.senders {
		s.discardQueued()
	}
}

// writeAt sends packet i; sequence numbers keep increasing across calls.
func (f *forwardFixture) writeAt(i int) {
	raw := f.packets[i%len(f.packets)]
	seq := uint16(i)
	raw[2], raw[3] = byte(seq>>8), byte(seq)
	if err := f.receiver.writePacket(raw, testNow); err != nil {
		panic(err)
	}
}

// BenchmarkForward: one incoming RTP packet through Receiver → DownTracks → Sender queues.
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 10, 100, 500} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			// A Sender that keeps up restarts at slot 0 whenever it empties; model that by
			// freeing the queues every drainEvery packets, outside the timed region.
			const queue, drainEvery = 128, 32
			f := newForwardFixture(n, queue)
			b.ReportAllocs()
			b.SetBytes(int64(len(f.packets[0])))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%drainEvery == drainEvery-1 {
					b.StopTimer()
					f.discard()
					b.StartTimer()
				}
				f.writeAt(i)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/subscriber")
		})
	}
}

// BenchmarkReceiverWrite: parse + keyframe check + buffer store with no subscribers.
func BenchmarkReceiverWrite(b *testing.B) {
	f := newForwardFixture(0, 16)
	b.ReportAllocs()
	b.SetBytes(int64(len(f.packets[0])))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.writeAt(i)
	}
}

func TestForwardDoesNotAllocate(t *testing.T) {
	for _, n := range []int{0, 1, 10} {
		f := newForwardFixture(n, 1024)
		i := 0
		allocs := testing.AllocsPerRun(500, func() {
			if i%512 == 511 {
				f.discard()
			}
			f.writeAt(i)
			i++
		})
		if allocs != 0 {
			t.Errorf("subscribers=%d: %.1f allocations per forwarded packet, want 0", n, allocs)
		}
	}
}

func TestSenderWriteDoesNotAllocate(t *testing.T) {
	f := newForwardFixture(1, 1024)
	w := &countingWriter{}
	d := (*f.receiver.downTracks.Load())[0]
	d.binding.Store(&downTrackBinding{ssrc: 1, payloadType: 96, writer: w})
	i := 0
	allocs := testing.AllocsPerRun(500, func() {
		f.writeAt(i)
		drainSender(f.senders[0])
		i++
	})
	if allocs != 0 || w.n == 0 {
		t.Fatalf("%.1f allocations per written packet (wrote %d), want 0", allocs, w.n)
	}
}

// countingWriter is a TrackLocalWriter that only counts (fakeTrackWriter copies).
type countingWriter struct{ n int }

func (w *countingWriter) WriteRTP(_ *rtp.Header, payload []byte) (int, error) {
	w.n++
	return len(payload), nil
}

func (w *countingWriter) Write([]byte) (int, error) { panic("the media plane must use WriteRTP") }
