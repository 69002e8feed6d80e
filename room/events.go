package room

import "sync"

// eventQueue delivers a room's Listener calls in order on one goroutine, so callers can
// queue events while holding the room lock and the Listener never runs under it. The
// queue is unbounded: queueing never blocks.
type eventQueue struct {
	mu      sync.Mutex
	pending []func()
	closed  bool // no more events will be queued; the goroutine exits once drained
	wake    chan struct{}
	done    chan struct{}
}

func newEventQueue() *eventQueue {
	return &eventQueue{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// run delivers events until close and drain; it is the room's event goroutine.
func (q *eventQueue) run() {
	defer close(q.done)
	var batch []func()
	for {
		q.mu.Lock()
		batch, q.pending = q.pending, batch[:0]
		closed := q.closed
		q.mu.Unlock()
		for i, ev := range batch {
			ev()
			batch[i] = nil
		}
		if len(batch) == 0 {
			if closed {
				return
			}
			<-q.wake
		}
	}
}

// push queues ev; after close it is dropped.
func (q *eventQueue) push(ev func()) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.pending = append(q.pending, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// close lets the goroutine exit after delivering what is queued. Idempotent.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// wait blocks until the goroutine has exited.
func (q *eventQueue) wait() { <-q.done }
