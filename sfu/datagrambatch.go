package sfu

import (
	"net"
	"sync/atomic"

	"golang.org/x/net/ipv4"
)

// datagramBatch is a preallocated set of datagrams written together: with one sendmmsg
// and runs to one destination coalesced with UDP GSO (batchgso.go). The batched writes'
// queues (batchwrite.go) and a Sender's own-path batch (rtpoutbatch.go) are one each.
type datagramBatch struct {
	msgs  []ipv4.Message // one per buffer, each with its *net.UDPAddr
	bufs  [][]byte
	addrs []net.UDPAddr
	sent  []bool   // per datagram after a write: it was written (refused ones are dropped)
	gso   gsoShard // the messages coalesced for UDP segmentation offload (batchgso.go)
	n     int      // datagrams in the batch
}

func newDatagramBatch(size, bufSize int) datagramBatch {
	d := datagramBatch{msgs: make([]ipv4.Message, size), bufs: make([][]byte, size),
		addrs: make([]net.UDPAddr, size), sent: make([]bool, size), gso: newGSOShard(size)}
	for j := range d.msgs {
		d.bufs[j] = make([]byte, bufSize)
		d.addrs[j].IP = make(net.IP, net.IPv6len)
		d.msgs[j].Buffers = make([][]byte, 1)
		d.msgs[j].Addr = &d.addrs[j]
	}
	return d
}

// batchSink writes datagramBatches to a socket and counts what it did.
type batchSink struct {
	conn batchConn

	gsoOff atomic.Bool // the kernel refused a coalesced write (batchgso.go): write datagram by datagram

	// Counters (tests, docs): syscalls made, datagrams they wrote, and of those the ones
	// sent in coalesced messages (UDP segmentation offload, batchgso.go).
	batches   atomic.Uint64
	packets   atomic.Uint64
	segmented atomic.Uint64
}

// writeAll writes d's datagrams in as few syscalls as the kernel takes (coalesced where
// it can), marks each written one in d.sent, and empties d. A datagram the kernel
// refuses is dropped, as a failed single write would lose it.
func (k *batchSink) writeAll(d *datagramBatch) {
	clear(d.sent[:d.n])
	if gsoSupported && !k.gsoOff.Load() {
		k.writeCoalesced(d)
	} else {
		k.writeEach(d, 0)
	}
	d.n = 0
}

// writeEach writes one message per datagram, from d's datagram from on.
func (k *batchSink) writeEach(d *datagramBatch, from int) {
	for i := from; i < d.n; {
		n, err := k.conn.WriteBatch(d.msgs[i:d.n], 0)
		k.batches.Add(1)
		for j := i; j < i+max(n, 0); j++ {
			d.sent[j] = true
		}
		k.packets.Add(uint64(max(n, 0)))
		i += max(n, 0)
		if err != nil {
			i++
		}
	}
}

// writeCoalesced writes d's datagrams with runs to one destination coalesced
// (batchgso.go). A refused coalesced message turns coalescing off for good and its
// datagrams and the rest go one by one; a refused single datagram is dropped.
func (k *batchSink) writeCoalesced(d *datagramBatch) {
	ms, g := d.coalesce(), &d.gso
	for m := 0; m < len(ms); {
		n, err := k.conn.WriteBatch(ms[m:], 0)
		k.batches.Add(1)
		var sent, segmented int
		for x := m; x < m+max(n, 0); x++ {
			c := g.segs[x]
			for j := g.first[x]; j < g.first[x]+c; j++ {
				d.sent[j] = true
			}
			sent += c
			if c > 1 {
				segmented += c
			}
		}
		k.packets.Add(uint64(sent))
		k.segmented.Add(uint64(segmented))
		m += max(n, 0)
		if err == nil || m >= len(ms) {
			continue
		}
		if g.segs[m] > 1 {
			k.gsoOff.Store(true)
			k.writeEach(d, g.first[m])
			return
		}
		m++
	}
}
