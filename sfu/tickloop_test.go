package sfu

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// tickLoopGoroutines counts the goroutines running a tickLoop (sfu tests run one at a time).
func tickLoopGoroutines() int {
	return countGoroutines(func(g []byte) bool { return bytes.Contains(g, []byte("sfu.(*tickLoop)")) })
}

// A publisher's PeerConnection sends its transport-wide feedback and its NACKs and
// receiver reports from one goroutine (D334; two before, each waking every 100 ms).
func TestPublisherFeedbackOneGoroutine(t *testing.T) {
	before := tickLoopGoroutines()
	read, _, rec, closeChain := publisherReadChain(t)
	defer closeChain()
	buf := make([]byte, 1500)
	for range 120 { // sequence numbers 1..122 but 50 and 100, each with a transport-wide number
		if _, _, err := read.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}
	var twcc, nack, report bool
	waitFor(t, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, p := range rec.pkts {
			switch p.(type) {
			case *rtcp.TransportLayerCC:
				twcc = true
			case *rtcp.TransportLayerNack:
				nack = true
			case *rtcp.ReceiverReport:
				report = true
			}
		}
		return twcc && nack && report
	})
	if n := tickLoopGoroutines() - before; n > 1 { // it sent, so one runs
		t.Errorf("%d feedback goroutines for one publisher PeerConnection, want 1", n)
	}
}

// tickCounter is a tickLoop member counting its ticks.
type tickCounter struct {
	m     *tickMember
	ticks atomic.Int64
}

func newTickCounter(l *tickLoop) *tickCounter {
	c := &tickCounter{m: l.join()}
	c.m.start(func() { c.ticks.Add(1) })
	return c
}

// The loop's members: a poke ticks the poked member only (the NACK reporter counts its
// ticks for the 1 s receiver reports: the transport-wide sender's early feedback must
// not tick it); one member's stop leaves the other ticking, and no tick of a stopped
// member runs after its stop returned; the last stop ends the goroutine (goleak).
func TestTickLoopMembers(t *testing.T) {
	t.Run("poke", func(t *testing.T) {
		l := newTickLoop(time.Hour) // only pokes tick
		a, b := newTickCounter(l), newTickCounter(l)
		defer b.m.stop()
		defer a.m.stop()
		for i := int64(1); i <= 5; i++ {
			a.m.poke()
			waitFor(t, func() bool { return a.ticks.Load() == i })
		}
		b.m.poke()
		waitFor(t, func() bool { return b.ticks.Load() == 1 })
		time.Sleep(20 * time.Millisecond) // a stray tick of a would show now
		if a, b := a.ticks.Load(), b.ticks.Load(); a != 5 || b != 1 {
			t.Errorf("ticks %d and %d, want 5 of the member poked five times and 1 of the one poked once", a, b)
		}
	})
	t.Run("stop", func(t *testing.T) {
		before := tickLoopGoroutines()
		l := newTickLoop(time.Millisecond)
		a, b := newTickCounter(l), newTickCounter(l)
		waitFor(t, func() bool { return a.ticks.Load() > 3 && b.ticks.Load() > 3 })
		a.m.stop()
		stoppedAt := a.ticks.Load()
		from := b.ticks.Load()
		waitFor(t, func() bool { return b.ticks.Load() > from+3 })
		if n := a.ticks.Load(); n != stoppedAt {
			t.Errorf("%d ticks of a stopped member after its stop", n-stoppedAt)
		}
		a.m.start(func() { t.Error("a stopped member ticks again") })
		a.m.poke()
		b.m.stop()
		b.m.stop() // idempotent
		if n := tickLoopGoroutines() - before; n > 0 {
			t.Errorf("%d tick goroutines after every member stopped", n)
		}
	})
}
