package client

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// goldenReader reads the bits of an RBSP for the test's own SPS decoder (written from
// ITU-T H.264 §7.3.2.1.1, independently of h264.go's writer).
type goldenReader struct {
	b   []byte
	pos int // bit position
	t   *testing.T
}

func (r *goldenReader) u(n int) uint32 {
	var v uint32
	for range n {
		if r.pos/8 >= len(r.b) {
			r.t.Fatalf("SPS read past its end")
		}
		v = v<<1 | uint32(r.b[r.pos/8]>>(7-r.pos%8)&1)
		r.pos++
	}
	return v
}

func (r *goldenReader) ue() uint32 {
	zeros := 0
	for r.u(1) == 0 {
		zeros++
	}
	return 1<<zeros - 1 + r.u(zeros)
}

// unescape removes emulation prevention bytes.
func unescape(nal []byte) []byte {
	var out []byte
	zeros := 0
	for _, c := range nal {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

type decodedSPS struct {
	profile, constraints, level uint32
	width, height               int
}

// decodeBaselineSPS decodes an SPS NAL unit (header included) of a profile without
// chroma_format_idc (Baseline), checking the trailing bits.
func decodeBaselineSPS(t *testing.T, nal []byte) decodedSPS {
	t.Helper()
	if nal[0] != 0x67 {
		t.Fatalf("SPS NAL header %#x, want 0x67", nal[0])
	}
	r := &goldenReader{b: unescape(nal[1:]), t: t}
	d := decodedSPS{profile: r.u(8), constraints: r.u(8), level: r.u(8)}
	r.ue() // sps id
	r.ue() // log2_max_frame_num_minus4
	if poc := r.ue(); poc == 0 {
		r.ue()
	} else if poc == 1 {
		t.Fatal("pic_order_cnt_type 1 not expected")
	}
	r.ue() // max_num_ref_frames
	r.u(1) // gaps
	w := int(r.ue()+1) * 16
	h := int(r.ue()+1) * 16
	if r.u(1) != 1 {
		t.Fatal("frame_mbs_only_flag 0")
	}
	r.u(1) // direct_8x8_inference_flag
	if r.u(1) == 1 {
		left, right, top, bottom := r.ue(), r.ue(), r.ue(), r.ue()
		w -= 2 * int(left+right)
		h -= 2 * int(top+bottom)
	}
	r.u(1) // vui
	if r.u(1) != 1 {
		t.Fatal("no rbsp_stop_one_bit")
	}
	for r.pos%8 != 0 {
		if r.u(1) != 0 {
			t.Fatal("non-zero alignment bit")
		}
	}
	if r.pos/8 != len(r.b) {
		t.Fatalf("%d bytes after the SPS", len(r.b)-r.pos/8)
	}
	d.width, d.height = w, h
	return d
}

func TestH264SPSCarriesThePictureSize(t *testing.T) {
	tests := []struct {
		width, height uint16
		cropped       bool
	}{
		{320, 180, true}, {640, 360, true}, {1280, 720, false}, {1920, 1080, true},
		{176, 144, false}, {2, 2, true}, {4096, 2160, true},
	}
	for _, tt := range tests {
		sps := h264SPS(tt.width, tt.height)
		d := decodeBaselineSPS(t, sps)
		if d.profile != 66 || d.constraints != 0xe0 || d.level != 31 {
			t.Errorf("%dx%d: profile %d constraints %#x level %d, want 42e01f", tt.width, tt.height, d.profile, d.constraints, d.level)
		}
		if d.width != int(tt.width) || d.height != int(tt.height) {
			t.Errorf("SPS of %dx%d decodes as %dx%d", tt.width, tt.height, d.width, d.height)
		}
	}
}

func TestEscapeRBSP(t *testing.T) {
	tests := []struct{ in, want []byte }{
		{[]byte{1, 2, 3}, []byte{1, 2, 3}},
		{[]byte{0, 0, 1}, []byte{0, 0, 3, 1}},
		{[]byte{0, 0, 0, 0}, []byte{0, 0, 3, 0, 0}},
		{[]byte{0, 0, 4}, []byte{0, 0, 4}},
		{[]byte{0, 0, 3, 0, 0, 2}, []byte{0, 0, 3, 3, 0, 0, 3, 2}},
	}
	for _, tt := range tests {
		if got := escapeRBSP(nil, tt.in); !bytes.Equal(got, tt.want) {
			t.Errorf("escape % x = % x, want % x", tt.in, got, tt.want)
		}
		if got := unescape(tt.want); !bytes.Equal(got, tt.in) {
			t.Errorf("unescape % x = % x, want % x", tt.want, got, tt.in)
		}
	}
}

// h264Packets packetizes one H.264 frame and returns copies of its payloads.
func h264Packets(t *testing.T, f videoFrame, width, height uint16) [][]byte {
	t.Helper()
	return framePackets(t, f, newH264Codec(width, height))
}

func TestPacketizeH264Frame(t *testing.T) {
	fuRoom := MaxPayloadSize - h264FUHeaderLen - syntheticOverheadLen
	const (
		stap   = "stap-a"
		single = "single"
		fuS    = "fu-start"
		fuM    = "fu-middle"
		fuE    = "fu-end"
	)
	tests := []struct {
		name     string
		size     int
		keyframe bool
		want     []string // packet shapes in order
	}{
		{"empty delta frame", 0, false, []string{single}},
		{"small delta frame", 500, false, []string{single}},
		{"delta frame filling one fragment", fuRoom, false, []string{single}},
		{"one byte more", fuRoom + 1, false, []string{fuS, fuE}},
		{"three fragments", 2*fuRoom + 1, false, []string{fuS, fuM, fuE}},
		{"small keyframe", 300, true, []string{stap, single}},
		{"keyframe of 320x180 at 150 kbit/s, 15 fps", 3 * 150_000 / 8 / 15, true, []string{stap, fuS, fuM, fuM, fuE}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkts := h264Packets(t, videoFrame{number: 7, keyframe: tt.keyframe, size: tt.size, firstSeq: 40, sentAtNs: 9, simulcast: true, layer: 1}, 640, 360)
			if len(pkts) != len(tt.want) {
				t.Fatalf("%d packets, want %d", len(pkts), len(tt.want))
			}
			filler := 0
			for i, p := range pkts {
				if len(p) > MaxPayloadSize {
					t.Fatalf("packet %d of %d bytes", i, len(p))
				}
				h, err := ParseH264(p)
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				block, err := ParseVideoPayload(VideoCodecH264, p)
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if block.Seq != 40+uint32(i) || block.Frame != 7 || block.SentAtNs != 9 || LayerOf(block) != 1 {
					t.Fatalf("packet %d block %+v", i, block)
				}
				filler += block.Filler
				wantNAL := uint8(h264NALSlice)
				if tt.keyframe {
					wantNAL = h264NALIDR
				}
				var shape string
				switch {
				case h.Type == h264STAPA:
					shape = stap
					if d := decodeBaselineSPS(t, h.SPS); d.width != 640 || d.height != 360 {
						t.Fatalf("STAP-A SPS says %dx%d", d.width, d.height)
					}
				case h.Type == h264FUA && h.Start:
					shape = fuS
				case h.Type == h264FUA && h.End:
					shape = fuE
				case h.Type == h264FUA:
					shape = fuM
				default:
					shape = single
				}
				if shape != tt.want[i] {
					t.Fatalf("packet %d is %s, want %s", i, shape, tt.want[i])
				}
				if h.Type != h264STAPA && h.NALType != wantNAL {
					t.Fatalf("packet %d NAL type %d, want %d", i, h.NALType, wantNAL)
				}
				if got := p[0] & 0x60; (tt.keyframe && got != h264NRIHigh) || (!tt.keyframe && got != h264NRIRef) {
					t.Fatalf("packet %d nal_ref_idc bits %#x", i, got)
				}
				if (block.Flags&FlagFrameStart != 0) != (i == 0) || (block.Flags&FlagFrameEnd != 0) != (i == len(pkts)-1) ||
					(block.Flags&FlagKeyframe != 0) != tt.keyframe {
					t.Fatalf("packet %d flags %#x", i, block.Flags)
				}
			}
			if filler != tt.size {
				t.Fatalf("%d filler bytes, want %d", filler, tt.size)
			}
		})
	}
}

// h264Payload builds a synthetic H.264 packet: header bytes, then block.
func h264Payload(header []byte, block Synthetic) []byte {
	return appendSynthetic(append([]byte(nil), header...), block)
}

func TestParseH264Payload(t *testing.T) {
	key := videoFrame{keyframe: true, size: 2000}
	keyPkts := h264Packets(t, key, 1280, 720)
	stapA := keyPkts[0]
	withSEI := func(mod func(sei []byte)) []byte {
		p := append([]byte(nil), stapA...)
		mod(p[len(p)-h264SEIBlockOverhead-syntheticOverheadLen:])
		return p
	}
	video := func(flags uint8) Synthetic { return Synthetic{Kind: PayloadVideo, Flags: flags, Seq: 3} }
	tests := []struct {
		name    string
		payload []byte
		ok      bool
	}{
		{"stap-a", stapA, true},
		{"idr fragment", keyPkts[1], true},
		{"idr last fragment", keyPkts[len(keyPkts)-1], true},
		{"single delta slice", h264Payload([]byte{0x41}, video(FlagFrameStart|FlagFrameEnd)), true},
		{"single idr slice after stap-a", h264Payload([]byte{0x65}, video(FlagKeyframe|FlagFrameEnd)), true},
		{"fu-a middle", h264Payload([]byte{0x5c, 0x01}, video(0)), true},
		{"empty", nil, false},
		{"forbidden bit", h264Payload([]byte{0xc1}, video(FlagFrameStart|FlagFrameEnd)), false},
		{"sps alone", h264Payload([]byte{0x67}, video(FlagFrameStart|FlagKeyframe)), false},
		{"fu-a truncated", []byte{0x5c}, false},
		{"fu-a start and end", h264Payload([]byte{0x5c, 0xc1}, video(FlagFrameStart|FlagFrameEnd)), false},
		{"fu-a of an sps", h264Payload([]byte{0x7c, 0x87}, video(FlagFrameStart|FlagKeyframe)), false},
		{"delta start without start flag", h264Payload([]byte{0x5c, 0x81}, video(0)), false},
		{"idr start with start flag", h264Payload([]byte{0x7c, 0x85}, video(FlagFrameStart|FlagKeyframe)), false},
		{"end bit without end flag", h264Payload([]byte{0x5c, 0x41}, video(0)), false},
		{"end flag without end bit", h264Payload([]byte{0x5c, 0x01}, video(FlagFrameEnd)), false},
		{"idr without keyframe flag", h264Payload([]byte{0x65}, video(FlagFrameEnd)), false},
		{"delta with keyframe flag", h264Payload([]byte{0x41}, video(FlagFrameStart|FlagFrameEnd|FlagKeyframe)), false},
		{"audio block", h264Payload([]byte{0x41}, Synthetic{Kind: PayloadAudio, Flags: FlagFrameStart | FlagFrameEnd}), false},
		{"stap-a truncated", stapA[:len(stapA)-10], false},
		{"stap-a with a byte more", append(append([]byte(nil), stapA...), 0), false},
		{"stap-a without sps", append([]byte{0x78}, stapA[3+binary.BigEndian.Uint16(stapA[1:]):]...), false},
		{"sei with another uuid", withSEI(func(sei []byte) { sei[3] ^= 1 }), false},
		{"sei of another payload type", withSEI(func(sei []byte) { sei[1] = 4 }), false},
		{"sei without trailing bits", withSEI(func(sei []byte) { sei[len(sei)-1] = 0 }), false},
		{"sei with a wrong size", withSEI(func(sei []byte) { sei[2]-- }), false},
		{"stap-a block corrupted", withSEI(func(sei []byte) { sei[30] ^= 0xff }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseVideoPayload(VideoCodecH264, tt.payload)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseVideoPayload: %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrBadPayload) {
				t.Fatalf("error %v does not wrap ErrBadPayload", err)
			}
		})
	}
	if _, err := ParseVideoPayload("av1", stapA); !errors.Is(err, ErrBadPayload) {
		t.Fatalf("unknown codec: %v", err)
	}
}

func TestVideoCodecNames(t *testing.T) {
	tests := []struct {
		in   string
		want VideoCodec
		ok   bool
	}{{"", VideoCodecVP8, true}, {"vp8", VideoCodecVP8, true}, {"H264", VideoCodecH264, true}, {"av1", "", false}}
	for _, tt := range tests {
		got, err := ParseVideoCodec(tt.in)
		if got != tt.want || (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
			t.Errorf("ParseVideoCodec(%q) = %q, %v", tt.in, got, err)
		}
	}
	for mime, want := range map[string]VideoCodec{"video/VP8": VideoCodecVP8, "video/h264": VideoCodecH264} {
		if got, ok := VideoCodecOfMimeType(mime); !ok || got != want {
			t.Errorf("VideoCodecOfMimeType(%q) = %q, %v", mime, got, ok)
		}
	}
	if _, ok := VideoCodecOfMimeType("video/AV1"); ok {
		t.Error("AV1 is not a synthetic codec")
	}
}

func FuzzParseH264Payload(f *testing.F) {
	for _, keyframe := range []bool{true, false} {
		var pkts [][]byte
		_ = packetizeFrame(make([]byte, 0, MaxPayloadSize), videoFrame{keyframe: keyframe, size: 40}, newH264Codec(1920, 1080),
			func(p []byte, _ bool) error { pkts = append(pkts, append([]byte(nil), p...)); return nil })
		for _, p := range pkts {
			f.Add(p)
		}
	}
	video := func(flags uint8) Synthetic { return Synthetic{Kind: PayloadVideo, Flags: flags, Seq: 8, Filler: 5} }
	f.Add(h264Payload([]byte{0x7c, 0x85}, video(FlagKeyframe)))
	f.Add(h264Payload([]byte{0x5c, 0x81}, video(FlagFrameStart)))
	f.Add(h264Payload([]byte{0x5c, 0x01}, video(0)))
	f.Add(h264Payload([]byte{0x5c, 0x41}, video(FlagFrameEnd)))
	f.Add([]byte{0x78, 0x00, 0x01, 0x67, 0x00, 0x01, 0x68})
	f.Add([]byte{0x5c, 0xc1})
	f.Fuzz(func(t *testing.T, payload []byte) {
		s, err := ParseVideoPayload(VideoCodecH264, payload)
		block, locErr := VideoBlock(VideoCodecH264, payload)
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("error %v does not wrap ErrBadPayload", err)
			}
			return
		}
		if locErr != nil {
			t.Fatalf("parsed, but VideoBlock failed: %v", locErr)
		}
		// The located block is the one that verified, and re-encodes to the same bytes.
		if again := appendSynthetic(nil, s); !bytes.Equal(again, block) {
			t.Fatalf("re-encoding %+v gives % x, located % x", s, again, block)
		}
	})
}
