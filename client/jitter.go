package client

import (
	"math"
	"time"
)

// Jitter is the RFC 3550 interarrival jitter estimator (§6.4.1): for consecutive packets
// i, j, D = (Rj − Ri) − (Sj − Si) with R the arrival time and S the RTP timestamp, both in
// clock ticks, and J += (|D| − J)/16. Feed it packets in arrival order that advance the
// stream (not retransmissions of older ones). Make it with NewJitter; it is owned by one
// goroutine.
type Jitter struct {
	clockRate   float64
	have        bool
	lastArrival time.Time
	lastTS      uint32
	ticks       float64
}

// NewJitter returns an estimator for a stream of the given RTP clock rate (Hz).
func NewJitter(clockRate uint32) Jitter { return Jitter{clockRate: float64(clockRate)} }

// Observe records a packet's RTP timestamp and arrival time.
func (j *Jitter) Observe(rtpTimestamp uint32, arrival time.Time) {
	if j.clockRate <= 0 {
		return
	}
	if j.have {
		d := arrival.Sub(j.lastArrival).Seconds()*j.clockRate - float64(int32(rtpTimestamp-j.lastTS))
		j.ticks += (math.Abs(d) - j.ticks) / 16
	}
	j.have, j.lastArrival, j.lastTS = true, arrival, rtpTimestamp
}

// Value is the current jitter (0 before two packets or without a clock rate).
func (j *Jitter) Value() time.Duration {
	if j.clockRate <= 0 {
		return 0
	}
	return time.Duration(j.ticks / j.clockRate * float64(time.Second))
}
