package client

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// RIDURI is the RTP stream ID header extension that names a simulcast layer.
const RIDURI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"

// SimulcastLayer is one synthetic simulcast layer of the Publisher's video.
type SimulcastLayer struct {
	RID           string
	Width, Height uint16 // written in the layer's keyframes (VP8 frame header, H.264 SPS)
	Bitrate       int    // bits per second; keyframes are three times a frame's size
	// FPS is the layer's frame rate (0: PublisherConfig.VideoFPS). Each layer sends on its
	// own clock; KeyframeInterval counts the layer's own frames.
	FPS int
}

// DefaultSimulcastLayers are the reference media model's layers: q 320×180 at 15 fps and
// 150 kbit/s, h 640×360 at 20 fps and 500 kbit/s, f 1280×720 at 30 fps and 1.7 Mbit/s.
func DefaultSimulcastLayers() []SimulcastLayer {
	return []SimulcastLayer{
		{RID: "q", Width: 320, Height: 180, Bitrate: 150_000, FPS: 15},
		{RID: "h", Width: 640, Height: 360, Bitrate: 500_000, FPS: 20},
		{RID: "f", Width: 1280, Height: 720, Bitrate: 1_700_000, FPS: 30},
	}
}

// The synthetic block of a simulcast packet carries its layer index + 1 in flag bits
// 3..4 (0: not simulcast).
const (
	flagLayerShift = 3
	flagLayerMask  = 0x3 << flagLayerShift
	maxSimulcast   = 3
)

// LayerOf returns the simulcast layer index a synthetic block was sent on, -1 when it
// was not sent as simulcast.
func LayerOf(s Synthetic) int {
	return int(s.Flags&flagLayerMask>>flagLayerShift) - 1
}

// simulcastVideo is the Publisher's simulcast video: one transceiver, one track per layer.
type simulcastVideo struct {
	transceiver *webrtc.RTPTransceiver
	sender      *webrtc.RTPSender
	layers      []*simulcastTrack
}

type simulcastTrack struct {
	index          int
	cfg            SimulcastLayer
	track          *webrtc.TrackLocalStaticRTP
	keyframeWanted atomic.Bool
	packets        atomic.Uint32
	frames         atomic.Uint32
	keyframes      atomic.Uint32
	requests       atomic.Uint32
	paused         atomic.Bool // not encoded nor sent (SetSimulcastLayerActive)
}

// SimulcastLayerStats counts what the Publisher sent on one layer.
type SimulcastLayerStats struct {
	RID              string
	Packets          uint32
	Frames           uint32
	Keyframes        uint32
	KeyframeRequests uint32 // PLI and FIR for this layer's SSRC
	Paused           bool   // the server said no subscriber needs it (onPublishLayersChanged)
}

// SetSimulcastLayerActive stops (false) or resumes (true) encoding and sending the
// simulcast layer rid, as onPublishLayersChanged asks; a resumed layer starts with a
// keyframe. It reports whether the layer exists.
func (p *Publisher) SetSimulcastLayerActive(rid string, active bool) bool {
	if p.simulcast == nil {
		return false
	}
	for _, l := range p.simulcast.layers {
		if l.cfg.RID == rid {
			if l.paused.Swap(!active) && active {
				l.keyframeWanted.Store(true)
			}
			return true
		}
	}
	return false
}

func validateSimulcast(layers []SimulcastLayer, codec VideoCodec) error {
	if len(layers) > maxSimulcast {
		return fmt.Errorf("client: %d simulcast layers, at most %d: %w", len(layers), maxSimulcast, ErrInvalidConfig)
	}
	seen := map[string]bool{}
	for _, l := range layers {
		odd := codec == VideoCodecH264 && (l.Width%2 != 0 || l.Height%2 != 0)
		if l.RID == "" || seen[l.RID] || l.Width == 0 || l.Height == 0 || l.Bitrate <= 0 || l.FPS < 0 || l.FPS > maxVideoFPS || odd {
			return fmt.Errorf("client: simulcast layer %+v: %w", l, ErrInvalidConfig)
		}
		seen[l.RID] = true
	}
	return nil
}

// addSimulcastVideo adds the video transceiver with one encoding per layer.
func (p *Publisher) addSimulcastVideo() (*simulcastVideo, error) {
	if err := validateSimulcast(p.cfg.Simulcast, p.cfg.VideoCodec); err != nil {
		return nil, err
	}
	v := &simulcastVideo{}
	capability := p.cfg.VideoCodec.capability()
	for i, l := range p.cfg.Simulcast {
		track, err := webrtc.NewTrackLocalStaticRTP(capability, "video", p.cfg.StreamID, webrtc.WithRTPStreamID(l.RID))
		if err != nil {
			return nil, fmt.Errorf("client: new simulcast track %s: %w", l.RID, err)
		}
		if l.FPS == 0 {
			l.FPS = p.cfg.VideoFPS
		}
		if i == 0 {
			tr, err := p.addTransceiver(track, capability)
			if err != nil {
				return nil, fmt.Errorf("client: add simulcast transceiver: %w", err)
			}
			v.transceiver, v.sender = tr, tr.Sender()
		} else if err := v.sender.AddEncoding(track); err != nil {
			return nil, fmt.Errorf("client: add simulcast encoding %s: %w", l.RID, err)
		}
		v.layers = append(v.layers, &simulcastTrack{index: i, cfg: l, track: track})
	}
	for _, l := range v.layers {
		p.wg.Add(1)
		go p.readSimulcastRTCP(v.sender, l)
	}
	return v, nil
}

// readSimulcastRTCP turns PLI/FIR for one layer into a keyframe on its next frame.
func (p *Publisher) readSimulcastRTCP(s *webrtc.RTPSender, l *simulcastTrack) {
	p.countRTCP(func() ([]rtcp.Packet, interceptor.Attributes, error) { return s.ReadSimulcastRTCP(l.cfg.RID) }, func() {
		l.requests.Add(1)
		l.keyframeWanted.Store(true)
	})
}

// SimulcastStats returns what each simulcast layer sent; nil without simulcast.
func (p *Publisher) SimulcastStats() []SimulcastLayerStats {
	if p.simulcast == nil {
		return nil
	}
	out := make([]SimulcastLayerStats, len(p.simulcast.layers))
	for i, l := range p.simulcast.layers {
		out[i] = SimulcastLayerStats{
			RID: l.cfg.RID, Packets: l.packets.Load(), Frames: l.frames.Load(),
			Keyframes: l.keyframes.Load(), KeyframeRequests: l.requests.Load(), Paused: l.paused.Load(),
		}
	}
	return out
}

// simulcastLayerState is one layer's sending state, owned by the send loop.
type simulcastLayerState struct {
	pkt       rtp.Packet
	codec     frameCodec
	baseTS    uint32
	pictureID uint16
	tl0       uint8
	packetSeq uint32
	frame     uint32        // the layer's next frame number
	interval  time.Duration // 1/FPS
	due       time.Time     // when the layer's next frame is due
}

// sendSimulcast sends each layer's frames on the layer's own clock (its FPS), with RTP
// timestamps from the time elapsed since the start. pion's RTPSender does not write the
// mid and rid header extensions on simulcast encodings, so each packet carries them here
// (the server needs them to tell the layers apart). Every VP8 frame is a base-layer
// frame: picture ID and TL0PICIDX both advance by one per frame.
func (p *Publisher) sendSimulcast() {
	defer p.sending.Done()
	v := p.simulcast
	var midID, ridID uint8
	for _, ext := range v.sender.GetParameters().HeaderExtensions {
		switch ext.URI {
		case MidURI:
			midID = uint8(ext.ID)
		case RIDURI:
			ridID = uint8(ext.ID)
		}
	}
	mid := []byte(v.transceiver.Mid())
	start := time.Now()
	states := make([]*simulcastLayerState, len(v.layers))
	for i, l := range v.layers {
		interval := time.Second / time.Duration(l.cfg.FPS)
		st := &simulcastLayerState{
			codec:  newFrameCodec(p.cfg.VideoCodec, l.cfg.Width, l.cfg.Height),
			baseTS: rand.Uint32(), pictureID: uint16(rand.Uint32()) & 0x7fff, tl0: uint8(rand.Uint32()),
			pkt:      rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(rand.Uint32())}},
			interval: interval, due: start.Add(interval),
		}
		if midID != 0 {
			_ = st.pkt.SetExtension(midID, mid)
		}
		if ridID != 0 {
			_ = st.pkt.SetExtension(ridID, []byte(l.cfg.RID))
		}
		states[i] = st
	}
	buf := make([]byte, 0, MaxPayloadSize)
	timer := time.NewTimer(time.Until(nextDue(states)))
	defer timer.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-timer.C:
		}
		now := time.Now()
		for i, l := range v.layers {
			st := states[i]
			if st.due.After(now) {
				continue
			}
			// A late wake-up skips the frames it missed, as a ticker would.
			for !st.due.After(now) {
				st.due = st.due.Add(st.interval)
			}
			if l.paused.Load() || p.videoOff.Load() {
				continue
			}
			if err := p.sendSimulcastFrame(buf, l, st, now.Sub(start), now.UnixNano()); err != nil {
				p.log.Debug("simulcast write ended", "rid", l.cfg.RID, "err", err)
				return
			}
		}
		timer.Reset(time.Until(nextDue(states)))
	}
}

// nextDue is the earliest time a layer's frame is due.
func nextDue(states []*simulcastLayerState) time.Time {
	next := states[0].due
	for _, st := range states[1:] {
		if st.due.Before(next) {
			next = st.due
		}
	}
	return next
}

// sendSimulcastFrame sends the layer's next frame.
func (p *Publisher) sendSimulcastFrame(buf []byte, l *simulcastTrack, st *simulcastLayerState, elapsed time.Duration, sentAt int64) error {
	keyframe := st.frame%uint32(p.cfg.KeyframeInterval) == 0 || l.keyframeWanted.Swap(false)
	size := l.cfg.Bitrate / 8 / l.cfg.FPS
	if keyframe {
		size *= 3
	}
	st.pkt.Timestamp = st.baseTS + uint32(elapsed*videoClockRate/time.Second)
	err := packetizeFrame(buf, videoFrame{
		number: st.frame, keyframe: keyframe, size: size, firstSeq: st.packetSeq, sentAtNs: sentAt,
		simulcast: true, layer: l.index, pictureID: st.pictureID, tl0: st.tl0,
	}, st.codec, func(payload []byte, last bool) error {
		st.pkt.Payload, st.pkt.Marker = payload, last
		if err := l.track.WriteRTP(&st.pkt); err != nil {
			return err
		}
		st.packetSeq++
		l.packets.Store(st.packetSeq)
		p.videoPackets.Add(1)
		st.pkt.SequenceNumber++
		return nil
	})
	if err != nil {
		return err
	}
	st.pictureID = (st.pictureID + 1) & 0x7fff
	st.tl0++
	st.frame++
	l.frames.Store(st.frame)
	p.videoFrames.Add(1)
	if keyframe {
		l.keyframes.Add(1)
		p.keyframes.Add(1)
	}
	return nil
}

// LayerStats is what a Subscriber saw of the simulcast layers on one video track. The
// layer and numbering counts follow RTP sequence order: a packet that arrives after its
// successors (lost and repaired by NACK, or reordered) is put in its place among the
// last ones (docs/decisions.md D224); a missing frame start counts as a break while it
// is missing.
type LayerStats struct {
	Packets       uint64 // packets sent as simulcast (duplicates included)
	Layer         int    // layer of the packet with the highest sequence number
	LayerChanges  uint64 // packets whose layer differs from the previous packet's
	BadSwitches   uint64 // layer changes not at the first packet of a keyframe
	Width, Height int    // from the last VP8 keyframe header (0 for H.264)
	Frames        [maxSimulcast]uint64
	// PictureIDBreaks and TL0Breaks count the frame starts whose picture ID (TL0PICIDX)
	// is not the previous frame start's + 1.
	PictureIDBreaks uint64
	TL0Breaks       uint64
}

// How many packets and frame starts a layerCounter keeps to place late ones: at f's
// ~130 packets and 30 frames a second, 8 and 17 s; an older one is not placed.
const (
	maxOrderedPackets = 1024
	maxFrameStarts    = 512
)

// layerPacket is what a packet says for layer changes.
type layerPacket struct {
	layer    int
	keyStart bool
}

// frameStart is one VP8 frame start's numbering.
type frameStart struct {
	pic uint16
	tl0 uint8
}

// layerCounter accumulates LayerStats; owned by the trackCounter (under its mutex).
type layerCounter struct {
	stats   LayerStats
	packets seqOrder[layerPacket]
	starts  seqOrder[frameStart]
}

// observe records one video packet of codec whose synthetic block parsed, seq its
// extended RTP sequence number (fresh: not a duplicate). Picture ID and TL0PICIDX
// continuity and the picture size are VP8's (H.264 leaves them at zero).
func (c *layerCounter) observe(codec VideoCodec, payload []byte, block Synthetic, seq uint64, fresh bool) {
	layer := LayerOf(block)
	if layer < 0 {
		return
	}
	vp8 := codec == VideoCodecVP8
	if vp8 && (len(payload) < 5 || payload[0]&vp8DescExtended == 0 || payload[1]&(vp8ExtPictureID|vp8ExtTL0PicIdx) != vp8ExtPictureID|vp8ExtTL0PicIdx || payload[2]&vp8PictureIDLong == 0) {
		return
	}
	st := &c.stats
	start := block.Flags&FlagFrameStart != 0
	keyStart := start && block.Flags&FlagKeyframe != 0
	st.Packets++
	if fresh {
		c.packets.limit = maxOrderedPackets
		c.packets.place(seq, layerPacket{layer: layer, keyStart: keyStart}, func(a, b layerPacket, sign int) {
			if a.layer != b.layer {
				add(&st.LayerChanges, sign)
				if !b.keyStart {
					add(&st.BadSwitches, sign)
				}
			}
		})
		newest, _ := c.packets.last()
		st.Layer = newest.layer
	}
	if !start {
		return
	}
	st.Frames[layer]++
	if !vp8 {
		return
	}
	if fresh {
		c.starts.limit = maxFrameStarts
		c.starts.place(seq, frameStart{pic: binary.BigEndian.Uint16(payload[2:]) & 0x7fff, tl0: payload[4]}, func(a, b frameStart, sign int) {
			if b.pic != (a.pic+1)&0x7fff {
				add(&st.PictureIDBreaks, sign)
			}
			if b.tl0 != a.tl0+1 {
				add(&st.TL0Breaks, sign)
			}
		})
	}
	if keyStart && len(payload) >= 5+vp8KeyframeHeader {
		h := payload[5:]
		st.Width = int(binary.LittleEndian.Uint16(h[6:]) & 0x3fff)
		st.Height = int(binary.LittleEndian.Uint16(h[8:]) & 0x3fff)
	}
}
