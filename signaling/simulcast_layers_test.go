package signaling_test

import (
	"context"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/signaling/protocol"
	"github.com/pion/webrtc/v4"
)

// TestPublishLayersFollowViewers: in a video call alice publishes three simulcast
// layers. bob asking for 320×180 makes the server send alice onPublishLayersChanged with
// h and f inactive, and her client stops sending them; bob asking for 1280×720 brings f
// back (active in a new event), and bob then receives f.
func TestPublishLayersFollowViewers(t *testing.T) {
	st := newStack(t)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	ctx := ctxT(t, 60*time.Second)
	if _, err := alice.Call(ctx, "bob", protocol.MediaTypeVideo, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
	if err := bob.Accept(ctx, 0); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallBeginEvent](t, alice, protocol.EventCallBegin, nil)
	if err := alice.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true, Simulcast: client.DefaultSimulcastLayers()}); err != nil {
		t.Fatal(err)
	}
	if err := bob.StartMedia(ctx, client.MediaOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := bob.StartRemoteView(ctx, "alice", protocol.VideoQuality{Width: 320, Height: 180}); err != nil {
		t.Fatal(err)
	}
	layers := func(want map[string]bool) func(protocol.PublishLayersChangedEvent) bool {
		return func(e protocol.PublishLayersChangedEvent) bool {
			if e.UserID != "alice" || len(e.Layers) != len(want) {
				return false
			}
			for _, l := range e.Layers {
				if active, ok := want[l.RID]; !ok || active != l.Active {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, alice, protocol.EventPublishLayersChanged, layers(map[string]bool{"q": true, "h": false, "f": false}))
	waitUntil(t, ctx, "alice's client to pause h and f", func() bool {
		s := alice.Publisher().SimulcastStats()
		return !s[0].Paused && s[1].Paused && s[2].Paused
	})
	waitUntil(t, ctx, "bob to receive q", func() bool {
		tr, ok := remoteVideo(bob, "alice")
		return ok && tr.Simulcast.Layer == 0 && tr.Simulcast.Frames[0] >= 30
	})

	if err := bob.SetRemoteViewQuality(ctx, "alice", protocol.VideoQuality{Width: 1280, Height: 720}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, protocol.EventPublishLayersChanged, layers(map[string]bool{"q": true, "h": false, "f": true}))
	waitUntil(t, ctx, "bob to receive f", func() bool {
		tr, ok := remoteVideo(bob, "alice")
		return ok && tr.Simulcast.Layer == 2 && tr.Simulcast.Frames[2] >= 30
	})
	if s := alice.Publisher().SimulcastStats(); s[2].Paused || !s[1].Paused {
		t.Fatalf("alice's layers after bob asked for 1280×720: %+v", s)
	}
	if tr, _ := remoteVideo(bob, "alice"); tr.Simulcast.BadSwitches != 0 || tr.Simulcast.PictureIDBreaks != 0 {
		t.Fatalf("bob's video of alice: %+v", tr.Simulcast)
	}
}

func remoteVideo(c *client.Conn, userID string) (client.TrackStats, bool) {
	var found client.TrackStats
	ok := false
	for _, tr := range c.RemoteTracks(userID) {
		if tr.Kind == webrtc.RTPCodecTypeVideo {
			found, ok = tr, true
		}
	}
	return found, ok
}

// waitUntil polls cond until it holds, failing the test when ctx ends first.
func waitUntil(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	testwait.Until(t, ctx, what, cond)
}
