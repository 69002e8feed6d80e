package sfu

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Receiver is one published track. Its read goroutine is the only one that parses
// packets, writes the packet buffer and runs the DownTracks' forwarding; the DownTrack
// list is copy-on-write behind an atomic.Pointer so the read goroutine never takes a
// lock shared with other tracks or rooms.
type Receiver struct {
	trackID  string
	streamID string
	kind     webrtc.RTPCodecType
	codec    webrtc.RTPCodecParameters
	ssrc     uint32
	keyframe keyframeDetector
	logger   *slog.Logger

	buffer     *packetBuffer
	downTracks atomic.Pointer[[]*DownTrack]
	writeRTCP  func([]rtcp.Packet) error // to the publisher; nil in unit tests
	// in is the publisher's own read path (rtpin.go, D255); nil when off or in unit tests.
	in *publisherIn
	// one is the only layer of a single-layer track (its SSRC, PLI throttle, buffer and
	// last keyframe): DownTracks forward it as a simulcast layer (forwarder.go, D80).
	one *layer
	sim *simulcastReceiver // rid layers (simulcast.go); nil for a single-layer track

	// Source of packets when attached to a PeerConnection; nil in unit tests.
	track       *webrtc.TrackRemote
	rtpReceiver *webrtc.RTPReceiver

	mu      sync.Mutex // guards closed, onClose and DownTrack list changes
	closed  bool
	onClose []*func() // by pointer, so that the cancel function OnClose returns finds its own
	wg      sync.WaitGroup

	dropped uint64 // malformed packets; read goroutine

	uplink uplinkCounters // link statistics and voice volume (linkstats.go)
}

// receiverParams describes a published track.
type receiverParams struct {
	trackID, streamID string
	kind              webrtc.RTPCodecType
	codec             webrtc.RTPCodecParameters
	ssrc              uint32
	bufferPackets     int
	pliThrottle       time.Duration
	writeRTCP         func([]rtcp.Packet) error
	in                *publisherIn
	logger            *slog.Logger
}

func newReceiver(p receiverParams) *Receiver {
	r := &Receiver{
		trackID:   p.trackID,
		streamID:  p.streamID,
		kind:      p.kind,
		codec:     p.codec,
		ssrc:      p.ssrc,
		keyframe:  keyframeDetectorFor(p.codec.MimeType),
		logger:    p.logger,
		buffer:    newPacketBuffer(p.bufferPackets),
		writeRTCP: p.writeRTCP,
		in:        p.in,
	}
	if p.in != nil {
		r.writeRTCP = p.in.rtcp.send // keyframe requests off the socket goroutine
	}
	r.one = &layer{owner: r, buffer: r.buffer}
	r.one.pli.interval = p.pliThrottle
	r.one.ssrc.Store(p.ssrc)
	empty := []*DownTrack{}
	r.downTracks.Store(&empty)
	return r
}

// TrackID is the published track's ID (as the publisher named it).
func (r *Receiver) TrackID() string { return r.trackID }

// StreamID is the publisher's participant ID.
func (r *Receiver) StreamID() string { return r.streamID }

// Kind is audio or video.
func (r *Receiver) Kind() webrtc.RTPCodecType { return r.kind }

// Codec is the codec the publisher sends.
func (r *Receiver) Codec() webrtc.RTPCodecParameters { return r.codec }

// OnClose registers f to run once when the published track ends; immediately when it
// already has. The returned cancel unregisters f (a no-op once f ran or was cancelled):
// whoever registers for less time than the track lives (a WHEP viewer) cancels when it
// goes, so a long-lived track holds no functions of its past viewers.
func (r *Receiver) OnClose(f func()) (cancel func()) {
	r.mu.Lock()
	if !r.closed {
		hook := &f
		r.onClose = append(r.onClose, hook)
		r.mu.Unlock()
		return func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if i := slices.Index(r.onClose, hook); i >= 0 {
				r.onClose = slices.Delete(r.onClose, i, i+1)
			}
		}
	}
	r.mu.Unlock()
	f()
	return func() {}
}

// CloseHooks is the number of OnClose functions waiting for the track's end (what a
// track holds for others; tests check that viewers leave none behind).
func (r *Receiver) CloseHooks() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.onClose)
}

// Close ends the published track: it stops reading, removes every DownTrack from its
// subscriber and runs the OnClose functions. Idempotent. The read goroutines exit soon
// after; the publisher Peer's Close waits for them.
func (r *Receiver) Close() error {
	r.finish()
	if r.rtpReceiver != nil {
		if err := r.rtpReceiver.Stop(); err != nil {
			return fmt.Errorf("close receiver %s: %w", r.trackID, err)
		}
	}
	return nil
}

// wait blocks until the read goroutines have stopped reading.
func (r *Receiver) wait() { r.wg.Wait() }

// finish marks the track ended and detaches everything; it runs once, from whichever
// of Close and the read goroutine comes first.
func (r *Receiver) finish() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	callbacks := r.onClose
	r.onClose = nil
	empty := []*DownTrack{}
	tracks := *r.downTracks.Swap(&empty)
	r.mu.Unlock()

	for _, d := range tracks {
		if d.peer != nil {
			if err := d.peer.RemoveDownTrack(d); err != nil {
				r.logger.Debug("remove down track after track end", "track", r.trackID, "err", err)
			}
		}
	}
	for _, f := range callbacks {
		(*f)()
	}
}

// addDownTrack starts forwarding to d.
func (r *Receiver) addDownTrack(d *DownTrack) error {
	defer r.updateWantedLayers() // after the unlock (simulcast_pause.go)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrReceiverClosed
	}
	old := *r.downTracks.Load()
	next := make([]*DownTrack, len(old), len(old)+1)
	copy(next, old)
	next = append(next, d)
	r.downTracks.Store(&next)
	return nil
}

// removeDownTrack stops forwarding to d; false when d was not attached.
func (r *Receiver) removeDownTrack(d *DownTrack) bool {
	defer r.updateWantedLayers() // after the unlock (simulcast_pause.go)
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.downTracks.Load()
	for i, x := range old {
		if x == d {
			next := make([]*DownTrack, 0, len(old)-1)
			next = append(next, old[:i]...)
			next = append(next, old[i+1:]...)
			r.downTracks.Store(&next)
			return true
		}
	}
	return false
}

// start runs the read goroutines of a track attached to a PeerConnection.
func (r *Receiver) start() {
	r.wg.Add(2)
	go r.readLoop()
	go r.readRTCPLoop()
}

// readLoop reads the track until it ends, then finishes the Receiver. It counts as
// stopped (wait returns) before finish runs the OnClose functions, so those may close
// the publisher Peer without waiting for themselves.
func (r *Receiver) readLoop() {
	l := r.one
	write := r.writePacket
	for {
		n, _, err := r.track.Read(l.readBuf[:])
		if err != nil {
			l.in.end() // the socket goroutine is out: dropped is the track goroutine's again
			r.logger.Debug("published track ended", "track", r.trackID, "stream", r.streamID,
				"err", err, "malformed_packets", r.dropped)
			break
		}
		l.in.handle(r.in, l.readBuf[:n], write) // or the socket goroutine, once bound (rtpin.go)
	}
	r.wg.Done()
	r.finish()
}

// readRTCPLoop drains the publisher's RTCP for this track so the interceptors (receiver
// reports) see its sender reports.
func (r *Receiver) readRTCPLoop() {
	defer r.wg.Done()
	var buf [maxPacketSize]byte
	for {
		if _, _, err := r.rtpReceiver.Read(buf[:]); err != nil {
			return
		}
		r.uplink.lastRTCP.Store(time.Now().UnixNano())
	}
}

// writePacket takes one incoming RTP packet: parse, store, fan out. Read goroutine only;
// no allocation.
func (r *Receiver) writePacket(raw []byte, now time.Time) error {
	l := r.one
	p := &l.pkt
	if err := parseRTP(raw, p); err != nil {
		r.dropped++
		return err
	}
	r.uplink.observe(raw, p, r.codec.ClockRate, now)
	if r.keyframe != nil {
		p.Keyframe = r.keyframe(p.Payload)
	}
	if p.Keyframe {
		l.lastKeyNs.Store(now.UnixNano())
	}
	r.buffer.put(p)
	l.keyframes.note(p)
	for _, d := range *r.downTracks.Load() {
		d.forward(l, p, now)
	}
	return nil
}

// layerCount is the number of layers DownTracks choose from: 1 for a single-layer track.
func (r *Receiver) layerCount() int {
	if r.sim != nil {
		return len(r.sim.layers)
	}
	return 1
}

// layerAt is layer i (0 ≤ i < layerCount).
func (r *Receiver) layerAt(i int) *layer {
	if r.sim != nil {
		return r.sim.layers[i]
	}
	return r.one
}
