package client

import (
	"errors"
	"testing"
)

func TestSyntheticRoundTrip(t *testing.T) {
	tests := []Synthetic{
		{Kind: PayloadAudio, Seq: 0, SentAtNs: 1, Filler: 80},
		{Kind: PayloadAudio, Seq: 1<<32 - 1, SentAtNs: -5, Filler: 0},
		{Kind: PayloadVideo, Flags: FlagKeyframe | FlagFrameStart, Seq: 77, Frame: 3, SentAtNs: 1 << 62, Filler: 1100},
	}
	for _, want := range tests {
		b := appendSynthetic([]byte{0xAA}, want)[1:]
		got, err := ParseSynthetic(b)
		if err != nil || got != want {
			t.Fatalf("ParseSynthetic(appendSynthetic(%+v)) = %+v, %v", want, got, err)
		}
	}
}

func TestParseSyntheticRejectsCorruption(t *testing.T) {
	good := appendSynthetic(nil, Synthetic{Kind: PayloadAudio, Seq: 9, SentAtNs: 42, Filler: 16})
	tests := []struct {
		name   string
		mutate func([]byte) []byte
	}{
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }},
		{"extra byte", func(b []byte) []byte { return append(b, 0) }},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"bad kind", func(b []byte) []byte { b[2] = 9; return b }},
		{"flipped filler bit", func(b []byte) []byte { b[syntheticHeaderLen+3] ^= 1; return b }},
		{"flipped seq bit", func(b []byte) []byte { b[7] ^= 0x10; return b }},
		{"bad checksum", func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b }},
		{"empty", func([]byte) []byte { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mutate(append([]byte(nil), good...))
			if _, err := ParseSynthetic(b); !errors.Is(err, ErrBadPayload) {
				t.Fatalf("ParseSynthetic = %v, want ErrBadPayload", err)
			}
		})
	}
}

func vp8Packet(start, keyframe bool, block Synthetic) []byte {
	desc := byte(0)
	if start {
		desc = vp8DescStart
	}
	b := []byte{desc}
	if start {
		b = appendVP8FrameHeader(b, keyframe, 2000, 640, 480)
	}
	return appendSynthetic(b, block)
}

func TestParsePacketPayload(t *testing.T) {
	key := Synthetic{Kind: PayloadVideo, Flags: FlagKeyframe | FlagFrameStart, Seq: 1, Filler: 10}
	mid := Synthetic{Kind: PayloadVideo, Flags: FlagKeyframe, Seq: 2, Filler: 10}
	inter := Synthetic{Kind: PayloadVideo, Flags: FlagFrameStart | FlagFrameEnd, Seq: 3, Filler: 10}
	audio := Synthetic{Kind: PayloadAudio, Seq: 4, Filler: 10}
	// A descriptor with every extension an SFU could add: picture ID (long), TL0PICIDX, TID/KEYIDX.
	extended := append([]byte{vp8DescExtended | vp8DescStart, 0xf0, 0x80 | 0x12, 0x34, 0x05, 0x20},
		appendVP8FrameHeader(nil, true, 10, 1, 1)...)
	extended = appendSynthetic(extended, key)
	tests := []struct {
		name    string
		kind    PayloadKind
		payload []byte
		want    Synthetic
		wantErr bool
	}{
		{"keyframe start", PayloadVideo, vp8Packet(true, true, key), key, false},
		{"keyframe continuation", PayloadVideo, vp8Packet(false, false, mid), mid, false},
		{"inter frame", PayloadVideo, vp8Packet(true, false, inter), inter, false},
		{"extended descriptor", PayloadVideo, extended, key, false},
		{"audio", PayloadAudio, appendSynthetic(nil, audio), audio, false},
		{"audio block on video track", PayloadVideo, vp8Packet(false, false, audio), Synthetic{}, true},
		{"video block on audio track", PayloadAudio, appendSynthetic(nil, mid), Synthetic{}, true},
		{"start bit disagrees", PayloadVideo, vp8Packet(false, false, key), Synthetic{}, true},
		{"keyframe bit disagrees", PayloadVideo, vp8Packet(true, false, key), Synthetic{}, true},
		{"bad start code", PayloadVideo, func() []byte { b := vp8Packet(true, true, key); b[4] = 0; return b }(), Synthetic{}, true},
		{"empty video", PayloadVideo, nil, Synthetic{}, true},
		{"truncated extension", PayloadVideo, []byte{vp8DescExtended}, Synthetic{}, true},
		{"truncated picture id", PayloadVideo, []byte{vp8DescExtended, vp8ExtPictureID}, Synthetic{}, true},
		{"unknown kind", PayloadKind(7), appendSynthetic(nil, audio), Synthetic{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePacketPayload(tt.kind, tt.payload)
			if tt.wantErr {
				if !errors.Is(err, ErrBadPayload) {
					t.Fatalf("err = %v, want ErrBadPayload", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func FuzzParsePacketPayload(f *testing.F) {
	key := Synthetic{Kind: PayloadVideo, Flags: FlagKeyframe | FlagFrameStart, Seq: 1, Filler: 3}
	f.Add(uint8(PayloadVideo), vp8Packet(true, true, key))
	f.Add(uint8(PayloadVideo), vp8Packet(false, false, Synthetic{Kind: PayloadVideo, Seq: 2}))
	f.Add(uint8(PayloadVideo), []byte{vp8DescExtended, 0xf0, 0x80, 0x01, 0x02, 0x03})
	f.Add(uint8(PayloadAudio), appendSynthetic(nil, Synthetic{Kind: PayloadAudio, Seq: 5, Filler: 4}))
	f.Add(uint8(PayloadAudio), []byte("PY"))
	f.Fuzz(func(t *testing.T, kind uint8, payload []byte) {
		s, err := ParsePacketPayload(PayloadKind(kind), payload)
		if err != nil {
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("error %v does not wrap ErrBadPayload", err)
			}
			return
		}
		if s.Kind != PayloadKind(kind) {
			t.Fatalf("kind %d parsed as %d", kind, s.Kind)
		}
		// A valid block re-encodes to the same bytes at the end of the payload.
		again := appendSynthetic(nil, s)
		if len(again) > len(payload) || string(payload[len(payload)-len(again):]) != string(again) {
			t.Fatalf("re-encoding %+v does not reproduce the payload tail", s)
		}
	})
}
