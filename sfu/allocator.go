package sfu

import "time"

// Bandwidth allocation: one subscriber's downlink estimate shared among its video
// DownTracks. Pure: the caller passes the estimate, the demands and now; the allocator
// keeps only its timing state. Run by the subscriber Peer's bandwidth goroutine
// (bandwidth.go), never per packet.

// allocatorConfig tunes the allocator; zero fields take the defaults.
type allocatorConfig struct {
	// AudioReserve is set aside for each audio DownTrack before video is allocated.
	AudioReserve int64
	// DownHold is how long the estimate must stay below what the videos use before they
	// step down (GCC's own reaction comes on top; together well under a second or two).
	DownHold time.Duration
	// UpInterval is the least time between two step-ups, and after a step-down.
	UpInterval time.Duration
	// UpHold is how long the estimate must have covered a step up without a break
	// (with UpHeadroom for a step, without it for a probe) before it is taken.
	UpHold time.Duration
	// ProbeTrial is how long a step-up the estimate did not cover is on trial: a
	// step-down within it is a failed probe and doubles the wait before the next one.
	ProbeTrial time.Duration
	// MaxProbeBackoff caps that wait.
	MaxProbeBackoff time.Duration
	// UpHeadroom: a step-up counts as covered when the estimate exceeds the new use by
	// this factor.
	UpHeadroom float64
	// DownTolerance: the videos are over the estimate when it is below this fraction of
	// their use. GCC answers a single overuse signal by dropping to 0.85 of the received
	// rate and recovers within a second or two; that alone should not cost a layer.
	DownTolerance float64
}

func (c allocatorConfig) withDefaults() allocatorConfig {
	if c.AudioReserve == 0 {
		c.AudioReserve = 64_000
	}
	if c.DownHold == 0 {
		c.DownHold = 400 * time.Millisecond
	}
	if c.UpInterval == 0 {
		c.UpInterval = 3 * time.Second
	}
	if c.UpHold == 0 {
		c.UpHold = 3 * time.Second
	}
	if c.ProbeTrial == 0 {
		c.ProbeTrial = 2 * time.Second
	}
	if c.MaxProbeBackoff == 0 {
		c.MaxProbeBackoff = 12 * time.Second
	}
	if c.UpHeadroom == 0 {
		c.UpHeadroom = 1.15
	}
	if c.DownTolerance == 0 {
		c.DownTolerance = 0.8
	}
	return c
}

// videoDemand is what one simulcast video could use.
type videoDemand struct {
	// rates: the bitrate of each active layer, smallest picture first, as measured but
	// never below a smaller layer's (a top layer that its publisher is still ramping up
	// costs at least what the layer below costs once it has grown).
	rates  [maxLayers]int64
	layers [maxLayers]int // the layer index of each rank
	n      int            // active layers
	wanted int            // the rank the subscriber's wish asks for
	fresh  bool           // a new video, or its wish changed: fit it at once
}

// bandwidthAllocator decides, tick by tick, the rank each video may use.
type bandwidthAllocator struct {
	cfg allocatorConfig

	lastChange   time.Time // last step in either direction
	overSince    time.Time // the estimate first fell below the use; zero while it covers it
	probeUntil   time.Time // a probe is on trial until then; zero when none is
	probeBackoff time.Duration
	known        bool // an estimate arrived once: an unknown one later holds the levels

	// The step up being watched: coverSince/headroomSince are when the estimate started
	// to cover it without a break (without/with UpHeadroom); zero while it does not.
	candidate     [2]int // video, level
	coverSince    time.Time
	headroomSince time.Time
}

func newBandwidthAllocator(cfg allocatorConfig) *bandwidthAllocator {
	cfg = cfg.withDefaults()
	return &bandwidthAllocator{cfg: cfg, probeBackoff: cfg.UpInterval}
}

// allocate updates levels (one per demand, the rank each video may use) for the
// estimate (bits per second; <= 0: unknown) at now.
//
//   - A fresh video (new, or its wish changed) gets at once the highest rank up to its
//     wish whose use fits the estimate (its wish when the estimate is unknown).
//   - Unknown estimate: until one arrives the videos get what they wish; once one did, a
//     gap in the feedback holds the levels (a lost estimate is no reason to go up).
//   - Down: when the estimate has stayed below DownTolerance of the use for DownHold,
//     the videos using the most step down at once until the use fits.
//   - Up: one rank of one video at a time, the one using the least: when the estimate
//     has covered the step with UpHeadroom for UpHold without a break and UpInterval
//     has passed since the last change; or as a probe on trial when it has covered it
//     without the headroom for UpHold and the probe backoff has passed (a probe undone
//     by a step-down during its trial doubles the backoff). The estimate itself grows
//     only a few per cent a second (GCC), so steps up follow it.
//
// It returns whether any level changed. No allocation.
func (a *bandwidthAllocator) allocate(now time.Time, estimate int64, audioTracks int, demands []videoDemand, levels []int) bool {
	changed := false
	for i := range demands { // a lowered wish or a lost layer applies at once
		top := min(demands[i].wanted, demands[i].n-1)
		if levels[i] > top {
			levels[i], changed = max(top, 0), true
		}
		if levels[i] < 0 {
			levels[i], changed = 0, true
		}
	}
	available := max(estimate-int64(audioTracks)*a.cfg.AudioReserve, 0)
	for i := range demands {
		if !demands[i].fresh {
			continue
		}
		level := max(min(demands[i].wanted, demands[i].n-1), 0)
		if estimate > 0 {
			others := usedBy(demands, levels) - demands[i].rateAt(levels[i])
			for level > 0 && others+demands[i].rates[level] > available {
				level--
			}
		}
		if levels[i] != level {
			levels[i], changed = level, true
		}
	}
	if estimate <= 0 {
		if !a.known {
			for i := range demands {
				if top := max(min(demands[i].wanted, demands[i].n-1), 0); levels[i] != top {
					levels[i], changed = top, true
				}
			}
		}
		a.overSince, a.probeUntil = time.Time{}, time.Time{}
		a.coverSince, a.headroomSince = time.Time{}, time.Time{}
		return changed
	}
	a.known = true
	use := usedBy(demands, levels)

	if float64(available) < a.cfg.DownTolerance*float64(use) {
		a.coverSince, a.headroomSince = time.Time{}, time.Time{}
		if a.overSince.IsZero() {
			a.overSince = now
		}
		if now.Sub(a.overSince) < a.cfg.DownHold {
			return changed
		}
		stepped := stepDownToFit(demands, levels, available, use)
		a.overSince = time.Time{}
		if stepped {
			changed = true
			a.lastChange = now
			if !a.probeUntil.IsZero() && now.Before(a.probeUntil) {
				a.probeBackoff = min(2*a.probeBackoff, a.cfg.MaxProbeBackoff)
			}
			a.probeUntil = time.Time{}
		}
		return changed
	}
	a.overSince = time.Time{}
	if !a.probeUntil.IsZero() && !now.Before(a.probeUntil) {
		a.probeUntil = time.Time{} // the probe held: the link carries it
		a.probeBackoff = a.cfg.UpInterval
	}

	i := lowestBelowWish(demands, levels)
	if i < 0 {
		a.coverSince, a.headroomSince = time.Time{}, time.Time{}
		return changed
	}
	d := &demands[i]
	next := use - d.rates[levels[i]] + d.rates[levels[i]+1]
	if a.candidate != [2]int{i, levels[i]} {
		a.candidate = [2]int{i, levels[i]}
		a.coverSince, a.headroomSince = time.Time{}, time.Time{}
	}
	a.coverSince = heldSince(a.coverSince, next <= available, now)
	a.headroomSince = heldSince(a.headroomSince, float64(next)*a.cfg.UpHeadroom <= float64(available), now)
	since := now.Sub(a.lastChange)
	switch {
	case !a.headroomSince.IsZero() && now.Sub(a.headroomSince) >= a.cfg.UpHold && since >= a.cfg.UpInterval:
	case !a.coverSince.IsZero() && now.Sub(a.coverSince) >= a.cfg.UpHold && since >= a.probeBackoff && a.probeUntil.IsZero():
		a.probeUntil = now.Add(a.cfg.ProbeTrial)
	default:
		return changed
	}
	levels[i]++
	a.lastChange = now
	a.coverSince, a.headroomSince = time.Time{}, time.Time{}
	return true
}

// heldSince is since while cond holds (now when it starts to), zero when it does not.
func heldSince(since time.Time, cond bool, now time.Time) time.Time {
	switch {
	case !cond:
		return time.Time{}
	case since.IsZero():
		return now
	}
	return since
}

// rateAt is the bitrate at rank level, 0 for a video without active layers.
func (v *videoDemand) rateAt(level int) int64 {
	if v.n == 0 {
		return 0
	}
	return v.rates[level]
}

// usedBy is the bitrate the videos use at their levels.
func usedBy(demands []videoDemand, levels []int) int64 {
	var use int64
	for i := range demands {
		use += demands[i].rateAt(levels[i])
	}
	return use
}

// stepDownToFit lowers the video using the most by one rank at a time until the use fits
// available or every video is at its lowest rank. It reports whether anything moved.
func stepDownToFit(demands []videoDemand, levels []int, available, use int64) bool {
	stepped := false
	for use > available {
		best := -1
		for i := range demands {
			if levels[i] == 0 || demands[i].n == 0 {
				continue
			}
			if best < 0 || demands[i].rates[levels[i]] > demands[best].rates[levels[best]] {
				best = i
			}
		}
		if best < 0 {
			return stepped
		}
		d := &demands[best]
		use -= d.rates[levels[best]] - d.rates[levels[best]-1]
		levels[best]--
		stepped = true
	}
	return stepped
}

// lowestBelowWish is the video below its wanted rank that uses the least (it goes up
// first), -1 when every video has what it asks for.
func lowestBelowWish(demands []videoDemand, levels []int) int {
	best := -1
	for i := range demands {
		d := &demands[i]
		if levels[i] >= min(d.wanted, d.n-1) {
			continue
		}
		if best < 0 || d.rates[levels[i]] < demands[best].rates[levels[best]] {
			best = i
		}
	}
	return best
}
