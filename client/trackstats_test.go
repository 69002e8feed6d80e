package client

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func TestTrackCounterSequences(t *testing.T) {
	audio := func(seq uint32) []byte {
		return appendSynthetic(nil, Synthetic{Kind: PayloadAudio, Seq: seq, SentAtNs: time.Now().UnixNano(), Filler: 4})
	}
	tests := []struct {
		name                                string
		rtpSeqs                             []uint16
		wantGaps, wantDup, wantOOO, wantUnq uint64
	}{
		{"in order", []uint16{10, 11, 12, 13}, 0, 0, 0, 4},
		{"wraps", []uint16{65534, 65535, 0, 1}, 0, 0, 0, 4},
		{"gap", []uint16{1, 2, 5}, 2, 0, 0, 3},
		{"gap repaired late", []uint16{1, 2, 4, 5, 3}, 0, 0, 1, 5},
		{"duplicate", []uint16{1, 2, 2, 3}, 0, 1, 0, 3},
		{"old duplicate", []uint16{1, 2, 3, 2}, 0, 1, 1, 3},
		{"older than first", []uint16{100, 101, 99}, 0, 0, 1, 3},
		{"gap across wrap", []uint16{65535, 1}, 1, 0, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTrackCounter("a", "s", webrtc.RTPCodecTypeAudio, "", 0)
			for _, s := range tt.rtpSeqs {
				// The block sequence mirrors the RTP sequence so both checks agree.
				c.add(&rtp.Packet{Header: rtp.Header{SequenceNumber: s}, Payload: audio(uint32(s) + 1000)}, time.Now())
			}
			st := c.snapshot()
			if st.SeqGaps != tt.wantGaps || st.Duplicates != tt.wantDup || st.OutOfOrder != tt.wantOOO || st.Unique != tt.wantUnq {
				t.Fatalf("gaps %d dup %d ooo %d unique %d; want %d %d %d %d",
					st.SeqGaps, st.Duplicates, st.OutOfOrder, st.Unique, tt.wantGaps, tt.wantDup, tt.wantOOO, tt.wantUnq)
			}
			if st.PayloadErrors != 0 || st.Packets != uint64(len(tt.rtpSeqs)) {
				t.Fatalf("payload errors %d, packets %d", st.PayloadErrors, st.Packets)
			}
		})
	}
}

// Once a track's first packet carried a verified block, packets without one are errors.
func TestTrackCounterPayloadErrors(t *testing.T) {
	c := newTrackCounter("v", "s", webrtc.RTPCodecTypeVideo, VideoCodecVP8, 0)
	var good []byte
	_ = packetizeFrame(make([]byte, 0, MaxPayloadSize), videoFrame{keyframe: true, size: 100}, vp8Codec{}, func(p []byte, _ bool) error {
		good = append([]byte(nil), p...)
		return nil
	})
	c.add(&rtp.Packet{Header: rtp.Header{SequenceNumber: 1}, Payload: good}, time.Now())
	c.add(&rtp.Packet{Header: rtp.Header{SequenceNumber: 2}, Payload: []byte{0x10, 1, 2, 3}}, time.Now())
	c.add(&rtp.Packet{Header: rtp.Header{SequenceNumber: 3}, Payload: appendSynthetic([]byte{0}, Synthetic{Kind: PayloadAudio})}, time.Now())
	if st := c.snapshot(); st.PayloadErrors != 2 || st.Packets != 3 || st.Source != SourceSynthetic || st.Latencies != 1 {
		t.Fatalf("payload errors %d, packets %d, source %s, latencies %d; want 2, 3, synthetic, 1", st.PayloadErrors, st.Packets, st.Source, st.Latencies)
	}
}

var fixedNow = time.Unix(1_700_000_000, 0)

func rtpPacketWith(payload []byte) *rtp.Packet {
	return &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 1}, Payload: payload}
}

// A keyframe counts as complete when every packet from its start to its marker packet
// arrived in order; a gap inside it does not count.
func TestTrackCounterCompleteKeyframes(t *testing.T) {
	frame := func(number uint32, keyframe bool) [][]byte {
		var out [][]byte
		buf := make([]byte, 0, MaxPayloadSize)
		err := packetizeFrame(buf, videoFrame{number: number, keyframe: keyframe, size: 3000, firstSeq: number * 10, sentAtNs: 1}, vp8Codec{width: 640, height: 360},
			func(payload []byte, _ bool) error {
				out = append(out, append([]byte(nil), payload...))
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	c := newTrackCounter("v", "s", webrtc.RTPCodecTypeVideo, VideoCodecVP8, 0)
	seq := uint16(100)
	send := func(payloads [][]byte, skip int) time.Time {
		at := fixedNow.Add(time.Duration(seq) * time.Millisecond)
		for i, p := range payloads {
			if i != skip {
				c.add(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Marker: i == len(payloads)-1}, Payload: p}, at)
			}
			seq++
		}
		return at
	}
	send(frame(1, true), 1) // a keyframe with a hole
	send(frame(2, false), -1)
	at := send(frame(3, true), -1)
	st := c.snapshot()
	if st.Keyframes != 2 || st.CompleteKeyframes != 1 || !st.FirstCompleteKeyframe.Equal(at) {
		t.Fatalf("keyframes %d complete %d first complete at %v; want 2, 1, %v", st.Keyframes, st.CompleteKeyframes, st.FirstCompleteKeyframe, at)
	}
}

// FirstKeyframe is about the first packet in sequence order: a keyframe start lost on the
// way and repaired by a retransmission after later packets arrived still starts the track.
func TestTrackCounterFirstKeyframeInSequenceOrder(t *testing.T) {
	key := make([]byte, 0, MaxPayloadSize)
	var payloads [][]byte
	err := packetizeFrame(key, videoFrame{number: 1, keyframe: true, size: 3000, firstSeq: 10, sentAtNs: 1}, vp8Codec{width: 640, height: 360},
		func(payload []byte, _ bool) error {
			payloads = append(payloads, append([]byte(nil), payload...))
			return nil
		})
	if err != nil || len(payloads) < 3 {
		t.Fatalf("%d payloads, %v", len(payloads), err)
	}
	for _, tt := range []struct {
		name  string
		order []int // indexes into payloads, in arrival order
		want  bool
	}{
		{"in order", []int{0, 1, 2}, true},
		{"start repaired after later packets", []int{1, 2, 0}, true},
		{"start never arrived", []int{1, 2}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newTrackCounter("v", "s", webrtc.RTPCodecTypeVideo, VideoCodecVP8, 0)
			for _, i := range tt.order {
				c.add(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(500 + i)}, Payload: payloads[i]}, fixedNow)
			}
			if got := c.snapshot().FirstKeyframe; got != tt.want {
				t.Fatalf("FirstKeyframe %v, want %v", got, tt.want)
			}
		})
	}
}
