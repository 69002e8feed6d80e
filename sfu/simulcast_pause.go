package sfu

import "sync"

// Unused-layer pausing: a simulcast Receiver works out which of its layers some
// DownTrack's wish (size or pinned layer) asks for, and tells its OnWantedLayers
// function whenever that set changes, so the publisher can stop encoding the others and
// start again when one is asked for. The lowest layer always counts as wanted (a new
// subscriber starts on it at once), and so does a layer that never sent a packet
// (nothing is known about it yet), and the layer a DownTrack still forwards while it
// waits for the keyframe of its next one (so the picture keeps moving until the
// switch). Bandwidth caps do not pause layers: a subscriber held down by its downlink
// should find its wanted layer running when the link recovers.

// WantedLayer says whether any subscriber needs one simulcast layer.
type WantedLayer struct {
	RID    string
	Wanted bool
}

// layerDemand is a simulcast Receiver's last reported wanted set. Its mutex serializes
// the computation and the call of onChange, so reports keep the order of the changes.
type layerDemand struct {
	mu       sync.Mutex
	mask     uint32 // last reported; every layer until the first change
	onChange func([]WantedLayer)
}

// OnWantedLayers sets the function told the simulcast layers' wanted state whenever it
// changes (from the goroutine that changed it: a wish, a DownTrack added or removed, a
// layer's size or activity). It is told at once when some layer is already unwanted (the
// publisher starts with every layer). It must not block. No effect on a single-layer
// track.
func (r *Receiver) OnWantedLayers(f func([]WantedLayer)) {
	if r.sim == nil {
		return
	}
	r.sim.demand.mu.Lock()
	r.sim.demand.onChange = f
	r.sim.demand.mask = 0 // nothing reported to f yet: compare with every layer
	r.sim.demand.mu.Unlock()
	// r.sim.wanted keeps the last mask: the publisher still sends what it was told last.
	r.updateWantedLayers()
}

// WantedLayers is the current wanted state of each layer, smallest first; nil for a
// single-layer track.
func (r *Receiver) WantedLayers() []WantedLayer {
	if r.sim == nil {
		return nil
	}
	return r.sim.wantedList(r.wantedLayerMask())
}

func (s *simulcastReceiver) wantedList(mask uint32) []WantedLayer {
	out := make([]WantedLayer, len(s.layers))
	for i, l := range s.layers {
		out[i] = WantedLayer{RID: l.rid, Wanted: mask&(1<<i) != 0}
	}
	return out
}

// wantedLayerMask computes which layers some DownTrack's wish asks for. A layer that
// sent packets counts as available while it is selectable (the last activity check) or
// paused by the server, so a wish can bring a paused one back; a layer the publisher
// stopped on its own does not (D78): a wish for it then wants the next layer, which the
// server may have paused. Before the first activity check every layer that sent counts.
func (r *Receiver) wantedLayerMask() uint32 {
	s := r.sim
	var views [maxLayers]layerView
	n := s.layerViews(&views)
	selectable := s.activeMask.Load()
	mask := uint32(1) // the lowest layer
	for i := 0; i < n; i++ {
		l := s.layers[i]
		seen := l.lastPacketNs.Load() != 0
		views[i].active = seen && (selectable == 0 || selectable&(1<<i) != 0 || l.pausedByUs.Load())
		if !seen {
			mask |= 1 << i
		}
	}
	for _, d := range *r.downTracks.Load() {
		f := &d.fwd
		wish := layerWish{
			width: int(f.wantW.Load()), height: int(f.wantH.Load()),
			pinned: int(f.pinned.Load()),
		}
		if i := chooseLayer(views[:n], wish); i >= 0 {
			mask |= 1 << i
		}
		if c := f.current.Load(); c >= 0 && int(c) < n {
			mask |= 1 << c // until the switch to its target
		}
	}
	return mask
}

// updateWantedLayers recomputes the wanted set and reports a change. Any goroutine.
func (r *Receiver) updateWantedLayers() {
	if r.sim == nil {
		return
	}
	d := &r.sim.demand
	d.mu.Lock()
	defer d.mu.Unlock()
	all := uint32(1)<<len(r.sim.layers) - 1
	if d.mask == 0 {
		d.mask = all // nothing reported yet: the publisher sends every layer
	}
	mask := r.wantedLayerMask()
	if mask == d.mask {
		return
	}
	newest := r.sim.newestPacket()
	for i, l := range r.sim.layers {
		// A stop that follows is the server's doing (layerSettle) — unless the layer had
		// stopped already: then the publisher stopped it, and its return must settle.
		last := l.lastPacketNs.Load()
		if d.mask&^mask&(1<<i) != 0 && last != 0 && newest-last < int64(layerInactiveAfter) {
			l.pausedByUs.Store(true)
		}
	}
	d.mask = mask
	r.sim.wanted.Store(mask)
	if d.onChange != nil {
		d.onChange(r.sim.wantedList(mask))
	}
}
