package sfu

import "testing"

type av1SeqSpec struct {
	width, height int
	reducedStill  bool
	timing        bool // timing info with equal_picture_interval and a decoder model
	displayDelay  bool
	points        int
}

// av1SequenceHeader is a sequence header OBU body for spec.
func av1SequenceHeader(s av1SeqSpec) []byte {
	w := &bitWriter{}
	w.u(3, uint32(0)) // profile
	w.u(1, uint32(0)) // still_picture
	if s.reducedStill {
		w.u(1, uint32(1))
		w.u(5, uint32(8))
	} else {
		w.u(1, uint32(0))
		if s.timing {
			w.u(1, uint32(1))
			w.u(32, uint32(1001))
			w.u(32, uint32(30000))
			w.u(1, uint32(1))     // equal_picture_interval
			w.u(3, uint32(0b010)) // uvlc 1
			w.u(1, uint32(1))     // decoder_model_info_present_flag
			w.u(5, uint32(9))     // buffer_delay_length_minus_1 → 10 bits
			w.u(32, uint32(90000))
			w.u(5, uint32(31))
			w.u(5, uint32(31))
		} else {
			w.u(1, uint32(0))
		}
		if s.displayDelay {
			w.u(1, uint32(1))
		} else {
			w.u(1, uint32(0))
		}
		points := max(s.points, 1)
		w.u(5, uint32(uint64(points-1)))
		for i := 0; i < points; i++ {
			w.u(12, uint32(0))
			w.u(5, uint32(9)) // seq_level_idx > 7 → tier bit
			w.u(1, uint32(0))
			if s.timing {
				w.u(1, uint32(1)) // decoder_model_present_for_this_op
				w.u(10, uint32(100))
				w.u(10, uint32(200))
				w.u(1, uint32(0))
			}
			if s.displayDelay {
				w.u(1, uint32(1))
				w.u(4, uint32(3))
			}
		}
	}
	w.u(4, uint32(15)) // 16 bits each
	w.u(4, uint32(15))
	w.u(16, uint32(uint64(s.width-1)))
	w.u(16, uint32(uint64(s.height-1)))
	w.u(8, uint32(0)) // the rest of the header
	return w.b
}

func TestAV1FrameSize(t *testing.T) {
	seq := func(s av1SeqSpec) []byte { return append([]byte{1 << 3}, av1SequenceHeader(s)...) } // OBU header, no size
	lengthPrefixed := func(obus ...[]byte) []byte {
		out := []byte{0x08} // N=1, W=0
		for _, o := range obus {
			out = append(out, byte(len(o)))
			out = append(out, o...)
		}
		return out
	}
	temporalDelimiter := []byte{2 << 3}
	withSizeAndExt := func(s av1SeqSpec) []byte {
		body := av1SequenceHeader(s)
		return append([]byte{1<<3 | 0x04 | 0x02, 0x00, byte(len(body))}, body...)
	}
	tests := []struct {
		name          string
		payload       []byte
		width, height int
		ok            bool
	}{
		{"W=0, sequence header first", lengthPrefixed(seq(av1SeqSpec{width: 1280, height: 720})), 1280, 720, true},
		{"W=0, after a temporal delimiter", lengthPrefixed(temporalDelimiter, seq(av1SeqSpec{width: 640, height: 360})), 640, 360, true},
		{"W=1, one element without length", append([]byte{0x18}, seq(av1SeqSpec{width: 320, height: 180})...), 320, 180, true},
		{"W=2, second element", append(append([]byte{0x28, byte(len(temporalDelimiter))}, temporalDelimiter...), seq(av1SeqSpec{width: 1920, height: 1080})...), 1920, 1080, true},
		{"size field and extension header", lengthPrefixed(withSizeAndExt(av1SeqSpec{width: 960, height: 540})), 960, 540, true},
		{"timing info and decoder model", lengthPrefixed(seq(av1SeqSpec{width: 1280, height: 720, timing: true, points: 2})), 1280, 720, true},
		{"initial display delay", lengthPrefixed(seq(av1SeqSpec{width: 640, height: 480, displayDelay: true})), 640, 480, true},
		{"reduced still picture header", lengthPrefixed(seq(av1SeqSpec{width: 100, height: 50, reducedStill: true})), 100, 50, true},
		{"no N bit", append([]byte{0x18}, seq(av1SeqSpec{width: 320, height: 180})...), 0, 0, false},
		{"continuation first", append([]byte{0x98}, seq(av1SeqSpec{width: 320, height: 180})...), 0, 0, false},
		{"no sequence header", lengthPrefixed(temporalDelimiter), 0, 0, false},
		{"truncated", lengthPrefixed(seq(av1SeqSpec{width: 1280, height: 720}))[:5], 0, 0, false},
		{"length past the end", []byte{0x08, 0x7f, 0x08}, 0, 0, false},
		{"empty", nil, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "no N bit" {
				tt.payload[0] = 0x10 // W=1, N=0
			}
			w, h, ok := av1FrameSize(tt.payload)
			if ok != tt.ok || w != tt.width || h != tt.height {
				t.Fatalf("got %dx%d %v, want %dx%d %v", w, h, ok, tt.width, tt.height, tt.ok)
			}
		})
	}
	if p := frameSizeParserFor("video/AV1"); p == nil {
		t.Fatal("no AV1 frame size parser")
	}
}

func TestAV1FrameSizeDoesNotAllocate(t *testing.T) {
	payload := append([]byte{0x08, 0}, append([]byte{1 << 3}, av1SequenceHeader(av1SeqSpec{width: 1280, height: 720, timing: true})...)...)
	payload[1] = byte(len(payload) - 2)
	if n := testing.AllocsPerRun(100, func() { av1FrameSize(payload) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
