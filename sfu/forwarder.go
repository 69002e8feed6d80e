package sfu

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// forwarder is a DownTrack's one forwarding path (D80): which layer of the Receiver it
// forwards (current) and wants (target), what the subscriber asked for, the keyframe
// waits, the drop policy and the munger. A single-layer track is a one-layer simulcast
// track: its target is layer 0 from the start and never changes (a simulcast track's
// first choice, at its first active layer, asks for a keyframe as Bind does for a
// single-layer one), and every rule below is the same for it.
//
// Ownership: the layers' read goroutines call DownTrack.forward. With one layer there is
// one such goroutine and the state below mu is its own; with several, mu (this
// DownTrack's own, never shared between DownTracks) guards it, and packets of layers the
// DownTrack neither forwards nor wants return after two atomic loads without taking it.
// The wish fields are atomics set by any goroutine.
type forwarder struct {
	// Read or written for every packet: first, so that they share few cache lines.
	current      atomic.Int32 // layer being forwarded, -1 while waiting for a keyframe
	target       atomic.Int32 // layer wanted, -1 until one is active
	layered      bool         // a simulcast Receiver: wishes, caps and mu apply
	video        bool         // a (re)start waits for a keyframe; audio starts at any packet
	firstAsked   bool         // the keyframe request of the first packet went out
	sentAny      bool         // a packet was queued and noted (timeline.go), so sendPacket reads no shared line for it
	targetWaited int32        // the target layer that could not start at its last packet, -1 none (fastfirst.go)
	m            munger

	wantW   atomic.Int32
	wantH   atomic.Int32
	pinned  atomic.Int32  // explicit layer, -1 automatic
	cap     atomic.Int32  // the largest layer the downlink allows (bandwidth.go), -1 no cap
	wishGen atomic.Uint32 // counts wish changes (the allocator fits a changed wish at once)

	switches    atomic.Uint64
	replays     atomic.Uint64 // starts from a buffered keyframe (fastfirst.go)
	startsBelow atomic.Uint64 // starts below the target layer (fastfirst.go)

	mu            sync.Mutex
	replay        *[maxPacketSize]byte    // a buffered packet being replayed (fastfirst.go); video only
	replayRefused [maxLayers]keyframeMark // per layer, the keyframe a replay was last refused from
}

func (f *forwarder) init(codec webrtc.RTPCodecParameters, kind webrtc.RTPCodecType, simulcast bool) {
	f.layered = simulcast
	f.video = kind == webrtc.RTPCodecTypeVideo
	f.m.layer = -1
	f.m.clockRate = codec.ClockRate
	f.m.trackPictures = f.layered && strings.EqualFold(codec.MimeType, webrtc.MimeTypeVP8)
	f.current.Store(-1)
	f.target.Store(-1) // chosen when a layer is active (updateTargetLayer)
	if !f.layered {
		f.target.Store(0) // nothing to choose; Bind asks for its keyframe
	}
	f.pinned.Store(-1)
	f.cap.Store(-1)
	f.targetWaited = -1
	if f.video {
		f.replay = new([maxPacketSize]byte)
	}
}

func (f *forwarder) lock() {
	if f.layered {
		f.mu.Lock()
	}
}

func (f *forwarder) unlock() {
	if f.layered {
		f.mu.Unlock()
	}
}

// mayUse reports, lock-free, whether a packet of layer idx can concern this forwarder:
// it is the current or the target layer, or a smaller one while nothing is forwarded
// (a start below the target, fastfirst.go).
func (f *forwarder) mayUse(idx int32) bool {
	current, target := f.current.Load(), f.target.Load()
	return idx == target || idx == current || (current < 0 && idx < target)
}

// fwdAction is what the forwarder does with one packet.
type fwdAction uint8

const (
	fwdSkip        fwdAction = iota // not this DownTrack's packet: nothing changes
	fwdDrop                         // not sent (padding); the munger closes the gap
	fwdWait                         // not sent: waiting for a keyframe of the target; a (throttled) request goes out
	fwdSend                         // renumbered and queued on the current layer
	fwdSwitch                       // the target's keyframe: switch to its layer, then send
	fwdReplay                       // nothing sent yet: start from the target's buffered keyframe, else fwdWait
	fwdSwitchBelow                  // start below the target at this smaller layer's keyframe, then send
	fwdReplayBelow                  // start below the target from this layer's buffered keyframe, else fwdSkip
)

var fwdActionNames = [...]string{"skip", "drop", "wait", "send", "switch", "replay", "switch-below", "replay-below"}

func (a fwdAction) String() string { return fwdActionNames[a] }

// fwdInput is what one forwarding decision depends on.
type fwdInput struct {
	layer        int32 // the packet's layer
	keyframe     bool  // the packet starts a keyframe (audio: any packet with payload)
	padding      bool  // no payload
	current      int32 // forwarder.current, -1 none
	target       int32 // forwarder.target, -1 none
	started      bool  // something was sent before (the munger's rewriter started)
	targetWaited int32 // forwarder.targetWaited
	nowNs        int64 // the packet's arrival
	targetLastNs int64 // arrival of the target layer's newest packet (start below only)
}

// decideForward is the forwarder's drop policy and layer switching, as a pure function
// of the packet and the forwarder's state. No allocation.
func decideForward(in fwdInput) fwdAction {
	switching := in.layer == in.target && in.target != in.current
	below := in.current < 0 && in.layer < in.target
	switch {
	case in.padding:
		if in.layer == in.current || switching {
			return fwdDrop // never sent, never a keyframe request
		}
		return fwdSkip
	case switching && in.keyframe:
		return fwdSwitch
	case switching && in.current < 0 && !in.started:
		return fwdReplay
	case switching:
		return fwdWait
	case below:
		// The target may still start at its next packet unless its last one found no
		// keyframe or it has been silent (fastfirst.go).
		if in.targetWaited != in.target && in.nowNs-in.targetLastNs <= int64(startBelowSilence) {
			return fwdSkip
		}
		if in.keyframe {
			return fwdSwitchBelow
		}
		return fwdReplayBelow
	case in.layer == in.current:
		return fwdSend
	}
	return fwdSkip
}

// forward offers one packet of layer l to the subscriber: the one path from every
// Receiver to its DownTracks. Called by l's read goroutine; no allocation.
func (d *DownTrack) forward(l *layer, p *rtpPacket, now time.Time) {
	f := &d.fwd
	idx := int32(l.index)
	if f.target.Load() < 0 {
		d.updateTargetLayer(now)
	}
	if !f.mayUse(idx) || d.binding.Load() == nil || (d.peer != nil && !d.peer.mediaReady.Load()) {
		return
	}
	f.lock()
	if d.takeOverwritten() {
		f.current.Store(-1) // the frame is broken: wait for a keyframe of the target layer
		d.requestKeyframe(now)
	}
	in := fwdInput{layer: idx, padding: len(p.Payload) == 0, current: f.current.Load(), target: f.target.Load()}
	act := fwdSend
	if in.padding || idx != in.current || in.current != in.target {
		// Anything but the steady state (a packet of the layer forwarded and wanted, which
		// decideForward sends): the whole decision.
		in.keyframe = !in.padding && (p.Keyframe || !f.video)
		in.started, in.targetWaited, in.nowNs = f.m.rw.started, f.targetWaited, now.UnixNano()
		if in.current < 0 && idx < in.target {
			in.targetLastNs = d.receiver.layerAt(int(in.target)).lastPacketNs.Load()
		}
		act = decideForward(in)
	}
	switch act {
	case fwdDrop:
		f.m.drop(idx, p.SequenceNumber)
	case fwdReplay:
		if d.replayFromKeyframe(l, p, now) { // fastfirst.go
			d.sendPacket(l, p, now)
			break
		}
		d.waitKeyframe(l, p, in, now)
	case fwdWait:
		d.waitKeyframe(l, p, in, now)
	case fwdSwitch, fwdSwitchBelow:
		d.switchLayer(l, p, now)
		if act == fwdSwitchBelow {
			f.startsBelow.Add(1)
		}
		d.sendPacket(l, p, now)
	case fwdReplayBelow:
		if d.replayFromKeyframe(l, p, now) {
			f.startsBelow.Add(1)
			d.sendPacket(l, p, now)
		}
	case fwdSend:
		d.sendPacket(l, p, now)
	}
	f.unlock()
	if act == fwdSwitch && in.current >= 0 {
		d.receiver.updateWantedLayers() // the old layer may pause now (simulcast_pause.go)
	}
}

// waitKeyframe drops p while the target layer has no keyframe and asks for one
// (throttled: repeats, every pli_throttle, a request that got no keyframe).
func (d *DownTrack) waitKeyframe(l *layer, p *rtpPacket, in fwdInput, now time.Time) {
	f := &d.fwd
	f.m.drop(in.layer, p.SequenceNumber)
	if in.current < 0 {
		f.targetWaited = in.target // a smaller layer may start first (fastfirst.go)
	}
	l.requestKeyframe(now, d.firstRequest())
}

// sendPacket renumbers and queues one packet of the current layer; false when the queue
// refused it: the munger closes the gap, and video waits for a keyframe of the target.
func (d *DownTrack) sendPacket(l *layer, p *rtpPacket, now time.Time) bool {
	f := &d.fwd
	if len(p.Payload) == 0 { // padding only (a replayed buffer may hold some)
		f.m.rw.drop(p.SequenceNumber)
		return true
	}
	var r rewrite
	if !f.m.rw.next(p.SequenceNumber, p.Timestamp, &r) {
		return true
	}
	if !d.sender.enqueue(d, l.buffer, p.SequenceNumber, r.seq, r.ts, f.m.vp8) {
		f.m.rw.drop(p.SequenceNumber)
		if f.video { // the frame is broken
			f.current.Store(-1)
			d.requestKeyframe(now)
		}
		return false
	}
	f.m.commit(&r, p, now.UnixNano())
	d.history.putLayer(r.seq, p.SequenceNumber, uint8(l.index), r.ts)
	if !f.sentAny {
		f.sentAny = true
		d.noteFirstSent(now) // timeline.go: once per DownTrack
	}
	return true
}

// switchLayer makes l the current layer, starting at its keyframe p (munger.switchTo).
func (d *DownTrack) switchLayer(l *layer, p *rtpPacket, now time.Time) {
	f := &d.fwd
	f.m.switchTo(int32(l.index), p, now)
	f.current.Store(int32(l.index))
	f.switches.Add(1)
}

// takeOverwritten reports, once, that the Sender dropped a packet of this DownTrack
// because its buffer slot was reused before the write: the subscriber's frame is broken,
// so video waits for a keyframe. One atomic load per packet while nothing was dropped.
func (d *DownTrack) takeOverwritten() bool {
	return d.fwd.video && d.overwritten.Load() && d.overwritten.Swap(false)
}

// firstRequest reports, once, that the DownTrack has forwarded nothing yet: its first
// keyframe request from the packet path goes out even within pli_throttle when the
// keyframe asked for earlier has passed (a request made when the DownTrack was bound
// is answered before the subscriber's DTLS is up, and that keyframe is never sent).
func (d *DownTrack) firstRequest() bool {
	f := &d.fwd
	if f.m.rw.started || f.firstAsked {
		return false
	}
	f.firstAsked = true
	return true
}

// requestKeyframe asks the publisher for a keyframe of what this DownTrack sends (or is
// about to send), throttled per layer.
func (d *DownTrack) requestKeyframe(now time.Time) {
	i := d.fwd.target.Load()
	if i < 0 {
		i = d.fwd.current.Load()
	}
	if i >= 0 {
		d.receiver.layerAt(int(i)).requestKeyframe(now, false)
	}
}

// resendSource is where a NACKed packet of layer i is read from and how it is renumbered.
func (d *DownTrack) resendSource(i uint8) (*packetBuffer, vp8Munge) {
	if int(i) >= d.receiver.layerCount() {
		return nil, vp8Munge{}
	}
	return d.receiver.layerAt(int(i)).buffer, d.fwd.m.resendMunge(i)
}
