package sfu

import (
	"encoding/binary"
	"strings"
)

// vp8Descriptor is what the forwarding path needs from an RFC 7741 VP8 payload
// descriptor: where the VP8 payload starts, and the picture ID and TL0PICIDX fields
// that a simulcast layer switch renumbers.
type vp8Descriptor struct {
	headerLen  int    // bytes of descriptor before the VP8 payload
	hasPicture bool   // I bit: a picture ID is present
	longPicID  bool   // the picture ID is 15 bits (else 7)
	pictureID  uint16 // without the M bit
	hasTL0     bool   // L bit: TL0PICIDX present
	tl0PicIdx  uint8
}

// pictureIDMask is the modulus of the descriptor's picture ID field.
func (d *vp8Descriptor) pictureIDMask() uint16 {
	if d.longPicID {
		return 0x7fff
	}
	return 0x7f
}

// parseVP8Descriptor reads the payload descriptor at the start of a VP8 RTP payload
// without allocating; ok is false when it is truncated.
func parseVP8Descriptor(payload []byte, d *vp8Descriptor) bool {
	*d = vp8Descriptor{}
	if len(payload) < 1 {
		return false
	}
	i := 1
	if payload[0]&0x80 != 0 { // X
		if len(payload) < 2 {
			return false
		}
		x := payload[1]
		i = 2
		if x&0x80 != 0 { // I
			if len(payload) <= i {
				return false
			}
			d.hasPicture = true
			if payload[i]&0x80 != 0 {
				if len(payload) <= i+1 {
					return false
				}
				d.longPicID = true
				d.pictureID = uint16(payload[i]&0x7f)<<8 | uint16(payload[i+1])
				i += 2
			} else {
				d.pictureID = uint16(payload[i])
				i++
			}
		}
		if x&0x40 != 0 { // L
			if len(payload) <= i {
				return false
			}
			d.hasTL0 = true
			d.tl0PicIdx = payload[i]
			i++
		}
		if x&0x30 != 0 { // T or K
			i++
		}
	}
	if i > len(payload) {
		return false
	}
	d.headerLen = i
	return true
}

// vp8Munge renumbers a copied VP8 payload's picture ID and TL0PICIDX by fixed offsets,
// so a subscriber that was switched between simulcast layers sees one continuous
// sequence. The zero value changes nothing.
type vp8Munge struct {
	active    bool
	pictureID uint16 // added modulo the field's width
	tl0PicIdx uint8
}

// apply rewrites b in place; a payload without those fields is left as it is.
func (m vp8Munge) apply(b []byte) {
	if !m.active || len(b) < 3 || b[0]&0x80 == 0 {
		return
	}
	x := b[1]
	i := 2
	if x&0x80 != 0 {
		if b[i]&0x80 != 0 {
			if len(b) < i+2 {
				return
			}
			pid := (uint16(b[i]&0x7f)<<8 | uint16(b[i+1])) + m.pictureID
			b[i] = 0x80 | byte(pid>>8)&0x7f
			b[i+1] = byte(pid)
			i += 2
		} else {
			b[i] = byte(uint16(b[i])+m.pictureID) & 0x7f
			i++
		}
	}
	if x&0x40 != 0 && i < len(b) {
		b[i] += m.tl0PicIdx
	}
}

// pack stores a munge in one word for lock-free reads: active<<31 | tl0<<16 | pictureID.
func (m vp8Munge) pack() uint32 {
	if !m.active {
		return 0
	}
	return 1<<31 | uint32(m.tl0PicIdx)<<16 | uint32(m.pictureID)
}

func unpackVP8Munge(w uint32) vp8Munge {
	return vp8Munge{active: w&(1<<31) != 0, tl0PicIdx: uint8(w >> 16), pictureID: uint16(w)}
}

// frameSizeParser returns the coded size of a keyframe from the first packet's payload,
// or ok false when the payload does not carry it.
type frameSizeParser func(payload []byte) (width, height int, ok bool)

// frameSizeParserFor returns the parser of a codec's mime type, nil when the codec's
// size cannot be read from its RTP payloads here.
func frameSizeParserFor(mimeType string) frameSizeParser {
	switch strings.ToLower(mimeType) {
	case "video/vp8":
		return vp8FrameSize
	case "video/vp9":
		return vp9FrameSize
	case "video/h264":
		return h264FrameSize
	case "video/av1":
		return av1FrameSize
	}
	return nil
}

// vp8FrameSize reads a VP8 keyframe header (RFC 6386 §9.1): 3-byte frame tag, start
// code 9d 01 2a, then 14-bit width and height (little endian, 2 scaling bits on top).
func vp8FrameSize(payload []byte) (int, int, bool) {
	var d vp8Descriptor
	if !parseVP8Descriptor(payload, &d) || payload[0]&0x10 == 0 || payload[0]&0x07 != 0 {
		return 0, 0, false
	}
	h := payload[d.headerLen:]
	if len(h) < 10 || h[0]&0x01 != 0 || h[3] != 0x9d || h[4] != 0x01 || h[5] != 0x2a {
		return 0, 0, false
	}
	w := int(binary.LittleEndian.Uint16(h[6:]) & 0x3fff)
	ht := int(binary.LittleEndian.Uint16(h[8:]) & 0x3fff)
	return w, ht, w > 0 && ht > 0
}

// vp9FrameSize reads the scalability structure (RFC 9628 §4.2.1) that a VP9 keyframe's
// first packet carries when the V bit is set; the size is that of the highest spatial
// layer.
func vp9FrameSize(payload []byte) (int, int, bool) {
	if len(payload) < 1 {
		return 0, 0, false
	}
	b0 := payload[0]
	const (
		bitI, bitP, bitL, bitF, bitV = 0x80, 0x40, 0x20, 0x10, 0x02
	)
	if b0&bitV == 0 {
		return 0, 0, false
	}
	i := 1
	if b0&bitI != 0 {
		if len(payload) <= i {
			return 0, 0, false
		}
		if payload[i]&0x80 != 0 {
			i += 2
		} else {
			i++
		}
	}
	if b0&bitL != 0 {
		i++
		if b0&bitF == 0 {
			i++ // TL0PICIDX in non-flexible mode
		}
	}
	if b0&bitF != 0 && b0&bitP != 0 {
		for k := 0; k < 3; k++ { // P_DIFF, N bit says another follows
			if len(payload) <= i {
				return 0, 0, false
			}
			more := payload[i]&0x01 != 0
			i++
			if !more {
				break
			}
		}
	}
	if len(payload) <= i {
		return 0, 0, false
	}
	ss := payload[i]
	i++
	if ss&0x10 == 0 { // Y: no sizes
		return 0, 0, false
	}
	layers := int(ss>>5) + 1
	if len(payload) < i+4*layers {
		return 0, 0, false
	}
	last := i + 4*(layers-1)
	w := int(binary.BigEndian.Uint16(payload[last:]))
	h := int(binary.BigEndian.Uint16(payload[last+2:]))
	return w, h, w > 0 && h > 0
}
