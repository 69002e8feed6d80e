package sfu

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Timing of layer bookkeeping (evaluated on the layers' read goroutines, from the
// packets' arrival times).
const (
	bitrateWindow = 500 * time.Millisecond // bitrate measurement window
	// layerInactiveAfter: a layer without a packet for this long (compared with the
	// newest packet of any layer) while another layer sent for this long is inactive:
	// its subscribers move to another layer (layerActive).
	layerInactiveAfter = time.Second
	// layerSettle: a layer the publisher stopped on its own (while some subscriber wanted
	// it: a browser drops its top layers when its own bandwidth estimate falls) counts as
	// inactive for layer selection until it has sent again for this long, so a layer
	// that comes and goes is not chosen every time it comes back. A layer the server
	// paused (simulcast_pause.go) is chosen again as soon as it sends.
	layerSettle = 4 * time.Second
	// trackPauseGap: a layer with a gap this long did not send through another layer's
	// silence, so it does not make that layer's return a stop of its own (D123): when
	// the whole track pauses (the publisher's machine or link stalled), each layer's gap
	// depends on where its last frame fell, and one may reach layerInactiveAfter while the
	// others stay just below it.
	trackPauseGap       = layerInactiveAfter / 2
	layerCheckInterval  = 250 * time.Millisecond // how often a layer looks for activity changes
	bitrateSmoothingNum = 1                      // new window weight: num/den
	bitrateSmoothingDen = 2
)

// LayerInfo describes one simulcast layer of a published video track.
type LayerInfo struct {
	RID     string
	Width   int // from the last keyframe; 0 until one arrived
	Height  int // from the last keyframe; 0 until one arrived
	Bitrate int // measured, bits per second
	// Active: packets arrived within 1 s of the newest packet of any layer, or within
	// 2 s while no other layer sent alone for 1 s (a stall of the whole track).
	Active bool
	// Settling: active again after the publisher stopped it on its own; not chosen for
	// subscribers until it has sent for 4 s (layerSettle).
	Settling bool
}

// simulcastReceiver holds the layers of a simulcast Receiver. The slice is fixed at
// creation; each layer's mutable state is its own (atomics, or its read goroutine's).
type simulcastReceiver struct {
	layers     []*layer // publisher order, smallest first
	running    atomic.Int32
	sizeOf     frameSizeParser
	activeMask atomic.Uint32 // which layers were selectable at the last check
	demand     layerDemand   // which layers subscribers want (simulcast_pause.go)
	wanted     atomic.Uint32 // demand's last mask, for the read goroutines
}

// layer is one rid of a simulcast track (or the only layer of a single-layer track,
// Receiver.one, whose packets its Receiver reads): its own SSRC, packet buffer, keyframe throttle,
// size and bitrate, and the read goroutines of its pion track.
type layer struct {
	index  int
	rid    string
	owner  *Receiver
	buffer *packetBuffer
	pli    throttle

	ssrc         atomic.Uint32
	width        atomic.Int32
	height       atomic.Int32
	bitrate      atomic.Int64
	lastPacketNs atomic.Int64
	lastKeyNs    atomic.Int64 // arrival of the last keyframe start (requestKeyframe)
	// resumedNs is when the layer sent again after the publisher stopped it on its own
	// (layerSettle); 0 when it did not. pausedByUs: the layer was reported unwanted and
	// has not sent while wanted since. Written by the read goroutine (and pausedByUs by
	// updateWantedLayers).
	resumedNs  atomic.Int64
	pausedByUs atomic.Bool
	// sendingSinceNs is the arrival of the layer's first packet, or of its first after a
	// gap of trackPauseGap or more. Written by the read goroutine.
	sendingSinceNs atomic.Int64
	attached       bool                // under owner.mu
	track          *webrtc.TrackRemote // set before the read goroutine starts

	// Read goroutine.
	readBuf     [maxPacketSize]byte
	pkt         rtpPacket
	windowStart int64
	windowBytes int64
	nextCheck   int64
	dropped     uint64

	uplink uplinkCounters // this layer's link statistics (linkstats.go)

	keyframes keyframeMark // where the last keyframe starts (fastfirst.go); read goroutine

	in inboundHandover // the hand-over to the socket goroutine (rtpin.go); track goroutine
}

// orderRIDs returns the rids smallest layer first: q, h, f when those are the names,
// else the order the publisher's SDP lists them in.
func orderRIDs(rids []string) []string {
	out := slices.Clone(rids)
	rank := map[string]int{"q": 0, "h": 1, "f": 2}
	for _, rid := range out {
		if _, ok := rank[rid]; !ok {
			return out
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return rank[a] - rank[b] })
	return out
}

// newSimulcastReceiver is a Receiver whose packets come from up to maxLayers rid
// layers (ordered smallest first) that attach as pion reports them.
func newSimulcastReceiver(p receiverParams, rids []string) *Receiver {
	r := newReceiver(p)
	r.one = nil // the rid layers below replace it
	sim := &simulcastReceiver{sizeOf: frameSizeParserFor(p.codec.MimeType)}
	sim.wanted.Store(1<<min(len(rids), maxLayers) - 1) // the publisher starts with every layer
	for i, rid := range rids {
		if i == maxLayers {
			break
		}
		l := &layer{index: i, rid: rid, owner: r, buffer: r.buffer}
		if i > 0 {
			l.buffer = newPacketBuffer(p.bufferPackets)
		}
		l.pli.interval = p.pliThrottle
		sim.layers = append(sim.layers, l)
	}
	r.sim = sim
	return r
}

// Simulcast reports whether the track is published in several rid layers.
func (r *Receiver) Simulcast() bool { return r.sim != nil }

// Layers describes the simulcast layers, smallest first; nil for a single-layer track.
func (r *Receiver) Layers() []LayerInfo {
	if r.sim == nil {
		return nil
	}
	var views [maxLayers]layerView
	r.sim.layerViews(&views)
	newest := r.sim.newestPacket()
	out := make([]LayerInfo, len(r.sim.layers))
	for i, l := range r.sim.layers {
		active := r.sim.layerActive(l, newest)
		out[i] = LayerInfo{
			RID: l.rid, Width: views[i].width, Height: views[i].height,
			Bitrate: views[i].bitrate, Active: active, Settling: active && !views[i].active,
		}
	}
	return out
}

// layerViews fills views with what selection needs; returns the count. A layer is
// active when it is selectable (selectableMask) at the newest packet of any layer, so
// selection needs no clock. No allocation.
func (s *simulcastReceiver) layerViews(views *[maxLayers]layerView) int {
	selectable := s.selectableMask(s.newestPacket())
	for i, l := range s.layers {
		views[i] = layerView{
			active: selectable&(1<<i) != 0, width: int(l.width.Load()), height: int(l.height.Load()),
			bitrate: int(l.bitrate.Load()),
		}
	}
	return len(s.layers)
}

// selectableMask is the set of layers subscribers may be given at now: the active ones
// that are not settling (layerSettle), or every active one when all of them are (the
// whole track came back after a gap: nothing to wait for).
func (s *simulcastReceiver) selectableMask(now int64) uint32 {
	var active, settled uint32
	for i, l := range s.layers {
		if !s.layerActive(l, now) {
			continue
		}
		active |= 1 << i
		if resumed := l.resumedNs.Load(); resumed == 0 || now-resumed >= int64(layerSettle) {
			settled |= 1 << i
		}
	}
	if settled == 0 {
		return active
	}
	return settled
}

// newestPacket is the arrival time (UnixNano) of the newest packet of any layer.
func (s *simulcastReceiver) newestPacket() int64 {
	var newest int64
	for _, l := range s.layers {
		newest = max(newest, l.lastPacketNs.Load())
	}
	return newest
}

func (l *layer) active(now int64) bool {
	last := l.lastPacketNs.Load()
	return last != 0 && now-last < int64(layerInactiveAfter)
}

// layerActive reports whether l counts as sending at now (the newest packet of any
// layer): it sent within layerInactiveAfter, or, up to twice that, no other layer sent
// for layerInactiveAfter through its silence. After a stall of the whole track (the
// publisher's, or the server's read goroutines'), the layer read first makes the others'
// last packets look old although nothing says they stopped; they stay active until
// another layer has sent alone for layerInactiveAfter (sendingSinceNs), or until their
// own silence reaches twice that, so that a layer that stopped while the others send at
// a frame rate below 2 fps (gaps of trackPauseGap) still ends.
func (s *simulcastReceiver) layerActive(l *layer, now int64) bool {
	last := l.lastPacketNs.Load()
	switch silent := now - last; {
	case last == 0:
		return false
	case silent < int64(layerInactiveAfter):
		return true
	case silent >= 2*int64(layerInactiveAfter):
		return false
	}
	for _, o := range s.layers {
		if o != l && o.lastPacketNs.Load()-max(last, o.sendingSinceNs.Load()) >= int64(layerInactiveAfter) {
			return false
		}
	}
	return true
}

// noteArrival records a packet at now for activity and settling. Read goroutine.
func (l *layer) noteArrival(now int64) (wasActive bool) {
	wasActive = l.active(now)
	last := l.lastPacketNs.Load()
	wanted := l.owner.sim.wanted.Load()&(1<<l.index) != 0
	switch {
	case wasActive:
		if wanted && l.pausedByUs.Load() {
			l.pausedByUs.Store(false) // sending while wanted: a later stop is the publisher's
		}
	case last != 0 && !l.pausedByUs.Load() && l.owner.sim.sentThrough(l, last):
		l.resumedNs.Store(now) // back after stopping on its own: settle first
	default:
		// The first packet, back after the server's pause, or after a pause of the whole
		// track (D123).
		l.resumedNs.Store(0)
	}
	if last == 0 || now-last >= int64(trackPauseGap) {
		l.sendingSinceNs.Store(now)
	}
	l.lastPacketNs.Store(now)
	return wasActive
}

// sentThrough reports whether another layer kept sending while l was silent since last
// (its last packet): one that sent trackPauseGap or more after it without a gap of
// trackPauseGap since before it. Then l stopped on its own; otherwise the whole track
// paused. Read goroutine of l.
func (s *simulcastReceiver) sentThrough(l *layer, last int64) bool {
	for _, o := range s.layers {
		if o != l && o.lastPacketNs.Load()-last >= int64(trackPauseGap) && o.sendingSinceNs.Load() <= last {
			return true
		}
	}
	return false
}

// attachLayer starts reading a layer's pion track; false when the rid is unknown, the
// layer is attached already or the Receiver has finished.
func (r *Receiver) attachLayer(track *webrtc.TrackRemote) bool {
	var l *layer
	for _, x := range r.sim.layers {
		if x.rid == track.RID() {
			l = x
		}
	}
	if l == nil {
		return false
	}
	r.mu.Lock()
	if r.closed || l.attached {
		r.mu.Unlock()
		return false
	}
	l.attached = true
	l.track = track
	l.ssrc.Store(uint32(track.SSRC()))
	r.sim.running.Add(1)
	r.wg.Add(2)
	r.mu.Unlock()
	go l.readLoop()
	go l.readRTCPLoop()
	return true
}

// readLoop reads the layer's track until it ends; the last layer to end finishes the
// Receiver.
func (l *layer) readLoop() {
	r := l.owner
	write := l.writePacket
	for {
		n, _, err := l.track.Read(l.readBuf[:])
		if err != nil {
			l.in.end() // the socket goroutine is out: dropped is the track goroutine's again
			r.logger.Debug("simulcast layer ended", "track", r.trackID, "rid", l.rid,
				"err", err, "malformed_packets", l.dropped)
			break
		}
		l.in.handle(r.in, l.readBuf[:n], write) // or the socket goroutine, once bound (rtpin.go)
	}
	r.wg.Done()
	if r.sim.running.Add(-1) == 0 {
		r.finish()
	}
}

// readRTCPLoop drains the publisher's RTCP for this layer (sender reports).
func (l *layer) readRTCPLoop() {
	r := l.owner
	defer r.wg.Done()
	var buf [maxPacketSize]byte
	for {
		if _, _, err := r.rtpReceiver.ReadSimulcast(buf[:], l.rid); err != nil {
			return
		}
		l.uplink.lastRTCP.Store(time.Now().UnixNano())
	}
}

// writePacket takes one packet of this layer: parse, learn size and bitrate, store, fan
// out to the DownTracks forwarding or waiting for this layer. Read goroutine only; no
// allocation.
func (l *layer) writePacket(raw []byte, now time.Time) error {
	r := l.owner
	p := &l.pkt
	if err := parseRTP(raw, p); err != nil {
		l.dropped++
		return err
	}
	l.uplink.observe(raw, p, r.codec.ClockRate, now)
	nowNs := now.UnixNano()
	changed := !l.noteArrival(nowNs)
	if r.keyframe != nil {
		p.Keyframe = r.keyframe(p.Payload)
	}
	if p.Keyframe {
		l.lastKeyNs.Store(nowNs)
	}
	if p.Keyframe && r.sim.sizeOf != nil {
		if w, h, ok := r.sim.sizeOf(p.Payload); ok && (int32(w) != l.width.Load() || int32(h) != l.height.Load()) {
			l.width.Store(int32(w))
			l.height.Store(int32(h))
			changed = true
		}
	}
	l.measure(len(raw), nowNs)
	l.buffer.put(p)
	l.keyframes.note(p)
	if nowNs >= l.nextCheck {
		l.nextCheck = nowNs + int64(layerCheckInterval)
		changed = r.sim.activityChanged(nowNs) || changed
	}
	if changed {
		r.reselectLayers(now)
	}
	for _, d := range *r.downTracks.Load() {
		d.forward(l, p, now)
	}
	return nil
}

// measure adds one packet to the bitrate window and closes the window when it is over.
func (l *layer) measure(bytes int, now int64) {
	if l.windowStart == 0 {
		l.windowStart = now
	}
	l.windowBytes += int64(bytes)
	elapsed := now - l.windowStart
	if elapsed < int64(bitrateWindow) {
		return
	}
	rate := l.windowBytes * 8 * int64(time.Second) / elapsed
	if old := l.bitrate.Load(); old != 0 {
		rate = (old*(bitrateSmoothingDen-bitrateSmoothingNum) + rate*bitrateSmoothingNum) / bitrateSmoothingDen
	}
	l.bitrate.Store(rate)
	l.windowStart, l.windowBytes = now, 0
}

// activityChanged recomputes which layers are selectable and reports whether that
// changed since the last check (by any layer's goroutine).
func (s *simulcastReceiver) activityChanged(now int64) bool {
	mask := s.selectableMask(now)
	return s.activeMask.Swap(mask) != mask
}

// reselectLayers lets every DownTrack choose its layer again (sizes, activity or
// bitrates changed).
func (r *Receiver) reselectLayers(now time.Time) {
	for _, d := range *r.downTracks.Load() {
		d.updateTargetLayer(now)
	}
	r.updateWantedLayers()
}

// requestKeyframe sends a PLI for this layer unless one went out within pli_throttle;
// with fresh, also within it when a keyframe of the layer arrived since that one (it
// answered a need that is not this one: see keyframe requests in doc.go). Safe for
// concurrent use.
func (l *layer) requestKeyframe(now time.Time, fresh bool) {
	r := l.owner
	ssrc := l.ssrc.Load()
	answered := int64(0)
	if fresh {
		answered = l.lastKeyNs.Load()
	}
	if r.kind != webrtc.RTPCodecTypeVideo || r.writeRTCP == nil || ssrc == 0 || !l.pli.allowAnswered(now, answered) {
		return
	}
	if err := r.writeRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		r.logger.Debug("send PLI", "track", r.trackID, "rid", l.rid, "err", err)
	}
}
