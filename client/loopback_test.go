package client

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/internal/testwait"
)

// connectDirect wires a Publisher straight to a Subscriber (no server): the publisher's
// offer is the subscriber's offer to answer, candidates cross over in-process.
func connectDirect(t *testing.T, pub *Publisher, sub *Subscriber) {
	t.Helper()
	pub.OnICECandidate(func(c webrtc.ICECandidateInit) {
		if err := sub.AddICECandidate(c); err != nil {
			t.Errorf("subscriber AddICECandidate: %v", err)
		}
	})
	sub.OnICECandidate(func(c webrtc.ICECandidateInit) {
		if err := pub.AddICECandidate(c); err != nil {
			t.Errorf("publisher AddICECandidate: %v", err)
		}
	})
	offer, err := pub.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	pub.MarkLocalDescriptionSent()
	answer, err := sub.HandleOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.SetAnswer(answer); err != nil {
		t.Fatal(err)
	}
	sub.MarkLocalDescriptionSent()
	waitFor(t, 10*time.Second, "publisher connected", func() bool {
		return pub.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
}

// startDirect builds a Publisher and a Subscriber, connects them (connectDirect) and
// starts sending; both are closed when the test ends.
func startDirect(t *testing.T, pubCfg PublisherConfig, subCfg SubscriberConfig) (*Publisher, *Subscriber) {
	t.Helper()
	pub, err := NewPublisher(pubCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	sub, err := NewSubscriber(subCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	connectDirect(t, pub, sub)
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	return pub, sub
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, timeout, what, cond)
}

func trackOfKind(tracks []TrackStats, kind webrtc.RTPCodecType) (TrackStats, bool) {
	for _, tr := range tracks {
		if tr.Kind == kind {
			return tr, true
		}
	}
	return TrackStats{}, false
}

func TestPublisherToSubscriberDirect(t *testing.T) {
	tests := []struct {
		name     string
		dropRate float64
		codec    VideoCodec
	}{
		{"clean", 0, VideoCodecVP8},
		{"5% loss repaired by NACK", 0.05, VideoCodecVP8},
		{"h264 clean", 0, VideoCodecH264},
		{"h264 5% loss repaired by NACK", 0.05, VideoCodecH264},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, sub := startDirect(t, PublisherConfig{Peer: PeerConfig{Loopback: true}, StreamID: "alice", AudioLevel: 42, VoiceActivity: true, KeyframeInterval: 30,
				VideoCodec: tt.codec, Width: 1920, Height: 1080, AudioPayloadSize: ReferenceAudioPayloadSize},
				SubscriberConfig{Peer: PeerConfig{Loopback: true, DropRate: tt.dropRate, DropSeed: 7}})
			// With loss, also until the simulator dropped a few packets: it drops each NACK-able
			// (video) packet at random, and 2 s of video is few enough packets that none at
			// all dropped happened (once in a make test).
			waitFor(t, 20*time.Second, "2 s of media", func() bool {
				return pub.Stats().AudioPackets >= 100 && (tt.dropRate == 0 || sub.Dropped() >= 3)
			})
			pub.Stop()
			sent := pub.Stats()
			// With loss, the last few packets may be dropped with nothing after them to
			// reveal the hole; everything before them must arrive.
			tail := uint32(0)
			if tt.dropRate > 0 {
				tail = 5
			}
			waitFor(t, 10*time.Second, "every packet to arrive", func() bool {
				a, okA := trackOfKind(sub.Tracks(), webrtc.RTPCodecTypeAudio)
				v, okV := trackOfKind(sub.Tracks(), webrtc.RTPCodecTypeVideo)
				return okA && okV && a.LastBlockSeq+1 == sent.AudioPackets && v.LastBlockSeq+1+tail >= sent.VideoPackets &&
					v.BlockGaps == 0 && v.SeqGaps == 0
			})
			tracks := sub.Tracks()
			if len(tracks) != 2 {
				t.Fatalf("got %d tracks, want 2: %+v", len(tracks), tracks)
			}
			for _, tr := range tracks {
				if tr.StreamID != "alice" {
					t.Errorf("track %s stream %q, want alice", tr.TrackID, tr.StreamID)
				}
				if tr.PayloadErrors != 0 || tr.SeqGaps != 0 || tr.BlockGaps != 0 {
					t.Errorf("track %+v: want no errors or gaps", tr)
				}
				// A packet NACKed twice before its repair arrives comes twice: only with loss.
				if tt.dropRate == 0 && tr.Duplicates != 0 {
					t.Errorf("track %+v: duplicates without loss", tr)
				}
				if tr.FirstBlockSeq != 0 {
					t.Errorf("track %s first block %d, want 0 (direct connection loses nothing)", tr.TrackID, tr.FirstBlockSeq)
				}
				if tr.Unique != uint64(tr.LastBlockSeq)+1 {
					t.Errorf("track %s: %d unique packets for blocks 0..%d", tr.TrackID, tr.Unique, tr.LastBlockSeq)
				}
			}
			audio, _ := trackOfKind(tracks, webrtc.RTPCodecTypeAudio)
			if audio.PayloadBytes != audio.Packets*ReferenceAudioPayloadSize {
				t.Errorf("audio: %d payload bytes in %d packets, want %d each", audio.PayloadBytes, audio.Packets, ReferenceAudioPayloadSize)
			}
			if audio.AudioLevel != 0x80|42 {
				t.Errorf("audio level %#x, want %#x", audio.AudioLevel, 0x80|42)
			}
			video, _ := trackOfKind(tracks, webrtc.RTPCodecTypeVideo)
			if !video.FirstKeyframe || video.Keyframes < 2 || (tt.dropRate == 0 && video.CompleteKeyframes < 2) {
				t.Errorf("video first keyframe %v, keyframes %d (%d complete)", video.FirstKeyframe, video.Keyframes, video.CompleteKeyframes)
			}
			if video.Codec != tt.codec || audio.Codec != "" {
				t.Errorf("video track codec %q, want %q; audio %q", video.Codec, tt.codec, audio.Codec)
			}
			if tt.dropRate > 0 {
				if sub.Dropped() == 0 || video.OutOfOrder == 0 {
					t.Errorf("dropped %d, out of order %d: the loss simulator did not act", sub.Dropped(), video.OutOfOrder)
				}
			} else if sub.Dropped() != 0 {
				t.Errorf("dropped %d without a drop rate", sub.Dropped())
			}
			if err := pub.Close(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "tracks to end", func() bool {
				for _, tr := range sub.Tracks() {
					if !tr.Ended && !tr.EndedOtherwise {
						return false
					}
				}
				return true
			})
			if err := sub.Close(); err != nil {
				t.Fatal(err)
			}
			if err := sub.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	video, err := ParseIVF(SampleIVF(64, 64, 2, 30, 20))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  PublisherConfig
		want string // in the message, when set
	}{
		{"video file with simulcast", PublisherConfig{VideoFile: video, Simulcast: DefaultSimulcastLayers()}, "simulcast"},
		{"video file as h264", PublisherConfig{VideoFile: video, VideoCodec: VideoCodecH264}, "is VP8"},
		{"nothing to publish", PublisherConfig{NoAudio: true, NoVideo: true}, ""},
		{"audio level", PublisherConfig{AudioLevel: 128}, ""},
		{"negative fps", PublisherConfig{VideoFPS: -1}, ""},
		{"unknown codec", PublisherConfig{VideoCodec: "av1"}, ""},
		{"odd h264 size", PublisherConfig{VideoCodec: VideoCodecH264, Width: 641, Height: 480}, ""},
		{"audio payload smaller than a block", PublisherConfig{AudioPayloadSize: syntheticOverheadLen - 1}, ""},
		{"audio payload too large", PublisherConfig{AudioPayloadSize: MaxPayloadSize + 1}, ""},
		{"drop rate", PublisherConfig{Peer: PeerConfig{DropRate: 1.5}}, ""},
		{"negative nack interval", PublisherConfig{Peer: PeerConfig{NACKInterval: -1}}, ""},
		{"network switch off loopback", PublisherConfig{Peer: PeerConfig{Network: &NetworkSwitch{}}}, "loopback"},
	}
	if _, err := NewAPI(PeerConfig{Loopback: true, Network: &NetworkSwitch{}}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NewAPI with a network switch: %v, want ErrInvalidConfig", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPublisher(tt.cfg)
			if err == nil {
				p.Close()
				t.Fatal("NewPublisher accepted an invalid config")
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalidConfig mentioning %q", err, tt.want)
			}
		})
	}
}
