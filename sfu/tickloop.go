package sfu

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
)

// tickLoop is the one feedback goroutine of a publisher's PeerConnection (D334): the
// transport-wide feedback sender (twcc.go) and the NACK reporter (nackreporter.go) each
// join it as a tickMember, and it calls every started member's tick every interval, and a
// poked member's once more at once, until every member that joined has stopped. Before
// D334 each ran a goroutine of its own: two wake-ups per 100 ms per publisher instead of
// one. The goroutine starts with the first member started (from BindRemoteStream, so a
// subscriber's PeerConnection, which receives no media, runs none).
type tickLoop struct {
	interval time.Duration
	early    chan struct{} // poke: a tick of the poked members before the interval is over
	done     chan struct{} // closed when every member stopped
	wg       sync.WaitGroup

	mu      sync.Mutex // guards members' tick and stopped, joined, stopped and running
	members [maxTickMembers]*tickMember
	joined  int
	stopped int
	running bool

	// turn is held by the goroutine while it calls the members' ticks: a member's stop
	// takes it once after clearing its tick, so no tick of it runs after stop returns.
	turn sync.Mutex
}

// maxTickMembers: the transport-wide feedback sender and the NACK reporter.
const maxTickMembers = 2

// tickMember is one member's place in a tickLoop.
type tickMember struct {
	loop    *tickLoop
	tick    func() // nil until started, and once stopped; under loop.mu
	stopped bool   // under loop.mu
	poked   atomic.Bool
}

func newTickLoop(interval time.Duration) *tickLoop {
	return &tickLoop{interval: interval, early: make(chan struct{}, 1), done: make(chan struct{})}
}

// join adds a member. Before any member starts (the interceptors' constructors).
func (l *tickLoop) join() *tickMember {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := &tickMember{loop: l}
	l.members[l.joined] = m
	l.joined++
	return m
}

// start has the loop call tick every interval, starting the goroutine unless it runs;
// nothing once m stopped. Any goroutine (the owners call it under their own mutex).
func (m *tickMember) start(tick func()) {
	l := m.loop
	l.mu.Lock()
	defer l.mu.Unlock()
	if m.stopped || m.tick != nil {
		return
	}
	m.tick = tick
	if l.running {
		return
	}
	l.running = true
	l.wg.Add(1)
	go l.run()
}

// poke makes the goroutine tick m now, without waiting for the interval (the other
// members wait for theirs). Any goroutine; never blocks, no allocation.
func (m *tickMember) poke() {
	m.poked.Store(true)
	select {
	case m.loop.early <- struct{}{}:
	default:
	}
}

// stop ends m's ticks: none runs after stop returns. The last member's stop ends the
// goroutine and waits for it. Idempotent; never call it holding a mutex m's tick takes.
func (m *tickMember) stop() {
	l := m.loop
	l.mu.Lock()
	if m.stopped {
		l.mu.Unlock()
		return
	}
	m.stopped, m.tick = true, nil
	l.stopped++
	last := l.stopped == l.joined
	if last {
		close(l.done)
	}
	l.mu.Unlock()
	l.turn.Lock() // a tick of m under way ends first
	l.turn.Unlock()
	if last {
		l.wg.Wait()
	}
}

func (l *tickLoop) run() {
	defer l.wg.Done()
	ticker := time.NewTicker(l.interval)
	defer ticker.Stop()
	for {
		all := true
		select {
		case <-l.done:
			return
		case <-ticker.C:
		case <-l.early:
			all = false
		}
		l.tick(all)
	}
}

// tick calls the ticks of every member (all) or of the poked ones. No allocation.
func (l *tickLoop) tick(all bool) {
	l.turn.Lock()
	defer l.turn.Unlock()
	for i := range maxTickMembers {
		l.mu.Lock()
		m := l.members[i]
		var tick func()
		if m != nil {
			tick = m.tick
		}
		l.mu.Unlock()
		if m == nil {
			continue
		}
		if m.poked.Swap(false) || all {
			if tick != nil {
				tick()
			}
		}
	}
}

// publisherFeedbackFactory makes, per PeerConnection, the transport-wide feedback sender
// and the NACK reporter on one tickLoop (interceptor.Factory, D334); both tick every
// twccFeedbackInterval, which is nackInterval.
type publisherFeedbackFactory struct {
	twcc *feedbackFactory
	nack *nackReporterFactory
}

func newPublisherFeedbackFactory(twcc *feedbackFactory, nack *nackReporterFactory) (*publisherFeedbackFactory, error) {
	if twcc.interval != nackInterval {
		return nil, fmt.Errorf("publisher feedback: transport-wide feedback every %s, NACKs every %s: one goroutine ticks both at one interval", twcc.interval, nackInterval)
	}
	return &publisherFeedbackFactory{twcc: twcc, nack: nack}, nil
}

func (f *publisherFeedbackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	loop := newTickLoop(nackInterval)
	s, r := f.twcc.newSender(loop), f.nack.newReporter(loop)
	return &publisherFeedback{Chain: interceptor.NewChain([]interceptor.Interceptor{s, r}), twcc: s, nack: r}, nil
}

// publisherFeedback is a PeerConnection's feedback sender and NACK reporter, chained in
// that order (as two factories made them before D334).
type publisherFeedback struct {
	*interceptor.Chain
	twcc *feedbackSender
	nack *nackReporter
}
