package client

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// ivfFile builds an IVF file: header with fourcc and time base num/den, then frames at
// the given timestamps.
func ivfFile(fourcc string, num, den uint32, pts []uint64, frames [][]byte) []byte {
	out := []byte("DKIF")
	out = binary.LittleEndian.AppendUint16(out, 0)
	out = binary.LittleEndian.AppendUint16(out, 32)
	out = append(out, fourcc...)
	out = binary.LittleEndian.AppendUint16(out, 640)
	out = binary.LittleEndian.AppendUint16(out, 360)
	out = binary.LittleEndian.AppendUint32(out, den)
	out = binary.LittleEndian.AppendUint32(out, num)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(frames)))
	out = binary.LittleEndian.AppendUint32(out, 0)
	for i, f := range frames {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(f)))
		out = binary.LittleEndian.AppendUint64(out, pts[i])
		out = append(out, f...)
	}
	return out
}

func vp8Key(n int) []byte {
	return append(appendVP8FrameHeader(nil, true, n, 640, 360), make([]byte, n)...)
}

func vp8Inter(n int) []byte {
	return append(appendVP8FrameHeader(nil, false, n, 0, 0), make([]byte, n)...)
}

func TestParseIVF(t *testing.T) {
	k, p := vp8Key(50), vp8Inter(20)
	tests := []struct {
		name          string
		file          []byte
		wantTicks     []int64
		wantKeyframes int
		wantDuration  time.Duration
	}{
		{"1/30 time base", ivfFile("VP80", 1, 30, []uint64{0, 1, 2, 3}, [][]byte{k, p, p, k}), []int64{0, 3000, 6000, 9000}, 2, 4 * time.Second / 30},
		{"90 kHz time base, first pts not 0", ivfFile("VP80", 1, 90000, []uint64{1000, 4000, 7000}, [][]byte{k, p, p}), []int64{0, 3000, 6000}, 1, 100 * time.Millisecond},
		{"NTSC 1001/30000", ivfFile("VP80", 1001, 30000, []uint64{0, 1, 2}, [][]byte{k, p, p}), []int64{0, 3003, 6006}, 1, 3 * 1001 * time.Second / 30000},
		{"empty frames skipped", ivfFile("VP80", 1, 30, []uint64{0, 1, 2, 3}, [][]byte{{}, k, {}, p}), []int64{0, 6000}, 1, 12000 * time.Second / 90000},
		{"one frame loops every 1/30 s", ivfFile("VP80", 1, 30, []uint64{7}, [][]byte{k}), []int64{0}, 1, time.Second / 30},
		{"sample", SampleIVF(320, 180, 45, 15, 100), nil, 3, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := ParseIVF(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantTicks != nil {
				var got []int64
				for _, f := range v.frames {
					got = append(got, f.ticks)
				}
				if !slices.Equal(got, tt.wantTicks) {
					t.Errorf("ticks %v, want %v", got, tt.wantTicks)
				}
			}
			if v.Keyframes() != tt.wantKeyframes || !v.frames[0].keyframe {
				t.Errorf("%d keyframes (first %v), want %d", v.Keyframes(), v.frames[0].keyframe, tt.wantKeyframes)
			}
			if v.Duration() != tt.wantDuration {
				t.Errorf("duration %s, want %s", v.Duration(), tt.wantDuration)
			}
		})
	}
}

func TestParseIVFRejects(t *testing.T) {
	k, p := vp8Key(50), vp8Inter(20)
	good := ivfFile("VP80", 1, 30, []uint64{0, 1}, [][]byte{k, p})
	badStart := vp8Key(50)
	badStart[3] = 0
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"truncated header", good[:20], "not an IVF file"},
		{"not IVF", []byte(strings.Repeat("RIFF", 20)), "not an IVF file"},
		{"VP9 fourcc", ivfFile("VP90", 1, 30, []uint64{0}, [][]byte{k}), `fourcc "VP90"`},
		{"zero time base", ivfFile("VP80", 0, 30, []uint64{0}, [][]byte{k}), "not an IVF file"},
		{"no frames", ivfFile("VP80", 1, 30, nil, nil), "without frames"},
		{"truncated frame header", good[:len(good)-len(p)-5], "header truncated"},
		{"truncated frame", good[:len(good)-1], "the file has"},
		{"first frame not a keyframe", ivfFile("VP80", 1, 30, []uint64{0, 1}, [][]byte{p, k}), "not a keyframe"},
		{"keyframe without start code", ivfFile("VP80", 1, 30, []uint64{0}, [][]byte{badStart}), "start code"},
		{"frame shorter than a tag", ivfFile("VP80", 1, 30, []uint64{0, 1}, [][]byte{k, {1, 2}}), "shorter than a frame tag"},
		{"timestamps go back", ivfFile("VP80", 1, 30, []uint64{5, 4}, [][]byte{k, p}), "goes back"},
		{"one timestamp for all", ivfFile("VP80", 1, 30, []uint64{3, 3}, [][]byte{k, p}), "same timestamp"},
		{"too fast", ivfFile("VP80", 1, 90000, []uint64{0, 1, 2}, [][]byte{k, p, p}), "more than 240 a second"},
		{"timestamp overflow", ivfFile("VP80", 1<<31, 1, []uint64{0, 1 << 62}, [][]byte{k, p}), "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseIVF(tt.file)
			if !errors.Is(err, ErrMediaFile) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrMediaFile mentioning %q", err, tt.want)
			}
		})
	}
}

// Load errors name the file, whatever went wrong.
func TestLoadMediaFileErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()
	ogg, err := SampleOgg(5, 40)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"video.ivf": SampleIVF(64, 64, 3, 30, 20), "audio.ogg": ogg, "junk": []byte("not media at all")}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name string
		load func(string) error
		file string
		want string // "" for success
	}{
		{"ivf", func(p string) error { _, err := LoadIVF(p); return err }, "video.ivf", ""},
		{"ogg", func(p string) error { _, err := LoadOgg(p); return err }, "audio.ogg", ""},
		{"missing ivf", func(p string) error { _, err := LoadIVF(p); return err }, "missing.ivf", "no such file"},
		{"missing ogg", func(p string) error { _, err := LoadOgg(p); return err }, "missing.ogg", "no such file"},
		{"ogg as ivf", func(p string) error { _, err := LoadIVF(p); return err }, "audio.ogg", "not an IVF file"},
		{"ivf as ogg", func(p string) error { _, err := LoadOgg(p); return err }, "video.ivf", "not an Ogg Opus file"},
		{"junk as ogg", func(p string) error { _, err := LoadOgg(p); return err }, "junk", "not an Ogg Opus file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.load(path(tt.file))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrMediaFile) || !strings.Contains(err.Error(), path(tt.file)) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrMediaFile naming %s and %q", err, path(tt.file), tt.want)
			}
		})
	}
	v, err := LoadIVF(path("video.ivf"))
	if err != nil || v.Path() != path("video.ivf") || v.Frames() != 3 {
		t.Fatalf("LoadIVF = %+v, %v", v, err)
	}
	if w, h := v.Size(); w != 64 || h != 64 {
		t.Fatalf("size %dx%d", w, h)
	}
}

// oggCRC is the Ogg page checksum (CRC-32, polynomial 0x04c11db7, MSB first, init 0).
func oggCRC(b []byte) uint32 {
	var crc uint32
	for _, c := range b {
		crc ^= uint32(c) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// oggPage builds one page of serial with the given lacing values and payload.
func oggPage(headerType byte, serial, seq uint32, lacing, payload []byte) []byte {
	p := []byte("OggS")
	p = append(p, 0, headerType)
	p = binary.LittleEndian.AppendUint64(p, 0)
	p = binary.LittleEndian.AppendUint32(p, serial)
	p = binary.LittleEndian.AppendUint32(p, seq)
	p = binary.LittleEndian.AppendUint32(p, 0)
	p = append(p, byte(len(lacing)))
	p = append(p, lacing...)
	p = append(p, payload...)
	binary.LittleEndian.PutUint32(p[22:], oggCRC(p))
	return p
}

// lace returns the lacing values and payload of whole packets.
func lace(packets ...[]byte) (lacing, payload []byte) {
	for _, pkt := range packets {
		n := len(pkt)
		for ; n >= 255; n -= 255 {
			lacing = append(lacing, 255)
		}
		lacing = append(lacing, byte(n))
		payload = append(payload, pkt...)
	}
	return lacing, payload
}

func opusHead(family, channels byte) []byte {
	h := []byte("OpusHead")
	h = append(h, 1, channels)
	h = binary.LittleEndian.AppendUint16(h, 312)
	h = binary.LittleEndian.AppendUint32(h, 48000)
	h = binary.LittleEndian.AppendUint16(h, 0)
	h = append(h, family)
	if family != 0 {
		h = append(h, 1, 1)
		for i := range channels {
			h = append(h, i)
		}
	}
	return h
}

func opusTags() []byte {
	t := []byte("OpusTags")
	t = binary.LittleEndian.AppendUint32(t, 5)
	t = append(t, "tests"...)
	return binary.LittleEndian.AppendUint32(t, 0)
}

// opusPacket is a packet of n bytes with the given TOC byte.
func opusPacket(toc byte, n int) []byte {
	p := bytes.Repeat([]byte{0xab}, n)
	p[0] = toc
	return p
}

// oggFile is an Ogg Opus file: a page with head, one with tags (unless nil), then pages.
func oggFile(serial uint32, head, tags []byte, pages ...[]byte) []byte {
	l, p := lace(head)
	out := oggPage(0x02, serial, 0, l, p)
	if tags != nil {
		l, p = lace(tags)
		out = append(out, oggPage(0, serial, 1, l, p)...)
	}
	for _, page := range pages {
		out = append(out, page...)
	}
	return out
}

// oggStream is a stereo Opus Ogg file with the given audio pages.
func oggStream(serial uint32, pages ...[]byte) []byte {
	return oggFile(serial, opusHead(0, 2), opusTags(), pages...)
}

func TestParseOgg(t *testing.T) {
	const serial = 77
	cw20, cw10, silk60x2 := byte(31<<3), byte(30<<3), byte(3<<3|1)
	big := opusPacket(cw20, 600)
	l, p := lace(opusPacket(cw20, 80), opusPacket(cw10, 40), opusPacket(silk60x2, 100))
	multi := oggPage(0, serial, 2, l, p)
	// big starts on one page (two full segments) and ends on the next, followed by a
	// code 3 packet of three 20 ms frames.
	spanA := oggPage(0, serial, 3, []byte{255, 255}, big[:510])
	l, p = lace(big[510:], []byte{cw20 | 3, 3, 0, 0})
	spanB := oggPage(oggContinued, serial, 4, l, p)
	sample, err := SampleOgg(50, 80)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		file      []byte
		wantSizes []int
		wantTicks []int64
		wantDur   time.Duration
	}{
		{"packets sharing a page", oggStream(serial, multi), []int{80, 40, 100}, []int64{0, 960, 1440}, 120*time.Millisecond + 30*time.Millisecond},
		{"packet across pages", oggStream(serial, multi, spanA, spanB), []int{80, 40, 100, 600, 4}, []int64{0, 960, 1440, 7200, 8160}, 230 * time.Millisecond},
		{"pion oggwriter, 50 × 20 ms", sample, nil, nil, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseOgg(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if a.Channels() != 2 || a.Duration() != tt.wantDur {
				t.Errorf("%d channels, %s; want 2, %s", a.Channels(), a.Duration(), tt.wantDur)
			}
			if tt.wantSizes == nil {
				return
			}
			var sizes []int
			var ticks []int64
			for _, f := range a.packets {
				sizes = append(sizes, len(f.data))
				ticks = append(ticks, f.ticks)
			}
			if len(sizes) != len(tt.wantSizes) || !slices.Equal(ticks, tt.wantTicks) {
				t.Fatalf("sizes %v ticks %v; want %v %v", sizes, ticks, tt.wantSizes, tt.wantTicks)
			}
			for i := range sizes {
				if sizes[i] != tt.wantSizes[i] {
					t.Fatalf("sizes %v, want %v", sizes, tt.wantSizes)
				}
			}
			if len(tt.wantSizes) > 3 && !bytes.Equal(a.packets[3].data, big) {
				t.Fatal("the packet across pages was not reassembled")
			}
		})
	}
}

func TestParseOggRejects(t *testing.T) {
	const serial = 5
	cw20 := byte(31 << 3)
	l, p := lace(opusPacket(cw20, 80))
	audio := oggPage(0, serial, 2, l, p)
	good := oggStream(serial, audio)
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 0xff
	multistream := oggFile(serial, opusHead(1, 3), opusTags(), audio)
	noTags := oggFile(serial, opusHead(0, 1), nil, audio)
	l, p = lace(opusPacket(cw20, MaxPayloadSize+1))
	tooBig := oggStream(serial, oggPage(0, serial, 2, l, p))
	l, p = lace(opusPacket(cw20|3, 1))
	noCount := oggStream(serial, oggPage(0, serial, 2, l, p))
	l, p = lace(append(opusPacket(cw20|3, 1), 7)) // 7 × 20 ms
	tooLong := oggStream(serial, oggPage(0, serial, 2, l, p))
	l, p = lace([]byte{})
	empty := oggStream(serial, oggPage(0, serial, 2, l, p))
	noCapture := bytes.Clone(audio)
	copy(noCapture, "Oggs")
	binary.LittleEndian.PutUint32(noCapture[22:], 0)
	binary.LittleEndian.PutUint32(noCapture[22:], oggCRC(noCapture))
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"not Ogg", SampleIVF(64, 64, 2, 30, 20), "not an Ogg Opus file"},
		{"page without capture pattern", oggStream(serial, noCapture), `does not start with "OggS"`},
		{"truncated header", good[:20], "not an Ogg Opus file"},
		{"bad checksum", corrupt, "checksum"},
		{"truncated page", good[:len(good)-3], "Ogg page 2"},
		{"multistream", multistream, "mapping family 1"},
		{"no tags", noTags, "not OpusTags"},
		{"no audio", oggStream(serial), "no Opus packets"},
		{"second stream", oggStream(serial, audio, oggPage(0, serial+1, 3, l, p)), "second stream"},
		{"unfinished packet", oggStream(serial, oggPage(0, serial, 2, []byte{255}, bytes.Repeat([]byte{cw20}, 255))), "unfinished"},
		{"continues nothing", oggStream(serial, oggPage(oggContinued, serial, 2, []byte{10}, make([]byte, 10))), "continues a packet"},
		{"does not continue", oggStream(serial, oggPage(0, serial, 2, []byte{255}, make([]byte, 255)), audio), "unfinished"},
		{"packet too big", tooBig, "more than an RTP payload"},
		{"code 3 without count", noCount, "frame count byte"},
		{"longer than 120 ms", tooLong, "longer than 120 ms"},
		{"empty packet", empty, "empty packet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOgg(tt.file)
			if !errors.Is(err, ErrMediaFile) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrMediaFile mentioning %q", err, tt.want)
			}
		})
	}
}

func TestOpusPacketSamples(t *testing.T) {
	tests := []struct {
		packet []byte
		want   int64
	}{
		{[]byte{0 << 3}, 480},               // SILK NB 10 ms
		{[]byte{3 << 3}, 2880},              // SILK NB 60 ms
		{[]byte{9<<3 | 1}, 1920},            // SILK MB 20 ms, two frames
		{[]byte{12 << 3}, 480},              // hybrid SWB 10 ms
		{[]byte{15<<3 | 2}, 1920},           // hybrid FB 20 ms, two frames of different sizes
		{[]byte{16 << 3}, 120},              // CELT NB 2.5 ms
		{[]byte{31 << 3}, 960},              // CELT FB 20 ms
		{[]byte{31<<3 | 3, 0x80 | 6}, 5760}, // six 20 ms frames (VBR flag set)
	}
	for _, tt := range tests {
		got, err := opusPacketSamples(tt.packet)
		if err != nil || got != tt.want {
			t.Errorf("opusPacketSamples(% x) = %d, %v; want %d", tt.packet, got, err, tt.want)
		}
	}
}

// The player loops with increasing times, and a keyframe request skips ahead in the file
// to the next keyframe at the time the skipped frame was due.
func TestFilePlayer(t *testing.T) {
	frames := []mediaFrame{{ticks: 0, keyframe: true}, {ticks: 10}, {ticks: 20, keyframe: true}, {ticks: 30}}
	tests := []struct {
		name  string
		steps string // n: next frame, k: keyframe request before the next frame
		want  []int64
		index []int
	}{
		{"loops", "nnnnnn", []int64{0, 10, 20, 30, 40, 50}, []int{0, 1, 2, 3, 0, 1}},
		{"keyframe request skips ahead", "nknnn", []int64{0, 10, 20, 30}, []int{0, 2, 3, 0}},
		{"keyframe request wraps", "nnnknn", []int64{0, 10, 20, 30, 40}, []int{0, 1, 2, 0, 1}},
		{"keyframe request on a keyframe", "knkn", []int64{0, 10}, []int{0, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFilePlayer(frames, 40)
			var got []int64
			var index []int
			for _, step := range tt.steps {
				if step == 'k' {
					p.seekKeyframe()
					continue
				}
				f, ticks := p.peek()
				got = append(got, ticks)
				index = append(index, int(f.ticks/10))
				p.advance()
			}
			if !slices.Equal(got, tt.want) || len(index) != len(tt.index) {
				t.Fatalf("ticks %v frames %v; want %v %v", got, index, tt.want, tt.index)
			}
			for i := range index {
				if index[i] != tt.index[i] {
					t.Fatalf("frames %v, want %v", index, tt.index)
				}
			}
		})
	}
}

// A real VP8 frame goes out in payloads of at most MaxPayloadSize bytes, each with a
// payload descriptor (S on the first), whose concatenation is the frame.
func TestPacketizeRealFrame(t *testing.T) {
	for _, size := range []int{50, MaxPayloadSize - 1, MaxPayloadSize, 3000} {
		frame := vp8Key(size)
		for i := vp8KeyframeHeader; i < len(frame); i++ {
			frame[i] = byte(i)
		}
		var got []byte
		var packets, lasts int
		err := packetizeFrame(make([]byte, 0, MaxPayloadSize), videoFrame{keyframe: true, size: len(frame), data: frame}, vp8Codec{}, func(payload []byte, last bool) error {
			if len(payload) > MaxPayloadSize {
				t.Fatalf("payload of %d bytes", len(payload))
			}
			vp8, err := ParseVP8(payload)
			if err != nil {
				t.Fatal(err)
			}
			if vp8.Start != (packets == 0) || (packets == 0 && !vp8.Keyframe) {
				t.Fatalf("packet %d: start %v keyframe %v", packets, vp8.Start, vp8.Keyframe)
			}
			got = append(got, payload[1:]...)
			packets++
			if last {
				lasts++
			}
			return nil
		})
		if err != nil || !bytes.Equal(got, frame) || lasts != 1 {
			t.Fatalf("size %d: err %v, %d packets, reassembled %d of %d bytes, %d last", size, err, packets, len(got), len(frame), lasts)
		}
	}
}

func TestClassifyBlock(t *testing.T) {
	block := appendSynthetic(nil, Synthetic{Kind: PayloadAudio, Seq: 3, Filler: 10})
	forged := bytes.Clone(block)
	forged[len(forged)-1] ^= 1
	tests := []struct {
		name  string
		block []byte
		want  MediaSource
	}{
		{"synthetic", block, SourceSynthetic},
		{"magic without a valid CRC", forged, SourceUnknown},
		{"real Opus", opusPacket(31<<3, 80), SourceReal},
		{"empty", nil, SourceReal},
	}
	for _, tt := range tests {
		if got := ClassifyBlock(tt.block); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// A track of real VP8 is measured by its RTP framing: frames by marker, keyframes by the
// frame tag, no latency; one whose first payload holds "PY" by chance is decided later.
func TestTrackCounterRealMedia(t *testing.T) {
	chance := append([]byte{0x10}, vp8Inter(40)...)
	copy(chance[4:], "PY")
	tests := []struct {
		name     string
		payloads [][]byte
		markers  []bool
		want     TrackStats
	}{
		{"keyframe then frame", [][]byte{append([]byte{0x10}, vp8Key(100)...), {0x00, 1, 2}, append([]byte{0x10}, vp8Inter(10)...)},
			[]bool{false, true, true}, TrackStats{Source: SourceReal, Frames: 2, Keyframes: 1, CompleteKeyframes: 1, FirstKeyframe: true}},
		{"magic by chance", [][]byte{chance, append([]byte{0x10}, vp8Key(100)...)},
			[]bool{true, true}, TrackStats{Source: SourceReal, Frames: 2, Keyframes: 1, CompleteKeyframes: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTrackCounter("v", "s", 2, VideoCodecVP8, 0)
			for i, p := range tt.payloads {
				c.add(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(i) * 3000, Marker: tt.markers[i]}, Payload: p}, fixedNow.Add(time.Duration(i)*time.Second/30))
			}
			st := c.snapshot()
			if st.Source != tt.want.Source || st.Frames != tt.want.Frames || st.Keyframes != tt.want.Keyframes ||
				st.CompleteKeyframes != tt.want.CompleteKeyframes || st.FirstKeyframe != tt.want.FirstKeyframe {
				t.Fatalf("source %s frames %d keyframes %d complete %d first %v; want %+v", st.Source, st.Frames, st.Keyframes, st.CompleteKeyframes, st.FirstKeyframe, tt.want)
			}
			// No packet carries a block: each is a payload error, so a synthetic stream
			// damaged from its first packet cannot pass for real media unnoticed.
			if st.Latencies != 0 || st.LatencyMean != 0 || st.PayloadErrors != st.Packets || st.SeqGaps != 0 {
				t.Fatalf("latencies %d mean %s, payload errors %d of %d packets, gaps %d", st.Latencies, st.LatencyMean, st.PayloadErrors, st.Packets, st.SeqGaps)
			}
		})
	}
}

func TestJitter(t *testing.T) {
	tests := []struct {
		name    string
		arrival []time.Duration // per packet, 20 ms of RTP time apart
		want    time.Duration   // within 1 µs
	}{
		{"steady", []time.Duration{0, 20, 40, 60}, 0},
		{"one late packet", []time.Duration{0, 20, 56}, time.Millisecond},            // |D| = 16 ms → 16/16
		{"late then on time", []time.Duration{0, 36, 40}, 1937500 * time.Nanosecond}, // 1 ms, then 1 + (16-1)/16 ms
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := NewJitter(48000)
			for i, a := range tt.arrival {
				j.Observe(uint32(i*960), fixedNow.Add(a*time.Millisecond))
			}
			if d := j.Value() - tt.want; d < -time.Microsecond || d > time.Microsecond {
				t.Fatalf("jitter %s, want %s", j.Value(), tt.want)
			}
		})
	}
}
