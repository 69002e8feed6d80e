package twccfb

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pion/rtcp"

	"github.com/parley-rtc/parley/internal/twcctest"
)

// twccArrival is one packet recorded by a Recorder in a test.
type twccArrival struct {
	seq uint16
	at  int64 // µs
}

// buildAll builds feedback until there is none, copying each packet.
func buildAll(t testing.TB, r *Recorder) [][]byte {
	var out [][]byte
	for b := r.Build(); b != nil; b = r.Build() {
		if len(out) > 1000 {
			t.Fatalf("more than 1000 feedbacks, start %d, end %d", r.start, r.end)
		}
		out = append(out, append([]byte(nil), b...))
	}
	return out
}

// checkFeedbacks checks the feedback packets built after each phase of arrivals
// (pkts[i] after phases[i]): every packet is at most MaxFeedbackBytes, pion's parser
// reads it (sfu's TestParseTWCCReadsTheWriter has Parley's parser read the same), its feedback count follows the last one's,
// every packet reported received was recorded (first arrival) within 125 µs (half a
// delta unit) of its recorded time, none recorded up to then is reported lost, and every
// recorded packet is reported received. Not strict (arbitrary patterns, where an arrival
// older than the ring is ignored): a packet may go unreported, and its reported time may
// be that of any of its arrivals, and an arrival RingSize numbers or more behind the
// highest one before it (sequence numbers without wrap) counts as not recorded.
func checkFeedbacks(t testing.TB, phases [][]twccArrival, pkts [][][]byte, strict bool) {
	t.Helper()
	want := map[uint16]int64{}
	all := map[uint16][]int64{}
	highest := -1
	reported := map[uint16]bool{}
	fbCount := -1
	for i, phase := range phases {
		for _, a := range phase {
			if !strict && highest-int(a.seq) >= RingSize-1 {
				continue // older than the ring
			}
			highest = max(highest, int(a.seq))
			if _, ok := want[a.seq]; !ok {
				want[a.seq] = a.at
			}
			all[a.seq] = append(all[a.seq], a.at)
		}
		for j, raw := range pkts[i] {
			name := fmt.Sprintf("phase %d, feedback %d", i, j)
			if len(raw) > MaxFeedbackBytes || len(raw)%4 != 0 {
				t.Fatalf("%s: %d bytes", name, len(raw))
			}
			ref, ours, err := twcctest.PionStatuses(raw)
			if err != nil {
				t.Fatalf("%s: pion's parser: %v", name, err)
			}
			var p rtcp.TransportLayerCC
			if err := p.Unmarshal(raw); err != nil {
				t.Fatal(err)
			}
			if len(ours) == 0 || len(ours) != int(p.PacketStatusCount) {
				t.Fatalf("%s: %d statuses, count %d", name, len(ours), p.PacketStatusCount)
			}
			if fbCount >= 0 && p.FbPktCount != uint8(fbCount+1) {
				t.Fatalf("%s: feedback count %d after %d", name, p.FbPktCount, fbCount)
			}
			fbCount = int(p.FbPktCount)
			for _, st := range ours {
				at, ok := want[st.Seq]
				if !strict {
					for _, a := range all[st.Seq] {
						if d := ref + st.OffsetUs - a; d <= 125 && d >= -125 {
							at = a
						}
					}
				}
				switch {
				case st.Received && !ok:
					t.Fatalf("%s: %d reported received, never recorded", name, st.Seq)
				case st.Received && (ref+st.OffsetUs-at > 125 || at-(ref+st.OffsetUs) > 125):
					t.Fatalf("%s: %d reported at %d µs, arrived at %d", name, st.Seq, ref+st.OffsetUs, at)
				case !st.Received && ok:
					t.Fatalf("%s: %d reported lost, recorded at %d", name, st.Seq, at)
				}
				if st.Received {
					reported[st.Seq] = true
				}
			}
		}
	}
	for seq := range want {
		if strict && !reported[seq] {
			t.Fatalf("%d recorded, never reported", seq)
		}
	}
}

// runFeedback records each phase and builds its feedback, then checks it all.
func runFeedback(t testing.TB, phases [][]twccArrival, strict bool) [][][]byte {
	t.Helper()
	r := NewRecorder(1)
	pkts := make([][][]byte, len(phases))
	for i, phase := range phases {
		for _, a := range phase {
			r.Record(2, a.seq, a.at)
		}
		pkts[i] = buildAll(t, r)
	}
	checkFeedbacks(t, phases, pkts, strict)
	return pkts
}

// arrivalsFrom makes arrivals of seqs from first on, every step µs from at.
func arrivalsFrom(first uint16, n int, at, step int64, skip func(i int) bool) []twccArrival {
	var out []twccArrival
	for i := range n {
		if skip == nil || !skip(i) {
			out = append(out, twccArrival{seq: first + uint16(i), at: at + int64(i)*step})
		}
	}
	return out
}

func concat(parts ...[]twccArrival) []twccArrival {
	var out []twccArrival
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestTWCCWriterRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	jittered := func(n int, lossEvery int) []twccArrival {
		var out []twccArrival
		at := int64(1_000_000)
		for i := range n {
			at += 200 + rng.Int64N(2800)
			if lossEvery == 0 || i%lossEvery != 0 {
				out = append(out, twccArrival{seq: uint16(i), at: at})
			}
		}
		return out
	}
	tests := []struct {
		name      string
		phases    [][]twccArrival
		feedbacks int // per phase at least (0: any)
	}{
		{"in order, a camera's 100 ms", [][]twccArrival{arrivalsFrom(0, 30, 70_000, 3300, nil)}, 1},
		{"every third lost", [][]twccArrival{arrivalsFrom(100, 60, 70_000, 1000, func(i int) bool { return i%3 == 1 })}, 1},
		{"leading losses", [][]twccArrival{arrivalsFrom(0, 3, 0, 1000, nil), arrivalsFrom(10, 5, 100_000, 1000, nil)}, 1},
		{"reordered within a feedback (negative deltas)", [][]twccArrival{{{0, 1000}, {2, 2000}, {1, 3000}, {3, 4000}, {5, 5000}, {4, 5100}, {6, 90_000}}}, 1},
		{"reordered across feedbacks", [][]twccArrival{
			concat(arrivalsFrom(0, 5, 1000, 1000, nil), arrivalsFrom(6, 4, 7000, 1000, nil)),
			concat([]twccArrival{{5, 20_000}}, arrivalsFrom(10, 3, 21_000, 1000, nil)),
		}, 1},
		{"duplicates", [][]twccArrival{{{0, 1000}, {1, 2000}, {1, 9000}, {2, 3000}, {0, 9500}}}, 1},
		{"gap of 9000 numbers (several run-length chunks)", [][]twccArrival{concat(arrivalsFrom(0, 10, 1000, 1000, nil), arrivalsFrom(9010, 10, 60_000, 1000, nil))}, 1},
		{"gap of 30000 numbers", [][]twccArrival{concat(arrivalsFrom(0, 10, 1000, 1000, nil), arrivalsFrom(30010, 10, 60_000, 1000, nil))}, 1},
		{"delta of 2 s (large delta)", [][]twccArrival{concat(arrivalsFrom(0, 5, 1000, 1000, nil), arrivalsFrom(5, 5, 2_006_000, 1000, nil))}, 1},
		{"delta of 10 s (a new feedback)", [][]twccArrival{concat(arrivalsFrom(0, 5, 1000, 1000, nil), arrivalsFrom(5, 5, 10_006_000, 1000, nil))}, 2},
		{"negative delta beyond 8 s (a new feedback)", [][]twccArrival{{{0, 20_000_000}, {1, 1000}, {2, 2000}}}, 2},
		{"sequence wrap at 65535", [][]twccArrival{arrivalsFrom(65530, 12, 1000, 1000, func(i int) bool { return i == 7 }), arrivalsFrom(6, 10, 50_000, 1000, nil)}, 1},
		{"3000 packets: several feedbacks of ≤ 1200 bytes", [][]twccArrival{jittered(3000, 0)}, 3},
		{"3000 packets, every 5th lost", [][]twccArrival{jittered(3000, 5)}, 3},
		{"2000 packets, all large deltas", [][]twccArrival{arrivalsFrom(0, 2000, 1000, 70_000, nil)}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkts := runFeedback(t, tc.phases, true)
			for i, p := range pkts {
				if len(p) < tc.feedbacks {
					t.Fatalf("phase %d: %d feedbacks, want at least %d", i, len(p), tc.feedbacks)
				}
			}
		})
	}
}

// TestTWCCWriterBeyondTheRing: more packets between two feedbacks than the ring holds:
// the last RingSize are reported, none as lost, in packets of ≤ 1200 bytes.
func TestTWCCWriterBeyondTheRing(t *testing.T) {
	arr := arrivalsFrom(0, 9000, 1000, 100, nil)
	pkts := runFeedback(t, [][]twccArrival{arr}, false)
	received := 0
	for _, raw := range pkts[0] {
		_, st, _ := twcctest.PionStatuses(raw)
		for _, s := range st {
			if s.Received {
				received++
			}
		}
	}
	if received != RingSize {
		t.Fatalf("%d reported, want the last %d", received, RingSize)
	}
}

// TestTWCCWriterChunks: the writer picks the chunk kinds libwebrtc's and pion's writers
// pick (run length for one symbol, one-bit vectors for 14 small-or-lost, two-bit vectors
// around large deltas), byte for byte where pion's recorder writes the same statuses.
func TestTWCCWriterChunks(t *testing.T) {
	tests := []struct {
		name   string
		arr    []twccArrival
		chunks []uint16
	}{
		{"one run", arrivalsFrom(0, 20, 64_000, 1000, nil), []uint16{0x2000 | 20}},
		{"one-bit vector", arrivalsFrom(0, 14, 64_000, 1000, func(i int) bool { return i == 3 }), []uint16{0x8000 | 0x3fff&^(1<<(13-3))}},
		{"two-bit vector with a large delta", []twccArrival{{0, 64_000}, {1, 64_000 + 100_000}, {3, 64_000 + 101_000}}, []uint16{0xc000 | 1<<12 | 2<<10 | 0<<8 | 1<<6}},
		{"losses then a run", concat([]twccArrival{{0, 64_000}}, arrivalsFrom(50, 5, 65_000, 1000, nil)), []uint16{0x8000 | 1<<13, 36, 0x2000 | 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRecorder(1)
			for _, a := range tc.arr {
				r.Record(2, a.seq, a.at)
			}
			raw := r.Build()
			runFeedback(t, [][]twccArrival{tc.arr}, true)
			for i, c := range tc.chunks {
				if got := binary.BigEndian.Uint16(raw[HeaderSize+2*i:]); got != c {
					t.Fatalf("chunk %d: %#04x, want %#04x", i, got, c)
				}
			}
		})
	}
}

// TestTWCCWriterAllocatesNothing: recording and building allocate nothing.
func TestTWCCWriterAllocatesNothing(t *testing.T) {
	r := NewRecorder(1)
	n, at := uint16(0), int64(0)
	allocs := testing.AllocsPerRun(100, func() {
		for i := range 40 {
			if i%7 != 3 {
				r.Record(2, n, at)
			}
			n++
			at += 1000 + int64(i%5)*20_000
		}
		for r.Build() != nil {
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per feedback", allocs)
	}
}

// FuzzTWCCWriter: any pattern of arrivals (sequence steps, time steps, builds) round
// trips through the writer and pion's parser (checkFeedbacks).
func FuzzTWCCWriter(f *testing.F) {
	f.Add([]byte{1, 0, 4, 1, 0, 4, 1, 0, 4, 0x80})
	f.Add([]byte{1, 0, 4, 0xfe, 0xff, 4, 3, 0, 4, 0x80, 0xff, 0xff, 0x01, 1, 0x7f, 0xff})
	f.Add([]byte{0x40, 0x00, 0x10, 1, 0xff, 0xff, 0x80, 0xc0, 0x00, 0x10, 1, 0x00, 0x00})
	f.Add(binary.BigEndian.AppendUint64(nil, 0x0101_0203_0405_0607))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Three bytes per arrival: a signed sequence step, a signed time step (×997 µs);
		// a byte 0x80 on its own builds the feedback so far instead. The numbers stay
		// within 12 000 of each other (no two packets share a 16-bit number; three times
		// the ring, and few enough statuses that the checker stays fast) and the times
		// within the reference time's positive range.
		phases := [][]twccArrival{nil}
		seq, at := 6_000, int64(100_000_000)
		for len(data) >= 3 {
			if data[0] == 0x80 {
				phases = append(phases, nil)
				data = data[1:]
				continue
			}
			seq = min(max(seq+int(int16(binary.BigEndian.Uint16(data))>>5), 0), 12_000)
			at = min(max(at+int64(int8(data[2]))*997, 0), 1<<38)
			phases[len(phases)-1] = append(phases[len(phases)-1], twccArrival{seq: uint16(seq), at: at})
			data = data[3:]
		}
		runFeedback(t, phases, false)
	})
}
