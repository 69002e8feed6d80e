package sfu

import (
	"sync"
	"time"
)

// tickLoop is the one goroutine a publisher-side interceptor runs per PeerConnection
// (transport-wide feedback, twcc.go; NACKs and receiver reports, nackreporter.go): started
// by BindRTCPWriter, it calls tick every interval, and once more after each poke, until
// Close. The owner's mutex guards closed (the ...Locked methods are called with it held).
type tickLoop struct {
	closed bool
	done   chan struct{}
	early  chan struct{} // poke: one tick before the interval is over
	wg     sync.WaitGroup
}

func newTickLoop() tickLoop {
	return tickLoop{done: make(chan struct{}), early: make(chan struct{}, 1)}
}

// poke makes the goroutine tick now, without waiting for the interval. Any goroutine;
// never blocks, no allocation.
func (l *tickLoop) poke() {
	select {
	case l.early <- struct{}{}:
	default:
	}
}

// startLocked runs tick every interval on a new goroutine, unless the loop is stopped.
func (l *tickLoop) startLocked(interval time.Duration, tick func()) {
	if l.closed {
		return
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-l.done:
				return
			case <-ticker.C:
			case <-l.early:
			}
			tick()
		}
	}()
}

// stopLocked stops the loop; false when it was stopped before. The owner then releases
// its mutex and calls wait.
func (l *tickLoop) stopLocked() bool {
	if l.closed {
		return false
	}
	l.closed = true
	close(l.done)
	return true
}

// wait returns once the goroutine has ended.
func (l *tickLoop) wait() { l.wg.Wait() }
