package signaling

import "sync"

// serial runs functions one at a time, in the order they were queued, on a goroutine that
// exists only while there is work. The Service carries out what the call machine decides
// (room joins and leaves, which build and close PeerConnections; notifications; record
// writes) on the serial queue of the session concerned, after its lock is released: one
// slow join delays only that session's later effects, never another user's request, and
// each session still sees its effects and events in the machine's order.
//
// A session's own request does not hand its effects to a goroutine and wait for it
// (D195): it holds the queue while it decides (hold), and settle then runs on the
// request's goroutine what was queued meanwhile, which the request would have waited for
// anyway. Effects queued while no request holds the queue, or after settle took its share,
// run on the queue's goroutine as before.
//
// Concurrency: mu guards the fields below it; fns run without it.
type serial struct {
	count *runCount // the owner's count of running queues (Service.effects)

	mu      sync.Mutex
	queue   []func()
	running bool // a goroutine, or a settle, runs the queue
	held    int  // holds not yet settled: do starts no goroutine while > 0
}

// maxIdleQueue is the capacity kept for the next burst when a queue runs dry; a larger
// backing array (after a burst) is released.
const maxIdleQueue = 16

// do queues fn. It never blocks: the queue holds what the Service decided, which is bounded
// by what clients may ask (rate limits, call sizes), not by how fast effects run.
func (q *serial) do(fn func()) {
	q.mu.Lock()
	q.queue = append(q.queue, fn)
	start := !q.running && q.held == 0
	if start {
		q.running = true
	}
	q.mu.Unlock()
	if start {
		q.count.add(1)
		go q.run()
	}
}

// hold makes the functions queued from now until the holder's settleHeld wait for a
// settle to run them, on the settling goroutine, instead of starting the queue's
// goroutine. The holder must call settleHeld soon, holding no lock that an effect could
// wait for in between. A held queue counts as running for the owner's count, so
// Service.Close waits for its settle.
func (q *serial) hold() {
	q.mu.Lock()
	q.held++
	q.mu.Unlock()
	q.count.add(1)
}

// settleHeld ends the caller's hold and settles.
func (q *serial) settleHeld() {
	q.mu.Lock()
	q.held--
	q.mu.Unlock()
	defer q.count.add(-1)
	q.settle()
}

// settle returns once everything queued before it has run. When no goroutine runs the
// queue it runs those functions itself, on the calling goroutine; functions queued
// meanwhile are left to the queue's goroutine.
func (q *serial) settle() {
	q.mu.Lock()
	if q.running {
		// The queue's goroutine runs it: wait for it to reach this point.
		done := make(chan struct{})
		q.queue = append(q.queue, func() { close(done) })
		q.mu.Unlock()
		<-done
		return
	}
	n := len(q.queue)
	if n == 0 {
		q.mu.Unlock()
		return
	}
	q.running = true
	q.mu.Unlock()
	q.count.add(1)
	q.runInline(n)
}

// runInline runs the first n queued functions on the calling goroutine, then hands the
// queue to its goroutine if more arrived meanwhile (or stops). If a function panics the
// queue is handed on all the same.
func (q *serial) runInline(n int) {
	defer func() {
		q.mu.Lock()
		more := len(q.queue) > 0
		if !more {
			q.running = false
			q.shrinkLocked()
		}
		q.mu.Unlock()
		if more {
			go q.run() // keeps the count taken by settle
		} else {
			q.count.add(-1)
		}
	}()
	for ; n > 0; n-- {
		q.mu.Lock()
		fn := q.pop()
		q.mu.Unlock()
		fn()
	}
}

// barrier returns a channel closed once everything queued before it has run.
func (q *serial) barrier() <-chan struct{} {
	q.mu.Lock()
	idle := !q.running && len(q.queue) == 0
	q.mu.Unlock()
	if idle {
		return closedChan
	}
	done := make(chan struct{})
	q.do(func() { close(done) })
	return done
}

// closedChan is a closed channel: a barrier of an idle queue.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (q *serial) run() {
	defer q.count.add(-1)
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.running = false
			q.shrinkLocked()
			q.mu.Unlock()
			return
		}
		fn := q.pop()
		q.mu.Unlock()
		fn()
	}
}

// pop takes the first queued function. Called with mu held and the queue not empty.
func (q *serial) pop() func() {
	fn := q.queue[0]
	q.queue[0] = nil
	q.queue = q.queue[1:]
	return fn
}

// shrinkLocked releases a backing array grown by a burst once the queue ran dry.
func (q *serial) shrinkLocked() {
	if len(q.queue) == 0 && cap(q.queue) > maxIdleQueue {
		q.queue = nil
	}
}

// runCount counts running goroutines. Unlike a sync.WaitGroup it may grow from zero while
// someone waits (a room event may queue an effect while the Service closes): wait returns
// when the count is zero.
type runCount struct {
	mu   sync.Mutex
	n    int
	zero *sync.Cond // made on first use, on mu
}

func (c *runCount) add(d int) {
	c.mu.Lock()
	c.n += d
	if c.n == 0 && c.zero != nil {
		c.zero.Broadcast()
	}
	c.mu.Unlock()
}

// wait blocks until no counted goroutine runs.
func (c *runCount) wait() {
	c.mu.Lock()
	if c.zero == nil {
		c.zero = sync.NewCond(&c.mu)
	}
	for c.n > 0 {
		c.zero.Wait()
	}
	c.mu.Unlock()
}
