package sfu

import (
	"encoding/binary"
	"fmt"
)

// maxPacketSize bounds every RTP packet the media plane reads, stores and queues.
const maxPacketSize = 1500

// rtpPacket is the part of an incoming RTP packet the media plane forwards: the fields
// the DownTracks rewrite and the payload (header, CSRCs, extensions and padding removed).
// Payload aliases the buffer it was parsed from.
type rtpPacket struct {
	SequenceNumber uint16
	Timestamp      uint32
	SSRC           uint32
	PayloadType    uint8
	Marker         bool
	Keyframe       bool // first packet of a keyframe (set by the Receiver)
	Payload        []byte
}

// parseRTP fills p from raw without allocating. It accepts exactly what RFC 3550 allows:
// version 2, CSRC list, one extension block, padding with a sane length.
func parseRTP(raw []byte, p *rtpPacket) error {
	const fixedHeader = 12
	if len(raw) < fixedHeader {
		return fmt.Errorf("%d bytes: %w", len(raw), ErrMalformedRTP)
	}
	if raw[0]>>6 != 2 {
		return fmt.Errorf("version %d: %w", raw[0]>>6, ErrMalformedRTP)
	}
	hasPadding := raw[0]&0x20 != 0
	hasExtension := raw[0]&0x10 != 0
	csrcCount := int(raw[0] & 0x0f)
	offset := fixedHeader + 4*csrcCount
	if offset > len(raw) {
		return fmt.Errorf("CSRC list past the end: %w", ErrMalformedRTP)
	}
	if hasExtension {
		if offset+4 > len(raw) {
			return fmt.Errorf("extension header past the end: %w", ErrMalformedRTP)
		}
		extWords := int(binary.BigEndian.Uint16(raw[offset+2:]))
		offset += 4 + 4*extWords
		if offset > len(raw) {
			return fmt.Errorf("extension past the end: %w", ErrMalformedRTP)
		}
	}
	end := len(raw)
	if hasPadding {
		pad := int(raw[end-1])
		if pad == 0 || end-pad < offset {
			return fmt.Errorf("padding %d: %w", pad, ErrMalformedRTP)
		}
		end -= pad
	}
	p.Marker = raw[1]&0x80 != 0
	p.PayloadType = raw[1] & 0x7f
	p.SequenceNumber = binary.BigEndian.Uint16(raw[2:])
	p.Timestamp = binary.BigEndian.Uint32(raw[4:])
	p.SSRC = binary.BigEndian.Uint32(raw[8:])
	p.Keyframe = false
	p.Payload = raw[offset:end]
	return nil
}
