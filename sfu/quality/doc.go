// Package quality computes the network quality of a user (0..6, the
// NetworkQuality enum of spec §3.1, reported by onUserNetworkQualityChanged,
// spec D21 / event E20) and the per-stream statistics it is computed from.
//
// What it owns:
//
//   - Quality, the 0..6 enum, and Score/LevelForMOS, the documented
//     E-model/MOS formula and level thresholds (score.go).
//   - Estimator: the quality of one user with its drop-fast/recover-slowly
//     hysteresis and the Down and Unknown rules (estimator.go).
//   - SequenceTracker: expected/received/lost packets of one RTP stream from
//     its sequence numbers (wraparound, reordering, duplicates, restarts).
//   - JitterEstimator: RFC 3550 interarrival jitter of one RTP stream.
//
// Goroutines: a SequenceTracker and a JitterEstimator are written only by the
// packet goroutine of their stream (Observe, allocation-free, no lock); any
// other goroutine, typically the room's quality ticker, reads them through
// Snapshot / Jitter, which only load atomics. An Estimator is not on the
// packet path and not safe for concurrent use: it belongs to the quality
// ticker of the user's room, which calls Update every quality interval
// (2 s by default) with LinkSamples it built from snapshot differences and
// RTCP receiver reports.
package quality
