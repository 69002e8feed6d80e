package sfu

import (
	"net"
	"net/netip"
	"time"

	"github.com/pion/rtp"
)

// outBatch is a run of own-path packets written with one sendmmsg (decision D260): a
// Sender's own, or, with rtc.writers, its pool writer's, shared by the Senders it writes
// for (writerpool.go, decision D290), each datagram with its own destination. The Sender
// seals each packet straight into the next of the batch's preallocated buffers (stage: no
// copy), and at the end of its run (the pool writer: before it parks), or when the batch
// is full, flush notes every packet in its send history with the time read just before
// the write and writes them all: a run of equal-size datagrams to one address (a video
// frame's packets) as one UDP GSO message, several messages with one sendmmsg, a single
// datagram with the plain write. Nothing waits for more packets and no other goroutine
// is involved; a run of one costs what it did before. The batch and its sink belong to
// the goroutine that writes for its Senders.
type outBatch struct {
	datagramBatch
	sink batchSink
	// slotTo is the address each slot of addrs holds (x/net's form of it), set again only
	// when it changes: per packet it cost 1.5 % of load c.
	slotTo []netip.AddrPort
	queue  []outQueued
}

// outQueued is one staged datagram: what the send history notes at the flush, and what
// its Sender counts for it once written.
type outQueued struct {
	out      *rtpOut // whose datagram: its send history, write and counters
	twcc     uint16  // transport-wide sequence number, when numbered
	numbered bool
	size     int // header and payload before sealing, as the send history notes

	sender  *Sender
	track   *DownTrack
	seq     uint16
	ts      uint32
	payload int
}

// newOutBatch preallocates size datagrams written through conn.
func newOutBatch(conn batchConn, size int) *outBatch {
	return &outBatch{datagramBatch: newDatagramBatch(size, maxPacketSize+rtpOutRoom),
		sink: batchSink{conn: conn}, slotTo: make([]netip.AddrPort, size), queue: make([]outQueued, size)}
}

// full reports whether the next packet needs a flush first.
func (b *outBatch) full() bool { return b.n == len(b.bufs) }

// stage numbers and seals one packet into the batch's next buffer, for to (the batch
// must not be full); the returned entry is the Sender's to fill. No allocation.
func (o *rtpOut) stage(h *rtp.Header, payload []byte, to netip.AddrPort) (*outQueued, error) {
	b := o.batch
	sealed, twcc, numbered, size, err := o.seal(b.bufs[b.n], h, payload)
	if err != nil {
		return nil, err
	}
	if to != b.slotTo[b.n] { // another subscriber's slot, or the pair changed
		setUDPAddr(&b.addrs[b.n], to)
		b.slotTo[b.n] = to
	}
	b.msgs[b.n].Buffers[0] = sealed
	q := &b.queue[b.n]
	*q = outQueued{out: o, twcc: twcc, numbered: numbered, size: size}
	b.n++
	return q, nil
}

// flush notes the staged packets in their send histories at now (the write's time, what
// the congestion controllers compare arrivals with) and writes them: the plain write for
// a single datagram, else the batch (datagramBatch: sendmmsg, GSO). b.sent[i] says
// whether datagram i was written (a refused one is dropped, as a failed single write
// loses it); the caller empties the batch (reset) after reading it.
func (b *outBatch) flush(now time.Time) {
	n := b.n
	for i := range b.queue[:n] {
		if q := &b.queue[i]; q.numbered {
			q.out.history.record(q.twcc, q.size, int64(now.Sub(q.out.history.base)))
		}
	}
	if n == 1 {
		q := &b.queue[0]
		_, err := q.out.write(b.msgs[0].Buffers[0], b.slotTo[0])
		b.sent[0] = err == nil
		q.out.writes.Add(1)
	} else {
		before := b.sink.batches.Load()
		b.sink.writeAll(&b.datagramBatch)
		syscalls := b.sink.batches.Load() - before
		for i := range b.queue[:n] { // each subscriber's run of datagrams went with them
			if q := &b.queue[i]; i == 0 || q.out != b.queue[i-1].out {
				q.out.writes.Add(syscalls)
			}
		}
	}
	b.n = n // writeAll empties the batch; reset does, after the caller read it
	for i, sent := range b.sent[:n] {
		if sent {
			b.queue[i].out.own.Add(1)
		}
	}
}

// flushCounted flushes b, if it holds anything, with the time of the write, counts each
// written datagram for its Sender, and empties b; it returns that time (Unix
// nanoseconds), 0 when there was nothing to write.
func (b *outBatch) flushCounted() int64 {
	if b == nil || b.n == 0 {
		return 0
	}
	now := time.Now()
	nowNs := now.UnixNano()
	b.flush(now)
	for i := range b.queue[:b.n] {
		if q := &b.queue[i]; b.sent[i] {
			q.sender.counted(q.track, q.seq, q.ts, q.payload, nowNs)
		}
	}
	b.reset()
	return nowNs
}

// reset empties the batch, dropping its references to Senders and DownTracks.
func (b *outBatch) reset() {
	clear(b.queue[:b.n])
	b.n = 0
}

// setUDPAddr points ua (with a preallocated 16-byte IP) at addr, without allocating.
func setUDPAddr(ua *net.UDPAddr, addr netip.AddrPort) {
	if addr.Addr().Is4() {
		a4 := addr.Addr().As4()
		ua.IP = append(ua.IP[:0], a4[:]...)
	} else {
		a16 := addr.Addr().As16()
		ua.IP = append(ua.IP[:0], a16[:]...)
	}
	ua.Port = int(addr.Port())
}
