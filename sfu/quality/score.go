package quality

import "time"

// Kind is the media kind of a stream; audio and video tolerate loss
// differently.
type Kind uint8

// Media kinds.
const (
	KindAudio Kind = iota + 1
	KindVideo
)

// LinkSample is one stream's statistics over one quality window, built by the
// caller from counters. Uplink samples (what the server receives from the
// user, one per published track) usually fill PacketsExpected/PacketsLost from
// two SequenceTracker snapshots and Jitter from the JitterEstimator. Downlink
// samples (what the user receives, one per subscribed stream) come from the
// user's RTCP receiver reports: either PacketsExpected/PacketsLost from the
// difference of two reports' extended highest sequence number and cumulative
// loss, or the latest report's FractionLost with Reports > 0.
type LinkSample struct {
	Kind Kind
	// PacketsExpected and PacketsLost cover the window. A negative
	// PacketsLost (duplicates, late packets) counts as no loss.
	PacketsExpected uint64
	PacketsLost     int64
	// Reports is the number of RTCP receiver reports about this stream that
	// arrived in the window; FractionLost is the latest one's fraction lost
	// (RFC 3550 §6.4.1, loss * 256), used when PacketsExpected is 0.
	Reports      int
	FractionLost uint8
	// Jitter is the interarrival jitter; RTT the round-trip time, 0 when
	// unknown (then the largest RTT known for the user is used, see
	// Estimator.Update).
	Jitter time.Duration
	RTT    time.Duration
	// Bitrate (bits per second), NACKs and PLIs are carried for logs and
	// metrics; they are not scored: repaired loss is already in the loss
	// figures and PLIs follow from loss.
	Bitrate uint64
	NACKs   uint32
	PLIs    uint32
}

// The score formula, a simplified ITU-T G.107 E-model (Cole & Rosenbluth):
//
//	effective latency Le = RTT/2 + 2*jitter + 10 ms            (in ms)
//	latency penalty   Id = Le/40               if Le < 160 ms
//	                     = (Le - 120)/10       otherwise
//	loss penalty      Ie = 95 * P / (P + Bpl)  P = loss in percent,
//	                     Bpl = 10 for audio (Opus PLC),
//	                     Bpl = 15 for video (NACK/RTX repair more of it)
//	R   = clamp(93.2 - Id - Ie, 0, 100)
//	MOS = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R), clamped to 1..4.5
//
// MOS thresholds (LevelForMOS):
//
//	MOS >= 4.2  Excellent
//	MOS >= 3.8  Good
//	MOS >= 2.6  Poor
//	MOS >= 2.2  Bad
//	below       Vbad
//
// What that means at RTT 40 ms and jitter 5 ms (pinned in score_test.go):
//
//	loss      audio       video
//	0 %       Excellent   Excellent
//	1 %       Good        Excellent
//	2 %       Good        Good
//	5 %       Poor        Poor
//	10 %      Bad         Poor
//	20 %      Vbad        Vbad
//
// and without loss: RTT 300 ms + jitter 30 ms is Good, RTT 500 ms + jitter
// 50 ms is Poor, RTT 1 s + jitter 50 ms is Bad.
const (
	MOSExcellent = 4.2
	MOSGood      = 3.8
	MOSPoor      = 2.6
	MOSBad       = 2.2

	audioLossRobustness = 10.0 // Bpl of audio
	videoLossRobustness = 15.0 // Bpl of video
)

// LevelForMOS maps a MOS to Excellent..Vbad with the thresholds above.
func LevelForMOS(mos float64) Quality {
	switch {
	case mos >= MOSExcellent:
		return Excellent
	case mos >= MOSGood:
		return Good
	case mos >= MOSPoor:
		return Poor
	case mos >= MOSBad:
		return Bad
	default:
		return Vbad
	}
}

// Score returns the R factor and MOS of one sample. rtt replaces s.RTT when
// s.RTT is unknown (0). The result is finite for any input.
func Score(s LinkSample, rtt time.Duration) (r, mos float64) {
	if s.RTT > 0 {
		rtt = s.RTT
	}
	jitter := max(s.Jitter, 0)
	rtt = max(rtt, 0)
	latency := rtt.Seconds()*1000/2 + 2*jitter.Seconds()*1000 + 10
	var latencyPenalty float64
	if latency < 160 {
		latencyPenalty = latency / 40
	} else {
		latencyPenalty = (latency - 120) / 10
	}

	robustness := audioLossRobustness
	if s.Kind == KindVideo {
		robustness = videoLossRobustness
	}
	lossPercent := 100 * s.LossFraction()
	lossPenalty := 95 * lossPercent / (lossPercent + robustness)

	r = min(max(93.2-latencyPenalty-lossPenalty, 0), 100)
	mos = 1 + 0.035*r + 7e-6*r*(r-60)*(100-r)
	mos = min(max(mos, 1), 4.5)
	return r, mos
}

// informative reports whether the sample holds enough data to be scored:
// at least minPackets expected packets, or at least one receiver report.
func (s LinkSample) informative(minPackets uint64) bool {
	return s.PacketsExpected >= minPackets || s.Reports > 0
}

// LossFraction is the window's loss in 0..1: from the counted packets when
// PacketsExpected > 0, else from the latest receiver report's FractionLost.
func (s LinkSample) LossFraction() float64 {
	if s.PacketsExpected > 0 {
		lost := uint64(max(s.PacketsLost, 0))
		return float64(min(lost, s.PacketsExpected)) / float64(s.PacketsExpected)
	}
	if s.Reports > 0 {
		return float64(s.FractionLost) / 256
	}
	return 0
}
