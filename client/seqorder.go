package client

import (
	"cmp"
	"slices"
)

// seqOrder keeps the last limit values placed by extended RTP sequence number, so that
// counts over neighbouring packets follow sequence order while the packets arrive out of
// it (late: lost and repaired by NACK, or reordered). Owned by its trackCounter (under
// its mutex).
type seqOrder[T any] struct {
	limit   int
	entries []seqEntry[T]
}

type seqEntry[T any] struct {
	seq uint64
	v   T
}

// place puts v at seq and calls pair for each neighbouring pair the insertion undoes
// (sign -1: the pair v comes between) and makes (+1). It reports false, calling nothing,
// when seq was placed already or is older than every entry of a full window.
func (o *seqOrder[T]) place(seq uint64, v T, pair func(a, b T, sign int)) bool {
	i, found := slices.BinarySearchFunc(o.entries, seq, func(e seqEntry[T], s uint64) int { return cmp.Compare(e.seq, s) })
	if found || (i == 0 && len(o.entries) >= o.limit) {
		return false
	}
	if i > 0 && i < len(o.entries) {
		pair(o.entries[i-1].v, o.entries[i].v, -1)
	}
	if i > 0 {
		pair(o.entries[i-1].v, v, 1)
	}
	if i < len(o.entries) {
		pair(v, o.entries[i].v, 1)
	}
	o.entries = slices.Insert(o.entries, i, seqEntry[T]{seq: seq, v: v})
	if len(o.entries) > o.limit {
		o.entries = append(o.entries[:0], o.entries[1:]...)
	}
	return true
}

// last is the value at the highest sequence number placed.
func (o *seqOrder[T]) last() (v T, ok bool) {
	if len(o.entries) == 0 {
		return v, false
	}
	return o.entries[len(o.entries)-1].v, true
}

// add adds sign (±1) to n.
func add(n *uint64, sign int) { *n = uint64(int64(*n) + int64(sign)) }
