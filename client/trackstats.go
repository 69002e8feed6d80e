package client

import (
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// TrackStats describes one remote track as a Subscriber saw it.
type TrackStats struct {
	TrackID  string
	StreamID string // the publisher's user ID when the server is Parley
	Kind     webrtc.RTPCodecType
	SSRC     uint32

	Packets      uint64 // every packet read, duplicates included
	PayloadBytes uint64 // RTP payload bytes of those packets
	Unique       uint64 // distinct RTP sequence numbers
	Duplicates   uint64 // packets whose RTP sequence number was seen before
	OutOfOrder   uint64 // packets older than the newest one seen (retransmissions arrive so)
	SeqGaps      uint64 // RTP sequence numbers missing between the lowest and highest received

	// Source is what the packets carry, decided from the first packets with a payload
	// (ClassifyBlock): synthetic blocks, or real media (a Publisher's media file). Real
	// media has no block: every packet counts in PayloadErrors (so integrity checks of
	// synthetic media stay strict), the block fields stay zero and latency is absent
	// (Latencies 0); the RTP figures, Frames and Keyframes are measured all the same.
	Source MediaSource
	// Jitter is the RFC 3550 interarrival jitter from the RTP timestamps (Jitter).
	Jitter time.Duration
	// Frames counts video frames: new packets with the RTP marker bit.
	Frames uint64

	PayloadErrors uint64     // packets that are not in the synthetic format or fail its checks (real media: all)
	FirstBlockSeq uint32     // lowest synthetic sequence received
	LastBlockSeq  uint32     // highest synthetic sequence received
	BlockGaps     uint64     // synthetic sequences missing between FirstBlockSeq and LastBlockSeq
	Codec         VideoCodec // of a video track: from the negotiated mime type
	Keyframes     uint64     // video frame starts flagged keyframe (real media: by the VP8 frame tag)
	// CompleteKeyframes counts keyframes received whole (start to marker packet, no
	// sequence gap); FirstCompleteKeyframe is when the first one was complete.
	CompleteKeyframes     uint64
	FirstCompleteKeyframe time.Time
	// FirstKeyframe: the track's first video packet in sequence order started a keyframe
	// (a packet lost on the way and repaired by a retransmission arrives after later ones:
	// the first to arrive need not be the first one sent).
	FirstKeyframe bool
	PLIsSent      uint64 // keyframe requests sent because the video did not start with one
	// Latencies counts the packets whose latency (receive time − the block's send time)
	// was measured; when 0 (real media), LatencyMean and LatencyMax are absent, not 0.
	Latencies      uint64
	LatencyMean    time.Duration
	LatencyMax     time.Duration
	AudioLevel     int        // last ssrc-audio-level value (V bit included), -1 when none was seen
	Ended          bool       // the track ended (read returned io.EOF)
	EndedOtherwise bool       // the read loop stopped with another error (PeerConnection closed)
	Simulcast      LayerStats // video sent by a simulcast Publisher (simulcast.go)
}

// seqWindowMargin lets packets older than the first one received (retransmissions that
// overtake nothing) still be recorded.
const seqWindowMargin = 1 << 12

// seqSet records which sequence numbers (extended to 64 bits) were seen.
type seqSet struct {
	started  bool
	base     uint64 // bit 0 of bits is sequence base
	lo, hi   uint64
	bits     []uint64
	distinct uint64
}

// add records seq and reports whether it was new.
func (s *seqSet) add(seq uint64) bool {
	if !s.started {
		s.started = true
		s.base = seq - min(seq, seqWindowMargin)
		s.lo, s.hi = seq, seq
	}
	if seq < s.base {
		return true // older than anything trackable: counted, never a duplicate
	}
	i := seq - s.base
	for uint64(len(s.bits))*64 <= i {
		s.bits = append(s.bits, 0)
	}
	word, bit := i/64, uint64(1)<<(i%64)
	if s.bits[word]&bit != 0 {
		return false
	}
	s.bits[word] |= bit
	s.distinct++
	s.lo, s.hi = min(s.lo, seq), max(s.hi, seq)
	return true
}

func (s *seqSet) gaps() uint64 {
	if !s.started {
		return 0
	}
	return s.hi - s.lo + 1 - s.distinct
}

// trackCounter accumulates one track's stats. The track's read goroutine writes, anyone
// reads a snapshot; mu guards everything.
type trackCounter struct {
	mu          sync.Mutex
	stats       TrackStats
	payloadKind PayloadKind
	codec       VideoCodec // of a video track
	levelExtID  uint8
	lastRTPSeq  uint16
	extRTPSeq   uint64
	rtpSeqs     seqSet
	blockSeqs   seqSet
	latencySum  time.Duration
	sawFirst    bool
	layers      layerCounter
	keyOpen     bool   // a keyframe is being received without a gap so far
	keyNext     uint64 // its next extended RTP sequence number
	jitter      Jitter
}

// newTrackCounter counts a track of kind; codec frames its video (VP8 when unknown).
func newTrackCounter(trackID, streamID string, kind webrtc.RTPCodecType, codec VideoCodec, levelExtID uint8) *trackCounter {
	if codec == "" {
		codec = VideoCodecVP8
	}
	c := &trackCounter{levelExtID: levelExtID, payloadKind: PayloadAudio, codec: codec, jitter: NewJitter(opusClockRate)}
	if kind == webrtc.RTPCodecTypeVideo {
		c.payloadKind = PayloadVideo
		c.jitter = NewJitter(videoClockRate)
	}
	c.stats = TrackStats{TrackID: trackID, StreamID: streamID, Kind: kind, AudioLevel: -1}
	if kind == webrtc.RTPCodecTypeVideo {
		c.stats.Codec = codec
	}
	return c
}

// add records one packet and reports whether it starts a keyframe.
func (c *trackCounter) add(pkt *rtp.Packet, now time.Time) (keyframeStart bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &c.stats
	st.Packets++
	st.PayloadBytes += uint64(len(pkt.Payload))
	st.SSRC = pkt.SSRC
	first := !c.sawFirst
	c.sawFirst = true
	// Extend the 16-bit sequence number relative to the last one seen.
	if first {
		c.extRTPSeq = 1<<32 + uint64(pkt.SequenceNumber)
	} else {
		c.extRTPSeq = uint64(int64(c.extRTPSeq) + int64(int16(pkt.SequenceNumber-c.lastRTPSeq)))
	}
	c.lastRTPSeq = pkt.SequenceNumber
	ext := c.extRTPSeq
	newest := first || ext > c.rtpSeqs.hi
	earliest := first || ext < c.rtpSeqs.lo // the lowest sequence so far: it says FirstKeyframe
	if !first && ext < c.rtpSeqs.hi {
		st.OutOfOrder++
	}
	fresh := c.rtpSeqs.add(ext)
	if fresh {
		st.Unique++
	} else {
		st.Duplicates++
	}
	if newest {
		c.jitter.Observe(pkt.Timestamp, now)
	}
	if c.levelExtID != 0 {
		if v := pkt.GetExtension(c.levelExtID); len(v) >= 1 {
			st.AudioLevel = int(v[0])
		}
	}
	video := c.payloadKind == PayloadVideo
	if video && fresh && pkt.Marker {
		st.Frames++
	}
	if st.Source == SourceUnknown && len(pkt.Payload) > 0 {
		st.Source = c.classify(pkt.Payload)
	}
	if st.Source != SourceSynthetic {
		// Real media, or not decided yet: no block (a payload error), and only the codec
		// framing says anything.
		st.PayloadErrors++
		if !video {
			return false
		}
		keyStart, err := VideoKeyframeStart(c.codec, pkt.Payload)
		if err != nil {
			return false
		}
		c.observeKeyframe(keyStart, earliest, ext, pkt.Marker, now)
		return keyStart
	}
	var block Synthetic
	var err error
	if video {
		block, err = ParseVideoPayload(c.codec, pkt.Payload)
	} else {
		block, err = ParsePacketPayload(PayloadAudio, pkt.Payload)
	}
	if err != nil {
		st.PayloadErrors++
		return false
	}
	if video {
		c.layers.observe(c.codec, pkt.Payload, block, ext, fresh)
		keyframeStart = block.Flags&(FlagKeyframe|FlagFrameStart) == FlagKeyframe|FlagFrameStart
		c.observeKeyframe(keyframeStart, earliest, ext, pkt.Marker, now)
	}
	c.blockSeqs.add(uint64(block.Seq))
	st.FirstBlockSeq, st.LastBlockSeq = uint32(c.blockSeqs.lo), uint32(c.blockSeqs.hi)
	latency := now.Sub(time.Unix(0, block.SentAtNs))
	c.latencySum += latency
	st.Latencies++
	st.LatencyMax = max(st.LatencyMax, latency)
	return keyframeStart
}

// classify decides the track's source from one packet's payload (ClassifyBlock); a video
// payload whose framing does not parse decides nothing.
func (c *trackCounter) classify(payload []byte) MediaSource {
	if c.payloadKind != PayloadVideo {
		return ClassifyBlock(payload)
	}
	block, err := VideoBlock(c.codec, payload)
	if err != nil {
		return SourceUnknown
	}
	return ClassifyBlock(block)
}

// observeKeyframe counts a video packet toward keyframes: keyStart says it starts one,
// earliest that no packet of a lower sequence number arrived before it, ext is its
// extended sequence number.
func (c *trackCounter) observeKeyframe(keyStart, earliest bool, ext uint64, marker bool, now time.Time) {
	st := &c.stats
	if earliest {
		st.FirstKeyframe = keyStart
	}
	if keyStart {
		st.Keyframes++
		c.keyOpen, c.keyNext = true, ext
	}
	if !c.keyOpen {
		return
	}
	switch {
	case ext != c.keyNext:
		c.keyOpen = false
	case marker:
		c.keyOpen = false
		st.CompleteKeyframes++
		if st.FirstCompleteKeyframe.IsZero() {
			st.FirstCompleteKeyframe = now
		}
	default:
		c.keyNext++
	}
}

func (c *trackCounter) pliSent() {
	c.mu.Lock()
	c.stats.PLIsSent++
	c.mu.Unlock()
}

func (c *trackCounter) badPacket() {
	c.mu.Lock()
	c.stats.Packets++
	c.stats.PayloadErrors++
	c.mu.Unlock()
}

func (c *trackCounter) end(eof bool) {
	c.mu.Lock()
	if eof {
		c.stats.Ended = true
	} else {
		c.stats.EndedOtherwise = true
	}
	c.mu.Unlock()
}

func (c *trackCounter) snapshot() TrackStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.SeqGaps = c.rtpSeqs.gaps()
	st.BlockGaps = c.blockSeqs.gaps()
	st.Simulcast = c.layers.stats
	st.Jitter = c.jitter.Value()
	if st.Latencies > 0 {
		st.LatencyMean = c.latencySum / time.Duration(st.Latencies)
	}
	return st
}
