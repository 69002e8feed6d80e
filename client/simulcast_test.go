package client

import (
	"errors"
	"testing"
)

// framePackets packetizes one frame and returns copies of its payloads.
func framePackets(t *testing.T, f videoFrame, codec frameCodec) [][]byte {
	t.Helper()
	var out [][]byte
	err := packetizeFrame(make([]byte, 0, MaxPayloadSize), f, codec, func(payload []byte, last bool) error {
		if len(payload) > MaxPayloadSize {
			t.Fatalf("payload of %d bytes", len(payload))
		}
		out = append(out, append([]byte(nil), payload...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPacketizeSimulcastFrame(t *testing.T) {
	f := videoFrame{
		number: 4, keyframe: true, size: 3000, firstSeq: 10, sentAtNs: 1,
		simulcast: true, layer: 2, pictureID: 0x7fff, tl0: 255,
	}
	pkts := framePackets(t, f, vp8Codec{width: 1280, height: 720})
	if len(pkts) != 3 {
		t.Fatalf("%d packets, want 3", len(pkts))
	}
	for i, p := range pkts {
		block, err := ParsePacketPayload(PayloadVideo, p)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if LayerOf(block) != 2 || block.Seq != 10+uint32(i) || (block.Flags&FlagFrameStart != 0) != (i == 0) || block.Flags&FlagKeyframe == 0 {
			t.Fatalf("packet %d: block %+v layer %d", i, block, LayerOf(block))
		}
		if p[0]&vp8DescExtended == 0 || p[2] != 0xff || p[3] != 0xff || p[4] != 255 {
			t.Fatalf("packet %d: descriptor % x", i, p[:5])
		}
	}
	if LayerOf(Synthetic{Flags: FlagKeyframe}) != -1 {
		t.Fatal("a non-simulcast block has a layer")
	}
}

func TestLayerCounter(t *testing.T) {
	frame := func(layer int, keyframe bool, pic uint16, tl0 uint8) [][]byte {
		return framePackets(t, videoFrame{
			keyframe: keyframe, size: 2000, simulcast: true, layer: layer, pictureID: pic, tl0: tl0,
		}, vp8Codec{width: uint16(320 << layer), height: uint16(180 << layer)})
	}
	var c layerCounter
	var seq uint64 = 1 << 32
	feedAt := func(first uint64, pkts [][]byte) {
		for i, p := range pkts {
			block, err := ParsePacketPayload(PayloadVideo, p)
			if err != nil {
				t.Fatal(err)
			}
			c.observe(VideoCodecVP8, p, block, first+uint64(i), true)
		}
	}
	feed := func(pkts [][]byte) {
		feedAt(seq, pkts)
		seq += uint64(len(pkts))
	}
	feed(frame(1, true, 0x7ffe, 254))
	feed(frame(1, false, 0x7fff, 255))
	feed(frame(2, true, 0, 0)) // a clean switch at a keyframe, numbering continues across wraps
	st := c.stats
	if st.Layer != 2 || st.LayerChanges != 1 || st.BadSwitches != 0 || st.PictureIDBreaks != 0 || st.TL0Breaks != 0 {
		t.Fatalf("clean sequence: %+v", st)
	}
	if st.Width != 1280 || st.Height != 720 || st.Frames != [3]uint64{0, 2, 1} {
		t.Fatalf("sizes/frames: %+v", st)
	}
	feed(frame(0, false, 5, 7)) // a switch without keyframe and a broken numbering
	st = c.stats
	if st.BadSwitches != 1 || st.PictureIDBreaks != 1 || st.TL0Breaks != 1 {
		t.Fatalf("broken sequence: %+v", st)
	}

	// Frames 6 and 7 of layer 0: 6's packets are lost and come after 7's (NACK). While
	// 6's start is missing, 7 breaks the numbering; once it came, nothing does.
	six, seven := frame(0, false, 6, 8), frame(0, false, 7, 9)
	sixAt := seq
	seq += uint64(len(six))
	feed(seven)
	if st = c.stats; st.PictureIDBreaks != 2 || st.TL0Breaks != 2 {
		t.Fatalf("frame 6 missing: %+v", st)
	}
	feedAt(sixAt, six)
	if st = c.stats; st.PictureIDBreaks != 1 || st.TL0Breaks != 1 {
		t.Fatalf("frame 6 repaired after frame 7: %+v, want only the first break", st)
	}
	feedAt(sixAt, six[:1]) // a duplicate changes nothing
	if st = c.stats; st.PictureIDBreaks != 1 || st.TL0Breaks != 1 {
		t.Fatalf("after a duplicate: %+v", st)
	}

	// A clean switch to layer 2 at a keyframe; the last packet of layer 0 before it comes
	// after the switch: no change of its own, and the layer is the newest packet's.
	eight := frame(0, false, 8, 10)
	eightAt := seq
	seq += uint64(len(eight))
	feed(frame(2, true, 9, 11))
	feedAt(eightAt, eight)
	if st = c.stats; st.LayerChanges != 3 || st.BadSwitches != 1 || st.Layer != 2 || st.PictureIDBreaks != 1 {
		t.Fatalf("a late packet of the old layer: %+v, want 3 changes (one new), 1 bad switch, layer 2", st)
	}
}

func TestValidateSimulcast(t *testing.T) {
	tests := []struct {
		name   string
		layers []SimulcastLayer
		codec  VideoCodec
		ok     bool
	}{
		{"default", DefaultSimulcastLayers(), VideoCodecVP8, true},
		{"default h264", DefaultSimulcastLayers(), VideoCodecH264, true},
		{"duplicate rid", []SimulcastLayer{{RID: "q", Width: 1, Height: 1, Bitrate: 1}, {RID: "q", Width: 1, Height: 1, Bitrate: 1}}, VideoCodecVP8, false},
		{"no size", []SimulcastLayer{{RID: "q", Bitrate: 1}}, VideoCodecVP8, false},
		{"four layers", append(DefaultSimulcastLayers(), SimulcastLayer{RID: "x", Width: 1, Height: 1, Bitrate: 1}), VideoCodecVP8, false},
		{"negative fps", []SimulcastLayer{{RID: "q", Width: 2, Height: 2, Bitrate: 1, FPS: -1}}, VideoCodecVP8, false},
		{"fps too high", []SimulcastLayer{{RID: "q", Width: 2, Height: 2, Bitrate: 1, FPS: 241}}, VideoCodecVP8, false},
		{"odd size for h264", []SimulcastLayer{{RID: "q", Width: 321, Height: 180, Bitrate: 1}}, VideoCodecH264, false},
		{"odd size for vp8", []SimulcastLayer{{RID: "q", Width: 321, Height: 180, Bitrate: 1}}, VideoCodecVP8, true},
	}
	for _, tc := range tests {
		err := validateSimulcast(tc.layers, tc.codec)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidConfig)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
