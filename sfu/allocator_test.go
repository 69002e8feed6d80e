package sfu

import (
	"testing"
	"time"
)

// threeLayers is a simulcast video of q 150k, h 500k, f 1.5M wanting rank wanted.
func threeLayers(wanted int) videoDemand {
	return videoDemand{rates: [maxLayers]int64{150_000, 500_000, 1_500_000}, n: 3, wanted: wanted}
}

func TestAllocatorStepsDownAfterHold(t *testing.T) {
	a := newBandwidthAllocator(allocatorConfig{})
	t0 := time.Unix(1000, 0)
	demands := []videoDemand{threeLayers(2)}
	levels := []int{2}
	steps := []struct {
		at       time.Duration
		estimate int64
		want     int
	}{
		{0, 3_000_000, 2},
		{100 * time.Millisecond, 1_400_000, 2}, // a GCC dip to 0.85 of the rate: tolerated
		{200 * time.Millisecond, 600_000, 2},   // below the use: the hold starts
		{400 * time.Millisecond, 600_000, 2},   // 200 ms into the hold
		{600 * time.Millisecond, 600_000, 1},   // 400 ms: h (500k) fits 600k - 64k audio
		{800 * time.Millisecond, 300_000, 1},   // again below: a new hold
		{1200 * time.Millisecond, 300_000, 0},  // q fits
		{1400 * time.Millisecond, 10_000, 0},   // nothing lower: q stays
	}
	for _, s := range steps {
		a.allocate(t0.Add(s.at), s.estimate, 1, demands, levels)
		if levels[0] != s.want {
			t.Fatalf("at %s with %d bit/s: level %d, want %d", s.at, s.estimate, levels[0], s.want)
		}
	}
}

func TestAllocatorStepsDownAllAtOnce(t *testing.T) {
	a := newBandwidthAllocator(allocatorConfig{DownHold: time.Millisecond})
	t0 := time.Unix(1000, 0)
	demands := []videoDemand{threeLayers(2), threeLayers(2)}
	levels := []int{2, 2}
	a.allocate(t0, 400_000, 0, demands, levels)
	a.allocate(t0.Add(time.Millisecond), 400_000, 0, demands, levels)
	if levels[0] != 0 || levels[1] != 0 {
		t.Fatalf("levels %v under 400k for two videos, want [0 0]", levels)
	}
}

func TestAllocatorStepsUpWithHysteresis(t *testing.T) {
	a := newBandwidthAllocator(allocatorConfig{})
	t0 := time.Unix(1000, 0)
	demands := []videoDemand{threeLayers(2)}
	levels := []int{0}
	a.lastChange = t0 // just stepped down
	// 2.5M covers f with headroom, but not before UpInterval (3 s) since the change, and
	// then one rank at a time, each UpInterval apart.
	want := map[time.Duration]int{
		0: 0, time.Second: 0, 2900 * time.Millisecond: 0, 3 * time.Second: 1,
		4 * time.Second: 1, 5900 * time.Millisecond: 1, 6 * time.Second: 2, 9 * time.Second: 2,
	}
	for at := time.Duration(0); at <= 9*time.Second; at += 100 * time.Millisecond {
		a.allocate(t0.Add(at), 2_500_000, 1, demands, levels)
		if w, ok := want[at]; ok && levels[0] != w {
			t.Fatalf("at %s: level %d, want %d", at, levels[0], w)
		}
	}
}

func TestAllocatorProbesWithBackoff(t *testing.T) {
	a := newBandwidthAllocator(allocatorConfig{})
	t0 := time.Unix(1000, 0)
	demands := []videoDemand{threeLayers(1)}
	levels := []int{0}
	a.lastChange = t0
	at := func(d time.Duration, est int64) int {
		a.allocate(t0.Add(d), est, 0, demands, levels)
		return levels[0]
	}
	// 300k does not cover h (500k) at all: no step up however long it lasts.
	if l := at(10*time.Second, 300_000); l != 0 {
		t.Fatalf("stepped up to %d under 300k", l)
	}
	// 520k covers h without the 15 % headroom: a probe, at once (10 s since the change).
	if l := at(10100*time.Millisecond, 520_000); l != 1 {
		t.Fatalf("no probe at 520k: level %d", l)
	}
	// The link does not carry it: the estimate falls below 80 % of the use, back down
	// after the hold.
	at(10500*time.Millisecond, 350_000)
	if l := at(10900*time.Millisecond, 350_000); l != 0 {
		t.Fatalf("failed probe not undone: level %d", l)
	}
	// The backoff doubled to 6 s after that step down.
	if l := at(16800*time.Millisecond, 520_000); l != 0 {
		t.Fatalf("probe again before the backoff: level %d", l)
	}
	if l := at(16900*time.Millisecond, 520_000); l != 1 {
		t.Fatalf("no probe after the backoff: level %d", l)
	}
	// This time the estimate holds past the trial: the backoff returns to UpInterval.
	at(18*time.Second, 520_000)
	if l := at(19*time.Second, 520_000); l != 1 {
		t.Fatalf("probe dropped although covered: level %d", l)
	}
	if a.probeBackoff != 3*time.Second || !a.probeUntil.IsZero() {
		t.Fatalf("after a probe that held: backoff %s, trial until %v", a.probeBackoff, a.probeUntil)
	}
}

func TestAllocatorFollowsWishAndUnknownEstimate(t *testing.T) {
	a := newBandwidthAllocator(allocatorConfig{})
	t0 := time.Unix(1000, 0)
	demands := []videoDemand{threeLayers(2), threeLayers(0), {n: 0, wanted: -1}}
	levels := []int{0, 2, 0}
	if !a.allocate(t0, 0, 1, demands, levels) {
		t.Fatal("no change reported")
	}
	if levels[0] != 2 || levels[1] != 0 || levels[2] != 0 {
		t.Fatalf("unknown estimate: levels %v, want [2 0 0]", levels)
	}
	if b := demands[0].budgetFor(2); b != 0 {
		t.Fatalf("budget at the wanted rank %d, want 0 (no cap)", b)
	}
	if b := demands[0].budgetFor(1); b != 1_000_000 {
		t.Fatalf("budget for h %d, want halfway to f", b)
	}
}

func TestAllocatorAllocatesNothing(t *testing.T) {
	a := newBandwidthAllocator(allocatorConfig{})
	demands := []videoDemand{threeLayers(2), threeLayers(1)}
	levels := []int{2, 1}
	allocs := testing.AllocsPerRun(100, func() {
		a.allocate(time.Unix(1000, 0), 1_000_000, 2, demands, levels)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per allocate", allocs)
	}
}
