package sfu

import (
	"net"
	"net/netip"
	"time"

	"github.com/pion/rtp"
)

// outBatch is a Sender's run of own-path packets to its subscriber's UDP address,
// written with one sendmmsg (decision D260). The Sender seals each packet straight into
// the next of the batch's preallocated buffers (stage: no copy), and at the end of its
// run, or when the batch is full or the address changes, flush notes every packet in the
// send history with the time read just before the write and writes them all: a run of
// equal-size datagrams (a video frame's packets) as one UDP GSO message, several
// messages with one sendmmsg, a single datagram with the plain write. Nothing waits for
// more packets and no other goroutine is involved; a run of one costs what it did
// before. The batch and its sink belong to the Sender's goroutine.
type outBatch struct {
	datagramBatch
	sink batchSink
	to   netip.AddrPort // where the batch's datagrams go
	// addrsTo is the address every slot of addrs holds (x/net's form of it), set again only
	// when the selected pair changes: per packet it cost 1.5 % of load c.
	addrsTo netip.AddrPort
	queue   []outQueued
}

// outQueued is one staged datagram: what the send history notes at the flush, and what
// the Sender counts for it once written.
type outQueued struct {
	twcc     uint16 // transport-wide sequence number, when numbered
	numbered bool
	size     int // header and payload before sealing, as the send history notes

	track   *DownTrack
	seq     uint16
	ts      uint32
	payload int
}

// newOutBatch preallocates size datagrams written through conn.
func newOutBatch(conn batchConn, size int) *outBatch {
	return &outBatch{datagramBatch: newDatagramBatch(size, maxPacketSize+rtpOutRoom),
		sink: batchSink{conn: conn}, queue: make([]outQueued, size)}
}

// full reports whether the next packet needs a flush first: the batch is full, or it
// holds datagrams to another address than to.
func (b *outBatch) full(to netip.AddrPort) bool {
	return b.n == len(b.bufs) || (b.n > 0 && to != b.to)
}

// stage numbers and seals one packet into the batch's next buffer, for to (the batch
// must not be full(to)); the returned entry is the Sender's to fill. No allocation.
func (o *rtpOut) stage(h *rtp.Header, payload []byte, to netip.AddrPort) (*outQueued, error) {
	b := o.batch
	sealed, twcc, numbered, size, err := o.seal(b.bufs[b.n], h, payload)
	if err != nil {
		return nil, err
	}
	if b.n == 0 {
		b.to = to
	}
	if to != b.addrsTo { // the pair changed (or the first packet): every slot's address
		for i := range b.addrs {
			setUDPAddr(&b.addrs[i], to)
		}
		b.addrsTo = to
	}
	b.msgs[b.n].Buffers[0] = sealed
	q := &b.queue[b.n]
	*q = outQueued{twcc: twcc, numbered: numbered, size: size}
	b.n++
	return q, nil
}

// flush notes the staged packets in the send history at now (the write's time, what the
// congestion controller compares arrivals with) and writes them: the plain write for a
// single datagram, else the batch (datagramBatch: sendmmsg, GSO). b.sent[i] says whether
// datagram i was written (a refused one is dropped, as a failed single write loses it);
// the caller empties the batch (reset) after reading it.
func (o *rtpOut) flush(now time.Time) {
	b := o.batch
	n := b.n
	sentNs := int64(now.Sub(o.history.base))
	for i := range b.queue[:n] {
		if q := &b.queue[i]; q.numbered {
			o.history.record(q.twcc, q.size, sentNs)
		}
	}
	if n == 1 {
		_, err := o.write(b.msgs[0].Buffers[0], b.to)
		b.sent[0] = err == nil
		o.writes.Add(1)
	} else {
		before := b.sink.batches.Load()
		b.sink.writeAll(&b.datagramBatch)
		o.writes.Add(b.sink.batches.Load() - before)
	}
	b.n = n // writeAll empties the batch; reset does, after the caller read it
	for _, sent := range b.sent[:n] {
		if sent {
			o.own.Add(1)
		}
	}
}

// reset empties the batch, dropping its references to DownTracks.
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
