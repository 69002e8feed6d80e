package client

import (
	"encoding/binary"
	"fmt"
)

// H.264 NAL unit types (ITU-T H.264 Table 7-1) and RTP packet types (RFC 6184 §5.2).
const (
	h264NALSlice = 1  // coded slice of a non-IDR picture
	h264NALIDR   = 5  // coded slice of an IDR picture
	h264NALSEI   = 6  // supplemental enhancement information
	h264NALSPS   = 7  // sequence parameter set
	h264NALPPS   = 8  // picture parameter set
	h264STAPA    = 24 // single-time aggregation packet
	h264FUA      = 28 // fragmentation unit A

	h264TypeMask = 0x1f
	h264NRIHigh  = 0x60 // nal_ref_idc 3: parameter sets, IDR slices
	h264NRIRef   = 0x40 // nal_ref_idc 2: reference non-IDR slices
	h264FUStart  = 0x80
	h264FUEnd    = 0x40

	// h264SEIUserDataUnregistered is the SEI payload type that carries the keyframe's
	// synthetic block (H.264 §D.1.6), after h264SEIUUID.
	h264SEIUserDataUnregistered = 5
	h264FUHeaderLen             = 2 // FU indicator + FU header
	h264SingleHeaderLen         = 1 // NAL header
)

// h264SEIUUID is the uuid_iso_iec_11578 of the user data SEI that wraps a synthetic block.
var h264SEIUUID = [16]byte{'p', 'a', 'r', 'l', 'e', 'y', '-', 's', 'y', 'n', 't', 'h', 'e', 't', 'i', 'c'}

// h264SEIBlockOverhead is what the SEI NAL adds around a block: NAL header, payload type,
// payload size (one byte: the block of a STAP-A has no filler), UUID, and the
// rbsp_trailing_bits byte after the block.
const h264SEIBlockOverhead = 1 + 1 + 1 + len(h264SEIUUID) + 1

// bitWriter writes the bits of an RBSP, most significant first.
type bitWriter struct {
	b    []byte
	nbit uint // bits used in the last byte (0: start a new byte)
}

func (w *bitWriter) bit(v uint32) {
	if w.nbit == 0 {
		w.b = append(w.b, 0)
	}
	if v != 0 {
		w.b[len(w.b)-1] |= 0x80 >> w.nbit
	}
	w.nbit = (w.nbit + 1) % 8
}

func (w *bitWriter) bits(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		w.bit(v >> uint(i) & 1)
	}
}

// ue writes an unsigned Exp-Golomb code.
func (w *bitWriter) ue(v uint32) {
	x := v + 1
	n := 0
	for t := x; t > 1; t >>= 1 {
		n++
	}
	w.bits(0, n)
	w.bits(x, n+1)
}

// se writes a signed Exp-Golomb code.
func (w *bitWriter) se(v int32) {
	if v > 0 {
		w.ue(uint32(2*v - 1))
	} else {
		w.ue(uint32(-2 * v))
	}
}

// trailing writes rbsp_trailing_bits: a one, then zeros to the byte boundary.
func (w *bitWriter) trailing() []byte {
	w.bit(1)
	w.nbit = 0
	return w.b
}

// escapeRBSP inserts the emulation prevention bytes (00 00 → 00 00 03 before 00..03) that
// turn an RBSP into NAL unit payload bytes.
func escapeRBSP(dst, rbsp []byte) []byte {
	zeros := 0
	for _, c := range rbsp {
		if zeros >= 2 && c <= 3 {
			dst = append(dst, 3)
			zeros = 0
		}
		dst = append(dst, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return dst
}

// H.264 profile and level of every synthetic SPS: Constrained Baseline, level 3.1 — the
// profile-level-id 42e01f the client and the server negotiate.
const (
	h264ProfileBaseline = 66
	h264Constraints     = 0xe0
	h264Level31         = 31
)

// h264SPS returns a sequence parameter set NAL unit (header included) for a picture of
// width×height (both even): Constrained Baseline 42e01f, 4:2:0, frame macroblocks only,
// with frame cropping when a side is not a multiple of 16 (1080 → 1088 cropped by 8).
func h264SPS(width, height uint16) []byte {
	mbW, mbH := (uint32(width)+15)/16, (uint32(height)+15)/16
	w := &bitWriter{}
	w.bits(h264ProfileBaseline, 8)
	w.bits(h264Constraints, 8)
	w.bits(h264Level31, 8)
	w.ue(0) // seq_parameter_set_id
	w.ue(0) // log2_max_frame_num_minus4
	w.ue(2) // pic_order_cnt_type: display order = decoding order
	w.ue(1) // max_num_ref_frames
	w.bit(0)
	w.ue(mbW - 1)                                                                // pic_width_in_mbs_minus1
	w.ue(mbH - 1)                                                                // pic_height_in_map_units_minus1
	w.bit(1)                                                                     // frame_mbs_only_flag
	w.bit(1)                                                                     // direct_8x8_inference_flag
	cropRight, cropBottom := (mbW*16-uint32(width))/2, (mbH*16-uint32(height))/2 // 4:2:0 crop units are 2 pixels
	if cropRight != 0 || cropBottom != 0 {
		w.bit(1)
		w.ue(0) // frame_crop_left_offset
		w.ue(cropRight)
		w.ue(0) // frame_crop_top_offset
		w.ue(cropBottom)
	} else {
		w.bit(0)
	}
	w.bit(0) // vui_parameters_present_flag
	return escapeRBSP([]byte{h264NRIHigh | h264NALSPS}, w.trailing())
}

// h264PPS returns the picture parameter set NAL unit that goes with h264SPS: CAVLC, one
// slice group, one reference, deblocking control present.
func h264PPS() []byte {
	w := &bitWriter{}
	w.ue(0)  // pic_parameter_set_id
	w.ue(0)  // seq_parameter_set_id
	w.bit(0) // entropy_coding_mode_flag: CAVLC
	w.bit(0) // bottom_field_pic_order_in_frame_present_flag
	w.ue(0)  // num_slice_groups_minus1
	w.ue(0)  // num_ref_idx_l0_default_active_minus1
	w.ue(0)  // num_ref_idx_l1_default_active_minus1
	w.bit(0) // weighted_pred_flag
	w.bits(0, 2)
	w.se(0)  // pic_init_qp_minus26
	w.se(0)  // pic_init_qs_minus26
	w.se(0)  // chroma_qp_index_offset
	w.bit(1) // deblocking_filter_control_present_flag
	w.bit(0) // constrained_intra_pred_flag
	w.bit(0) // redundant_pic_cnt_present_flag
	return escapeRBSP([]byte{h264NRIHigh | h264NALPPS}, w.trailing())
}

// h264ParameterSets returns the start of a keyframe's STAP-A: its header and the SPS and
// PPS units with their 16-bit sizes. The SEI unit with the block follows (h264Codec).
func h264ParameterSets(width, height uint16) []byte {
	sps, pps := h264SPS(width, height), h264PPS()
	out := []byte{h264NRIHigh | h264STAPA}
	out = binary.BigEndian.AppendUint16(out, uint16(len(sps)))
	out = append(out, sps...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(pps)))
	return append(out, pps...)
}

// H264Packet is a parsed H.264 RTP payload of the synthetic video.
type H264Packet struct {
	// Type is the RTP packet's NAL type: 1 or 5 (single NAL unit), 24 (STAP-A) or 28 (FU-A).
	Type uint8
	// NALType is the type of the NAL unit the packet carries or fragments (1 or 5); for a
	// STAP-A, 7 (it starts with the parameter sets).
	NALType uint8
	// Start and End are the FU-A S and E bits; a single NAL unit packet is both.
	Start, End bool
	// SPS is the sequence parameter set of a STAP-A (header byte included), nil otherwise.
	SPS []byte
	// Block is the synthetic block the packet carries (not yet verified).
	Block []byte
}

// Keyframe reports whether the packet belongs to an IDR access unit.
func (p H264Packet) Keyframe() bool { return p.NALType == h264NALIDR || p.NALType == h264NALSPS }

// ParseH264 splits a synthetic H.264 RTP payload (payload.go) into its framing and block:
// a STAP-A of SPS, PPS and a user data SEI wrapping the block; a single slice NAL unit
// whose data is the block; or an FU-A fragment of a slice whose fragment data is the block.
func ParseH264(b []byte) (H264Packet, error) {
	if len(b) < 1 {
		return H264Packet{}, fmt.Errorf("empty H.264 payload: %w", ErrBadPayload)
	}
	if b[0]&0x80 != 0 {
		return H264Packet{}, fmt.Errorf("H.264 forbidden_zero_bit set: %w", ErrBadPayload)
	}
	switch t := b[0] & h264TypeMask; t {
	case h264NALSlice, h264NALIDR:
		return H264Packet{Type: t, NALType: t, Start: true, End: true, Block: b[h264SingleHeaderLen:]}, nil
	case h264FUA:
		if len(b) < h264FUHeaderLen {
			return H264Packet{}, fmt.Errorf("H.264 FU-A header truncated: %w", ErrBadPayload)
		}
		fu := b[1]
		p := H264Packet{Type: t, NALType: fu & h264TypeMask, Start: fu&h264FUStart != 0, End: fu&h264FUEnd != 0, Block: b[h264FUHeaderLen:]}
		if p.NALType != h264NALSlice && p.NALType != h264NALIDR {
			return H264Packet{}, fmt.Errorf("H.264 FU-A of NAL type %d: %w", p.NALType, ErrBadPayload)
		}
		if p.Start && p.End {
			return H264Packet{}, fmt.Errorf("H.264 FU-A with both start and end bits: %w", ErrBadPayload)
		}
		return p, nil
	case h264STAPA:
		return parseH264STAPA(b)
	default:
		return H264Packet{}, fmt.Errorf("H.264 packet of NAL type %d: %w", t, ErrBadPayload)
	}
}

// parseH264STAPA expects exactly SPS, PPS and the SEI that wraps the block.
func parseH264STAPA(b []byte) (H264Packet, error) {
	p := H264Packet{Type: h264STAPA, NALType: h264NALSPS}
	want := [3]uint8{h264NALSPS, h264NALPPS, h264NALSEI}
	i := 1
	for k, typ := range want {
		if len(b)-i < 3 {
			return H264Packet{}, fmt.Errorf("H.264 STAP-A unit %d truncated: %w", k, ErrBadPayload)
		}
		size := int(binary.BigEndian.Uint16(b[i:]))
		unit := b[i+2:]
		if size == 0 || size > len(unit) {
			return H264Packet{}, fmt.Errorf("H.264 STAP-A unit %d of %d bytes, %d left: %w", k, size, len(unit), ErrBadPayload)
		}
		unit = unit[:size]
		if unit[0]&h264TypeMask != typ {
			return H264Packet{}, fmt.Errorf("H.264 STAP-A unit %d of NAL type %d, want %d: %w", k, unit[0]&h264TypeMask, typ, ErrBadPayload)
		}
		switch typ {
		case h264NALSPS:
			p.SPS = unit
		case h264NALSEI:
			block, err := parseH264BlockSEI(unit)
			if err != nil {
				return H264Packet{}, err
			}
			p.Block = block
		}
		i += 2 + size
	}
	if i != len(b) {
		return H264Packet{}, fmt.Errorf("H.264 STAP-A has %d bytes after its SEI: %w", len(b)-i, ErrBadPayload)
	}
	return p, nil
}

// parseH264BlockSEI returns the block inside a user data unregistered SEI NAL unit.
func parseH264BlockSEI(unit []byte) ([]byte, error) {
	if len(unit) < h264SEIBlockOverhead || unit[1] != h264SEIUserDataUnregistered {
		return nil, fmt.Errorf("H.264 SEI of %d bytes is not the synthetic user data: %w", len(unit), ErrBadPayload)
	}
	size := int(unit[2])
	body := unit[3 : len(unit)-1]
	if size == 0xff || size != len(body) || unit[len(unit)-1] != 0x80 {
		return nil, fmt.Errorf("H.264 SEI payload size %d for %d bytes: %w", size, len(body), ErrBadPayload)
	}
	if [16]byte(body[:16]) != h264SEIUUID {
		return nil, fmt.Errorf("H.264 SEI uuid % x: %w", body[:16], ErrBadPayload)
	}
	return body[16:], nil
}
