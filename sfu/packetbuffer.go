package sfu

import "sync"

// packetBuffer keeps the last N payloads of one track in fixed slots (slot = seq % N) so
// NACKs can be answered without allocating. The Receiver's read goroutine is the only
// writer; RTCP goroutines of subscribers read under the read lock.
type packetBuffer struct {
	mu    sync.RWMutex
	mask  uint16
	slots []bufferSlot
}

type bufferSlot struct {
	valid  bool
	seq    uint16
	ts     uint32
	marker bool
	n      int
	data   [maxPacketSize]byte
}

// newPacketBuffer returns a buffer of size slots; size must be a power of two ≤ 32768.
func newPacketBuffer(size int) *packetBuffer {
	return &packetBuffer{mask: uint16(size - 1), slots: make([]bufferSlot, size)}
}

// put stores a copy of the packet, replacing whatever its slot held.
func (b *packetBuffer) put(p *rtpPacket) {
	b.mu.Lock()
	s := &b.slots[p.SequenceNumber&b.mask]
	s.valid = true
	s.seq = p.SequenceNumber
	s.ts = p.Timestamp
	s.marker = p.Marker
	s.n = copy(s.data[:], p.Payload)
	b.mu.Unlock()
}

// get copies the payload of seq into dst and reports its marker bit; ok is false when the
// packet was never stored or has been overwritten.
func (b *packetBuffer) get(seq uint16, dst []byte) (n int, marker bool, ok bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	s := &b.slots[seq&b.mask]
	if !s.valid || s.seq != seq {
		return 0, false, false
	}
	return copy(dst, s.data[:s.n]), s.marker, true
}

// size is the number of slots.
func (b *packetBuffer) size() int { return len(b.slots) }
