package client

// MediaSource says what a received track carries: synthetic blocks (latency measurable)
// or real media such as a Publisher's media file (no send time).
type MediaSource uint8

// Media sources of a received track.
const (
	SourceUnknown   MediaSource = iota // no packet has decided yet
	SourceSynthetic                    // packets carry a verified synthetic block
	SourceReal                         // packets carry real media (no synthetic block)
)

func (s MediaSource) String() string {
	switch s {
	case SourceSynthetic:
		return "synthetic"
	case SourceReal:
		return "real"
	}
	return "unknown"
}

// ClassifyBlock decides a track's source from what sits where the synthetic block would
// (the whole payload for Opus, VideoBlock's result for video) of one packet with a
// payload: a block whose CRC verifies is synthetic; bytes without the block's magic are
// real media; the magic without a valid block (real media that happens to start with
// "PY") decides nothing, so the next packet decides.
func ClassifyBlock(block []byte) MediaSource {
	if _, err := ParseSynthetic(block); err == nil {
		return SourceSynthetic
	}
	if len(block) >= 2 && block[0] == syntheticMagic0 && block[1] == syntheticMagic1 {
		return SourceUnknown
	}
	return SourceReal
}

// VideoKeyframeStart reports whether a video RTP payload of codec starts a keyframe,
// from the codec framing alone (VP8: a start packet whose frame tag says keyframe; H.264:
// the first packet of an IDR access unit): what a receiver of real media goes by.
func VideoKeyframeStart(codec VideoCodec, payload []byte) (bool, error) {
	_, fr, err := splitVideoPayload(codec, payload)
	return fr.start && fr.keyframe, err
}
