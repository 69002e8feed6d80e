package signaling

import (
	"slices"
	"testing"
)

// TestSessionRetainLimits: the kept notifications stay within retainLimit and
// retainBytesLimit, the oldest go first (evictedSeq says which went last), and the newest
// is kept even when it alone is over the byte limit.
func TestSessionRetainLimits(t *testing.T) {
	tests := []struct {
		name        string
		sizes       []int
		wantKept    []uint64
		wantEvicted uint64
	}{
		{"under both limits", []int{10, 20, 30}, []uint64{1, 2, 3}, 0},
		{"count limit", repeat(10, retainLimit+2), seqRange(3, retainLimit+2), 2},
		{"byte limit", []int{100 << 10, 100 << 10, 100 << 10}, []uint64{2, 3}, 1},
		{"one note over the byte limit", []int{10, retainBytesLimit + 1}, []uint64{2}, 1},
		{"big then small", []int{retainBytesLimit + 1, 10}, []uint64{2}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sess session
			for i, n := range tt.sizes {
				sess.retain(sentNote{seq: uint64(i + 1), frame: make([]byte, n)})
			}
			var kept []uint64
			total := 0
			for _, n := range sess.retained {
				kept = append(kept, n.seq)
				total += len(n.frame)
			}
			if !slices.Equal(kept, tt.wantKept) {
				t.Errorf("kept %v, want %v", abbreviate(kept), abbreviate(tt.wantKept))
			}
			if total != sess.retainedLen {
				t.Errorf("retainedLen %d, frames add up to %d", sess.retainedLen, total)
			}
			if sess.evictedSeq != tt.wantEvicted {
				t.Errorf("evictedSeq %d, want %d", sess.evictedSeq, tt.wantEvicted)
			}
		})
	}
}

func repeat(size, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = size
	}
	return out
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func abbreviate(s []uint64) any {
	if len(s) > 6 {
		return []any{s[:3], "…", s[len(s)-3:], len(s)}
	}
	return s
}
