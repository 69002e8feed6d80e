package sfu

import (
	"sync/atomic"
	"time"
)

// throttle lets one event through per interval; safe for concurrent use, no allocation.
type throttle struct {
	interval time.Duration
	last     atomic.Int64 // UnixNano of the last allowed event; 0 = never
}

// allow reports whether an event at now may pass, and records it when it does.
func (t *throttle) allow(now time.Time) bool { return t.allowAnswered(now, 0) }

// allowAnswered is allow that also lets the event pass within the interval when the
// last one that passed has been answered: answeredNs (UnixNano of the latest answer,
// such as a keyframe after a keyframe request) is after it.
func (t *throttle) allowAnswered(now time.Time, answeredNs int64) bool {
	n := now.UnixNano()
	for {
		last := t.last.Load()
		if last != 0 && n-last < int64(t.interval) && n >= last && answeredNs <= last {
			return false
		}
		if t.last.CompareAndSwap(last, n) {
			return true
		}
	}
}
