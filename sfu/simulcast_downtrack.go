package sfu

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// downTrackLayers is a DownTrack's simulcast state: which layer it forwards (current),
// which it wants (target), and what the subscriber asked for.
//
// Ownership: every layer's read goroutine may call forwardLayer, so the forwarding state
// (the DownTrack's rewriter and history writes, and the fields below mu) is guarded by
// mu. Layers the DownTrack neither forwards nor wants return after two atomic loads
// without taking it. The wish fields are atomics set by any goroutine.
type downTrackLayers struct {
	current atomic.Int32 // layer being forwarded, -1 while waiting for a keyframe
	target  atomic.Int32 // layer wanted, -1 until one is active
	wantW   atomic.Int32
	wantH   atomic.Int32
	pinned  atomic.Int32  // explicit layer, -1 automatic
	cap     atomic.Int32  // the largest layer the downlink allows (bandwidth.go), -1 no cap
	wishGen atomic.Uint32 // counts wish changes (the allocator fits a changed wish at once)

	switches    atomic.Uint64
	replays     atomic.Uint64            // starts from a buffered keyframe (fastfirst.go)
	startsBelow atomic.Uint64            // starts below the target layer (fastfirst.go)
	munges      [maxLayers]atomic.Uint32 // each layer's VP8 renumbering (packed), for resends

	mu            sync.Mutex
	isVP8         bool
	clockRate     uint32
	lastSentNs    int64
	munge         vp8Munge // of the current layer
	havePicture   bool     // lastPicture/lastTL0 hold what was last sent
	lastPicture   uint16
	lastTL0       uint8
	pictureMask   uint16
	replay        [maxPacketSize]byte     // a buffered packet being replayed (fastfirst.go)
	replayRefused [maxLayers]keyframeMark // per layer, the keyframe a replay was last refused from
	targetWaited  int32                   // the target layer that could not start at its last packet, -1 none (fastfirst.go)
}

func newDownTrackLayers(codec webrtc.RTPCodecParameters) *downTrackLayers {
	s := &downTrackLayers{
		isVP8:     strings.EqualFold(codec.MimeType, webrtc.MimeTypeVP8),
		clockRate: codec.ClockRate,
	}
	s.current.Store(-1)
	s.target.Store(-1)
	s.pinned.Store(-1)
	s.cap.Store(-1)
	s.targetWaited = -1
	return s
}

// SetWantedSize sets the picture size the subscriber wants: it receives the smallest
// layer that covers it (10 % tolerance, either orientation), the largest when none does,
// and no larger than its downlink allows. 0, 0 means as large as the downlink allows. No
// effect on a single-layer track.
func (d *DownTrack) SetWantedSize(width, height int) { d.setWantedSize(width, height, time.Now()) }

func (d *DownTrack) setWantedSize(width, height int, now time.Time) {
	if d.layers == nil {
		return
	}
	d.layers.wantW.Store(int32(max(width, 0)))
	d.layers.wantH.Store(int32(max(height, 0)))
	d.wishChanged(now)
}

// SetTargetLayer pins the layer to forward (index into Receiver.Layers); -1 returns to
// choosing by wanted size. An inactive pinned layer is ignored while it is inactive.
func (d *DownTrack) SetTargetLayer(layer int) { d.setTargetLayer(layer, time.Now()) }

func (d *DownTrack) setTargetLayer(layer int, now time.Time) {
	if d.layers == nil {
		return
	}
	if layer < -1 || layer >= len(d.receiver.sim.layers) {
		layer = -1
	}
	d.layers.pinned.Store(int32(layer))
	d.wishChanged(now)
}

// wishChanged chooses the layer again, reports the wanted layers and lets the
// subscriber's bandwidth goroutine fit the new wish at once (bandwidth.go).
func (d *DownTrack) wishChanged(now time.Time) {
	d.layers.wishGen.Add(1)
	d.updateTargetLayer(now)
	d.receiver.updateWantedLayers()
	if d.peer != nil && d.peer.bw != nil {
		d.peer.bw.wake()
	}
}

// setLayerCap sets the largest layer (index into Receiver.Layers) this video may use,
// -1 for none; the bandwidth goroutine's decision (bandwidth.go).
func (d *DownTrack) setLayerCap(layer int, now time.Time) {
	if d.layers == nil {
		return
	}
	if d.layers.cap.Swap(int32(layer)) != int32(layer) {
		d.updateTargetLayer(now)
	}
}

// CurrentLayer is the layer being forwarded, -1 when none (single-layer tracks: 0).
func (d *DownTrack) CurrentLayer() int {
	if d.layers == nil {
		return 0
	}
	return int(d.layers.current.Load())
}

// TargetLayer is the layer the DownTrack switches to at its next keyframe.
func (d *DownTrack) TargetLayer() int {
	if d.layers == nil {
		return 0
	}
	return int(d.layers.target.Load())
}

// LayerSwitches counts how often forwarding started on a layer (the first start included).
func (d *DownTrack) LayerSwitches() uint64 {
	if d.layers == nil {
		return 0
	}
	return d.layers.switches.Load()
}

// updateTargetLayer chooses the layer again from the current wish and layer state; on a
// change it asks the new layer for a keyframe. Any goroutine; no allocation.
func (d *DownTrack) updateTargetLayer(now time.Time) {
	s := d.layers
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
	if s.current.Load() != int32(next) && d.isVideo {
		// At once, even within pli_throttle when the layer's last keyframe came after the
		// last request: that keyframe passed before this DownTrack wanted the layer.
		d.receiver.sim.layers[next].requestKeyframe(now, true)
	}
}

// requestKeyframe asks the publisher for a keyframe of what this DownTrack sends (or is
// about to send), throttled per layer.
func (d *DownTrack) requestKeyframe(now time.Time) {
	if d.layers == nil {
		d.receiver.requestKeyframe(now, false)
		return
	}
	i := d.layers.target.Load()
	if i < 0 {
		i = d.layers.current.Load()
	}
	if i >= 0 {
		d.receiver.sim.layers[i].requestKeyframe(now, false)
	}
}

// forwardLayer is forward for a simulcast track: packets of the current layer are sent;
// the target layer's first keyframe switches over. Called by the layers' read
// goroutines; no allocation.
func (d *DownTrack) forwardLayer(l *layer, p *rtpPacket, now time.Time) {
	s := d.layers
	idx := int32(l.index)
	if s.target.Load() < 0 {
		d.updateTargetLayer(now)
	}
	if idx != s.target.Load() && idx != s.current.Load() && !s.mayStartBelow(idx) {
		return
	}
	if d.binding.Load() == nil || (d.peer != nil && !d.peer.mediaReady.Load()) {
		return
	}
	s.mu.Lock()
	if d.takeOverwritten() {
		s.current.Store(-1) // the frame is broken: wait for a keyframe of the target layer
		d.requestKeyframe(now)
	}
	current, target := s.current.Load(), s.target.Load()
	if idx == target && target != current {
		switch {
		case p.Keyframe && len(p.Payload) > 0:
			d.switchLayer(l, p, now)
		case current < 0 && d.replayFromKeyframe(l, p, now): // fastfirst.go
		default:
			if current < 0 {
				s.targetWaited = target // a smaller layer may start first (fastfirst.go)
			}
			// Throttled: repeats, every pli_throttle, a request that got no keyframe.
			l.requestKeyframe(now, d.firstRequest())
			s.mu.Unlock()
			return
		}
		if current >= 0 {
			defer d.receiver.updateWantedLayers() // the old layer may pause now (after the unlock)
		}
		current = idx
	} else if current < 0 && idx < target {
		if !d.startBelowTarget(l, p, now) { // fastfirst.go
			s.mu.Unlock()
			return
		}
		current = idx
	}
	if idx == current {
		d.sendLayerPacket(l, p, now)
	}
	s.mu.Unlock()
}

// sendLayerPacket rewrites and queues one packet of the current layer; false when the
// queue refused it (forwarding then waits for a keyframe). Caller holds mu.
func (d *DownTrack) sendLayerPacket(l *layer, p *rtpPacket, now time.Time) bool {
	s := d.layers
	idx := int32(l.index)
	if len(p.Payload) == 0 { // padding only
		d.rw.drop(p.SequenceNumber)
		return true
	}
	r, ok := d.rw.next(p.SequenceNumber, p.Timestamp)
	if !ok {
		return true
	}
	if !d.sender.enqueue(d, l.buffer, p.SequenceNumber, r.seq, r.ts, s.munge) {
		d.rw.drop(p.SequenceNumber)
		// The frame is broken: wait for a keyframe of the target layer.
		s.current.Store(-1)
		d.requestKeyframe(now)
		return false
	}
	d.rw.commit(r)
	d.history.putLayer(r.seq, p.SequenceNumber, uint8(idx), r.ts)
	if r.advance {
		s.lastSentNs = now.UnixNano()
		if s.isVP8 {
			s.notePicture(p.Payload)
		}
	}
	return true
}

// notePicture remembers the picture ID and TL0PICIDX as sent. Caller holds mu.
func (s *downTrackLayers) notePicture(payload []byte) {
	var desc vp8Descriptor
	if !parseVP8Descriptor(payload, &desc) || !desc.hasPicture {
		return
	}
	s.pictureMask = desc.pictureIDMask()
	s.lastPicture = desc.pictureID
	s.lastTL0 = desc.tl0PicIdx
	if s.munge.active {
		s.lastPicture = (desc.pictureID + s.munge.pictureID) & s.pictureMask
		s.lastTL0 = desc.tl0PicIdx + s.munge.tl0PicIdx
	}
	s.havePicture = true
}

// switchLayer makes l the current layer, starting at its keyframe p: output sequence
// numbers continue right after the last sent one, the timestamp advances by the wall
// time since then, and VP8 picture IDs / TL0PICIDX continue from the last sent ones.
// Caller holds mu.
func (d *DownTrack) switchLayer(l *layer, p *rtpPacket, now time.Time) {
	s := d.layers
	if d.rw.started {
		delta := uint32(1)
		if elapsed := now.UnixNano() - s.lastSentNs; s.lastSentNs != 0 && elapsed > 0 {
			delta = max(uint32(elapsed*int64(s.clockRate)/int64(time.Second)), 1)
		}
		d.rw.restart(delta)
	}
	m := vp8Munge{}
	if s.isVP8 && s.havePicture {
		var desc vp8Descriptor
		if parseVP8Descriptor(p.Payload, &desc) && desc.hasPicture {
			m.active = true
			m.pictureID = (s.lastPicture + 1 - desc.pictureID) & desc.pictureIDMask()
			m.tl0PicIdx = s.lastTL0 + 1 - desc.tl0PicIdx
		}
	}
	s.munge = m
	s.munges[l.index].Store(m.pack())
	s.current.Store(int32(l.index))
	s.switches.Add(1)
}

// resendSource is where a NACKed packet of layer i is read from and how it is renumbered.
func (d *DownTrack) resendSource(i uint8) (*packetBuffer, vp8Munge) {
	if d.layers == nil {
		return d.receiver.buffer, vp8Munge{}
	}
	if int(i) >= len(d.receiver.sim.layers) {
		return nil, vp8Munge{}
	}
	return d.receiver.sim.layers[i].buffer, unpackVP8Munge(d.layers.munges[i].Load())
}

// restart makes the next packet start a new input stream (another simulcast layer):
// output continues at lastOut+1, tsDelta after the last output timestamp.
func (w *rewriter) restart(tsDelta uint32) {
	w.started = false
	w.closeGap = false
	w.lastTS += tsDelta
}
