package signaling_test

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestGoClientSwitchToAudioStopsVideo: in a 1v1 video call through the real server, both
// Go clients publish and view each other; alice switches to audio, and on both sides the
// client stops sending video and closes the camera (the other hears
// onUserVideoAvailable(false)), no video arrives any more, and the audio goes on (D241).
func TestGoClientSwitchToAudioStopsVideo(t *testing.T) {
	st := newStack(t)
	ctx := ctxT(t, 90*time.Second)
	us := st.users(t, "sw", "alice", "bob")
	alice, bob := us[0], us[1]
	_, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{})
	must(t, err)
	waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
	accepted(t, alice, bob)
	pairs := [][2]*client.Conn{{alice, bob}, {bob, alice}}
	for _, c := range []*client.Conn{alice, bob} {
		must(t, c.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}))
	}
	for _, pair := range pairs {
		me, other := pair[0], pair[1]
		must(t, me.StartRemoteView(ctx, other.UserID(), protocol.VideoQuality{}))
		if _, err := me.WaitRemoteTrack(ctx, other.UserID(), webrtc.RTPCodecTypeVideo, 25); err != nil {
			t.Fatalf("%s: %v", me.UserID(), err)
		}
	}

	must(t, alice.SwitchCallMediaType(ctx, audio))
	for _, pair := range pairs {
		me, other := pair[0], pair[1]
		waitFor(t, me, protocol.EventUserVideoAvailable, func(e protocol.UserVideoAvailableEvent) bool {
			return e.UserID == other.UserID() && !e.IsVideoAvailable
		})
		var sent uint32
		var got uint64
		stableSince := time.Now()
		testwait.For(t, 30*time.Second, me.UserID()+" sends and receives no video", func() bool {
			nowSent := me.Publisher().Stats().VideoPackets
			nowGot := packetsOf(me, other.UserID(), webrtc.RTPCodecTypeVideo)
			if nowSent != sent || nowGot != got {
				sent, got, stableSince = nowSent, nowGot, time.Now()
			}
			return time.Since(stableSince) > time.Second
		})
		if _, err := me.WaitRemoteTrack(ctx, other.UserID(), webrtc.RTPCodecTypeAudio, packetsOf(me, other.UserID(), webrtc.RTPCodecTypeAudio)+25); err != nil {
			t.Fatalf("%s: %s's audio stopped with the video: %v", me.UserID(), other.UserID(), err)
		}
	}
}
