package sfu

import (
	"bytes"
	"testing"
)

func TestParseVP8DescriptorAndMunge(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		ok       bool
		header   int
		pic      uint16
		long     bool
		tl0      uint8
		munge    vp8Munge
		munged   []byte
		hasPic   bool
		hasTL0   bool
		pictMask uint16
	}{
		{name: "no extension", in: []byte{0x10, 0x00}, ok: true, header: 1, munge: vp8Munge{active: true, pictureID: 5}, munged: []byte{0x10, 0x00}},
		{name: "15-bit picture id wraps", in: []byte{0x90, 0x80, 0xff, 0xfe, 0x9d}, ok: true, header: 4, pic: 0x7ffe, long: true, hasPic: true,
			munge: vp8Munge{active: true, pictureID: 3}, munged: []byte{0x90, 0x80, 0x80, 0x01, 0x9d}, pictMask: 0x7fff},
		{name: "7-bit picture id and tl0", in: []byte{0x90, 0xc0, 0x7f, 0xff, 0x00}, ok: true, header: 4, pic: 0x7f, tl0: 0xff, hasPic: true, hasTL0: true,
			munge: vp8Munge{active: true, pictureID: 2, tl0PicIdx: 2}, munged: []byte{0x90, 0xc0, 0x01, 0x01, 0x00}, pictMask: 0x7f},
		{name: "tid/keyidx byte", in: []byte{0x80, 0xf0, 0x81, 0x02, 0x07, 0x20, 0x55}, ok: true, header: 6, pic: 0x102, long: true, tl0: 7, hasPic: true, hasTL0: true,
			munge: vp8Munge{}, munged: []byte{0x80, 0xf0, 0x81, 0x02, 0x07, 0x20, 0x55}, pictMask: 0x7fff},
		{name: "truncated picture id", in: []byte{0x90, 0x80, 0x80}, ok: false},
		{name: "truncated tl0", in: []byte{0x90, 0x40}, ok: false},
		{name: "empty", in: nil, ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d vp8Descriptor
			ok := parseVP8Descriptor(tc.in, &d)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if d.headerLen != tc.header || d.pictureID != tc.pic || d.longPicID != tc.long || d.tl0PicIdx != tc.tl0 || d.hasPicture != tc.hasPic || d.hasTL0 != tc.hasTL0 {
				t.Fatalf("descriptor %+v", d)
			}
			if tc.hasPic && d.pictureIDMask() != tc.pictMask {
				t.Fatalf("mask %#x", d.pictureIDMask())
			}
			b := bytes.Clone(tc.in)
			tc.munge.apply(b)
			if !bytes.Equal(b, tc.munged) {
				t.Fatalf("munged % x, want % x", b, tc.munged)
			}
			if got := unpackVP8Munge(tc.munge.pack()); got != tc.munge && tc.munge.active {
				t.Fatalf("pack round trip %+v -> %+v", tc.munge, got)
			}
		})
	}
}

func TestVP8FrameSize(t *testing.T) {
	key := simPayload(0, 7, 1, 0, true, true, 1280, 720, 40)
	if w, h, ok := vp8FrameSize(key); !ok || w != 1280 || h != 720 {
		t.Fatalf("keyframe size %d×%d %v", w, h, ok)
	}
	scaled := bytes.Clone(key)
	scaled[5+7] |= 0xc0 // horizontal scale bits above the 14-bit width
	if w, _, ok := vp8FrameSize(scaled); !ok || w != 1280 {
		t.Fatalf("scaled width %d %v", w, ok)
	}
	for name, p := range map[string][]byte{
		"delta frame":    simPayload(0, 7, 1, 0, true, false, 0, 0, 40),
		"not a start":    simPayload(0, 7, 1, 0, false, false, 0, 0, 40),
		"bad start code": append([]byte{0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2b}, 0, 5, 0, 5),
		"truncated":      key[:10],
	} {
		if _, _, ok := vp8FrameSize(p); ok {
			t.Errorf("%s: size reported", name)
		}
	}
}

func TestVP9FrameSize(t *testing.T) {
	// I (15-bit picture id), B, E, V; SS: N_S=2 (3 layers), Y=1; sizes.
	p := []byte{0x8e, 0x80, 0x01, 0x50,
		0x01, 0x40, 0x00, 0xb4, // 320×180
		0x02, 0x80, 0x01, 0x68, // 640×360
		0x05, 0x00, 0x02, 0xd0} // 1280×720
	if w, h, ok := vp9FrameSize(p); !ok || w != 1280 || h != 720 {
		t.Fatalf("size %d×%d %v", w, h, ok)
	}
	flexible := []byte{0xda, 0x05, 0x02, 0x10, 0x00, 0xa0, 0x00, 0x78} // I, P, F, B, V; 7-bit pid; P_DIFF; 160×120
	if w, h, ok := vp9FrameSize(flexible); !ok || w != 160 || h != 120 {
		t.Fatalf("flexible size %d×%d %v", w, h, ok)
	}
	for name, b := range map[string][]byte{"no V": {0x88, 0x01}, "no Y": {0x0a, 0x00}, "truncated": p[:10], "empty": nil} {
		if _, _, ok := vp9FrameSize(b); ok {
			t.Errorf("%s: size reported", name)
		}
	}
}

// bitWriter builds test SPSs.
type bitWriter struct {
	b    []byte
	nbit int
}

func (w *bitWriter) u(n int, v uint32) {
	for i := n - 1; i >= 0; i-- {
		if w.nbit%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>uint(i)&1 == 1 {
			w.b[len(w.b)-1] |= 0x80 >> uint(w.nbit%8)
		}
		w.nbit++
	}
}

func (w *bitWriter) ue(v uint32) {
	v++
	n := 0
	for x := v; x > 1; x >>= 1 {
		n++
	}
	w.u(n, 0)
	w.u(n+1, v)
}

func (w *bitWriter) se(v int32) {
	if v > 0 {
		w.ue(uint32(2*v - 1))
	} else {
		w.ue(uint32(-2 * v))
	}
}

// escaped inserts emulation prevention bytes as an encoder would.
func escaped(rbsp []byte) []byte {
	var out []byte
	zeros := 0
	for _, c := range rbsp {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
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

type spsSpec struct {
	profile              uint32
	chroma               uint32
	scaling              bool
	pocType              uint32
	widthMbs, heightMaps uint32
	frameMbsOnly         bool
	crop                 [4]uint32
}

func buildSPS(s spsSpec) []byte {
	w := &bitWriter{}
	w.u(8, s.profile)
	w.u(8, 0)
	w.u(8, 31)
	w.ue(0)
	if s.profile == 100 {
		w.ue(s.chroma)
		if s.chroma == 3 {
			w.u(1, 0) // separate_colour_plane_flag
		}
		w.ue(0)
		w.ue(0)
		w.u(1, 0)
		if s.scaling {
			w.u(1, 1)
			for i := 0; i < 8; i++ {
				w.u(1, uint32(i%2))
				if i%2 == 1 {
					size := 16
					if i >= 6 {
						size = 64
					}
					for j := 0; j < size; j++ {
						w.se(1)
					}
				}
			}
		} else {
			w.u(1, 0)
		}
	}
	w.ue(0) // log2_max_frame_num
	w.ue(s.pocType)
	switch s.pocType {
	case 0:
		w.ue(2)
	case 1:
		w.u(1, 0)
		w.se(-1)
		w.se(2)
		w.ue(2)
		w.se(3)
		w.se(-3)
	}
	w.ue(1) // max_num_ref_frames
	w.u(1, 0)
	w.ue(s.widthMbs - 1)
	w.ue(s.heightMaps - 1)
	if s.frameMbsOnly {
		w.u(1, 1)
	} else {
		w.u(1, 0)
		w.u(1, 0)
	}
	w.u(1, 1)
	if s.crop != [4]uint32{} {
		w.u(1, 1)
		for _, c := range s.crop {
			w.ue(c)
		}
	} else {
		w.u(1, 0)
	}
	w.u(1, 0) // vui_parameters_present_flag
	w.u(1, 1) // rbsp stop bit
	return append([]byte{0x67}, escaped(w.b)...)
}

func TestH264FrameSize(t *testing.T) {
	tests := []struct {
		name string
		spec spsSpec
		w, h int
	}{
		{"baseline 640x360 cropped", spsSpec{profile: 66, widthMbs: 40, heightMaps: 23, frameMbsOnly: true, crop: [4]uint32{0, 0, 0, 4}}, 640, 360},
		{"baseline 1280x720", spsSpec{profile: 66, widthMbs: 80, heightMaps: 45, frameMbsOnly: true}, 1280, 720},
		{"high with scaling lists, poc 1", spsSpec{profile: 100, chroma: 1, scaling: true, pocType: 1, widthMbs: 120, heightMaps: 68, frameMbsOnly: true, crop: [4]uint32{0, 0, 0, 4}}, 1920, 1080},
		{"interlaced", spsSpec{profile: 77, widthMbs: 20, heightMaps: 8, pocType: 2}, 320, 256},
		{"4:4:4 crop units", spsSpec{profile: 100, chroma: 3, widthMbs: 20, heightMaps: 15, frameMbsOnly: true, crop: [4]uint32{1, 1, 0, 2}}, 318, 238},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sps := buildSPS(tc.spec)
			if w, h, ok := h264FrameSize(sps); !ok || w != tc.w || h != tc.h {
				t.Fatalf("single NAL: %d×%d %v, want %d×%d (sps % x)", w, h, ok, tc.w, tc.h, sps)
			}
			stap := []byte{0x78, 0x00, 0x02, 0x09, 0xf0, byte(len(sps) >> 8), byte(len(sps))}
			stap = append(stap, sps...)
			if w, h, ok := h264FrameSize(stap); !ok || w != tc.w || h != tc.h {
				t.Fatalf("STAP-A: %d×%d %v", w, h, ok)
			}
			if _, _, ok := h264FrameSize(sps[:len(sps)/2]); ok {
				t.Fatal("truncated SPS parsed")
			}
		})
	}
	if _, _, ok := h264FrameSize([]byte{0x65, 0x88}); ok {
		t.Fatal("IDR slice parsed as SPS")
	}
}

// FuzzVideoHeaders: the parsers of publisher payloads never panic, and a munge keeps a
// payload's length and leaves its VP8 header parseable.
func FuzzVideoHeaders(f *testing.F) {
	f.Add(simPayload(2, 32767, 255, 9, true, true, 1280, 720, 30))
	f.Add([]byte{0x8e, 0x80, 0x01, 0x50, 0x01, 0x40, 0x00, 0xb4})
	f.Add(buildSPS(spsSpec{profile: 100, chroma: 1, scaling: true, pocType: 1, widthMbs: 120, heightMaps: 68, frameMbsOnly: true}))
	f.Add([]byte{0x78, 0x00, 0x03, 0x67, 0x42, 0x00})
	f.Add([]byte{0x90, 0xc0, 0x7f, 0xff})
	f.Add(append([]byte{0x18, 1 << 3}, av1SequenceHeader(av1SeqSpec{width: 1280, height: 720, timing: true, points: 2})...))
	f.Fuzz(func(t *testing.T, b []byte) {
		vp8FrameSize(b)
		vp9FrameSize(b)
		h264FrameSize(b)
		av1FrameSize(b)
		var before, after vp8Descriptor
		okBefore := parseVP8Descriptor(b, &before)
		c := bytes.Clone(b)
		vp8Munge{active: true, pictureID: 0x1234, tl0PicIdx: 7}.apply(c)
		if len(c) != len(b) {
			t.Fatal("munge changed the length")
		}
		if okAfter := parseVP8Descriptor(c, &after); okAfter != okBefore || (okBefore && after.headerLen != before.headerLen) {
			t.Fatalf("munge changed the descriptor layout: %+v -> %+v", before, after)
		}
	})
}
