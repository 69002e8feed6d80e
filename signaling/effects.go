package signaling

import "sync"

// serial runs functions one at a time, in the order they were queued, on a goroutine that
// exists only while there is work. The Service carries out what the call machine decides
// (room joins and leaves, which build and close PeerConnections; notifications; record
// writes) on the serial queue of the session concerned, after its lock is released: one
// slow join delays only that session's later effects, never another user's request, and
// each session still sees its effects and events in the machine's order.
//
// Concurrency: mu guards queue and running; fns run without it.
type serial struct {
	count *runCount // the owner's count of running queues (Service.effects)

	mu      sync.Mutex
	queue   []func()
	running bool
}

// maxIdleQueue is the capacity kept for the next burst when a queue runs dry; a larger
// backing array (after a burst) is released.
const maxIdleQueue = 16

// do queues fn. It never blocks: the queue holds what the Service decided, which is bounded
// by what clients may ask (rate limits, call sizes), not by how fast effects run.
func (q *serial) do(fn func()) {
	q.mu.Lock()
	q.queue = append(q.queue, fn)
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		q.count.add(1)
		go q.run()
	}
}

// barrier returns a channel closed once everything queued before it has run.
func (q *serial) barrier() <-chan struct{} {
	done := make(chan struct{})
	q.do(func() { close(done) })
	return done
}

func (q *serial) run() {
	defer q.count.add(-1)
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.running = false
			if cap(q.queue) > maxIdleQueue {
				q.queue = nil
			}
			q.mu.Unlock()
			return
		}
		fn := q.queue[0]
		q.queue[0] = nil
		q.queue = q.queue[1:]
		q.mu.Unlock()
		fn()
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
