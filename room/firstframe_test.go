package room_test

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
	"github.com/pion/webrtc/v4"
)

// TestFirstKeyframeDoesNotWaitForThrottle: bob views alice's video as he joins, and his
// subscriber PeerConnection takes 300 ms to connect (the server's candidates reach him
// late), so his video DownTrack is bound (and asks alice for a keyframe) well before
// its DTLS is up: that keyframe passes before anything can be sent to him.
// The first packet forwarded to him asks again at once although pli_throttle (here
// 10 s, the most it may be; alice's own keyframes 30 s apart) has not passed since the
// first request, so his first frame comes within the time of a connection setup.
func TestFirstKeyframeDoesNotWaitForThrottle(t *testing.T) {
	const throttle = 10 * time.Second
	engine := startEngine(t, func(c *sfu.Config) { c.PLIThrottle = throttle })
	m := newManager(t, room.DefaultConfig(), engine, &recordingListener{})
	id, err := room.NewStringID("first-keyframe")
	if err != nil {
		t.Fatal(err)
	}
	alice := join(t, m, id, "alice", wireOptions{publish: true, keyframeInterval: 900})
	waitFor(t, 10*time.Second, "alice's publisher to connect", func() bool {
		return alice.pub.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	if err := alice.pub.Start(); err != nil {
		t.Fatal(err)
	}
	r, _ := m.Room(id)
	waitFor(t, 10*time.Second, "alice's video to be published", func() bool {
		infos := r.Participants()
		return len(infos) == 1 && infos[0].VideoPublished
	})
	time.Sleep(100 * time.Millisecond) // past alice's first keyframe: the next one needs a request

	bob := join(t, m, id, "bob", wireOptions{candidateDelay: 300 * time.Millisecond})
	viewed := time.Now()
	if err := bob.part.StartRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	// Well within the throttle: without the second request the first keyframe would
	// come when it has passed.
	waitFor(t, throttle*6/10, "bob's first complete keyframe", func() bool {
		tr, ok := bob.track("alice", webrtc.RTPCodecTypeVideo)
		return ok && tr.CompleteKeyframes > 0
	})
	tr, _ := bob.track("alice", webrtc.RTPCodecTypeVideo)
	t.Logf("StartRemoteView → first complete keyframe %s (pli_throttle %s); alice got %d keyframe requests",
		tr.FirstCompleteKeyframe.Sub(viewed).Round(time.Millisecond), throttle, alice.pub.Stats().KeyframeRequests)
	if !tr.FirstKeyframe {
		t.Fatalf("bob's video did not start with a keyframe: %+v", tr)
	}
	alice.checkNoErrors(t)
	bob.checkNoErrors(t)
}
