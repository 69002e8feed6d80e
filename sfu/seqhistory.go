package sfu

import "sync/atomic"

// seqHistory remembers, per output sequence number, which input packet was sent under it
// and with which output timestamp, so a NACK for an output number can be answered from
// the Receiver's buffer. One atomic word per slot: the Receiver's read goroutine writes,
// the DownTrack's RTCP goroutine reads, neither locks nor allocates.
//
// Word layout: outSeq<<48 | inSeq<<32 | outTS. Slot i only ever holds an outSeq with
// outSeq&mask == i; it starts with outSeq = i+1, which never matches, so an empty slot
// is never mistaken for packet 0.
type seqHistory struct {
	mask  uint16
	slots []atomic.Uint64
}

func newSeqHistory(size int) *seqHistory {
	h := &seqHistory{mask: uint16(size - 1), slots: make([]atomic.Uint64, size)}
	for i := range h.slots {
		h.slots[i].Store(uint64(uint16(i+1)) << 48)
	}
	return h
}

func (h *seqHistory) put(outSeq, inSeq uint16, outTS uint32) {
	h.slots[outSeq&h.mask].Store(uint64(outSeq)<<48 | uint64(inSeq)<<32 | uint64(outTS))
}

// get returns the input sequence number and output timestamp sent as outSeq.
func (h *seqHistory) get(outSeq uint16) (inSeq uint16, outTS uint32, ok bool) {
	w := h.slots[outSeq&h.mask].Load()
	if uint16(w>>48) != outSeq {
		return 0, 0, false
	}
	return uint16(w >> 32), uint32(w), true
}
