package client

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// VideoCodec is the codec the Publisher's synthetic video is framed as.
type VideoCodec string

// Synthetic video codecs.
const (
	VideoCodecVP8  VideoCodec = "vp8"  // RFC 7741 payload descriptor and VP8 frame header
	VideoCodecH264 VideoCodec = "h264" // RFC 6184 packetization mode 1, Constrained Baseline 42e01f
)

// h264FmtpLine is the H.264 format the client offers and sends; the server registers the
// same profile and packetization mode.
const h264FmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// ParseVideoCodec accepts "vp8" and "h264" (any case); "" is VP8.
func ParseVideoCodec(s string) (VideoCodec, error) {
	switch VideoCodec(strings.ToLower(s)) {
	case "", VideoCodecVP8:
		return VideoCodecVP8, nil
	case VideoCodecH264:
		return VideoCodecH264, nil
	}
	return "", fmt.Errorf("client: video codec %q (vp8, h264): %w", s, ErrInvalidConfig)
}

// VideoCodecOfMimeType returns the synthetic codec of a negotiated mime type
// ("video/VP8", "video/H264"); false for any other.
func VideoCodecOfMimeType(mime string) (VideoCodec, bool) {
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		return VideoCodecVP8, true
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		return VideoCodecH264, true
	}
	return "", false
}

// capability is the codec the Publisher's video track is created with.
func (c VideoCodec) capability() webrtc.RTPCodecCapability {
	if c == VideoCodecH264 {
		return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: videoClockRate, SDPFmtpLine: h264FmtpLine}
	}
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: videoClockRate}
}

// videoFrame describes one synthetic video frame to packetize.
type videoFrame struct {
	number    uint32
	keyframe  bool
	size      int    // filler bytes in the whole frame
	firstSeq  uint32 // synthetic sequence of the frame's first packet
	sentAtNs  int64
	simulcast bool // the block's flags carry layer
	layer     int
	pictureID uint16 // VP8 extended descriptor (simulcast)
	tl0       uint8
	// data, when not nil, is a real encoded frame (VP8 from a file, fileplayer.go): its
	// packets carry the codec's descriptor and consecutive slices of data instead of
	// synthetic blocks (the frame header is part of data); size is then len(data).
	data []byte
}

// frameCodec writes a codec's framing around the synthetic blocks of a frame.
type frameCodec interface {
	// appendLead appends, for a frame that has one, the packet the codec sends before the
	// frame's data (H.264: the keyframe's parameter sets), carrying block; ok is false
	// (and buf unchanged) when the frame has none.
	appendLead(buf []byte, f videoFrame, block Synthetic) (payload []byte, ok bool)
	// dataHeaderLen is the most the header of a data packet takes (first: the frame's first
	// data packet).
	dataHeaderLen(f videoFrame, first bool) int
	// appendDataHeader appends the header of a data packet; its synthetic block follows.
	appendDataHeader(buf []byte, f videoFrame, first, last bool) []byte
}

// packetizeFrame splits f into RTP payloads of at most MaxPayloadSize bytes, built in buf
// (capacity MaxPayloadSize), and hands each to emit; last marks the frame's final packet.
// Every payload carries one synthetic block after the codec's header, or, for a real
// frame (f.data), the next slice of the frame's bytes.
func packetizeFrame(buf []byte, f videoFrame, codec frameCodec, emit func(payload []byte, last bool) error) error {
	seq := f.firstSeq
	base := uint8(0)
	if f.simulcast {
		base = uint8(f.layer+1) << flagLayerShift
	}
	if f.keyframe {
		base |= FlagKeyframe
	}
	start := FlagFrameStart
	lead := Synthetic{Kind: PayloadVideo, Flags: base | start, Seq: seq, Frame: f.number, SentAtNs: f.sentAtNs}
	if f.data == nil {
		if payload, ok := codec.appendLead(buf[:0], f, lead); ok {
			if err := emit(payload, false); err != nil {
				return err
			}
			seq++
			start = 0
		}
	}
	for remaining, first := f.size, true; ; first = false {
		room := MaxPayloadSize - codec.dataHeaderLen(f, first)
		var n int // bytes of f.data, or filler bytes of the block
		if f.data != nil {
			n = min(remaining, room)
		} else {
			n = max(min(remaining, room-syntheticOverheadLen), 0)
		}
		remaining -= n
		last := remaining <= 0
		b := codec.appendDataHeader(buf[:0], f, first, last)
		var payload []byte
		if f.data != nil {
			off := len(f.data) - remaining - n
			payload = append(b, f.data[off:off+n]...)
		} else {
			flags := base
			if first {
				flags |= start
			}
			if last {
				flags |= FlagFrameEnd
			}
			payload = appendSynthetic(b, Synthetic{Kind: PayloadVideo, Flags: flags, Seq: seq, Frame: f.number, SentAtNs: f.sentAtNs, Filler: n})
		}
		if err := emit(payload, last); err != nil {
			return err
		}
		if last {
			return nil
		}
		seq++
	}
}

// vp8Codec frames VP8: a payload descriptor on every packet (extended with a 15-bit
// picture ID and TL0PICIDX for simulcast) and, for a synthetic frame, the frame header on
// the first (a real frame's bytes start with their own).
type vp8Codec struct {
	width, height uint16 // written in keyframe headers
}

func (vp8Codec) appendLead(buf []byte, _ videoFrame, _ Synthetic) ([]byte, bool) { return buf, false }

func (vp8Codec) dataHeaderLen(f videoFrame, first bool) int {
	n := 1
	if f.simulcast {
		n = 5
	}
	if first && f.data == nil {
		n += vp8InterHeader
		if f.keyframe {
			n += vp8KeyframeHeader - vp8InterHeader
		}
	}
	return n
}

func (c vp8Codec) appendDataHeader(buf []byte, f videoFrame, first, _ bool) []byte {
	desc := byte(0)
	if first {
		desc |= vp8DescStart
	}
	if f.simulcast {
		buf = append(buf, desc|vp8DescExtended, vp8ExtPictureID|vp8ExtTL0PicIdx)
		buf = binary.BigEndian.AppendUint16(buf, 0x8000|f.pictureID&0x7fff)
		buf = append(buf, f.tl0)
	} else {
		buf = append(buf, desc)
	}
	if first && f.data == nil {
		buf = appendVP8FrameHeader(buf, f.keyframe, f.size, c.width, c.height)
	}
	return buf
}

// h264Codec frames H.264 (payload.go): a keyframe starts with a STAP-A of SPS, PPS and an
// SEI holding a block; a frame's slice goes as one NAL unit or as FU-A fragments.
type h264Codec struct {
	parameterSets []byte // STAP-A header, SPS and PPS (h264ParameterSets)
}

func newH264Codec(width, height uint16) h264Codec {
	return h264Codec{parameterSets: h264ParameterSets(width, height)}
}

func (c h264Codec) appendLead(buf []byte, f videoFrame, block Synthetic) ([]byte, bool) {
	if !f.keyframe {
		return buf, false
	}
	block.Filler = 0
	blockLen := syntheticOverheadLen
	buf = append(buf, c.parameterSets...)
	buf = binary.BigEndian.AppendUint16(buf, uint16(h264SEIBlockOverhead+blockLen))
	buf = append(buf, h264NALSEI, h264SEIUserDataUnregistered, byte(len(h264SEIUUID)+blockLen))
	buf = append(buf, h264SEIUUID[:]...)
	buf = appendSynthetic(buf, block)
	return append(buf, 0x80), true
}

func (h264Codec) dataHeaderLen(videoFrame, bool) int { return h264FUHeaderLen }

func (h264Codec) appendDataHeader(buf []byte, f videoFrame, first, last bool) []byte {
	nal, nri := byte(h264NALSlice), byte(h264NRIRef)
	if f.keyframe {
		nal, nri = h264NALIDR, h264NRIHigh
	}
	if first && last {
		return append(buf, nri|nal)
	}
	fu := nal
	if first {
		fu |= h264FUStart
	}
	if last {
		fu |= h264FUEnd
	}
	return append(buf, nri|h264FUA, fu)
}

// newFrameCodec returns the framing of codec for a picture of width×height.
func newFrameCodec(codec VideoCodec, width, height uint16) frameCodec {
	if codec == VideoCodecH264 {
		return newH264Codec(width, height)
	}
	return vp8Codec{width: width, height: height}
}
