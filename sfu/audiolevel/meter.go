package audiolevel

import (
	"math"
	"sync/atomic"
	"time"
)

// The volume mapping. Every number below is part of the contract that the
// room's volume events and the integration tests rely on; the table in
// meter_test.go pins each documented value.
//
//  1. Loudness of one level: a linear map of 0..-60 dBov onto 100..0,
//     loudness(level) = 100 * (60 - level) / 60 for level < 60, else 0.
//     0 dBov → 100, -20 dBov → 66.7, -30 dBov → 50, -60 dBov and quieter → 0.
//  2. Activity: a packet is active when its level is below ActiveBelow (60),
//     i.e. louder than -60 dBov. The active fraction of an interval is
//     active packets / packets received in the interval.
//  3. Interval target = loudness(loudest level of the interval) *
//     min(1, activeFraction / FullActivity) with FullActivity = 0.5: a talker
//     counts as fully present once half of the interval's packets carry sound,
//     so normal speech with pauses is not halved, while an isolated click
//     (one loud packet in fifteen) is scaled down to a seventh.
//  4. Smoothing, applied at every Volume call: attack is instant (a target
//     above the current value replaces it); decay is exponential towards the
//     target with a half-life of DecayHalfLife (250 ms), measured on the
//     `now` passed to Volume, so the result does not depend on the interval.
//  5. Volume = round(smoothed) in 0..100.
//
// Documented results (interval 300 ms, 20 ms Opus frames):
//
//	digital silence (level 127) .............. 0
//	no packets for more than StaleAfter (1 s) .. 0 (immediately)
//	no packets, not yet stale ................ decays from the last value
//	muted (SetMuted(true)) ................... 0 (immediately)
//	0 dBov continuous ........................ 100
//	-20 dBov continuous ...................... 67 (on the first Volume call)
//	-30 dBov speech at 40 % activity ......... 40 (50 * 0.4/0.5)
//	-60 dBov or quieter ...................... 0
const (
	// ActiveBelow is the level (in -dBov) below which a packet counts as
	// carrying sound; the loudness map reaches 0 at this level.
	ActiveBelow = 60
	// FullActivity is the active fraction from which an interval counts as
	// continuous sound.
	FullActivity = 0.5
	// DecayHalfLife is how fast the volume falls after the sound stops.
	DecayHalfLife = 250 * time.Millisecond
	// StaleAfter: a Meter that received no packet for longer than this reports 0.
	StaleAfter = time.Second
)

// Layout of Meter.interval, one 64-bit word so the packet goroutine updates
// the interval's three aggregates together and Volume takes them together:
// bits 0..23 packets, bits 24..47 active packets, bits 48..55 loudness peak
// (SilenceLevel - loudest level, so the maximum is the loudest).
const (
	countBits   = 24
	countMask   = 1<<countBits - 1
	activeShift = countBits
	peakShift   = 2 * countBits
)

// Meter measures the voice volume of one published audio track. The zero
// value is ready to use. See the package documentation for which goroutine
// calls what.
type Meter struct {
	interval   atomic.Uint64 // packed aggregates of the current interval
	lastPacket atomic.Int64  // UnixNano of the last observed packet; 0 = none
	muted      atomic.Bool

	smoothed   atomic.Uint64 // math.Float64bits of the smoothed volume
	lastVolume atomic.Int64  // UnixNano of the previous Volume call; 0 = none
}

// Observe records the audio level (0..127, -dBov) of one received packet.
// Called on the packet path: lock-free, allocation-free. Levels above 127 are
// treated as silence. Packets observed while muted are ignored.
func (m *Meter) Observe(level uint8, now time.Time) {
	if m.muted.Load() {
		return
	}
	if level > SilenceLevel {
		level = SilenceLevel
	}
	m.lastPacket.Store(now.UnixNano())
	var active uint64
	if level < ActiveBelow {
		active = 1
	}
	peak := uint64(SilenceLevel - level)
	for {
		old := m.interval.Load()
		packets := old & countMask
		actives := old >> activeShift & countMask
		oldPeak := old >> peakShift
		if packets == countMask {
			// Saturated: a Volume call is long overdue; keep the ratio.
			return
		}
		packets++
		actives += active
		if peak > oldPeak {
			oldPeak = peak
		}
		packed := packets | actives<<activeShift | oldPeak<<peakShift
		if m.interval.CompareAndSwap(old, packed) {
			return
		}
	}
}

// SetMuted mutes or unmutes the meter. A muted meter reports 0 and ignores
// packets; unmuting starts again from silence.
func (m *Meter) SetMuted(muted bool) {
	m.muted.Store(muted)
	if muted {
		m.Reset()
	}
}

// Muted reports whether the meter is muted.
func (m *Meter) Muted() bool { return m.muted.Load() }

// Reset forgets everything observed so far (the mute state is kept).
func (m *Meter) Reset() {
	m.interval.Store(0)
	m.lastPacket.Store(0)
	m.smoothed.Store(0)
	m.lastVolume.Store(0)
}

// Volume closes the current interval and returns the smoothed volume 0..100
// (see the mapping above). Called by the volume ticker with its tick time.
func (m *Meter) Volume(now time.Time) int {
	nowNano := now.UnixNano()
	previous := m.lastVolume.Swap(nowNano)
	aggregate := m.interval.Swap(0)
	last := m.lastPacket.Load()
	if m.muted.Load() || last == 0 || nowNano-last > int64(StaleAfter) {
		m.smoothed.Store(0)
		return 0
	}

	target := intervalTarget(aggregate)
	smoothed := math.Float64frombits(m.smoothed.Load())
	if target >= smoothed {
		smoothed = target
	} else {
		elapsed := time.Duration(0)
		if previous != 0 && nowNano > previous {
			elapsed = time.Duration(nowNano - previous)
		}
		keep := math.Exp2(-float64(elapsed) / float64(DecayHalfLife))
		smoothed = target + (smoothed-target)*keep
	}
	m.smoothed.Store(math.Float64bits(smoothed))
	return int(math.Round(smoothed))
}

// intervalTarget is steps 1..3 of the mapping for one packed interval.
func intervalTarget(aggregate uint64) float64 {
	packets := aggregate & countMask
	if packets == 0 {
		return 0
	}
	actives := aggregate >> activeShift & countMask
	loudest := SilenceLevel - uint8(aggregate>>peakShift)
	activity := float64(actives) / float64(packets) / FullActivity
	if activity > 1 {
		activity = 1
	}
	return loudness(loudest) * activity
}

// loudness is step 1 of the mapping: 0..-60 dBov linearly onto 100..0.
func loudness(level uint8) float64 {
	if level >= ActiveBelow {
		return 0
	}
	return 100 * float64(ActiveBelow-int(level)) / ActiveBelow
}
