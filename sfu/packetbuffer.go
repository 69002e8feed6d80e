package sfu

import "sync/atomic"

// packetBuffer keeps the last N payloads of one track in fixed slots (slot = seq % N).
// Subscribers' Senders read forwarded packets from it when they write them (their queues
// hold references, not copies: sender.go), and NACKs are answered from it, without
// allocating.
//
// Each slot is a seqlock: the Receiver's read goroutine, the only writer, makes the
// slot's gen odd, writes the payload and the packed header fields, and makes gen even
// again. A reader (a Sender's writer goroutine, an RTCP goroutine, a forwarding
// goroutine replaying a keyframe) copies the payload out and keeps the copy only when gen
// was even and unchanged around it and the slot holds the sequence number it asked for.
// Readers never write shared memory, so any number of subscribers read the same packet
// without contending, and a reader never delays the publisher. The copy itself races
// with a rewrite of the slot by design (the gen check throws such a copy away); race
// builds make it invisible to the race detector (packetbuffer_race.go).
type packetBuffer struct {
	mask  uint16
	slots []bufferSlot
}

type bufferSlot struct {
	gen  atomic.Uint32 // odd while the writer rewrites the slot
	meta atomic.Uint64 // packMeta: seq, marker, length, timestamp; 0 until written
	data [maxPacketSize]byte
}

// Slot metadata, one atomic word: seq<<48 | valid<<47 | marker<<46 | n<<32 | ts.
const (
	metaValid  = 1 << 47
	metaMarker = 1 << 46
)

func packMeta(seq uint16, ts uint32, marker bool, n int) uint64 {
	m := uint64(seq)<<48 | metaValid | uint64(n)<<32 | uint64(ts)
	if marker {
		m |= metaMarker
	}
	return m
}

// newPacketBuffer returns a buffer of size slots; size must be a power of two ≤ 32768.
func newPacketBuffer(size int) *packetBuffer {
	return &packetBuffer{mask: uint16(size - 1), slots: make([]bufferSlot, size)}
}

// put stores a copy of the packet, replacing whatever its slot held. Receiver read
// goroutine only (the single writer).
func (b *packetBuffer) put(p *rtpPacket) {
	s := &b.slots[p.SequenceNumber&b.mask]
	s.gen.Add(1)
	n := copy(s.data[:], p.Payload)
	s.meta.Store(packMeta(p.SequenceNumber, p.Timestamp, p.Marker, n))
	s.gen.Add(1)
}

// read copies the payload of seq into dst and returns its length, timestamp and marker
// bit; ok is false when the packet was never stored or has been overwritten. A copy that
// overlapped a rewrite of the slot with the same packet (a publisher's retransmission)
// is tried again, a few times. Any goroutine; lock-free.
func (b *packetBuffer) read(seq uint16, dst []byte) (n int, ts uint32, marker bool, ok bool) {
	s := &b.slots[seq&b.mask]
	for range maxSeqlockTries {
		g := s.gen.Load()
		m := s.meta.Load()
		if m&metaValid == 0 || uint16(m>>48) != seq {
			return 0, 0, false, false
		}
		if g&1 != 0 {
			continue // being rewritten
		}
		n = min(int(m>>32&0x7ff), len(dst))
		seqlockCopy(dst[:n], s.data[:n])
		if s.gen.Load() == g {
			return n, uint32(m), m&metaMarker != 0, true
		}
	}
	return 0, 0, false, false
}

// maxSeqlockTries bounds read's attempts on a slot that keeps being rewritten.
const maxSeqlockTries = 8

// get copies the payload of seq into dst and reports its marker bit; ok is false when the
// packet was never stored or has been overwritten.
func (b *packetBuffer) get(seq uint16, dst []byte) (n int, marker bool, ok bool) {
	n, _, marker, ok = b.read(seq, dst)
	return n, marker, ok
}

// has reports whether seq is still stored.
func (b *packetBuffer) has(seq uint16) bool {
	m := b.slots[seq&b.mask].meta.Load()
	return m&metaValid != 0 && uint16(m>>48) == seq
}

// load copies packet seq into p, its payload into dst; false when it is gone.
func (b *packetBuffer) load(seq uint16, p *rtpPacket, dst []byte) bool {
	n, ts, marker, ok := b.read(seq, dst)
	if !ok {
		return false
	}
	*p = rtpPacket{SequenceNumber: seq, Timestamp: ts, Marker: marker, Payload: dst[:n]}
	return true
}

// size is the number of slots.
func (b *packetBuffer) size() int { return len(b.slots) }
