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
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name     string
		estimate func(at time.Duration) int64
		want     map[time.Duration]int
	}{
		// 2.5M covers f with headroom: a step once it has done so for UpHold (3 s) and
		// UpInterval (3 s) passed since the last change, one rank at a time.
		{"steady", func(time.Duration) int64 { return 2_500_000 }, map[time.Duration]int{
			0: 0, time.Second: 0, 2900 * time.Millisecond: 0, 3 * time.Second: 1,
			4 * time.Second: 1, 6 * time.Second: 1, 6100 * time.Millisecond: 2, 9 * time.Second: 2,
		}},
		// The same estimate every other tick, and one that covers nothing between: each
		// break restarts the hold, so nothing moves.
		{"covered with breaks", func(at time.Duration) int64 {
			if at%(200*time.Millisecond) == 0 {
				return 2_500_000
			}
			return 400_000
		}, map[time.Duration]int{3 * time.Second: 0, 9 * time.Second: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newBandwidthAllocator(allocatorConfig{})
			a.known = true
			demands := []videoDemand{threeLayers(2)}
			levels := []int{0}
			a.lastChange = t0 // just stepped down
			for at := time.Duration(0); at <= 9*time.Second; at += 100 * time.Millisecond {
				a.allocate(t0.Add(at), tc.estimate(at), 1, demands, levels)
				if w, ok := tc.want[at]; ok && levels[0] != w {
					t.Fatalf("at %s: level %d, want %d", at, levels[0], w)
				}
			}
		})
	}
}

func TestAllocatorProbesWithBackoff(t *testing.T) {
	a := newBandwidthAllocator(allocatorConfig{})
	t0 := time.Unix(1000, 0)
	demands := []videoDemand{threeLayers(1)}
	levels := []int{0}
	a.lastChange = t0
	steps := []struct {
		at       time.Duration
		estimate int64
		want     int
		why      string
	}{
		{10 * time.Second, 300_000, 0, "300k does not cover h (500k) at all"},
		// 520k covers h without the 15 % headroom: a probe once it has for UpHold (3 s).
		{10100 * time.Millisecond, 520_000, 0, "probe before the estimate held"},
		{13 * time.Second, 520_000, 0, "probe before UpHold"},
		{13100 * time.Millisecond, 520_000, 1, "no probe at 520k held for 3 s"},
		// The link does not carry it: below 80 % of the use, back down after the hold.
		{13500 * time.Millisecond, 350_000, 1, "failed probe undone before the hold"},
		{13900 * time.Millisecond, 350_000, 0, "failed probe not undone"},
		// The backoff doubled to 6 s after that step down.
		{14 * time.Second, 520_000, 0, "probe again at once"},
		{19800 * time.Millisecond, 520_000, 0, "probe again before the backoff"},
		{19900 * time.Millisecond, 520_000, 1, "no probe after the backoff"},
		// This time the estimate holds past the trial (2 s).
		{21 * time.Second, 520_000, 1, "probe dropped during its trial"},
		{22 * time.Second, 520_000, 1, "probe dropped although covered"},
	}
	for _, s := range steps {
		a.allocate(t0.Add(s.at), s.estimate, 0, demands, levels)
		if levels[0] != s.want {
			t.Fatalf("at %s with %d bit/s: level %d, want %d (%s)", s.at, s.estimate, levels[0], s.want, s.why)
		}
	}
	// The probe held: the backoff returns to UpInterval.
	if a.probeBackoff != 3*time.Second || !a.probeUntil.IsZero() {
		t.Fatalf("after a probe that held: backoff %s, trial until %v", a.probeBackoff, a.probeUntil)
	}
}

// A new video, or one whose wish changed, gets at once the highest rank up to its wish
// that fits; a gap in the feedback after an estimate arrived holds the levels.
func TestAllocatorFitsFreshWishesAndHoldsWithoutFeedback(t *testing.T) {
	a := newBandwidthAllocator(allocatorConfig{})
	t0 := time.Unix(1000, 0)
	demands := []videoDemand{threeLayers(0), threeLayers(2)}
	levels := []int{0, 2}
	a.allocate(t0, 1_000_000, 0, demands, levels) // 150k + 1.5M over 1M: the hold starts
	// The first video's wish rises to f: 1.5M + 1.5M do not fit, 500k + 1.5M neither,
	// so it stays on q.
	demands[0].wanted, demands[0].fresh = 2, true
	a.allocate(t0.Add(100*time.Millisecond), 1_000_000, 0, demands, levels)
	if levels[0] != 0 {
		t.Fatalf("fresh wish beyond the estimate: level %d, want 0", levels[0])
	}
	a.allocate(t0.Add(500*time.Millisecond), 1_000_000, 0, demands, levels) // after DownHold
	if levels[1] != 1 {
		t.Fatalf("over the estimate for DownHold: levels %v, want f stepped down to h", levels)
	}
	demands[0].fresh = false
	// The feedback stops: nothing moves up, however long.
	for at := time.Second; at < 20*time.Second; at += 100 * time.Millisecond {
		if a.allocate(t0.Add(at), 0, 0, demands, levels) {
			t.Fatalf("levels changed to %v without an estimate", levels)
		}
	}
	// A fresh wish without an estimate gets what it asks for.
	demands[1].fresh = true
	a.allocate(t0.Add(20*time.Second), 0, 0, demands, levels)
	if levels[1] != 2 {
		t.Fatalf("fresh wish without an estimate: level %d, want 2", levels[1])
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
