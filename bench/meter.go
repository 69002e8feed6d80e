package bench

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// meter aggregates what every receiver of a run measured. Packet counters are atomics
// (each read goroutine adds to them); latencies go to the histograms only while
// measuring, so ramp-up and settle do not count. mu guards the track list (tracks are
// added when they start, never per packet).
type meter struct {
	measuring atomic.Bool

	latencyAudio, latencyVideo Histogram
	joinTime, firstFrame       Histogram

	packets  atomic.Uint64 // RTP packets received (retransmissions and duplicates included)
	bytes    atomic.Uint64 // RTP bytes received (headers included)
	expected atomic.Uint64 // packets the sequence numbers say were sent
	padding  atomic.Uint64 // packets without a payload, or without a block on a synthetic track
	// frames counts video packets with the RTP marker that advanced their stream (the
	// last packet of a frame); keyframes the packets that start a keyframe.
	frames, keyframes atomic.Uint64
	// setups counts completed call setups (calls scenario), for setups/s in the window.
	setups atomic.Uint64

	mu     sync.Mutex
	tracks []*trackReader
}

// counters is a snapshot of the packet counters.
type counters struct {
	at                                time.Time
	packets, bytes, expected, padding uint64
	frames, keyframes                 uint64
	setups                            uint64
}

func (m *meter) snapshot(now time.Time) counters {
	return counters{
		at: now, packets: m.packets.Load(), bytes: m.bytes.Load(),
		expected: m.expected.Load(), padding: m.padding.Load(),
		frames: m.frames.Load(), keyframes: m.keyframes.Load(), setups: m.setups.Load(),
	}
}

func (m *meter) addTrack(t *trackReader) {
	m.mu.Lock()
	m.tracks = append(m.tracks, t)
	m.mu.Unlock()
}

// jitter returns the mean interarrival jitter of the audio and of the video tracks; -1
// for a kind without a track that received two packets.
func (m *meter) jitter() (audio, video time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var sums [2]time.Duration
	var counts [2]int
	for _, t := range m.tracks {
		i := 0
		if t.kind == webrtc.RTPCodecTypeVideo {
			i = 1
		}
		if t.packets.Load() < 2 {
			continue
		}
		sums[i] += time.Duration(t.jitterNs.Load())
		counts[i]++
	}
	for i := range sums {
		if counts[i] > 0 {
			sums[i] /= time.Duration(counts[i])
		} else {
			sums[i] = -1
		}
	}
	return sums[0], sums[1]
}

// trackCount returns how many tracks of each kind started.
func (m *meter) trackCount() (audio, video int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tracks {
		if t.kind == webrtc.RTPCodecTypeVideo {
			video++
		} else {
			audio++
		}
	}
	return audio, video
}
