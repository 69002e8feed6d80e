// Package metrics exposes Parley's Prometheus metrics (all named parley_*, plus the Go
// runtime's go_* and process_*).
//
// Most values are read at scrape time from counters the other packages keep anyway
// (sfu.Engine peers, room.Manager, signaling.Service, turn.Server): nothing is added to
// the media path. Call metrics come from signaling.Hooks (CallBegan, CallEnded,
// InviteeOffline), the call step histogram from room.StepObserver (CallStep: each call
// participant's media setup steps timed from the accept, D135) and network quality from
// room.Listener (NetworkQuality, RoomClosed).
//
// Ownership: the hook methods run with the signaling Service lock held and only update
// prometheus counters (atomic) or, for quality, a map behind Metrics.qualityMu. The
// scrape collector (collector.go) runs on the HTTP handler goroutine and takes
// collector.mu, so concurrent scrapes are serialised; the media counters are the sfu
// Engine's totals (sfu.MediaTotals), which keep what closed Peers counted. CallStep runs
// on sfu and pion goroutines (one under pion's DTLS lock) and only observes a histogram
// resolved in New (atomic).
package metrics
