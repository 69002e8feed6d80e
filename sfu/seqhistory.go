package sfu

import "sync/atomic"

// seqHistory remembers, per output sequence number, which input packet was sent under it
// and with which output timestamp, so a NACK for an output number can be answered from
// the Receiver's buffer. One atomic word per slot: the Receiver's read goroutine writes,
// the DownTrack's RTCP goroutine reads, neither locks nor allocates.
//
// Word layout: tag<<48 | inSeq<<32 | outTS, where tag is outSeq with its two low bits
// replaced by the simulcast layer the packet came from (slot i only ever holds an outSeq
// with outSeq&mask == i, and mask has at least those two bits, so they are implied by the
// slot). A slot starts with the tag of outSeq i+4, which never matches, so an empty slot
// is never mistaken for packet 0.
type seqHistory struct {
	mask  uint16
	slots []atomic.Uint64
}

func newSeqHistory(size int) *seqHistory {
	h := &seqHistory{mask: uint16(size - 1), slots: make([]atomic.Uint64, size)}
	for i := range h.slots {
		h.slots[i].Store(uint64(uint16(i+4)&^3) << 48)
	}
	return h
}

func (h *seqHistory) put(outSeq, inSeq uint16, outTS uint32) { h.putLayer(outSeq, inSeq, 0, outTS) }

// putLayer records a packet of simulcast layer 0..3.
func (h *seqHistory) putLayer(outSeq, inSeq uint16, layer uint8, outTS uint32) {
	tag := outSeq&^3 | uint16(layer&3)
	h.slots[outSeq&h.mask].Store(uint64(tag)<<48 | uint64(inSeq)<<32 | uint64(outTS))
}

// get returns the input sequence number and output timestamp sent as outSeq.
func (h *seqHistory) get(outSeq uint16) (inSeq uint16, outTS uint32, ok bool) {
	inSeq, _, outTS, ok = h.getLayer(outSeq)
	return inSeq, outTS, ok
}

// getLayer is get that also returns the simulcast layer of the packet.
func (h *seqHistory) getLayer(outSeq uint16) (inSeq uint16, layer uint8, outTS uint32, ok bool) {
	w := h.slots[outSeq&h.mask].Load()
	tag := uint16(w >> 48)
	if tag&^3 != outSeq&^3 {
		return 0, 0, 0, false
	}
	return uint16(w >> 32), uint8(tag & 3), uint32(w), true
}
