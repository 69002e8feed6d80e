package webhooks

import "sync"

// fairQueue is one URL's bounded queue, shared fairly by the apps (tenants, SDKAppIDs) whose
// events it carries (D287). It holds at most limit events in all. The worker takes the apps
// in turn, one event each, so an app's events wait behind at most one event of each other
// app, not behind another app's storm; each app's events stay in order. When the queue is
// full, an event of an app that holds fewer events than the app holding the most pushes out
// that app's newest event; otherwise the event itself is dropped. So an app that floods
// loses its own events, and one that does not keeps a share of limit / (apps queued).
//
// Concurrency: mu guards the fields below it; push runs on the emitting goroutines, pop
// on the URL's worker.
type fairQueue struct {
	ready chan struct{} // capacity 1: a push or the close since the worker last looked

	mu     sync.Mutex
	limit  int
	total  int
	apps   map[int]*appEvents // apps with events queued
	turn   []int              // the apps with events queued, in the order they are served
	next   int                // index in turn of the app served next
	closed bool
}

// appEvents is one app's events in a fairQueue, oldest first.
type appEvents struct {
	events []delivery
}

func newFairQueue(limit int) *fairQueue {
	return &fairQueue{ready: make(chan struct{}, 1), limit: limit, apps: make(map[int]*appEvents)}
}

// push queues del of app. It returns the app and event that were dropped to keep the
// bound (del itself, or the newest event of the app holding the most events) and whether
// one was; after close, del is dropped.
func (q *fairQueue) push(app int, del delivery) (droppedApp int, droppedEvent string, dropped bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return app, del.event, true
	}
	own := q.apps[app]
	if q.total >= q.limit {
		victim, most := q.largest()
		if own != nil && len(own.events) >= most {
			return app, del.event, true
		}
		v := q.apps[victim]
		droppedApp, droppedEvent, dropped = victim, v.events[len(v.events)-1].event, true
		v.events[len(v.events)-1] = delivery{}
		v.events = v.events[:len(v.events)-1]
		q.total--
		if len(v.events) == 0 {
			q.remove(victim)
		}
	}
	if own == nil {
		own = &appEvents{}
		q.apps[app] = own
		q.turn = append(q.turn, app)
	}
	own.events = append(own.events, del)
	q.total++
	q.wake()
	return droppedApp, droppedEvent, dropped
}

// largest is the app holding the most events and how many (ties: the first in turn).
func (q *fairQueue) largest() (app, n int) {
	for _, a := range q.turn {
		if l := len(q.apps[a].events); l > n {
			app, n = a, l
		}
	}
	return app, n
}

// remove forgets app, whose events are all gone, keeping the turn of the others.
func (q *fairQueue) remove(app int) {
	delete(q.apps, app)
	for i, a := range q.turn {
		if a == app {
			q.turn = append(q.turn[:i], q.turn[i+1:]...)
			if i < q.next {
				q.next--
			}
			break
		}
	}
	if q.next >= len(q.turn) {
		q.next = 0
	}
}

// pop takes the next app's oldest event. ok is false when nothing is queued; done is true
// when nothing is queued and the queue is closed.
func (q *fairQueue) pop() (del delivery, ok, done bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.total == 0 {
		return delivery{}, false, q.closed
	}
	app := q.turn[q.next]
	a := q.apps[app]
	del = a.events[0]
	a.events[0] = delivery{}
	a.events = a.events[1:]
	q.total--
	if len(a.events) == 0 {
		q.remove(app) // the next app moved to index next
	} else {
		q.next = (q.next + 1) % len(q.turn)
	}
	return del, true, false
}

// close refuses further pushes; the worker takes what is queued, then stops.
func (q *fairQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.wake()
	q.mu.Unlock()
}

// wake tells the worker to look again. Called with mu held.
func (q *fairQueue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}
