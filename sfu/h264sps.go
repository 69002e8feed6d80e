package sfu

// h264FrameSize finds a sequence parameter set at the start of an H.264 RTP payload (a
// single NAL unit or inside a STAP-A) and returns the cropped picture size it declares.
func h264FrameSize(payload []byte) (int, int, bool) {
	const (
		nalSPS  = 7
		nalSTAP = 24
	)
	if len(payload) < 1 {
		return 0, 0, false
	}
	switch payload[0] & 0x1f {
	case nalSPS:
		return parseH264SPS(payload[1:])
	case nalSTAP:
		for i := 1; i+2 < len(payload); {
			size := int(payload[i])<<8 | int(payload[i+1])
			start, end := i+2, i+2+size
			if size == 0 || end > len(payload) {
				return 0, 0, false
			}
			if payload[start]&0x1f == nalSPS {
				return parseH264SPS(payload[start+1 : end])
			}
			i = end
		}
	}
	return 0, 0, false
}

// spsReader reads bits of an RBSP, skipping emulation prevention bytes (00 00 03) as it
// goes, so it needs no copy. After a read past the end, err is set and reads return 0.
type spsReader struct {
	b     []byte
	pos   int // byte index
	bit   uint
	zeros int // consecutive zero bytes just consumed
	err   bool
}

func (r *spsReader) u1() uint32 {
	if r.err || r.pos >= len(r.b) {
		r.err = true
		return 0
	}
	if r.bit == 0 && r.zeros >= 2 && r.b[r.pos] == 3 { // emulation prevention byte
		r.zeros = 0
		r.pos++
		if r.pos >= len(r.b) {
			r.err = true
			return 0
		}
	}
	cur := r.b[r.pos]
	v := uint32(cur>>(7-r.bit)) & 1
	r.bit++
	if r.bit == 8 {
		r.bit = 0
		r.pos++
		if cur == 0 {
			r.zeros++
		} else {
			r.zeros = 0
		}
	}
	return v
}

func (r *spsReader) u(n int) uint32 {
	var v uint32
	for i := 0; i < n; i++ {
		v = v<<1 | r.u1()
	}
	return v
}

// ue reads an unsigned Exp-Golomb value (at most 31 leading zeros).
func (r *spsReader) ue() uint32 {
	zeros := 0
	for r.u1() == 0 {
		if r.err || zeros >= 31 {
			r.err = true
			return 0
		}
		zeros++
	}
	return (1<<zeros - 1) + r.u(zeros)
}

// se reads a signed Exp-Golomb value.
func (r *spsReader) se() int32 {
	v := r.ue()
	if v&1 == 1 {
		return int32((v + 1) / 2)
	}
	return -int32(v / 2)
}

// parseH264SPS decodes the fields of an SPS (ITU-T H.264 §7.3.2.1.1) up to the frame
// cropping that the picture size needs. rbsp starts after the NAL header byte.
func parseH264SPS(rbsp []byte) (int, int, bool) {
	r := &spsReader{b: rbsp}
	profile := r.u(8)
	r.u(16) // constraint flags, level
	r.ue()  // seq_parameter_set_id
	chroma := uint32(1)
	separatePlanes := false
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		chroma = r.ue()
		if chroma > 3 {
			return 0, 0, false
		}
		if chroma == 3 {
			separatePlanes = r.u1() == 1
		}
		r.ue()           // bit_depth_luma_minus8
		r.ue()           // bit_depth_chroma_minus8
		r.u1()           // qpprime_y_zero_transform_bypass_flag
		if r.u1() == 1 { // seq_scaling_matrix_present_flag
			lists := 8
			if chroma == 3 {
				lists = 12
			}
			for i := 0; i < lists && !r.err; i++ {
				if r.u1() == 0 {
					continue
				}
				size := 16
				if i >= 6 {
					size = 64
				}
				last, next := int32(8), int32(8)
				for j := 0; j < size && !r.err; j++ {
					if next != 0 {
						next = (last + r.se() + 256) % 256
					}
					if next != 0 {
						last = next
					}
				}
			}
		}
	}
	r.ue()          // log2_max_frame_num_minus4
	switch r.ue() { // pic_order_cnt_type
	case 0:
		r.ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		r.u1() // delta_pic_order_always_zero_flag
		r.se() // offset_for_non_ref_pic
		r.se() // offset_for_top_to_bottom_field
		n := r.ue()
		if n > 255 {
			return 0, 0, false
		}
		for i := uint32(0); i < n && !r.err; i++ {
			r.se()
		}
	}
	r.ue() // max_num_ref_frames
	r.u1() // gaps_in_frame_num_value_allowed_flag
	widthMbs := r.ue() + 1
	heightMapUnits := r.ue() + 1
	frameMbsOnly := r.u1()
	if frameMbsOnly == 0 {
		r.u1() // mb_adaptive_frame_field_flag
	}
	r.u1() // direct_8x8_inference_flag
	var left, right, top, bottom uint32
	if r.u1() == 1 {
		left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
	}
	if r.err || widthMbs > 1024 || heightMapUnits > 1024 {
		return 0, 0, false
	}
	cropX, cropY := uint32(1), 2-frameMbsOnly
	if chroma != 0 && !separatePlanes {
		subWidth, subHeight := uint32(2), uint32(2) // 4:2:0
		switch chroma {
		case 2:
			subHeight = 1
		case 3:
			subWidth, subHeight = 1, 1
		}
		cropX, cropY = subWidth, subHeight*(2-frameMbsOnly)
	}
	w := int64(widthMbs*16) - int64(cropX)*(int64(left)+int64(right))
	h := int64((2-frameMbsOnly)*heightMapUnits*16) - int64(cropY)*(int64(top)+int64(bottom))
	if w <= 0 || h <= 0 {
		return 0, 0, false
	}
	return int(w), int(h), true
}
