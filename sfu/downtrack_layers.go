package sfu

import "time"

// A DownTrack's layer choice: the subscriber's wishes (size, pinned layer), the
// downlink's cap and the target layer the forwarder (forwarder.go) switches to. A
// single-layer track has nothing to choose: its target is layer 0 and the wishes are
// ignored.

// SetWantedSize sets the picture size the subscriber wants: it receives the smallest
// layer that covers it (10 % tolerance, either orientation), the largest when none does,
// and no larger than its downlink allows. 0, 0 means as large as the downlink allows. No
// effect on a single-layer track.
func (d *DownTrack) SetWantedSize(width, height int) { d.setWantedSize(width, height, time.Now()) }

func (d *DownTrack) setWantedSize(width, height int, now time.Time) {
	if !d.fwd.layered {
		return
	}
	d.fwd.wantW.Store(int32(max(width, 0)))
	d.fwd.wantH.Store(int32(max(height, 0)))
	d.wishChanged(now)
}

// SetTargetLayer pins the layer to forward (index into Receiver.Layers); -1 returns to
// choosing by wanted size. An inactive pinned layer is ignored while it is inactive.
func (d *DownTrack) SetTargetLayer(layer int) { d.setTargetLayer(layer, time.Now()) }

func (d *DownTrack) setTargetLayer(layer int, now time.Time) {
	if !d.fwd.layered {
		return
	}
	if layer < -1 || layer >= d.receiver.layerCount() {
		layer = -1
	}
	d.fwd.pinned.Store(int32(layer))
	d.wishChanged(now)
}

// wishChanged chooses the layer again, reports the wanted layers and lets the
// subscriber's bandwidth goroutine fit the new wish at once (bandwidth.go).
func (d *DownTrack) wishChanged(now time.Time) {
	d.fwd.wishGen.Add(1)
	d.updateTargetLayer(now)
	d.receiver.updateWantedLayers()
	if d.peer != nil && d.peer.bw != nil {
		d.peer.bw.wake()
	}
}

// setLayerCap sets the largest layer (index into Receiver.Layers) this video may use,
// -1 for none; the bandwidth goroutine's decision (bandwidth.go).
func (d *DownTrack) setLayerCap(layer int, now time.Time) {
	if !d.fwd.layered {
		return
	}
	if d.fwd.cap.Swap(int32(layer)) != int32(layer) {
		d.updateTargetLayer(now)
	}
}

// CurrentLayer is the layer being forwarded, -1 when none (single-layer tracks: 0).
func (d *DownTrack) CurrentLayer() int {
	if !d.fwd.layered {
		return 0
	}
	return int(d.fwd.current.Load())
}

// TargetLayer is the layer the DownTrack switches to at its next keyframe.
func (d *DownTrack) TargetLayer() int {
	return int(d.fwd.target.Load())
}

// LayerSwitches counts how often forwarding started on a layer (the first start included;
// a single-layer track counts its (re)starts at a keyframe the same way).
func (d *DownTrack) LayerSwitches() uint64 { return d.fwd.switches.Load() }

// layered reports whether the published track has several layers to choose from.
func (d *DownTrack) layered() bool { return d.fwd.layered }

// updateTargetLayer chooses the layer again from the current wish and layer state; on a
// change it asks the new layer for a keyframe. A single-layer track has nothing to
// choose: its target is layer 0 from the start. Any goroutine; no allocation.
func (d *DownTrack) updateTargetLayer(now time.Time) {
	s := &d.fwd
	if !s.layered {
		return
	}
	var views [maxLayers]layerView
	n := d.receiver.sim.layerViews(&views)
	next := chooseLayer(views[:n], layerWish{
		width: int(s.wantW.Load()), height: int(s.wantH.Load()),
		pinned: int(s.pinned.Load()), limit: int(s.cap.Load()) + 1,
	})
	if next < 0 {
		return // nothing arrives: keep the target until something does
	}
	if s.target.Swap(int32(next)) == int32(next) {
		return
	}
	l := d.receiver.layerAt(next)
	if s.current.Load() != int32(next) && d.isVideo && l.lastKeyNs.Load() != now.UnixNano() {
		// At once, even within pli_throttle when the layer's last keyframe came after the
		// last request: that keyframe passed before this DownTrack wanted the layer. Not
		// when the choice comes with the layer's keyframe (a layer's first packet, or its
		// size changed): the packet at hand starts it, and a request would only make the
		// publisher encode another one while every encoder of a call starts (D171).
		l.requestKeyframe(now, true)
	}
}
