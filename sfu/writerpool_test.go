package sfu

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/srtp/v3"

	"github.com/parley-rtc/parley/internal/testwait"
)

// turnAll gives every ready Sender of w its turns until the list is empty, then writes
// what w staged: what run does between two parks, on the test's goroutine.
func (w *writer) turnAll() {
	for s := w.pop(); s != nil; s = w.pop() {
		w.turn(s)
	}
	w.batch.flushCounted()
}

// readyList is w's ready list, first to last: those taken, then those pushed since. Only
// while nothing pushes or takes.
func (w *writer) readyList() []*Sender {
	var l, pushed []*Sender
	for s := w.taken; s != nil; s = s.nextReady {
		l = append(l, s)
	}
	for s := w.head.Load(); s != nil; s = s.nextReady {
		pushed = append(pushed, s)
	}
	for i := len(pushed) - 1; i >= 0; i-- {
		l = append(l, pushed[i])
	}
	return l
}

// Packets fanned out to the Senders of a parked writer put each Sender on its ready list
// once and wake the writer once, however many packets each got.
func TestWriterPoolWakesAParkedWriterOnce(t *testing.T) {
	f := newForwardFixture(3, 64)
	pool := newWriterPool(1, nil, 1)
	w := pool.writers[0]
	for _, s := range f.senders {
		pool.assign(s, func() { t.Error("handed over") })
	}
	w.parked.Store(true) // as run leaves it
	for i := 0; i < 4; i++ {
		f.writeAt(i)
	}
	if l := w.readyList(); len(l) != 3 || l[0] != f.senders[0] || l[1] != f.senders[1] || l[2] != f.senders[2] {
		t.Fatalf("ready list %v, want the 3 Senders once each, in order", l)
	}
	if len(w.wake) != 1 {
		t.Fatalf("%d wake-ups pending, want 1", len(w.wake))
	}
	pool.start()
	for _, s := range f.senders {
		testwait.For(t, 10*time.Second, "the writer writes 4 packets of each Sender", func() bool { return s.forwardedPackets.Load() == 4 })
		s.close()
	}
	pool.close()
	if n := w.assigned.Load(); n != 0 {
		t.Fatalf("%d Senders still assigned after their close", n)
	}
}

// A writer writes at most writerTurn packets of a Sender per turn, then the next ready
// Sender's: one with a long queue does not hold up the others.
func TestWriterPoolTurnsAreFair(t *testing.T) {
	fa, fb := newForwardFixture(1, 256), newForwardFixture(1, 256)
	a, b := fa.senders[0], fb.senders[0]
	pool := newWriterPool(1, nil, 1)
	w := pool.writers[0]
	pool.assign(a, nil)
	pool.assign(b, nil)
	for i := 0; i < 2*writerTurn+8; i++ {
		fa.writeAt(i)
	}
	fb.writeAt(0)
	for _, step := range []struct {
		next         *Sender
		written      uint64 // the Sender's packets written after its turn
		readyAfter   []*Sender
		nameOfSender string
	}{
		{a, writerTurn, []*Sender{b, a}, "a"},
		{b, 1, []*Sender{a}, "b"},
		{a, 2 * writerTurn, []*Sender{a}, "a"},
		{a, 2*writerTurn + 8, nil, "a"},
	} {
		s := w.pop()
		if s != step.next {
			t.Fatalf("the writer turns to %p, want %s (%p)", s, step.nameOfSender, step.next)
		}
		w.turn(s)
		if got := s.forwardedPackets.Load(); got != step.written {
			t.Fatalf("%s: %d packets written after its turn, want %d", step.nameOfSender, got, step.written)
		}
		if l := w.readyList(); len(l) != len(step.readyAfter) || (len(l) > 0 && (l[0] != step.readyAfter[0] || l[len(l)-1] != step.readyAfter[len(l)-1])) {
			t.Fatalf("after %s's turn the ready list is %v, want %v", step.nameOfSender, l, step.readyAfter)
		}
	}
}

// A Sender closed while on its writer's ready list is let go by the writer before close
// returns, its packets unwritten.
func TestWriterPoolCloseWaitsForTheWriter(t *testing.T) {
	f := newForwardFixture(1, 64)
	s := f.senders[0]
	pool := newWriterPool(1, nil, 1)
	pool.assign(s, nil)
	f.writeAt(0)
	closed := closeWaiting(t, s, "close returned while the Sender was on the ready list of a writer that has not run")
	pool.start()
	<-closed
	pool.close()
	if n := s.forwardedPackets.Load(); n != 0 {
		t.Fatalf("%d packets written after the close", n)
	}
	if s.inPool || pool.writers[0].assigned.Load() != 0 {
		t.Fatalf("after close: in the pool %v, %d assigned", s.inPool, pool.writers[0].assigned.Load())
	}
}

// Closing a Sender that went idle with datagrams still staged in its writer's shared
// batch waits until the writer wrote and counted them: the Subscriber folds its counters
// into the Engine's totals after its Sender closed, and a packet counted later was lost
// from them (TestEngineTotalsKeepClosedPeers saw 8 of 40 missing once).
func TestWriterPoolCloseCountsStagedPackets(t *testing.T) {
	f := newForwardFixture(1, 64)
	p := newOwnBatchPath(t, 1)
	pool := newWriterPool(1, p.batches, 16)
	w := pool.writers[0]
	s := f.senders[0]
	s.out = p.out
	pool.assign(s, nil)
	p.out.batch = p.out.shared
	for i := 0; i < 3; i++ {
		f.writeAt(i)
	}
	w.turn(w.pop()) // staged, not written: the Sender is idle with 3 datagrams in w's batch
	if s.inPool || w.batch.n != 3 {
		t.Fatalf("after the turn: in the pool %v, %d staged, want idle with 3", s.inPool, w.batch.n)
	}
	closed := closeWaiting(t, s, "close returned while its staged datagrams were neither written nor counted")
	pool.start()
	<-closed
	if n := s.forwardedPackets.Load(); n != 3 {
		t.Fatalf("%d packets counted when close returned, want the 3 staged", n)
	}
	pool.close()
	p.read(t, 3)
}

// closeWaiting closes s on a goroutine of its own, fails with why when the close returns
// within 50 ms (it must wait for a writer that has not run), and returns the channel
// closed when it returned.
func closeWaiting(t *testing.T, s *Sender, why string) <-chan struct{} {
	t.Helper()
	closed := make(chan struct{})
	go func() {
		s.close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal(why)
	case <-time.After(50 * time.Millisecond):
	}
	return closed
}

// A Sender whose PeerConnection took pion's path gets a goroutine of its own (spawn),
// which writes what the writer left; its writer no longer knows it.
func TestWriterPoolHandsOverPionsPath(t *testing.T) {
	f := newForwardFixture(1, 64)
	s := f.senders[0]
	s.out = &rtpOut{mode: outPion}
	pool := newWriterPool(1, nil, 1)
	w := pool.writers[0]
	var wg sync.WaitGroup
	pool.assign(s, runOnHandOver(s, &wg))
	for i := 0; i < 3; i++ {
		f.writeAt(i)
	}
	w.turnAll()
	testwait.For(t, 10*time.Second, "the Sender's own goroutine writes its 3 packets", func() bool { return s.forwardedPackets.Load() == 3 })
	f.writeAt(3)
	testwait.For(t, 10*time.Second, "a later packet wakes the Sender's own goroutine", func() bool { return s.forwardedPackets.Load() == 4 })
	if s.pool != nil || w.assigned.Load() != 0 || len(w.readyList()) != 0 {
		t.Fatalf("after the hand-over: pool %p, %d assigned, ready %v", s.pool, w.assigned.Load(), w.readyList())
	}
	s.close()
	wg.Wait()
}

// runOnHandOver is a Sender's hand-over (spawn) as a Subscriber's: run on a goroutine
// counted in wg.
func runOnHandOver(s *Sender, wg *sync.WaitGroup) func() {
	return func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run()
		}()
	}
}

// A writer puts the own path's UDP datagrams of several Senders into one sendmmsg, each
// to its subscriber's address, counted for its Sender; without allocating.
func TestWriterPoolBatchesAcrossSubscribers(t *testing.T) {
	fa, fb := newForwardFixture(1, 64), newForwardFixture(1, 64)
	pa, pb := newOwnBatchPath(t, 1), newOwnBatchPath(t, 1)
	pool := newWriterPool(1, pa.batches, 16)
	w := pool.writers[0]
	for _, c := range []struct {
		s *Sender
		p *ownBatchPath
	}{{fa.senders[0], pa}, {fb.senders[0], pb}} {
		c.s.out = c.p.out
		pool.assign(c.s, nil)
		c.p.out.batch = c.p.out.shared // what route does on deciding the own path
	}
	i := 0
	run := func() {
		for k := 0; k < 2; k++ {
			fa.writeAt(i)
			fb.writeAt(i)
			i++
		}
		w.turnAll()
	}
	run()
	if pa.batches.calls != 1 {
		t.Fatalf("%d sendmmsg for 2 subscribers' 4 datagrams, want 1", pa.batches.calls)
	}
	for _, c := range []struct {
		name string
		s    *Sender
		p    *ownBatchPath
	}{{"a", fa.senders[0], pa}, {"b", fb.senders[0], pb}} {
		if seqs, _ := c.p.read(t, 2); seqs[1] != seqs[0]+1 {
			t.Fatalf("%s received %v", c.name, seqs)
		}
		if c.s.forwardedPackets.Load() != 2 || c.p.out.own.Load() != 2 {
			t.Fatalf("%s: %d forwarded, %d own, want 2", c.name, c.s.forwardedPackets.Load(), c.p.out.own.Load())
		}
	}
	if raceEnabled {
		return // x/net's sendmmsg headers come from a sync.Pool, which drops items under -race
	}
	if n := testing.AllocsPerRun(50, run); n != 0 {
		t.Fatalf("%.1f allocations per 2 packets of 2 subscribers", n)
	}
}

// ownTestPath is an own path (rtpOut) decided for the own path over UDP to a fake
// remote address, without a batch: udpWrites counts its UDP writes; move puts it on an
// ICE-TCP pair whose connection takes the writes (overTCP).
type ownTestPath struct {
	out       *rtpOut
	udp       netip.AddrPort
	udpWrites atomic.Int64
}

func newOwnTestPath(t *testing.T) *ownTestPath {
	t.Helper()
	ctx, err := srtp.CreateContext(make([]byte, 16), make([]byte, 12), srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		t.Fatal(err)
	}
	p := &ownTestPath{udp: netip.MustParseAddrPort("127.0.0.1:5000")}
	p.out = &rtpOut{remote: new(atomic.Pointer[netip.AddrPort]), history: newSendHistory(), next: new(atomic.Uint32),
		mode: outOwn, ctx: ctx, keys: &dtlsKeys{}, ready: func() bool { return false },
		write: func(b []byte, _ netip.AddrPort) (int, error) { p.udpWrites.Add(1); return len(b), nil }}
	p.out.remote.Store(&p.udp)
	return p
}

// moveToTCP selects an ICE-TCP pair, as pairChanged does: the UDP address goes, a TCP
// route comes.
func (p *ownTestPath) moveToTCP() {
	const peer = "127.0.0.1:40000"
	p.out.remote.Store(nil)
	p.out.tcp.Store(&tcpRoute{conns: []net.PacketConn{&fakePacketConn{has: map[string]bool{peer: true}}}, addr: tcpRemote{peer}})
}

// A pool writer hands a Sender over to a goroutine of its own (spawn) at the write that
// finds its path one that may wait for a peer: pion's (decided with the first packet, or
// a fall back when the handshake gave no keys), or the own path on an ICE-TCP pair; and
// writes nothing of it there. Not while undecided before the handshake (dropped), on a
// UDP pair or with no pair at all (unroutable).
func TestSenderHandOver(t *testing.T) {
	for _, tc := range []struct {
		name string
		path func(p *ownTestPath)
		want bool
		// where the 2 packets of the turn went: pion's writer, UDP, dropped unroutable
		pion, udp, unroutable int
	}{
		{"undecided before the handshake", func(p *ownTestPath) { p.out.mode = outUndecided }, false, 0, 0, 0},
		{"undecided, the handshake gave no keys", func(p *ownTestPath) {
			p.out.mode = outUndecided
			p.out.keys.failed.Store(true)
		}, true, 0, 0, 0},
		{"own path over UDP", func(*ownTestPath) {}, false, 0, 2, 0},
		{"own path without a pair", func(p *ownTestPath) { p.out.remote.Store(nil) }, false, 0, 0, 2},
		{"own path over ICE-TCP", (*ownTestPath).moveToTCP, true, 0, 0, 0},
		{"pion's path", func(p *ownTestPath) { p.out.mode = outPion }, true, 0, 0, 0},
		{"no own path", func(p *ownTestPath) { p.out = nil }, false, 2, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newForwardFixture(1, 64)
			s := f.senders[0]
			p := newOwnTestPath(t)
			tc.path(p)
			s.out = p.out
			pool := newWriterPool(1, nil, 1)
			w := pool.writers[0]
			spawned := -1 // the packets left for the Sender's own goroutine
			pool.assign(s, func() { spawned = s.count })
			f.writeAt(0)
			f.writeAt(1)
			w.turnAll()
			if handedOver := spawned >= 0; handedOver != tc.want {
				t.Fatalf("handed over: %v, want %v", handedOver, tc.want)
			}
			if tc.want && (spawned != 2 || s.pool != nil || w.assigned.Load() != 0) {
				t.Fatalf("handed over with %d packets left (want 2), pool %p, %d assigned", spawned, s.pool, w.assigned.Load())
			}
			pion := len((*f.receiver.downTracks.Load())[0].binding.Load().writer.(*fakeTrackWriter).snapshot())
			var unroutable, overTCP uint64
			if p.out != nil {
				unroutable, overTCP = p.out.unroutable.Load(), p.out.overTCP.Load()
			}
			if pion != tc.pion || p.udpWrites.Load() != int64(tc.udp) || unroutable != uint64(tc.unroutable) || overTCP != 0 {
				t.Fatalf("the writer wrote %d on pion's path, %d on UDP, %d over TCP, dropped %d unroutable; want %d, %d, 0, %d",
					pion, p.udpWrites.Load(), overTCP, unroutable, tc.pion, tc.udp, tc.unroutable)
			}
			s.close()
		})
	}
}

// The own path moving to an ICE-TCP pair in the middle of a writer's turn hands the
// Sender over at the next packet: the writer wrote the packets before the move on UDP
// and none over TCP; the Sender's own goroutine writes the rest over TCP.
func TestSenderHandOverWhenThePairMovesToTCP(t *testing.T) {
	f := newForwardFixture(1, 64)
	s := f.senders[0]
	p := newOwnTestPath(t)
	s.out = p.out
	write := p.out.write
	p.out.write = func(b []byte, to netip.AddrPort) (int, error) {
		n, err := write(b, to)
		if p.udpWrites.Load() == 2 {
			p.moveToTCP() // pion's ICE goroutine selects the TCP pair now
		}
		return n, err
	}
	pool := newWriterPool(1, nil, 1)
	w := pool.writers[0]
	var wg sync.WaitGroup
	spawned, run := make(chan int, 1), runOnHandOver(s, &wg)
	pool.assign(s, func() {
		spawned <- s.count
		run()
	})
	for i := 0; i < 5; i++ {
		f.writeAt(i)
	}
	w.turnAll()
	select {
	case left := <-spawned:
		if left != 3 {
			t.Fatalf("handed over with %d packets left, want 3", left)
		}
	default:
		t.Fatalf("not handed over: the writer wrote %d on UDP, %d over TCP", p.udpWrites.Load(), p.out.overTCP.Load())
	}
	testwait.For(t, 10*time.Second, "the Sender's own goroutine writes the 3 others over TCP", func() bool { return p.out.overTCP.Load() == 3 })
	if p.udpWrites.Load() != 2 || s.forwardedPackets.Load() != 5 {
		t.Fatalf("%d written on UDP (want 2), %d forwarded (want 5)", p.udpWrites.Load(), s.forwardedPackets.Load())
	}
	s.close()
	wg.Wait()
}

// Several forwarding goroutines enqueue at once for the Senders of one running writer:
// each packet is written once, in order, and a writer never stays parked with a ready
// Sender (the bounded wait after each burst would run out).
func TestWriterPoolConcurrentProducers(t *testing.T) {
	pool := newWriterPool(1, nil, 1)
	fixtures := make([]*forwardFixture, 4)
	for p := range fixtures {
		fixtures[p] = newForwardFixture(3, 256)
		for _, s := range fixtures[p].senders {
			pool.assign(s, func() { t.Error("handed over") })
		}
	}
	pool.start()
	produceConcurrently(t, pool, fixtures, 150, 24, nil)
}

// produceConcurrently runs a forwarding goroutine per fixture whose Senders the running
// pool writes for: rounds bursts of 1..maxBurst packets each (through around, when set:
// around(producer, round, k, write) must call write once), each burst's writing waited
// for (10 s at most); then it closes the pool and checks that every packet was written
// once, in order, none dropped, and closes the Senders.
func produceConcurrently(t *testing.T, pool *writerPool, fixtures []*forwardFixture, rounds, maxBurst int, around func(p, r, k int, write func())) {
	t.Helper()
	written := make([]int, len(fixtures))
	var wg sync.WaitGroup
	for p, f := range fixtures {
		wg.Add(1)
		go func() {
			defer wg.Done()
			write := func() {
				f.writeAt(written[p])
				written[p]++
			}
			for r := 0; r < rounds; r++ {
				for k := range 1 + (r*7+p*5)%maxBurst {
					if around != nil {
						around(p, r, k, write)
					} else {
						write()
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				ok := testwait.Poll(ctx, func() bool {
					for _, s := range f.senders {
						if s.forwardedPackets.Load() != uint64(written[p]) {
							return false
						}
					}
					return true
				})
				cancel()
				if !ok {
					var state []string
					for _, w := range pool.writers {
						state = append(state, fmt.Sprintf("parked %v, list empty %v", w.parked.Load(), w.head.Load() == nil))
					}
					t.Errorf("producer %d, round %d: the writers did not write its %d packets (%v)", p, r, written[p], state)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow() // a writer left parked with a ready Sender would hold up the close
	}
	pool.close()
	for p, f := range fixtures {
		for k, d := range *f.receiver.downTracks.Load() {
			got := d.binding.Load().writer.(*fakeTrackWriter).snapshot()
			if len(got) != written[p] {
				t.Errorf("producer %d, Sender %d: %d packets written, want %d", p, k, len(got), written[p])
				continue
			}
			for i := 1; i < len(got); i++ {
				if got[i].header.SequenceNumber != got[i-1].header.SequenceNumber+1 {
					t.Errorf("producer %d, Sender %d: packet %d has seq %d after %d", p, k, i, got[i].header.SequenceNumber, got[i-1].header.SequenceNumber)
					break
				}
			}
		}
		for _, s := range f.senders {
			if n := s.dropped.Load(); n != 0 {
				t.Errorf("producer %d: %d packets dropped", p, n)
			}
			s.close()
		}
	}
}

// batchedPool is a writer pool of one writer (not started) with a batch of 16 for two
// subscribers on the own path over UDP, each with a Receiver of its own (fa, fb).
func batchedPool(t *testing.T) (*writerPool, *forwardFixture, *forwardFixture, []*Sender) {
	fa, fb := newForwardFixture(1, 64), newForwardFixture(1, 64)
	pa, pb := newOwnBatchPath(t, 1), newOwnBatchPath(t, 1)
	pool := newWriterPool(1, pa.batches, 16)
	senders := []*Sender{fa.senders[0], fb.senders[0]}
	for k, p := range []*ownBatchPath{pa, pb} {
		senders[k].out = p.out
		pool.assign(senders[k], func() { t.Error("handed over") })
		p.out.batch = p.out.shared
	}
	return pool, fa, fb, senders
}

// A running writer woken by enqueues writes without allocating: the push, the take, the
// park and the wake-up.
func TestWriterPoolDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("x/net's sendmmsg headers come from a sync.Pool, which drops items under -race")
	}
	pool, fa, fb, senders := batchedPool(t)
	pool.start()
	defer pool.close()
	i, stuck := 0, false
	run := func() {
		for k := 0; k < 2; k++ {
			fa.writeAt(i)
			fb.writeAt(i)
			i++
		}
		deadline := time.Now().Add(10 * time.Second)
		for _, s := range senders {
			for s.forwardedPackets.Load() != uint64(i) && !stuck {
				stuck = time.Now().After(deadline)
				runtime.Gosched()
			}
		}
	}
	run() // the SSRCs' SRTP state, x/net's pooled headers
	n := testing.AllocsPerRun(50, run)
	if stuck {
		t.Fatalf("the writer did not write the packets (parked %v)", pool.writers[0].parked.Load())
	}
	if n != 0 {
		t.Fatalf("%.1f allocations per 2 packets of 2 subscribers through a running writer", n)
	}
	for _, s := range senders {
		s.close()
	}
}
