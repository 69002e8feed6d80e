package client

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

func sampleMedia(t *testing.T) (*IVFVideo, *OggOpus) {
	t.Helper()
	// 0.5 s of 320×180 at 30 fps (a keyframe every 30 frames) and 0.5 s of Opus: each
	// file loops at least twice in the test.
	video, err := ParseIVF(SampleIVF(320, 180, 15, 30, 1500))
	if err != nil {
		t.Fatal(err)
	}
	ogg, err := SampleOgg(25, 60)
	if err != nil {
		t.Fatal(err)
	}
	audio, err := ParseOgg(ogg)
	if err != nil {
		t.Fatal(err)
	}
	return video, audio
}

// A Publisher sends a VP8 IVF and an Opus Ogg file straight to a Subscriber: the files'
// frames arrive whole, paced and looping with contiguous sequence numbers; the receiver
// tells them from synthetic media, counts frames and keyframes and reports no latency.
func TestPublisherSendsFiles(t *testing.T) {
	video, audio := sampleMedia(t)
	pub, sub := startDirect(t, PublisherConfig{Peer: PeerConfig{Loopback: true}, StreamID: "alice", AudioLevel: 42, VideoFile: video, AudioFile: audio},
		SubscriberConfig{Peer: PeerConfig{Loopback: true}})
	start := time.Now()
	// Two and a half passes of each file.
	waitFor(t, 10*time.Second, "1.25 s of media", func() bool { return pub.Stats().AudioPackets >= 62 && pub.Stats().VideoFrames >= 38 })
	pub.Stop()
	elapsed := time.Since(start)
	sent := pub.Stats()
	waitFor(t, 10*time.Second, "every packet to arrive", func() bool {
		a, okA := trackOfKind(sub.Tracks(), webrtc.RTPCodecTypeAudio)
		v, okV := trackOfKind(sub.Tracks(), webrtc.RTPCodecTypeVideo)
		return okA && okV && a.Unique == uint64(sent.AudioPackets) && v.Unique == uint64(sent.VideoPackets)
	})
	// The files' pace: 50 audio packets and 30 video frames a second, never faster.
	if sent.AudioPackets > uint32(elapsed.Seconds()*50)+2 || sent.VideoFrames > uint32(elapsed.Seconds()*30)+2 {
		t.Errorf("%d audio packets and %d frames in %s: faster than the files", sent.AudioPackets, sent.VideoFrames, elapsed)
	}
	a, _ := trackOfKind(sub.Tracks(), webrtc.RTPCodecTypeAudio)
	v, _ := trackOfKind(sub.Tracks(), webrtc.RTPCodecTypeVideo)
	for _, tr := range []TrackStats{a, v} {
		if tr.Source != SourceReal || tr.Latencies != 0 || tr.LatencyMean != 0 || tr.PayloadErrors != tr.Packets || tr.SeqGaps != 0 || tr.Duplicates != 0 {
			t.Errorf("%s track: source %s, %d latencies, %d payload errors, %d gaps, %d duplicates", tr.Kind, tr.Source, tr.Latencies, tr.PayloadErrors, tr.SeqGaps, tr.Duplicates)
		}
	}
	if a.PayloadBytes != a.Packets*60 || a.AudioLevel != 42 {
		t.Errorf("audio: %d bytes in %d packets (want 60 each), level %d", a.PayloadBytes, a.Packets, a.AudioLevel)
	}
	// Each pass starts with the file's keyframe (looping restarts on it).
	if v.Frames != uint64(sent.VideoFrames) || !v.FirstKeyframe || v.Keyframes < 3 || v.CompleteKeyframes != v.Keyframes || v.Keyframes != uint64(sent.Keyframes) {
		t.Errorf("video: %d frames (sent %d), first keyframe %v, %d keyframes (%d complete, sent %d)", v.Frames, sent.VideoFrames, v.FirstKeyframe, v.Keyframes, v.CompleteKeyframes, sent.Keyframes)
	}
	if v.Jitter <= 0 || v.Jitter > 200*time.Millisecond || a.Jitter <= 0 || a.Jitter > 200*time.Millisecond {
		t.Errorf("jitter: video %s, audio %s", v.Jitter, a.Jitter)
	}
}
