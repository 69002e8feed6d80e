package client

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// The synthetic payload: every RTP packet the Publisher sends carries one block
//
//	magic "PY" (2) | kind (1) | flags (1) | seq (4) | frame (4) | sent-at unix ns (8) |
//	filler length (2) | filler (n) | CRC-32 IEEE of everything before (4)
//
// after the codec's own header. The filler is a pattern derived from seq, so a receiver
// can check every byte. seq counts packets per track from 0; frame counts video frames
// (0 for audio). Where the block sits:
//
//   - Opus: the block is the whole payload.
//   - VP8: after the payload descriptor and, on a frame's first packet, the VP8 frame
//     header (3 bytes, 10 for a keyframe); the block runs to the payload's end.
//   - H.264 (RFC 6184, packetization mode 1): a frame's slice (IDR for a keyframe, else
//     non-IDR) is one NAL unit whose data is the concatenation of the blocks of its
//     packets. A slice that fits one packet goes as a single NAL unit packet (NAL header,
//     then the block); a larger one as FU-A fragments (FU indicator, FU header, then one
//     block per fragment; S on the first, E on the last). A keyframe first sends a STAP-A
//     of the SPS (the layer's width and height, cropped when not a multiple of 16), the
//     PPS and a user data unregistered SEI (payload type 5, uuid "parley-synthetic") whose
//     user data is a block without filler, followed by the rbsp trailing byte 0x80. So
//     every packet, the STAP-A included, carries exactly one block and seq stays exact;
//     the STAP-A's block has FlagFrameStart, and the slice's first fragment then does
//     not. FlagFrameEnd is on the packet with the E bit (or the single NAL unit), and
//     FlagKeyframe on every packet of an IDR access unit. Block bytes are not escaped
//     (emulation prevention): receivers read NAL units from the RTP framing.
const (
	syntheticMagic0      = 'P'
	syntheticMagic1      = 'Y'
	syntheticHeaderLen   = 2 + 1 + 1 + 4 + 4 + 8 + 2
	syntheticTrailerLen  = 4
	syntheticOverheadLen = syntheticHeaderLen + syntheticTrailerLen
)

// PayloadKind says which synthetic track a block belongs to.
type PayloadKind uint8

// Payload kinds.
const (
	PayloadAudio PayloadKind = 1
	PayloadVideo PayloadKind = 2
)

// Flags of a synthetic block (video).
const (
	FlagKeyframe   uint8 = 1 << 0 // the packet belongs to a keyframe
	FlagFrameStart uint8 = 1 << 1 // first packet of a frame
	FlagFrameEnd   uint8 = 1 << 2 // last packet of a frame (RTP marker set)
)

// Synthetic is a decoded synthetic block.
type Synthetic struct {
	Kind     PayloadKind
	Flags    uint8
	Seq      uint32
	Frame    uint32
	SentAtNs int64
	Filler   int
}

func fillerByte(seq uint32, i int) byte { return byte(seq*131 + uint32(i)*7) }

// appendSynthetic appends the block for s (with s.Filler filler bytes) to dst.
func appendSynthetic(dst []byte, s Synthetic) []byte {
	start := len(dst)
	dst = append(dst, syntheticMagic0, syntheticMagic1, byte(s.Kind), s.Flags)
	dst = binary.BigEndian.AppendUint32(dst, s.Seq)
	dst = binary.BigEndian.AppendUint32(dst, s.Frame)
	dst = binary.BigEndian.AppendUint64(dst, uint64(s.SentAtNs))
	dst = binary.BigEndian.AppendUint16(dst, uint16(s.Filler))
	for i := 0; i < s.Filler; i++ {
		dst = append(dst, fillerByte(s.Seq, i))
	}
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// ParseSynthetic decodes and verifies a synthetic block that fills b exactly.
func ParseSynthetic(b []byte) (Synthetic, error) {
	if len(b) < syntheticOverheadLen {
		return Synthetic{}, fmt.Errorf("synthetic block of %d bytes, at least %d: %w", len(b), syntheticOverheadLen, ErrBadPayload)
	}
	if b[0] != syntheticMagic0 || b[1] != syntheticMagic1 {
		return Synthetic{}, fmt.Errorf("synthetic block magic %#x %#x: %w", b[0], b[1], ErrBadPayload)
	}
	s := Synthetic{
		Kind:     PayloadKind(b[2]),
		Flags:    b[3],
		Seq:      binary.BigEndian.Uint32(b[4:]),
		Frame:    binary.BigEndian.Uint32(b[8:]),
		SentAtNs: int64(binary.BigEndian.Uint64(b[12:])),
		Filler:   int(binary.BigEndian.Uint16(b[20:])),
	}
	if s.Kind != PayloadAudio && s.Kind != PayloadVideo {
		return Synthetic{}, fmt.Errorf("synthetic block kind %d: %w", s.Kind, ErrBadPayload)
	}
	if want := syntheticOverheadLen + s.Filler; len(b) != want {
		return Synthetic{}, fmt.Errorf("synthetic block of %d bytes, header says %d: %w", len(b), want, ErrBadPayload)
	}
	body := b[:len(b)-syntheticTrailerLen]
	if got, want := binary.BigEndian.Uint32(b[len(body):]), crc32.ChecksumIEEE(body); got != want {
		return Synthetic{}, fmt.Errorf("synthetic block checksum %#08x, computed %#08x: %w", got, want, ErrBadPayload)
	}
	filler := body[syntheticHeaderLen:]
	for i, c := range filler {
		if c != fillerByte(s.Seq, i) {
			return Synthetic{}, fmt.Errorf("synthetic filler byte %d is %#x, want %#x: %w", i, c, fillerByte(s.Seq, i), ErrBadPayload)
		}
	}
	return s, nil
}

// VP8 payload descriptor bits (RFC 7741 §4.2).
const (
	vp8DescExtended   = 0x80
	vp8DescStart      = 0x10
	vp8DescPartition  = 0x07
	vp8ExtPictureID   = 0x80
	vp8ExtTL0PicIdx   = 0x40
	vp8ExtTID         = 0x20
	vp8ExtKeyIdx      = 0x10
	vp8PictureIDLong  = 0x80
	vp8KeyframeHeader = 10 // frame tag (3) + start code (3) + width, height (4)
	vp8InterHeader    = 3  // frame tag
)

var vp8StartCode = [3]byte{0x9d, 0x01, 0x2a}

// appendVP8FrameHeader appends the VP8 payload header of a frame's first packet: the
// 3-byte frame tag (RFC 6386 §9.1) and, for a keyframe, the start code and dimensions.
func appendVP8FrameHeader(dst []byte, keyframe bool, firstPartitionSize int, width, height uint16) []byte {
	tag := uint32(1<<4) | uint32(firstPartitionSize&0x7ffff)<<5 // version 0, show_frame
	if !keyframe {
		tag |= 1 // P bit: inter frame
	}
	dst = append(dst, byte(tag), byte(tag>>8), byte(tag>>16))
	if keyframe {
		dst = append(dst, vp8StartCode[:]...)
		dst = binary.LittleEndian.AppendUint16(dst, width&0x3fff)
		dst = binary.LittleEndian.AppendUint16(dst, height&0x3fff)
	}
	return dst
}

// VP8Packet is a parsed VP8 RTP payload.
type VP8Packet struct {
	Start    bool   // S bit: first packet of a partition
	Keyframe bool   // a frame's first packet whose frame tag says keyframe
	Payload  []byte // what follows the descriptor and, on a start packet, the frame header
}

// ParseVP8 parses the payload descriptor (any extension the SFU may have added) and,
// on the first packet of a frame, the frame header, and returns the rest.
func ParseVP8(b []byte) (VP8Packet, error) {
	if len(b) < 1 {
		return VP8Packet{}, fmt.Errorf("empty VP8 payload: %w", ErrBadPayload)
	}
	i := 1
	if b[0]&vp8DescExtended != 0 {
		if len(b) < 2 {
			return VP8Packet{}, fmt.Errorf("VP8 descriptor truncated: %w", ErrBadPayload)
		}
		ext := b[1]
		i = 2
		if ext&vp8ExtPictureID != 0 {
			if i >= len(b) {
				return VP8Packet{}, fmt.Errorf("VP8 picture id truncated: %w", ErrBadPayload)
			}
			if b[i]&vp8PictureIDLong != 0 {
				i += 2
			} else {
				i++
			}
		}
		if ext&vp8ExtTL0PicIdx != 0 {
			i++
		}
		if ext&(vp8ExtTID|vp8ExtKeyIdx) != 0 {
			i++
		}
		if i > len(b) {
			return VP8Packet{}, fmt.Errorf("VP8 descriptor extensions truncated: %w", ErrBadPayload)
		}
	}
	p := VP8Packet{Start: b[0]&vp8DescStart != 0 && b[0]&vp8DescPartition == 0}
	if p.Start {
		if len(b)-i < vp8InterHeader {
			return VP8Packet{}, fmt.Errorf("VP8 frame tag truncated: %w", ErrBadPayload)
		}
		p.Keyframe = b[i]&1 == 0
		if p.Keyframe {
			if len(b)-i < vp8KeyframeHeader {
				return VP8Packet{}, fmt.Errorf("VP8 keyframe header truncated: %w", ErrBadPayload)
			}
			if [3]byte(b[i+3:i+6]) != vp8StartCode {
				return VP8Packet{}, fmt.Errorf("VP8 keyframe start code % x: %w", b[i+3:i+6], ErrBadPayload)
			}
			i += vp8KeyframeHeader
		} else {
			i += vp8InterHeader
		}
	}
	p.Payload = b[i:]
	return p, nil
}

// ParsePacketPayload parses the RTP payload of a synthetic track of the given kind (video:
// VP8) and checks that the codec framing agrees with the block's flags.
func ParsePacketPayload(kind PayloadKind, payload []byte) (Synthetic, error) {
	switch kind {
	case PayloadAudio:
		s, err := ParseSynthetic(payload)
		if err == nil && s.Kind != PayloadAudio {
			return Synthetic{}, fmt.Errorf("video block on an audio track: %w", ErrBadPayload)
		}
		return s, err
	case PayloadVideo:
		return ParseVideoPayload(VideoCodecVP8, payload)
	default:
		return Synthetic{}, fmt.Errorf("payload kind %d: %w", kind, ErrBadPayload)
	}
}

// videoFraming is what a video packet's codec header says of the frame.
type videoFraming struct {
	start, end bool // first / last packet of the frame (end: unknown for VP8)
	keyframe   bool
	knowsEnd   bool // H.264 marks a frame's last packet in its framing
}

// VideoBlock returns the synthetic block a video RTP payload of codec carries, without
// verifying it (the bench reads its flags and send time cheaply).
func VideoBlock(codec VideoCodec, payload []byte) ([]byte, error) {
	block, _, err := splitVideoPayload(codec, payload)
	return block, err
}

func splitVideoPayload(codec VideoCodec, payload []byte) ([]byte, videoFraming, error) {
	switch codec {
	case VideoCodecVP8:
		vp8, err := ParseVP8(payload)
		if err != nil {
			return nil, videoFraming{}, err
		}
		return vp8.Payload, videoFraming{start: vp8.Start, keyframe: vp8.Keyframe}, nil
	case VideoCodecH264:
		h, err := ParseH264(payload)
		if err != nil {
			return nil, videoFraming{}, err
		}
		lead := h.Type == h264STAPA
		return h.Block, videoFraming{
			start:    lead || (h.NALType == h264NALSlice && h.Start),
			end:      !lead && h.End,
			keyframe: h.Keyframe(), knowsEnd: true,
		}, nil
	default:
		return nil, videoFraming{}, fmt.Errorf("video codec %q: %w", codec, ErrBadPayload)
	}
}

// ParseVideoPayload parses and verifies the RTP payload of a synthetic video track sent
// as codec, and checks that the codec framing agrees with the block's flags: VP8's start
// bit with FlagFrameStart (and its keyframe bit, on a start); for H.264, FlagFrameStart
// on the STAP-A or the start of a non-IDR slice, FlagFrameEnd on the slice's last packet,
// FlagKeyframe on every packet of an IDR access unit.
func ParseVideoPayload(codec VideoCodec, payload []byte) (Synthetic, error) {
	block, fr, err := splitVideoPayload(codec, payload)
	if err != nil {
		return Synthetic{}, err
	}
	s, err := ParseSynthetic(block)
	if err != nil {
		return Synthetic{}, err
	}
	if s.Kind != PayloadVideo {
		return Synthetic{}, fmt.Errorf("audio block on a video track: %w", ErrBadPayload)
	}
	if fr.start != (s.Flags&FlagFrameStart != 0) {
		return Synthetic{}, fmt.Errorf("%s frame start %v disagrees with block flags %#x: %w", codec, fr.start, s.Flags, ErrBadPayload)
	}
	if (fr.start || fr.knowsEnd) && fr.keyframe != (s.Flags&FlagKeyframe != 0) {
		return Synthetic{}, fmt.Errorf("%s keyframe %v disagrees with block flags %#x: %w", codec, fr.keyframe, s.Flags, ErrBadPayload)
	}
	if fr.knowsEnd && fr.end != (s.Flags&FlagFrameEnd != 0) {
		return Synthetic{}, fmt.Errorf("%s frame end %v disagrees with block flags %#x: %w", codec, fr.end, s.Flags, ErrBadPayload)
	}
	return s, nil
}
