package client

import (
	"errors"
	"testing"
)

func TestPacketizeFrame(t *testing.T) {
	tests := []struct {
		name        string
		size        int
		keyframe    bool
		wantPackets int
	}{
		{"empty frame", 0, false, 1},
		{"one small packet", 100, false, 1},
		{"exactly one full packet", MaxPayloadSize - 1 - vp8InterHeader - syntheticOverheadLen, false, 1},
		{"one byte more", MaxPayloadSize - 1 - vp8InterHeader - syntheticOverheadLen + 1, false, 2},
		{"500 kbit/s at 30 fps", 500_000 / 8 / 30, false, 2},
		{"keyframe", 3 * 500_000 / 8 / 30, true, 6},
		{"large keyframe", 100_000, true, 87},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, 0, MaxPayloadSize)
			var (
				packets, filler int
				sawLast         bool
			)
			err := packetizeFrame(buf, videoFrame{number: 9, keyframe: tt.keyframe, size: tt.size, firstSeq: 100, sentAtNs: 5},
				vp8Codec{width: 640, height: 480}, func(payload []byte, last bool) error {
					if sawLast {
						t.Fatal("packet after the last one")
					}
					if len(payload) > MaxPayloadSize {
						t.Fatalf("packet %d is %d bytes, at most %d", packets, len(payload), MaxPayloadSize)
					}
					block, err := ParsePacketPayload(PayloadVideo, payload)
					if err != nil {
						t.Fatalf("packet %d: %v", packets, err)
					}
					if block.Seq != uint32(100+packets) || block.Frame != 9 || block.SentAtNs != 5 {
						t.Fatalf("packet %d block %+v", packets, block)
					}
					if (block.Flags&FlagFrameStart != 0) != (packets == 0) || (block.Flags&FlagFrameEnd != 0) != last ||
						(block.Flags&FlagKeyframe != 0) != tt.keyframe {
						t.Fatalf("packet %d flags %#x (last %v)", packets, block.Flags, last)
					}
					vp8, _ := ParseVP8(payload)
					if packets == 0 && vp8.Keyframe != tt.keyframe {
						t.Fatalf("VP8 keyframe bit %v, want %v", vp8.Keyframe, tt.keyframe)
					}
					filler += block.Filler
					packets++
					sawLast = last
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if !sawLast || packets != tt.wantPackets || filler != tt.size {
				t.Fatalf("%d packets (want %d), %d filler bytes (want %d), last seen %v", packets, tt.wantPackets, filler, tt.size, sawLast)
			}
		})
	}
}

func TestPacketizeFrameStopsOnError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := packetizeFrame(make([]byte, 0, MaxPayloadSize), videoFrame{size: 10_000}, vp8Codec{}, func([]byte, bool) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("err %v after %d calls; want stop after 1", err, calls)
	}
}

func TestTrackCounterAddDoesNotAllocate(t *testing.T) {
	for _, codec := range []VideoCodec{VideoCodecVP8, VideoCodecH264} {
		t.Run(string(codec), func(t *testing.T) {
			c := newTrackCounter("v", "s", 2, codec, 0)
			buf := make([]byte, 0, MaxPayloadSize)
			var payloads [][]byte
			_ = packetizeFrame(buf, videoFrame{keyframe: true, size: 3000}, newFrameCodec(codec, 1280, 720), func(p []byte, _ bool) error {
				payloads = append(payloads, append([]byte(nil), p...))
				return nil
			})
			pkt := rtpPacketWith(payloads[0])
			i := 0
			allocs := testing.AllocsPerRun(1000, func() {
				pkt.SequenceNumber++
				pkt.Payload = payloads[i%len(payloads)]
				i++
				c.add(pkt, fixedNow)
			})
			// The sequence bitsets grow by one word every 64 packets: amortized, well under one.
			if allocs > 0.1 {
				t.Fatalf("%.2f allocations per packet", allocs)
			}
			if st := c.snapshot(); st.PayloadErrors != 0 {
				t.Fatalf("%d payload errors", st.PayloadErrors)
			}
		})
	}
}

func TestPacketizeFrameDoesNotAllocate(t *testing.T) {
	for _, codec := range []VideoCodec{VideoCodecVP8, VideoCodecH264} {
		t.Run(string(codec), func(t *testing.T) {
			fc := newFrameCodec(codec, 1280, 720)
			buf := make([]byte, 0, MaxPayloadSize)
			emit := func([]byte, bool) error { return nil }
			n := uint32(0)
			allocs := testing.AllocsPerRun(200, func() {
				n++
				_ = packetizeFrame(buf, videoFrame{number: n, keyframe: n%2 == 0, size: 6000, simulcast: true, layer: 2}, fc, emit)
			})
			if allocs != 0 {
				t.Fatalf("%.2f allocations per frame", allocs)
			}
		})
	}
}

func BenchmarkTrackCounterAdd(b *testing.B) {
	c := newTrackCounter("v", "s", 2, VideoCodecVP8, 0)
	var payload []byte
	_ = packetizeFrame(make([]byte, 0, MaxPayloadSize), videoFrame{size: 1100}, vp8Codec{}, func(p []byte, _ bool) error { payload = p; return nil })
	pkt := rtpPacketWith(payload)
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		pkt.SequenceNumber++
		c.add(pkt, fixedNow)
	}
}
