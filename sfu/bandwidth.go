package sfu

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// Downlink bandwidth adaptation of a subscriber Peer. The estimate comes from the Peer's
// own send-side congestion controller (transport-wide congestion control feedback,
// congestion.go and gcc.go) or, for a client that only sends REMB, from its REMB; where
// both arrive the lower wins. The Peer's bandwidth goroutine
// ticks every bandwidthTick (and at once when a wish changes), gathers what each video
// DownTrack could use, lets the pure bandwidthAllocator (allocator.go) decide the rank of
// each and caps each DownTrack at the layer of its rank (setLayerCap). A Peer without a
// simulcast video (an audio-only subscriber) has nothing to allocate: its goroutine does
// not tick until a wish changes or such a video comes (both wake it), and its estimate is
// read on demand meanwhile (D335). Nothing here runs per packet.

const (
	// bandwidthTick is how often a subscriber Peer reallocates its downlink.
	bandwidthTick = 200 * time.Millisecond
	// feedbackFresh: an estimate counts only while its feedback keeps arriving.
	feedbackFresh = 2 * time.Second
	// initialDownlinkEstimate is the estimate before the first feedback: high enough
	// that a subscriber starts with the layer it asks for.
	initialDownlinkEstimate = 3_000_000
	minDownlinkEstimate     = 50_000
	maxDownlinkEstimate     = 50_000_000
)

// bandwidthController is a subscriber Peer's downlink state. The feedback atomics are
// written by the Peer's RTCP goroutine and, for transport-wide feedback on the own SRTCP
// path, the socket's read goroutine (D336); the rest belongs to the bandwidth goroutine.
type bandwidthController struct {
	cc *congestionController // nil: REMB only (tests)

	lastTWCCNs atomic.Int64
	rembBps    atomic.Int64
	lastREMBNs atomic.Int64
	estimate   atomic.Int64 // the last estimate allocated, bits per second; 0 unknown
	idle       atomic.Bool  // the goroutine does not tick (no simulcast video): estimate is not kept

	stop     chan struct{}
	stopOnce sync.Once
	wakeup   chan struct{} // a wish changed: allocate now

	// Bandwidth goroutine.
	alloc   *bandwidthAllocator
	levels  map[*DownTrack]videoLevel
	videos  []*DownTrack
	demands []videoDemand
	current []int
	held    []int // the rank of each video's held layer before this allocation
	idleNs  int64 // when the goroutine stopped ticking (0: from its start)
}

// videoLevel is the layer the allocator gave a video, and the wish it was fitted to. It is
// kept as a layer index, not as a rank: ranks count the active layers only, so a rank
// held while a smaller layer is inactive would name another layer once that layer comes
// back (a subscriber on f, with q and h silent for a moment, was left on q).
type videoLevel struct {
	layer   int
	wishGen uint32
}

func newBandwidthController(cc *congestionController, cfg allocatorConfig) *bandwidthController {
	b := &bandwidthController{
		cc:     cc,
		stop:   make(chan struct{}),
		wakeup: make(chan struct{}, 1),
		alloc:  newBandwidthAllocator(cfg),
		levels: make(map[*DownTrack]videoLevel),
	}
	b.idle.Store(true) // until a simulcast video's wake-up
	return b
}

// wake makes the bandwidth goroutine allocate now (a wish changed). Never blocks.
func (b *bandwidthController) wake() {
	select {
	case b.wakeup <- struct{}{}:
	default:
	}
}

// noteTWCC records that transport-wide feedback arrived (onTransportFeedback fed it to
// cc).
func (b *bandwidthController) noteTWCC(now time.Time) { b.lastTWCCNs.Store(now.UnixNano()) }

// noteREMB records a REMB from the subscriber.
func (b *bandwidthController) noteREMB(bps float32, now time.Time) {
	b.rembBps.Store(int64(bps))
	b.lastREMBNs.Store(now.UnixNano())
}

// currentEstimate is the downlink estimate at now: cc's while TWCC feedback arrives,
// REMB's while REMBs arrive, the lower of the two when both do; 0 when neither does.
func (b *bandwidthController) currentEstimate(now time.Time) int64 {
	var est int64
	nowNs := now.UnixNano()
	if b.cc != nil {
		if last := b.lastTWCCNs.Load(); last != 0 && nowNs-last < int64(feedbackFresh) {
			est = b.cc.target.Load()
		}
	}
	if last := b.lastREMBNs.Load(); last != 0 && nowNs-last < int64(feedbackFresh) {
		if remb := b.rembBps.Load(); remb > 0 && (est == 0 || remb < est) {
			est = remb
		}
	}
	return est
}

func (b *bandwidthController) close() { b.stopOnce.Do(func() { close(b.stop) }) }

// DownlinkEstimate is the subscriber's downlink estimate in bits per second as last
// allocated, or, while the bandwidth goroutine does not tick (no simulcast video, D335),
// as it stands now (0: unknown — no congestion control feedback arrives — or a publisher
// Peer). Any goroutine; atomics only.
func (p *Subscriber) DownlinkEstimate() int64 {
	if p.bw == nil {
		return 0
	}
	if p.bw.idle.Load() {
		return p.bw.currentEstimate(time.Now())
	}
	return p.bw.estimate.Load()
}

// runBandwidth is the bandwidth goroutine of a subscriber Peer. It ticks only while the
// Peer has a simulcast video to allocate (D335): an allocation that finds none stops the
// ticker, and a wake-up (a simulcast DownTrack added, a wish changed) that finds one
// starts it again.
func (p *Subscriber) runBandwidth() {
	defer p.wg.Done()
	ticker := time.NewTicker(bandwidthTick)
	ticker.Stop() // idle until a simulcast video's wake-up
	defer ticker.Stop()
	b := p.bw
	for {
		var now time.Time
		select {
		case <-b.stop:
			return
		case now = <-ticker.C:
		case <-b.wakeup:
			now = time.Now()
		}
		idle := b.idle.Load()
		if idle {
			b.resume(now)
		}
		switch videos := p.allocateBandwidth(now); {
		case videos == 0 && !idle:
			ticker.Stop()
			b.idleNs = now.UnixNano()
			b.idle.Store(true)
		case videos > 0 && idle:
			ticker.Reset(bandwidthTick)
			b.idle.Store(false) // after allocateBandwidth stored the estimate
		}
	}
}

// resume brings the allocator to where its ticks would have left it while the goroutine
// was idle: with no video an allocation changes only its timers (cleared, or a probe's
// trial ended: one empty allocation at now does that) and whether an estimate was ever
// known, which it was when feedback came in the meantime. Bandwidth goroutine.
func (b *bandwidthController) resume(now time.Time) {
	if (b.cc != nil && b.lastTWCCNs.Load() > b.idleNs) || (b.lastREMBNs.Load() > b.idleNs && b.rembBps.Load() > 0) {
		b.alloc.known = true
	}
	b.alloc.allocate(now, b.currentEstimate(now), 0, nil, nil)
}

// allocateBandwidth shares the current estimate among the video DownTracks and returns
// how many there are (simulcast ones: the only ones it caps).
func (p *Subscriber) allocateBandwidth(now time.Time) int {
	b := p.bw
	b.videos = b.videos[:0]
	audio := 0
	p.mu.Lock()
	for d := range p.downTracks {
		switch {
		case !d.isVideo:
			audio++
		case d.layered():
			b.videos = append(b.videos, d)
		}
	}
	p.mu.Unlock()

	b.demands = b.demands[:0]
	b.current = b.current[:0]
	b.held = b.held[:0]
	for _, d := range b.videos {
		var v videoDemand
		gen := d.videoDemand(&v)
		last, ok := b.levels[d]
		v.fresh = !ok || last.wishGen != gen
		rank := 0
		if ok {
			rank = v.rankOf(last.layer)
		}
		b.demands = append(b.demands, v)
		b.current = append(b.current, rank)
		b.held = append(b.held, rank)
	}
	estimate := b.currentEstimate(now)
	b.estimate.Store(estimate)
	b.alloc.allocate(now, estimate, audio, b.demands, b.current)

	for i, d := range b.videos {
		v := &b.demands[i]
		last, ok := b.levels[d]
		if v.n > 0 && (!ok || b.current[i] != b.held[i]) {
			// The allocator moved the video (or it is new): hold the layer of its new
			// rank. Otherwise the layer it holds stays, also while that layer or a
			// smaller one is inactive and the rank stands for another layer meanwhile.
			last.layer = v.layers[b.current[i]]
		}
		last.wishGen = d.fwd.wishGen.Load()
		b.levels[d] = last
		switch {
		case !b.alloc.known:
			d.setLayerCap(-1, now) // no estimate ever: the wish decides
		case v.n > 0:
			d.setLayerCap(last.layer, now)
		}
	}
	if len(b.levels) > len(b.videos) { // forget removed DownTracks
		for d := range b.levels {
			if !slices.Contains(b.videos, d) {
				delete(b.levels, d)
			}
		}
	}
	return len(b.videos)
}

// rankOf is the rank of the largest active layer not larger than layer (by index, the
// publisher's order, smallest first), or 0 when every active one is larger: where a video
// holding layer stands among the layers active now.
func (v *videoDemand) rankOf(layer int) int {
	rank := 0
	for k := 0; k < v.n; k++ {
		if v.layers[k] <= layer {
			rank = k
		}
	}
	return rank
}

// videoDemand fills v with what this simulcast DownTrack could use: the bitrate of each
// active layer, smallest first (never below a smaller layer's), and the rank its wish
// asks for. It returns the wish generation it saw.
func (d *DownTrack) videoDemand(v *videoDemand) uint32 {
	s := &d.fwd
	gen := s.wishGen.Load()
	var views [maxLayers]layerView
	n := d.receiver.sim.layerViews(&views)
	v.n = rankLayers(views[:n], &v.layers)
	want := chooseLayer(views[:n], layerWish{
		width: int(s.wantW.Load()), height: int(s.wantH.Load()), pinned: int(s.pinned.Load()),
	})
	v.wanted = v.n - 1
	for k := 0; k < v.n; k++ {
		v.rates[k] = int64(views[v.layers[k]].bitrate)
		if k > 0 {
			v.rates[k] = max(v.rates[k], v.rates[k-1])
		}
		if v.layers[k] == want {
			v.wanted = k
		}
	}
	return gen
}

// noteBandwidthFeedback passes the subscriber's congestion control feedback to its Peer.
// Called by the DownTrack's RTCP goroutine.
func (d *DownTrack) noteBandwidthFeedback(pkt rtcp.Packet, now time.Time) {
	if d.peer != nil {
		d.peer.noteBandwidthFeedback(pkt, now)
	}
}

// noteBandwidthFeedback records transport-wide feedback and REMB of a subscriber Peer.
func (p *Subscriber) noteBandwidthFeedback(pkt rtcp.Packet, now time.Time) {
	if p.bw == nil {
		return
	}
	switch fb := pkt.(type) {
	case *rtcp.TransportLayerCC:
		p.bw.noteTWCC(now)
	case *rtcp.ReceiverEstimatedMaximumBitrate:
		p.bw.noteREMB(fb.Bitrate, now)
	}
}

// noteTransportFeedback feeds one transport-wide feedback packet (read in place) to the
// subscriber's congestion controller. RTCP goroutine.
func (p *Subscriber) noteTransportFeedback(pkt []byte, now time.Time) {
	if p.bw != nil {
		p.bw.onTransportFeedback(pkt, now)
	}
}

// onTransportFeedback feeds one transport-wide feedback packet (read in place) to the
// congestion controller. RTCP goroutine; no allocation.
func (b *bandwidthController) onTransportFeedback(pkt []byte, now time.Time) {
	if b.cc != nil && b.cc.onFeedback(pkt, now) == nil {
		b.noteTWCC(now)
	}
}

// tryTransportFeedback is onTransportFeedback on the socket's read goroutine for the
// SRTCP it takes (rtcpin.go, D336): false when the RTCP goroutine feeds the controller
// at this moment (the packet then goes to it) or there is none. No allocation.
func (b *bandwidthController) tryTransportFeedback(pkt []byte, now time.Time) bool {
	if b.cc == nil {
		return false
	}
	fed, err := b.cc.tryFeedback(pkt, now)
	if fed && err == nil {
		b.noteTWCC(now)
	}
	return fed
}
