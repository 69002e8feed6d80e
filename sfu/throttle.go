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
func (t *throttle) allow(now time.Time) bool {
	n := now.UnixNano()
	for {
		last := t.last.Load()
		if last != 0 && n-last < int64(t.interval) && n >= last {
			return false
		}
		if t.last.CompareAndSwap(last, n) {
			return true
		}
	}
}
