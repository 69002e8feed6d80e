package quality

import (
	"sync"
	"testing"
)

// span returns from, from+1, ..., to (uint16 arithmetic, so it may wrap),
// leaving out the numbers in skip.
func span(from, to uint16, skip ...uint16) []uint16 {
	var out []uint16
	for s := from; ; s++ {
		skipped := false
		for _, k := range skip {
			skipped = skipped || k == s
		}
		if !skipped {
			out = append(out, s)
		}
		if s == to {
			return out
		}
	}
}

func concat(parts ...[]uint16) []uint16 {
	var out []uint16
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestSequenceTracker(t *testing.T) {
	tests := []struct {
		name string
		seqs []uint16
		want SequenceSnapshot
	}{
		{"nothing", nil, SequenceSnapshot{}},
		{"one packet", []uint16{42}, SequenceSnapshot{ExtendedHighest: 42, Expected: 1, Received: 1}},
		{"in order", span(0, 9), SequenceSnapshot{ExtendedHighest: 9, Expected: 10, Received: 10}},
		{"gap", []uint16{0, 1, 2, 5, 6}, SequenceSnapshot{ExtendedHighest: 6, Expected: 7, Received: 5}},
		{"wraparound at 65535", span(65533, 1), SequenceSnapshot{ExtendedHighest: 1<<16 | 1, Expected: 5, Received: 5}},
		{"loss across the wrap", []uint16{65534, 1}, SequenceSnapshot{ExtendedHighest: 1<<16 | 1, Expected: 4, Received: 2}},
		{"two wraps", concat(span(0, 65535), span(0, 65535), span(0, 3)), SequenceSnapshot{ExtendedHighest: 2<<16 | 3, Expected: 2<<16 + 4, Received: 2<<16 + 4}},
		{"reordering", []uint16{0, 2, 1, 3}, SequenceSnapshot{ExtendedHighest: 3, Expected: 4, Received: 4}},
		{"reordering across the wrap", []uint16{65535, 1, 0}, SequenceSnapshot{ExtendedHighest: 1<<16 | 1, Expected: 3, Received: 3}},
		{"reordered before the first", []uint16{5, 3, 4, 6}, SequenceSnapshot{ExtendedHighest: 6, Expected: 4, Received: 4}},
		{"reordered before the first across the wrap", []uint16{1, 65535, 0}, SequenceSnapshot{ExtendedHighest: 1, Expected: 3, Received: 3}},
		{"duplicates", []uint16{0, 1, 1, 2, 2, 2}, SequenceSnapshot{ExtendedHighest: 2, Expected: 3, Received: 3, Duplicates: 3}},
		{"duplicate of an old packet", []uint16{0, 1, 2, 3, 0}, SequenceSnapshot{ExtendedHighest: 3, Expected: 4, Received: 4, Duplicates: 1}},
		{"a late packet fills its gap", []uint16{0, 1, 3, 4, 2}, SequenceSnapshot{ExtendedHighest: 4, Expected: 5, Received: 5}},
		{"1023 behind is still reordering", append(span(0, 1100, 77), 77), SequenceSnapshot{ExtendedHighest: 1100, Expected: 1101, Received: 1101}},
		{"1024 behind is late", append(span(0, 1100, 76), 76), SequenceSnapshot{ExtendedHighest: 1100, Expected: 1101, Received: 1100, Late: 1}},
		{"gap within the dropout limit", []uint16{0, 3000}, SequenceSnapshot{ExtendedHighest: 3000, Expected: 3001, Received: 2}},
		{"one stray packet far ahead", []uint16{0, 1, 2, 40000, 3, 4}, SequenceSnapshot{ExtendedHighest: 4, Expected: 5, Received: 5, Late: 1}},
		{"one stray packet far behind", concat(span(5000, 5010), []uint16{100}, span(5011, 5012)), SequenceSnapshot{ExtendedHighest: 5012, Expected: 13, Received: 13, Late: 1}},
		{"sender restart", []uint16{0, 1, 2, 10000, 10001, 10002}, SequenceSnapshot{ExtendedHighest: 10002, Expected: 6, Received: 6}},
		{"restart with loss after it", []uint16{100, 101, 30000, 30001, 30003}, SequenceSnapshot{ExtendedHighest: 30003, Expected: 6, Received: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr SequenceTracker
			for _, s := range tt.seqs {
				tr.Observe(s)
			}
			if got := tr.Snapshot(); got != tt.want {
				t.Fatalf("Snapshot = %+v, want %+v", got, tt.want)
			}
			got := tr.Snapshot()
			if got.Received+got.Duplicates+got.Late != uint64(len(tt.seqs)) {
				t.Fatalf("received %d + duplicates %d + late %d != %d observed", got.Received, got.Duplicates, got.Late, len(tt.seqs))
			}
		})
	}
}

func TestSequenceWindows(t *testing.T) {
	var tr SequenceTracker
	for _, s := range span(0, 99, 10, 20, 30, 40, 50) {
		tr.Observe(s)
	}
	first := tr.Snapshot()
	if w := first.Since(SequenceSnapshot{}); w != (Window{Expected: 100, Received: 95, Lost: 5}) || w.FractionLost() != 12 {
		t.Fatalf("first window %+v fraction %d, want 100/95/5 and 12 (5*256/100)", w, w.FractionLost())
	}
	// Next window: two late packets of the first window, and 10 new ones.
	tr.Observe(10)
	tr.Observe(20)
	for _, s := range span(100, 109) {
		tr.Observe(s)
	}
	second := tr.Snapshot().Since(first)
	if second != (Window{Expected: 10, Received: 12, Lost: 0}) || second.FractionLost() != 0 {
		t.Fatalf("second window %+v, want 10 expected, 12 received, 0 lost", second)
	}
	if got := first.Since(tr.Snapshot()); got != (Window{}) {
		t.Fatalf("Since with the snapshots swapped = %+v, want the zero Window", got)
	}
	if lost := tr.Snapshot().Lost(); lost != 3 {
		t.Fatalf("cumulative Lost = %d, want 3", lost)
	}
}

func TestFractionLost(t *testing.T) {
	tests := []struct {
		w    Window
		want uint8
	}{
		{Window{}, 0},
		{Window{Expected: 100, Received: 100}, 0},
		{Window{Expected: 100, Received: 95, Lost: 5}, 12},
		{Window{Expected: 256, Received: 255, Lost: 1}, 1},
		{Window{Expected: 257, Received: 256, Lost: 1}, 0},
		{Window{Expected: 2, Received: 1, Lost: 1}, 128},
		{Window{Expected: 10, Lost: 10}, 255},
		{Window{Expected: 1 << 62, Lost: 1<<62 - 1}, 255},
	}
	for _, tt := range tests {
		if got := tt.w.FractionLost(); got != tt.want {
			t.Errorf("%+v.FractionLost() = %d, want %d", tt.w, got, tt.want)
		}
	}
}

func TestSequenceTrackerDoesNotAllocate(t *testing.T) {
	var tr SequenceTracker
	var seq uint16
	allocs := testing.AllocsPerRun(10000, func() {
		seq += 1 + seq%2 // some loss
		tr.Observe(seq)
		_ = tr.Snapshot()
	})
	if allocs != 0 {
		t.Fatalf("Observe+Snapshot allocate %.1f times per call, want 0", allocs)
	}
}

// TestSequenceSnapshotConsistentUnderRace: the packet goroutine drops every
// tenth packet while a reader takes snapshots; every snapshot must be one
// consistent state, in which received = expected - expected/10 exactly.
func TestSequenceSnapshotConsistentUnderRace(t *testing.T) {
	var tr SequenceTracker
	const packets = 200000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range packets {
			if i%10 != 9 {
				tr.Observe(uint16(i))
			}
		}
	}()
	var last SequenceSnapshot
	for last.Expected < packets-1 {
		s := tr.Snapshot()
		if s.Expected == 0 {
			continue
		}
		if s.Received != s.Expected-s.Expected/10 {
			wg.Wait()
			t.Fatalf("inconsistent snapshot %+v", s)
		}
		if s.Expected < last.Expected {
			wg.Wait()
			t.Fatalf("snapshot went back: %+v after %+v", s, last)
		}
		last = s
	}
	wg.Wait()
}

func BenchmarkSequenceTrackerObserve(b *testing.B) {
	var tr SequenceTracker
	b.ReportAllocs()
	for i := range b.N {
		tr.Observe(uint16(i))
	}
}

// FuzzSequenceTrackerLoss: an in-order stream from any start with any drops
// (gaps up to 2000) is counted exactly.
func FuzzSequenceTrackerLoss(f *testing.F) {
	f.Add(uint16(0), []byte{0xff, 0x0f})
	f.Add(uint16(65530), []byte{0xaa, 0x55, 0x01})
	f.Add(uint16(65535), []byte{0x80, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, start uint16, keep []byte) {
		if len(keep) > 250 {
			keep = keep[:250]
		}
		var tr SequenceTracker
		var received, firstKept, lastKept uint64
		for i := range uint64(len(keep) * 8) {
			if keep[i/8]&(1<<(i%8)) == 0 {
				continue
			}
			if received == 0 {
				firstKept = i
			}
			lastKept = i
			received++
			tr.Observe(start + uint16(i))
		}
		got := tr.Snapshot()
		want := SequenceSnapshot{}
		if received > 0 {
			// The extended highest counts wraps from the first kept number.
			want = SequenceSnapshot{
				ExtendedHighest: uint32(start+uint16(firstKept)) + uint32(lastKept-firstKept),
				Expected:        lastKept - firstKept + 1,
				Received:        received,
			}
		}
		if got != want {
			t.Fatalf("start %d: Snapshot %+v, want %+v", start, got, want)
		}
	})
}

// FuzzSequenceTrackerReorder: a contiguous stream shuffled by swaps of
// packets at most 255 apart loses nothing.
func FuzzSequenceTrackerReorder(f *testing.F) {
	f.Add(uint16(0), []byte{1, 2, 3, 4})
	f.Add(uint16(65500), []byte{200, 255, 0, 7, 9, 9})
	f.Fuzz(func(t *testing.T, start uint16, swaps []byte) {
		const n = 600
		seqs := make([]uint16, n)
		for i := range seqs {
			seqs[i] = start + uint16(i)
		}
		for i := 0; i+1 < len(swaps); i += 2 {
			a := int(swaps[i]) * n / 256
			b := min(a+int(swaps[i+1]), n-1)
			seqs[a], seqs[b] = seqs[b], seqs[a]
		}
		var tr SequenceTracker
		for _, s := range seqs {
			tr.Observe(s)
		}
		got := tr.Snapshot()
		if got.Expected != n || got.Received != n || got.Duplicates != 0 || got.Late != 0 {
			t.Fatalf("Snapshot %+v, want %d expected and received, nothing else", got, n)
		}
	})
}

// FuzzSequenceTrackerArbitrary: any sequence keeps the accounting invariants.
func FuzzSequenceTrackerArbitrary(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 1, 255, 255, 0, 2})
	f.Add([]byte{0, 1, 0x75, 0x30, 0x75, 0x31, 0, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		var tr SequenceTracker
		observed := uint64(0)
		var prev SequenceSnapshot
		for i := 0; i+1 < len(data); i += 2 {
			tr.Observe(uint16(data[i])<<8 | uint16(data[i+1]))
			observed++
			s := tr.Snapshot()
			if s.Received+s.Duplicates+s.Late != observed {
				t.Fatalf("after %d packets: %+v does not account for each packet once", observed, s)
			}
			if s.Received > s.Expected {
				t.Fatalf("received more than expected: %+v", s)
			}
			if s.Expected < prev.Expected || s.Received < prev.Received {
				t.Fatalf("counters went back: %+v after %+v", s, prev)
			}
			w := s.Since(prev)
			if w.Lost > w.Expected {
				t.Fatalf("window %+v loses more than expected", w)
			}
			prev = s
		}
	})
}
