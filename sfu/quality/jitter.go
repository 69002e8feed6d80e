package quality

import (
	"math"
	"sync/atomic"
	"time"
)

// JitterEstimator computes the RFC 3550 §6.4.1 / appendix A.8 interarrival
// jitter of one RTP stream:
//
//	D(i-1, i) = (R_i - R_{i-1}) - (S_i - S_{i-1})   in RTP timestamp units
//	J += (|D| - J) / 16
//
// where R is the arrival time converted to the stream's clock rate and S the
// RTP timestamp (differences taken modulo 2^32, so timestamp wraparound is
// harmless). Observe is called by the stream's packet goroutine only, for
// every packet as it arrives (not for retransmissions, which would count
// their repair delay as jitter); Jitter and JitterUnits may be called from
// any goroutine. The zero value is ready to use.
type JitterEstimator struct {
	// Owned by the packet goroutine.
	started     bool
	clockRate   uint32
	lastArrival time.Time
	lastStamp   uint32
	jitter      float64 // in timestamp units

	// Published for readers.
	pubUnits atomic.Uint32 // jitter in timestamp units, as in receiver reports
	pubNanos atomic.Int64  // jitter as a time.Duration
}

// Observe records one packet's RTP timestamp, its arrival time and the
// stream's clock rate (48000 for Opus, 90000 for video). A change of clock
// rate starts over; a zero clock rate is ignored.
func (j *JitterEstimator) Observe(rtpTimestamp uint32, arrival time.Time, clockRate uint32) {
	if clockRate == 0 {
		return
	}
	if !j.started || clockRate != j.clockRate {
		j.started = true
		j.clockRate = clockRate
		j.jitter = 0
		j.lastArrival = arrival
		j.lastStamp = rtpTimestamp
		j.publish()
		return
	}
	// Sub saturates, so the arithmetic stays finite for any arrival times.
	arrivalUnits := arrival.Sub(j.lastArrival).Seconds() * float64(clockRate)
	stampUnits := float64(int32(rtpTimestamp - j.lastStamp))
	j.jitter += (math.Abs(arrivalUnits-stampUnits) - j.jitter) / 16
	j.lastArrival = arrival
	j.lastStamp = rtpTimestamp
	j.publish()
}

func (j *JitterEstimator) publish() {
	units := math.Min(j.jitter, math.MaxUint32)
	j.pubUnits.Store(uint32(units))
	nanos := math.Min(j.jitter/float64(j.clockRate)*1e9, math.MaxInt64/2)
	j.pubNanos.Store(int64(nanos))
}

// Jitter returns the current jitter as a duration (0 before two packets).
func (j *JitterEstimator) Jitter() time.Duration {
	return time.Duration(j.pubNanos.Load())
}

// JitterUnits returns the current jitter in RTP timestamp units, the value of
// the interarrival jitter field of a receiver report.
func (j *JitterEstimator) JitterUnits() uint32 {
	return j.pubUnits.Load()
}
