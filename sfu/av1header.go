package sfu

// av1FrameSize reads the maximum frame size from the sequence header OBU that the first
// packet of an AV1 coded video sequence carries (RTP aggregation header N bit; AV1 RTP
// specification §4.4, AV1 bitstream §5.5). No allocation.
func av1FrameSize(payload []byte) (int, int, bool) {
	if len(payload) < 2 || payload[0]&0x08 == 0 || payload[0]&0x80 != 0 {
		return 0, 0, false // not the start of a coded video sequence, or a continuation first
	}
	w := int(payload[0]>>4) & 0x03
	rest := payload[1:]
	for elem := 1; len(rest) > 0; elem++ {
		obu := rest
		if w == 0 || elem < w {
			n, used, ok := readLEB128(rest)
			if !ok || n > uint64(len(rest)-used) {
				return 0, 0, false
			}
			obu, rest = rest[used:used+int(n)], rest[used+int(n):]
		} else {
			rest = nil // the last element has no length field
		}
		if width, height, ok := av1SequenceHeaderSize(obu); ok {
			return width, height, true
		}
		if w != 0 && elem >= w {
			break
		}
	}
	return 0, 0, false
}

// av1SequenceHeaderSize parses one OBU and returns the maximum frame size when it is a
// sequence header.
func av1SequenceHeaderSize(obu []byte) (int, int, bool) {
	const obuSequenceHeader = 1
	if len(obu) < 2 || obu[0]&0x80 != 0 || (obu[0]>>3)&0x0f != obuSequenceHeader {
		return 0, 0, false
	}
	body := obu[1:]
	if obu[0]&0x04 != 0 { // extension header
		body = body[1:]
	}
	if obu[0]&0x02 != 0 { // has_size_field
		n, used, ok := readLEB128(body)
		if !ok || n > uint64(len(body)-used) {
			return 0, 0, false
		}
		body = body[used : used+int(n)]
	}
	r := bitReader{buf: body}
	r.skip(3)         // seq_profile
	r.skip(1)         // still_picture
	if r.bit() == 1 { // reduced_still_picture_header
		r.skip(5) // seq_level_idx[0]
	} else {
		decoderModel := false
		bufferDelayLen := 0
		if r.bit() == 1 { // timing_info_present_flag
			r.skip(32 + 32)   // num_units_in_display_tick, time_scale
			if r.bit() == 1 { // equal_picture_interval
				r.uvlc() // num_ticks_per_picture_minus_1
			}
			if r.bit() == 1 { // decoder_model_info_present_flag
				decoderModel = true
				bufferDelayLen = int(r.bits(5)) + 1
				r.skip(32 + 5 + 5) // num_units_in_decoding_tick, two length fields
			}
		}
		initialDisplayDelay := r.bit() == 1
		points := int(r.bits(5)) + 1
		for i := 0; i < points && !r.failed; i++ {
			r.skip(12)         // operating_point_idc
			if r.bits(5) > 7 { // seq_level_idx
				r.skip(1) // seq_tier
			}
			if decoderModel && r.bit() == 1 {
				r.skip(2*bufferDelayLen + 1)
			}
			if initialDisplayDelay && r.bit() == 1 {
				r.skip(4)
			}
		}
	}
	wBits := int(r.bits(4)) + 1
	hBits := int(r.bits(4)) + 1
	width := int(r.bits(wBits)) + 1
	height := int(r.bits(hBits)) + 1
	if r.failed {
		return 0, 0, false
	}
	return width, height, true
}

// readLEB128 decodes an unsigned LEB128 value of at most 8 bytes.
func readLEB128(b []byte) (value uint64, used int, ok bool) {
	for i := 0; i < 8 && i < len(b); i++ {
		value |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return value, i + 1, true
		}
	}
	return 0, 0, false
}

// bitReader reads big-endian bit fields; past the end it sets failed and reads zeros.
type bitReader struct {
	buf    []byte
	pos    int // in bits
	failed bool
}

func (r *bitReader) bit() uint64 { return r.bits(1) }

func (r *bitReader) bits(n int) uint64 {
	var v uint64
	for i := 0; i < n; i++ {
		if r.pos>>3 >= len(r.buf) {
			r.failed = true
			return 0
		}
		v = v<<1 | uint64(r.buf[r.pos>>3]>>(7-uint(r.pos&7))&1)
		r.pos++
	}
	return v
}

func (r *bitReader) skip(n int) {
	if n < 0 || r.pos+n > len(r.buf)*8 {
		r.failed = true
		r.pos = len(r.buf) * 8
		return
	}
	r.pos += n
}

// uvlc reads the AV1 variable-length code (§4.10.3).
func (r *bitReader) uvlc() uint64 {
	zeros := 0
	for r.bit() == 0 {
		if r.failed || zeros >= 32 {
			r.failed = true
			return 0
		}
		zeros++
	}
	return r.bits(zeros) + (1 << zeros) - 1
}
