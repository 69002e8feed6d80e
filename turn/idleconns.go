package turn

import (
	"net"
	"sync/atomic"
	"time"
)

// allocateTimeout is how long a TURN TCP or TLS client connection may stay open without
// an allocation and without sending anything (D206): a client allocates at once, an RFC
// 6062 data connection carries its peer's stream, and an allocation's own lifetime bounds
// the rest. Without it a socket that connected and went silent was held forever (one
// goroutine and one descriptor each; 1,000 such sockets from one client were all still
// open after 70 s).
const allocateTimeout = 30 * time.Second

// idleConn is the idle bookkeeping of a trackedConn; closeTracker.mu guards allocations
// and timer, lastRead is atomic (the connection's reader sets it).
type idleConn struct {
	lastRead    atomic.Int64 // unix nanoseconds of the last read that returned data
	allocations int          // pion allocations whose source is this connection
	timer       *time.Timer  // closes the connection once idle; nil when idle is 0
}

// armIdleLocked starts c's idle timer (counted from now). Caller holds t.mu.
func (t *closeTracker) armIdleLocked(c *trackedConn) {
	if t.idle <= 0 {
		return
	}
	c.lastRead.Store(time.Now().UnixNano())
	if c.timer == nil {
		c.timer = time.AfterFunc(t.idle, func() { t.checkIdle(c) })
		return
	}
	c.timer.Reset(t.idle)
}

// checkIdle closes c if it holds no allocation and read nothing for t.idle; else it
// looks again when that could next be true (or, with an allocation, when it ends).
func (t *closeTracker) checkIdle(c *trackedConn) {
	t.mu.Lock()
	if _, open := t.conns[c]; !open || c.allocations > 0 {
		t.mu.Unlock()
		return
	}
	quiet := time.Since(time.Unix(0, c.lastRead.Load()))
	if quiet < t.idle {
		c.timer.Reset(t.idle - quiet)
		t.mu.Unlock()
		return
	}
	onIdle := t.onIdle
	t.mu.Unlock()
	if onIdle != nil { // counted before the close the client sees
		onIdle(c.RemoteAddr())
	}
	_ = c.Close()
}

// allocationCreated is pion's OnAllocationCreated: a TCP/TLS connection holding an
// allocation is not idle.
func (t *closeTracker) allocationCreated(src net.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.byAddr[src.String()]; ok {
		c.allocations++
	}
}

// allocationDeleted is pion's OnAllocationDeleted: the connection's idle time counts
// again once its last allocation is gone.
func (t *closeTracker) allocationDeleted(src net.Addr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.byAddr[src.String()]
	if !ok || c.allocations == 0 {
		return
	}
	if c.allocations--; c.allocations == 0 {
		t.armIdleLocked(c)
	}
}
