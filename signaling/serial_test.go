package signaling

import (
	"testing"
)

// TestSerialHoldRunsOnTheSettlingGoroutine: what is queued while the queue is held
// starts no goroutine and runs, in order, inside settleHeld (D195); what a settled
// function queues itself runs afterwards on the queue's goroutine; a panicking function
// does not stop the queue; Service.Close's count covers the hold.
func TestSerialHoldRunsOnTheSettlingGoroutine(t *testing.T) {
	var count runCount
	q := &serial{count: &count}
	var ran []int
	q.hold()
	q.do(func() { ran = append(ran, 1) })
	q.do(func() { ran = append(ran, 2) })
	q.mu.Lock()
	running, queued := q.running, len(q.queue)
	q.mu.Unlock()
	count.mu.Lock()
	counted := count.n
	count.mu.Unlock()
	if running || queued != 2 || counted != 1 {
		t.Fatalf("held queue: running %v, queued %d, counted %d; want false, 2, 1", running, queued, counted)
	}
	q.settleHeld()
	if len(ran) != 2 || ran[0] != 1 || ran[1] != 2 {
		t.Fatalf("after settleHeld ran %v, want [1 2]", ran)
	}
	count.wait()

	// A function queued by a settled one is left to the queue's goroutine.
	release, later := make(chan struct{}), make(chan struct{})
	q.hold()
	q.do(func() {
		q.do(func() { <-release; close(later) })
	})
	q.settleHeld() // returns although the second function waits
	close(release)
	<-later
	count.wait()

	// A panic in a settled function leaves the queue working.
	q.hold()
	q.do(func() { panic("effect failed") })
	after := make(chan struct{})
	q.do(func() { close(after) })
	func() {
		defer func() { _ = recover() }()
		q.settleHeld()
	}()
	<-after
	count.wait()
	if q.running {
		t.Fatal("queue still marked running")
	}
}

// TestSerialSettleWaitsForItsGoroutine: a settle while the queue's goroutine runs waits
// for what was queued before it, and the barrier of an idle queue is already closed.
func TestSerialSettleWaitsForItsGoroutine(t *testing.T) {
	var count runCount
	q := &serial{count: &count}
	select {
	case <-q.barrier():
	default:
		t.Fatal("barrier of an idle queue not closed")
	}
	release := make(chan struct{})
	done := false
	q.do(func() { <-release; done = true })
	settled := make(chan struct{})
	go func() { q.settle(); close(settled) }()
	close(release)
	<-settled
	if !done {
		t.Fatal("settle returned before the running function ended")
	}
	count.wait()
}
