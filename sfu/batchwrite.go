package sfu

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Batched writes (rtc.batch_writes, decision D58): the datagrams the ICE UDP mux writes
// are queued per destination and leave several per syscall (sendmmsg through
// golang.org/x/net's WriteBatch). A queue is written when it is full, when the
// subscriber's Sender has written everything it had queued (Subscriber.flushWrites), and at
// the latest batchFlushInterval after its first datagram by the flush goroutine.
//
// A subscriber's datagrams carry transport-wide sequence numbers whose send times its
// congestion controller compares with their arrival times (congestion.go). The numbering
// interceptor notes a packet's send time when pion writes it, but a queued datagram leaves
// only at the flush; so each Subscriber registers its selected remote address with its
// send history (watch), and the flush restamps every datagram it writes to such an
// address with the time of the sendmmsg (decision D140): batching adds no delay noise to
// the estimate.
const (
	batchShards        = 64 // queues, chosen by destination address
	batchSize          = 16 // datagrams per queue, and at most per syscall
	batchBufSize       = maxPacketSize
	batchFlushInterval = 500 * time.Microsecond // with the flush goroutine's own delay, ≤ 1 ms
)

// batchWriter owns the queues. The queue of a destination is guarded by its shard's
// mutex, which writers of other destinations share only when their addresses hash to
// the same shard; the flush goroutine (run) takes each shard's mutex in turn.
type batchWriter struct {
	batchSink
	want4 bool // the socket is IPv4: only IPv4 destinations are queued (else IPv6 ones)

	shards [batchShards]batchShard

	armed   atomic.Bool   // a queue became non-empty since the flush goroutine last looked
	pending chan struct{} // wakes the flush goroutine (capacity 1)
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
	closed  atomic.Bool
}

// batchConn is what x/net's ipv4 and ipv6 PacketConns offer (sendmmsg on Linux).
type batchConn interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// v6BatchConn adapts ipv6.PacketConn (its Message is the same type as ipv4's).
type v6BatchConn struct{ c *ipv6.PacketConn }

func (c v6BatchConn) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	return c.c.WriteBatch(ms, flags)
}

// newBatchConn is conn's sendmmsg for its family (an IPv6 socket, dual-stack or not,
// takes IPv4 destinations as well).
func newBatchConn(conn *net.UDPConn, ipv4Socket bool) batchConn {
	if ipv4Socket {
		return ipv4.NewPacketConn(conn)
	}
	return v6BatchConn{ipv6.NewPacketConn(conn)}
}

type batchShard struct {
	mu sync.Mutex
	datagramBatch
	stamp []queuedStamp // per message: the send history to restamp at the flush, or none

	// sent maps the remote addresses of this shard's Subscribers to their send histories
	// (watch, unwatch); nil until the first.
	sent map[netip.AddrPort]*sendHistory
	_    [64]byte // keep neighbouring shards' mutexes off one cache line
}

// queuedStamp is where a queued datagram's send time goes: packet seq of history.
type queuedStamp struct {
	history *sendHistory
	seq     uint16
}

// newBatchWriter returns the queues of conn; it starts nothing (go w.run()).
func newBatchWriter(conn *net.UDPConn, ipv4Socket bool) *batchWriter {
	w := &batchWriter{batchSink: batchSink{conn: newBatchConn(conn, ipv4Socket)}, want4: ipv4Socket,
		pending: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	for i := range w.shards {
		s := &w.shards[i]
		s.datagramBatch = newDatagramBatch(batchSize, batchBufSize)
		s.stamp = make([]queuedStamp, batchSize)
	}
	return w
}

// queues reports whether a datagram to addr of n bytes goes through a queue; the
// others are written at once by the caller.
func (w *batchWriter) queues(n int, addr netip.AddrPort) bool {
	if n > batchBufSize || w.closed.Load() {
		return false
	}
	a := addr.Addr()
	if w.want4 {
		return a.Is4()
	}
	return a.Is6() && !a.Is4In6()
}

func (w *batchWriter) shard(addr netip.AddrPort) *batchShard {
	a := addr.Addr().As16()
	h := binary.LittleEndian.Uint64(a[:8]) ^ binary.LittleEndian.Uint64(a[8:]) ^ uint64(addr.Port())<<16
	h *= 0x9e3779b97f4a7c15 // Fibonacci hashing: the top bits depend on every input bit
	return &w.shards[h>>58] // batchShards = 64 = 2^6
}

// watch makes the flush restamp the RTP packets queued for addr in history (a
// Subscriber's selected remote address; pion's ICE goroutine, not the packet path).
func (w *batchWriter) watch(addr netip.AddrPort, h *sendHistory) {
	addr = unmapped(addr)
	s := w.shard(addr)
	s.mu.Lock()
	if s.sent == nil {
		s.sent = make(map[netip.AddrPort]*sendHistory)
	}
	s.sent[addr] = h
	s.mu.Unlock()
}

// unwatch undoes watch(addr, h); a later watch of addr by another history stays.
func (w *batchWriter) unwatch(addr netip.AddrPort, h *sendHistory) {
	addr = unmapped(addr)
	s := w.shard(addr)
	s.mu.Lock()
	if s.sent[addr] == h {
		delete(s.sent, addr)
	}
	s.mu.Unlock()
}

func unmapped(a netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a.Addr().Unmap(), a.Port()) }

// write queues a copy of b for addr (queues(len(b), addr) must hold); a full queue is
// written at once. No allocation.
func (w *batchWriter) write(b []byte, addr netip.AddrPort) {
	s := w.shard(addr)
	s.mu.Lock()
	i := s.n
	setUDPAddr(&s.addrs[i], addr)
	s.msgs[i].Buffers[0] = s.bufs[i][:copy(s.bufs[i], b)]
	// A Subscriber's RTP packet to its watched address is written by its Sender, which
	// flushes the queue after its run: only other datagrams need the flush goroutine.
	byTimer := true
	if h := s.sent[unmapped(addr)]; h != nil {
		if seq, ok := h.sequenceOf(b); ok {
			s.stamp[i] = queuedStamp{history: h, seq: seq}
			byTimer = false
		}
	}
	s.n++
	if s.n == batchSize {
		w.flushLocked(s)
	}
	s.mu.Unlock()
	if byTimer && !w.armed.Load() && w.armed.CompareAndSwap(false, true) {
		select {
		case w.pending <- struct{}{}:
		default:
		}
	}
}

// flush writes the queue addr belongs to now (the end of a Sender's run of writes).
func (w *batchWriter) flush(addr netip.AddrPort) {
	s := w.shard(addr)
	s.mu.Lock()
	w.flushLocked(s)
	s.mu.Unlock()
}

// flushLocked writes s's queued datagrams in as few syscalls as the kernel takes; a
// datagram the kernel refuses is dropped (as a failed single write would lose it).
// Each datagram of a watched address is restamped first with the time of the write.
func (w *batchWriter) flushLocked(s *batchShard) {
	var now time.Time
	for i := range s.stamp[:s.n] {
		st := &s.stamp[i]
		if st.history == nil {
			continue
		}
		if now.IsZero() {
			now = time.Now()
		}
		st.history.restamp(st.seq, int64(now.Sub(st.history.base)))
		*st = queuedStamp{}
	}
	w.writeAll(&s.datagramBatch)
}

func (w *batchWriter) flushAll() {
	for i := range w.shards {
		s := &w.shards[i]
		s.mu.Lock()
		if s.n > 0 {
			w.flushLocked(s)
		}
		s.mu.Unlock()
	}
}

// run is the flush goroutine: once a queue is non-empty it waits batchFlushInterval and
// writes every queue. It returns after close, having written what was queued.
func (w *batchWriter) run() {
	defer close(w.stopped)
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		select {
		case <-w.done:
			w.flushAll()
			return
		case <-w.pending:
		}
		t.Reset(batchFlushInterval)
		select {
		case <-w.done:
			t.Stop()
			w.flushAll()
			return
		case <-t.C:
		}
		w.armed.Store(false)
		w.flushAll()
	}
}

// close stops the flush goroutine after writing what is queued; later datagrams are
// written one by one. Idempotent; waits for run only if it was started (started).
func (w *batchWriter) close(started bool) {
	w.once.Do(func() {
		w.closed.Store(true)
		close(w.done)
	})
	if started {
		<-w.stopped
	}
	w.flushAll()
}

// rememberRemote records the remote address of a subscriber's selected candidate pair
// (pion's ICE goroutine), where its Sender's writes go (the own RTP path's destination,
// rtpout.go), and with rtc.batch_writes has the flushes restamp its packets there
// (watch); nil for a pair over TCP.
func (p *Subscriber) rememberRemote(pair *webrtc.ICECandidatePair) {
	var next *netip.AddrPort
	if pair != nil && pair.Remote != nil && pair.Remote.Protocol == webrtc.ICEProtocolUDP {
		if ip, err := netip.ParseAddr(pair.Remote.Address); err == nil {
			a := netip.AddrPortFrom(ip.Unmap(), pair.Remote.Port)
			next = &a
		}
	}
	p.remoteMu.Lock()
	defer p.remoteMu.Unlock()
	if p.remoteGone {
		return
	}
	old := p.remote.Swap(next)
	if old != nil && p.engine.batch != nil {
		p.engine.batch.unwatch(*old, p.history)
	}
	if next != nil && p.engine.batch != nil {
		p.engine.batch.watch(*next, p.history)
	}
	p.routeRTCP(old, next)
}

// routeRTCP moves the Subscriber's own SRTCP route (rtcpin.go) from the remote address
// old to next (nil: none). Caller holds remoteMu.
func (p *Subscriber) routeRTCP(old, next *netip.AddrPort) {
	if p.rtcpIn == nil {
		return
	}
	var from, to netip.AddrPort
	if old != nil {
		from = *old
	}
	if next != nil {
		to = *next
	}
	if from != to {
		p.engine.stamping.stamps.rtcpIn.move(p.rtcpIn, from, to)
	}
}

// forgetRemote unwatches the Subscriber's remote address for good (Close).
func (p *Subscriber) forgetRemote() {
	p.remoteMu.Lock()
	defer p.remoteMu.Unlock()
	p.remoteGone = true
	old := p.remote.Swap(nil)
	if old != nil && p.engine.batch != nil {
		p.engine.batch.unwatch(*old, p.history)
	}
	p.routeRTCP(old, nil)
	if p.rtcpIn != nil {
		p.rtcpIn.close()
	}
}

// flushWrites writes the queue of the subscriber's remote address (its Sender's
// goroutine, after each run of writes), so that a Sender's packets wait for a timer only
// when the selected pair is unknown.
func (p *Subscriber) flushWrites() {
	if a := p.remote.Load(); a != nil {
		p.engine.batch.flush(*a)
	}
}
