package sfu

import (
	"time"

	"github.com/pion/rtcp"
)

// receptionStats is what a receiver report says about one published stream (RFC 3550
// section 6.4.1 and appendix A.3/A.8): extended highest sequence number, cumulative and
// interval loss, interarrival jitter, and the last sender report with its age. Pure:
// times are passed in; no allocation. Not safe for concurrent use (nackReporter
// guards it).
type receptionStats struct {
	clockRate float64

	started  bool
	base     uint32 // extended sequence number of the first packet
	cycles   uint32 // sequence number wraps, shifted left by 16
	maxSeq   uint16
	received uint32

	expectedPrior, receivedPrior uint32 // at the previous report

	jitter      float64 // in clock-rate units
	lastTS      uint32
	lastArrival int64

	lastSR   uint32 // middle 32 bits of the last sender report's NTP time
	lastSRAt int64  // when it arrived (UnixNano)
}

// add accounts one packet with sequence number seq and RTP timestamp ts arriving at now.
func (r *receptionStats) add(seq uint16, ts uint32, now int64) {
	if !r.started {
		r.started, r.base, r.maxSeq, r.received = true, uint32(seq), seq, 1
		r.lastTS, r.lastArrival = ts, now
		return
	}
	r.received++
	if d := seq - r.maxSeq; d != 0 && d < 0x8000 {
		if seq < r.maxSeq {
			r.cycles += 1 << 16
		}
		r.maxSeq = seq
	}
	if r.clockRate > 0 {
		d := float64(now-r.lastArrival)/float64(time.Second)*r.clockRate - float64(int32(ts-r.lastTS))
		if d < 0 {
			d = -d
		}
		r.jitter += (d - r.jitter) / 16
	}
	r.lastTS, r.lastArrival = ts, now
}

// senderReport notes a sender report with NTP time ntp arriving at now.
func (r *receptionStats) senderReport(ntp uint64, now int64) {
	r.lastSR, r.lastSRAt = uint32(ntp>>16), now
}

// report is the reception report block for ssrc at now; it starts the next interval.
func (r *receptionStats) report(ssrc uint32, now int64) rtcp.ReceptionReport {
	extMax := r.cycles + uint32(r.maxSeq)
	expected := extMax - r.base + 1
	lost := int64(expected) - int64(r.received)
	lost = min(max(lost, 0), 0x7FFFFF) // 24-bit signed field; duplicates never make it negative here
	expectedInterval := expected - r.expectedPrior
	receivedInterval := r.received - r.receivedPrior
	r.expectedPrior, r.receivedPrior = expected, r.received
	var fraction uint8
	if lostInterval := int64(expectedInterval) - int64(receivedInterval); expectedInterval > 0 && lostInterval > 0 {
		fraction = uint8(min(lostInterval<<8/int64(expectedInterval), 255))
	}
	var delay uint32
	if r.lastSRAt != 0 && now > r.lastSRAt {
		delay = uint32((now - r.lastSRAt) * 65536 / int64(time.Second))
	}
	return rtcp.ReceptionReport{
		SSRC:               ssrc,
		FractionLost:       fraction,
		TotalLost:          uint32(lost),
		LastSequenceNumber: extMax,
		Jitter:             uint32(r.jitter),
		LastSenderReport:   r.lastSR,
		Delay:              delay,
	}
}
