package quality

import (
	"math"
	"sync"
	"testing"
	"time"
)

const opusRate = 48000

// arrivalOffsets feeds 20 ms Opus packets whose arrival is delayed by
// offsets[i] and returns the estimator.
func feedJitter(start uint32, offsets []time.Duration) *JitterEstimator {
	var j JitterEstimator
	for i, off := range offsets {
		ts := start + uint32(i)*960
		j.Observe(ts, epoch.Add(time.Duration(i)*20*time.Millisecond+off), opusRate)
	}
	return &j
}

func TestJitterEstimator(t *testing.T) {
	alternating := make([]time.Duration, 400)
	for i := range alternating {
		if i%2 == 1 {
			alternating[i] = 10 * time.Millisecond
		}
	}
	tests := []struct {
		name      string
		start     uint32
		offsets   []time.Duration
		wantUnits uint32
		wantNanos time.Duration
	}{
		{name: "no packets", offsets: nil, wantUnits: 0},
		{name: "one packet", offsets: make([]time.Duration, 1), wantUnits: 0},
		{name: "perfect pacing", offsets: make([]time.Duration, 100), wantUnits: 0},
		{name: "perfect pacing across timestamp wraparound", start: math.MaxUint32 - 960*10, offsets: make([]time.Duration, 100), wantUnits: 0},
		// D = 240 → J = 15; D = -240 → J = 15 + (240-15)/16 = 29.0625 units
		// = 605.468 µs at 48 kHz.
		{name: "RFC 3550 recurrence by hand", offsets: []time.Duration{0, 5 * time.Millisecond, 0}, wantUnits: 29, wantNanos: 605468},
		// Every packet 10 ms off its neighbour: |D| = 480 units each time,
		// J converges to 480 units = 10 ms from below, so the truncated
		// unit count is 479.
		{name: "alternating 10 ms", offsets: alternating, wantUnits: 479, wantNanos: 10 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := feedJitter(tt.start, tt.offsets)
			if got := j.JitterUnits(); got != tt.wantUnits {
				t.Fatalf("JitterUnits = %d, want %d", got, tt.wantUnits)
			}
			if tt.wantNanos != 0 {
				if got := j.Jitter(); got < tt.wantNanos-time.Microsecond || got > tt.wantNanos+time.Microsecond {
					t.Fatalf("Jitter = %v, want %v", got, tt.wantNanos)
				}
			} else if got := j.Jitter(); got != 0 {
				t.Fatalf("Jitter = %v, want 0", got)
			}
		})
	}
}

func TestJitterClockRate(t *testing.T) {
	var j JitterEstimator
	j.Observe(0, epoch, opusRate)
	j.Observe(960, epoch.Add(30*time.Millisecond), opusRate) // 10 ms late
	if j.JitterUnits() != 30 {                               // 480/16
		t.Fatalf("JitterUnits = %d, want 30", j.JitterUnits())
	}
	j.Observe(1920, epoch.Add(40*time.Millisecond), 0) // ignored
	if j.JitterUnits() != 30 {
		t.Fatalf("a zero clock rate changed the jitter to %d", j.JitterUnits())
	}
	j.Observe(0, epoch.Add(time.Second), 90000) // new clock: start over
	if j.JitterUnits() != 0 || j.Jitter() != 0 {
		t.Fatalf("after a clock rate change: %d units, %v; want 0", j.JitterUnits(), j.Jitter())
	}
	j.Observe(2970, epoch.Add(time.Second+43*time.Millisecond), 90000) // 2970 units = 33 ms, 10 ms late
	if got := j.Jitter(); got < 624*time.Microsecond || got > 626*time.Microsecond {
		t.Fatalf("Jitter at 90 kHz = %v, want 900/16 units = 625 µs", got)
	}
}

func TestJitterEstimatorDoesNotAllocate(t *testing.T) {
	var j JitterEstimator
	var ts uint32
	now := epoch
	allocs := testing.AllocsPerRun(10000, func() {
		ts += 960
		now = now.Add(20*time.Millisecond + time.Duration(ts%7)*time.Millisecond)
		j.Observe(ts, now, opusRate)
		_ = j.Jitter()
	})
	if allocs != 0 {
		t.Fatalf("Observe allocates %.1f times per call, want 0", allocs)
	}
}

func TestJitterConcurrentReader(t *testing.T) {
	var j JitterEstimator
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 100000 {
			off := time.Duration(i%2) * 10 * time.Millisecond
			j.Observe(uint32(i)*960, epoch.Add(time.Duration(i)*20*time.Millisecond+off), opusRate)
		}
	}()
	for range 1000 {
		if got := j.Jitter(); got < 0 || got > 10*time.Millisecond+time.Microsecond {
			wg.Wait()
			t.Fatalf("Jitter = %v, want 0..10 ms", got)
		}
	}
	wg.Wait()
}

func BenchmarkJitterEstimatorObserve(b *testing.B) {
	var j JitterEstimator
	b.ReportAllocs()
	for i := range b.N {
		j.Observe(uint32(i)*960, epoch.Add(time.Duration(i)*20*time.Millisecond), opusRate)
	}
}

func FuzzJitterEstimator(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x3c, 0xc0, 0, 0, 0, 0, 1, 0x31, 0x2d, 0})
	f.Add([]byte{255, 255, 255, 255, 127, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 128, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Records of 4 bytes timestamp, 8 bytes signed arrival offset in ns,
		// 1 byte clock-rate choice.
		rates := [...]uint32{0, 8000, 48000, 90000, 1, math.MaxUint32}
		var j JitterEstimator
		for len(data) >= 13 {
			ts := uint32(data[0])<<24 | uint32(data[1])<<16 | uint32(data[2])<<8 | uint32(data[3])
			var off int64
			for _, b := range data[4:12] {
				off = off<<8 | int64(b)
			}
			rate := rates[int(data[12])%len(rates)]
			data = data[13:]
			j.Observe(ts, epoch.Add(time.Duration(off)), rate)
			if j.Jitter() < 0 {
				t.Fatalf("negative jitter %v", j.Jitter())
			}
		}
	})
}
