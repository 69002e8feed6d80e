package room_test

import (
	"slices"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/pion/webrtc/v4"
)

// videoTracks counts the video tracks w received from publisher so far.
func (w *wire) videoTracks(publisher string) int {
	n := 0
	for _, tr := range w.sub.Tracks() {
		if tr.StreamID == publisher && tr.Kind == webrtc.RTPCodecTypeVideo {
			n++
		}
	}
	return n
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// TestSimulcastViewCyclesAndSwitchTimes repeats StopRemoteView/StartRemoteView and
// wish changes over real PeerConnections: every new video starts with a keyframe, every
// switch lands on the wanted layer at a keyframe with continuous numbering. It logs the
// time from StartRemoteView to the first complete keyframe of the new video (first frame)
// and from SetRemoteViewQuality to the first packet of the new layer (switch), p50/p95,
// for docs/performance.md:
//
//	go test -run TestSimulcastViewCycles -v ./room/
func TestSimulcastViewCyclesAndSwitchTimes(t *testing.T) {
	const cycles = 10
	m, id, alice := simulcastRoom(t, "simulcast-cycles", &recordingListener{})
	bob := join(t, m, id, "bob", wireOptions{})
	var first, switches []time.Duration
	layerOf := func(i int) (int, int, int) { // wish and its layer
		if i%2 == 0 {
			return 320, 180, 0
		}
		return 1280, 720, 2
	}
	for i := 0; i < cycles; i++ {
		before := bob.videoTracks("alice")
		started := time.Now()
		if err := bob.part.StartRemoteView("alice"); err != nil {
			t.Fatal(err)
		}
		var tr client.TrackStats
		waitFor(t, 10*time.Second, "a complete keyframe of the new video", func() bool {
			if bob.videoTracks("alice") <= before {
				return false
			}
			tr, _ = bob.track("alice", webrtc.RTPCodecTypeVideo)
			return tr.CompleteKeyframes > 0
		})
		first = append(first, tr.FirstCompleteKeyframe.Sub(started))

		w, h, wantLayer := layerOf(i)
		if bob.videoLayers("alice").Layer == wantLayer {
			w, h, wantLayer = layerOf(i + 1)
		}
		asked := time.Now()
		if err := bob.part.SetRemoteViewQuality("alice", w, h); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the layer switch", func() bool { return bob.videoLayers("alice").Layer == wantLayer })
		switches = append(switches, time.Since(asked))
		checkCleanVideo(t, bob, "alice")

		if err := bob.part.StopRemoteView("alice"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the video to end", func() bool {
			tr, _ := bob.track("alice", webrtc.RTPCodecTypeVideo)
			return tr.Ended
		})
	}
	slices.Sort(first)
	slices.Sort(switches)
	t.Logf("first complete keyframe after StartRemoteView: p50 %s p95 %s (n=%d)", percentile(first, 0.5).Round(time.Millisecond),
		percentile(first, 0.95).Round(time.Millisecond), len(first))
	t.Logf("layer switch after SetRemoteViewQuality: p50 %s p95 %s (n=%d)", percentile(switches, 0.5).Round(time.Millisecond),
		percentile(switches, 0.95).Round(time.Millisecond), len(switches))
	alice.checkNoErrors(t)
	bob.checkNoErrors(t)
}
