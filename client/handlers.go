package client

import (
	"slices"
	"sync"
)

// handlerDispatcher runs On handlers. The reader enqueues; run (one goroutine) calls the
// handlers. mu guards the handler table and the queue.
type handlerDispatcher struct {
	mu       sync.Mutex
	nextID   uint64
	handlers map[uint64]registeredHandler
	queue    []Event
	wake     chan struct{} // capacity 1: a pending wake-up
}

type registeredHandler struct {
	name string
	fn   func(Event)
}

func newHandlerDispatcher() *handlerDispatcher {
	return &handlerDispatcher{handlers: make(map[uint64]registeredHandler), wake: make(chan struct{}, 1)}
}

func (d *handlerDispatcher) add(name string, fn func(Event)) func() {
	d.mu.Lock()
	d.nextID++
	id := d.nextID
	d.handlers[id] = registeredHandler{name: name, fn: fn}
	d.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			d.mu.Lock()
			delete(d.handlers, id)
			d.mu.Unlock()
		})
	}
}

// enqueue queues ev when a handler may want it; it never blocks.
func (d *handlerDispatcher) enqueue(ev Event) {
	d.mu.Lock()
	if len(d.handlers) == 0 {
		d.mu.Unlock()
		return
	}
	d.queue = append(d.queue, ev)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *handlerDispatcher) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-d.wake:
		}
		d.mu.Lock()
		batch := d.queue
		d.queue = nil
		d.mu.Unlock()
		for _, ev := range batch {
			select {
			case <-stop:
				return
			default:
			}
			d.dispatch(ev)
		}
	}
}

// dispatch calls, in registration order, the handlers registered for ev now.
func (d *handlerDispatcher) dispatch(ev Event) {
	d.mu.Lock()
	ids := make([]uint64, 0, len(d.handlers))
	for id, h := range d.handlers {
		if h.name == "" || h.name == ev.Name {
			ids = append(ids, id)
		}
	}
	fns := make([]func(Event), 0, len(ids))
	slices.Sort(ids)
	for _, id := range ids {
		fns = append(fns, d.handlers[id].fn)
	}
	d.mu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}
