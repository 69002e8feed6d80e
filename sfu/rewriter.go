package sfu

// maxReorder is how far behind the newest packet a late packet may be and still be
// forwarded; a packet further behind is taken as a restart of the publisher's numbering.
const maxReorder = 2048

// rewriter maps one publisher stream's sequence numbers and timestamps onto one
// subscriber's continuous stream:
//
//   - outSeq = inSeq + seqOffset and outTS = inTS + tsOffset (both modulo wraparound);
//   - a gap upstream (packet loss) stays a gap, so the subscriber NACKs it;
//   - a deliberate drop (queue full, padding, waiting for a keyframe) is closed up: the next
//     forwarded packet continues at lastOut+1;
//   - a late packet is forwarded only if it belongs to the current offset epoch.
//
// The two-step next/commit lets the caller try to queue the packet first: nothing
// changes when the queue refuses it. Owned by the Receiver's read goroutine.
type rewriter struct {
	started  bool
	closeGap bool   // the next newer packet continues right after lastOut
	lastIn   uint16 // newest input sequence number seen (forwarded or dropped)
	lastOut  uint16 // newest output sequence number
	lastTS   uint32 // newest output timestamp
	epochIn  uint16 // first input sequence number of the current offset
	seqOff   uint16
	tsOff    uint32
}

// rewrite is the result of next: where the packet goes, and how to commit it.
type rewrite struct {
	seq      uint16
	ts       uint32
	advance  bool // the packet is the newest: lastIn/lastOut move
	newEpoch bool // a new offset starts at this packet
	seqOff   uint16
	tsOff    uint32
	inSeq    uint16
}

// startAt sets the output numbering of the first forwarded packet.
func (w *rewriter) startAt(firstSeq uint16, firstTS uint32) {
	w.started = false
	w.lastOut = firstSeq - 1
	w.lastTS = firstTS
}

// next computes into r the output numbering of an input packet without changing state;
// false when the packet must not be forwarded (duplicate or from a finished epoch). r is
// the caller's (on its stack): filled in place, it is never copied whole on the packet
// path (a copy right after narrow stores stalls on store forwarding).
func (w *rewriter) next(inSeq uint16, inTS uint32, r *rewrite) bool {
	*r = rewrite{inSeq: inSeq}
	if !w.started {
		r.newEpoch, r.advance = true, true
		r.seqOff = w.lastOut + 1 - inSeq
		r.tsOff = w.lastTS - inTS
		r.seq, r.ts = inSeq+r.seqOff, inTS+r.tsOff
		return true
	}
	diff := int16(inSeq - w.lastIn)
	switch {
	case diff > 0 && w.closeGap:
		r.newEpoch, r.advance = true, true
		r.seqOff = w.lastOut + 1 - inSeq
		r.tsOff = w.tsOff
	case diff > 0:
		r.advance = true
		r.seqOff, r.tsOff = w.seqOff, w.tsOff
	case diff < -maxReorder:
		// The publisher restarted its numbering: continue right after the last output,
		// one tick later in time.
		r.newEpoch, r.advance = true, true
		r.seqOff = w.lastOut + 1 - inSeq
		r.tsOff = w.lastTS + 1 - inTS
	case diff == 0:
		return false
	default: // late packet
		if int16(inSeq-w.epochIn) < 0 {
			return false
		}
		r.seqOff, r.tsOff = w.seqOff, w.tsOff
	}
	r.seq, r.ts = inSeq+r.seqOff, inTS+r.tsOff
	return true
}

// commit records that the packet computed by next was forwarded.
func (w *rewriter) commit(r *rewrite) {
	w.started = true
	if r.newEpoch {
		w.seqOff, w.tsOff = r.seqOff, r.tsOff
		w.epochIn = r.inSeq
		w.closeGap = false
	}
	if r.advance {
		w.lastIn = r.inSeq
		w.lastOut = r.seq
		w.lastTS = r.ts
	}
}

// drop records that an input packet was deliberately not forwarded: when it is newer than
// anything seen, the output will continue without a gap.
func (w *rewriter) drop(inSeq uint16) {
	if !w.started {
		return
	}
	if diff := int16(inSeq - w.lastIn); diff > 0 || diff < -maxReorder {
		w.lastIn = inSeq
		w.closeGap = true
	}
}
