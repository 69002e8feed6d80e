package cluster

import "time"

// pendingStamps bounds the stamps kept per node: placements past it merge into the last.
const pendingStamps = 8

// pendingStamp is n rooms placed on a node between first and last (this node's clock).
type pendingStamp struct {
	first, last time.Time
	n           int
}

// pendingRooms counts, per node, the rooms this node placed there (PlaceRoom) that the
// node's registration as last read may not include yet (D158): the placement adds them to
// the node's load score, so a burst of rooms between two heartbeats spreads instead of
// going to one node. A stamp is dropped once a registration of its node measured after
// its last placement is read (the node's own counts then include it); the entry of a node
// that left the live nodes is dropped with it. It holds at most pendingStamps stamps per
// live node. Guarded by Cluster.mu.
type pendingRooms struct {
	width  time.Duration // placements within width of a stamp's first join it
	byNode map[string][]pendingStamp
}

// add counts one room placed on node id at now.
func (p *pendingRooms) add(id string, now time.Time) {
	if p.byNode == nil {
		p.byNode = make(map[string][]pendingStamp)
	}
	st := p.byNode[id]
	if k := len(st) - 1; k >= 0 && (len(st) == pendingStamps || now.Sub(st[k].first) < p.width) {
		st[k].n++
		st[k].last = now
		return
	}
	p.byNode[id] = append(st, pendingStamp{first: now, last: now, n: 1})
}

// count is the rooms placed on node id that its registration as last read may not include.
func (p *pendingRooms) count(id string) int {
	n := 0
	for _, s := range p.byNode[id] {
		n += s.n
	}
	return n
}

// reconcile drops what the registrations in alive include: the stamps of a node whose
// registration was measured (BeatAt) after their last placement, and every stamp of a
// node no longer alive.
func (p *pendingRooms) reconcile(alive map[string]seen) {
	for id, st := range p.byNode {
		n, ok := alive[id]
		if !ok {
			delete(p.byNode, id)
			continue
		}
		k := 0
		for k < len(st) && st[k].last.Before(n.BeatAt) {
			k++
		}
		if k == len(st) {
			delete(p.byNode, id)
			continue
		}
		p.byNode[id] = append(st[:0], st[k:]...)
	}
}
