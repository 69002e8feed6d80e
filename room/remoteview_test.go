package room_test

import (
	"errors"
	"testing"
	"time"

	"github.com/parley-rtc/parley/room"
	"github.com/pion/webrtc/v4"
)

// TestRemoteViewFollowsStartAndStop: video reaches a participant only between
// StartRemoteView and StopRemoteView; audio flows regardless; a publisher never receives
// its own tracks; published and muted state show in Participants.
func TestRemoteViewFollowsStartAndStop(t *testing.T) {
	engine := startEngine(t)
	l := &recordingListener{}
	m := newManager(t, room.DefaultConfig(), engine, l)
	id, err := room.NewIntID(2147483647)
	if err != nil {
		t.Fatal(err)
	}
	alice := join(t, m, id, "alice", wireOptions{publish: true})
	waitFor(t, 10*time.Second, "alice's publisher to connect", func() bool {
		return alice.pub.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	if err := alice.pub.Start(); err != nil {
		t.Fatal(err)
	}
	bob := join(t, m, id, "bob", wireOptions{})
	r, _ := m.Room(id)
	waitFor(t, 10*time.Second, "alice's tracks to be published", func() bool {
		infos := r.Participants()
		return len(infos) == 2 && infos[0].AudioPublished && infos[0].VideoPublished
	})
	packetsOf := func(kind webrtc.RTPCodecType) uint64 {
		tr, _ := bob.track("alice", kind)
		return tr.Packets
	}
	waitFor(t, 10*time.Second, "bob to hear alice", func() bool { return packetsOf(webrtc.RTPCodecTypeAudio) > 10 })
	if _, ok := bob.track("alice", webrtc.RTPCodecTypeVideo); ok {
		t.Fatal("bob received video before StartRemoteView")
	}

	if err := bob.part.StartRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "bob to see alice", func() bool { return packetsOf(webrtc.RTPCodecTypeVideo) > 30 })

	if err := bob.part.StopRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "alice's video to end at bob", func() bool {
		tr, _ := bob.track("alice", webrtc.RTPCodecTypeVideo)
		return tr.Ended
	})
	audioBefore := packetsOf(webrtc.RTPCodecTypeAudio)
	waitFor(t, 10*time.Second, "audio to keep flowing", func() bool {
		return packetsOf(webrtc.RTPCodecTypeAudio) > audioBefore+10
	})
	if tr, _ := bob.track("alice", webrtc.RTPCodecTypeAudio); tr.Ended {
		t.Fatal("audio ended with the video")
	}

	// Viewing again brings a new video track.
	if err := bob.part.StartRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a second video track", func() bool {
		tr, ok := bob.track("alice", webrtc.RTPCodecTypeVideo)
		return ok && !tr.Ended && tr.Packets > 30
	})

	alice.part.SetMuted(room.KindVideo, true)
	if infos := r.Participants(); !infos[0].VideoMuted || infos[0].AudioMuted {
		t.Fatalf("Participants() = %+v after muting alice's camera", infos)
	}
	waitFor(t, 10*time.Second, "the mute event", func() bool { return l.has("2147483647 muted alice video true") })

	if n := len(alice.sub.Tracks()); n != 0 {
		t.Fatalf("alice received %d tracks of her own:%s", n, describe(alice.sub.Tracks()))
	}
	for _, w := range []*wire{alice, bob} {
		w.checkNoErrors(t)
	}
	checkOrder(t, l, []string{"2147483647 joined alice", "2147483647 published alice video", "2147483647 muted alice video true"})
	checkOrder(t, l, []string{"2147483647 joined bob", "2147483647 muted alice video true"})
}

// TestPendingRemoteViewsBounded: wishes for users who are not in the room stop at
// room.max_pending_remote_views (ErrTooManyRemoteViews, counted); repeating a wish,
// wishing for a user in the room and wishing again after StopRemoteView are allowed, and
// alice's video keeps reaching bob throughout.
func TestPendingRemoteViewsBounded(t *testing.T) {
	engine := startEngine(t)
	cfg := room.DefaultConfig()
	cfg.MaxPendingRemoteViews = 3
	m := newManager(t, cfg, engine, &recordingListener{})
	id, _ := room.NewStringID("wishes")
	alice := join(t, m, id, "alice", wireOptions{publish: true})
	startPublishing(t, alice)
	bob := join(t, m, id, "bob", wireOptions{})
	if err := bob.part.StartRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	videoOfAlice := func() uint64 {
		tr, _ := bob.track("alice", webrtc.RTPCodecTypeVideo)
		return tr.Packets
	}
	waitFor(t, 10*time.Second, "bob to see alice", func() bool { return videoOfAlice() > 30 })

	steps := []struct {
		name string
		wish func() error
		want error
	}{
		{"ghost1", func() error { return bob.part.StartRemoteView("ghost1") }, nil},
		{"ghost2 by quality", func() error { return bob.part.SetRemoteViewQuality("ghost2", 640, 360) }, nil},
		{"ghost3", func() error { return bob.part.StartRemoteView("ghost3") }, nil},
		{"ghost4 over the bound", func() error { return bob.part.StartRemoteView("ghost4") }, room.ErrTooManyRemoteViews},
		{"ghost5 quality over the bound", func() error { return bob.part.SetRemoteViewQuality("ghost5", 1, 1) }, room.ErrTooManyRemoteViews},
		{"ghost2 view after its quality", func() error { return bob.part.StartRemoteView("ghost2") }, nil},
		{"ghost1 again", func() error { return bob.part.StartRemoteView("ghost1") }, nil},
		{"a user in the room", func() error { return bob.part.SetRemoteViewQuality("alice", 320, 180) }, nil},
		{"stop ghost3", func() error { return bob.part.StopRemoteView("ghost3") }, nil},
		{"ghost4 after a stop", func() error { return bob.part.StartRemoteView("ghost4") }, nil},
		{"ghost6 over the bound again", func() error { return bob.part.StartRemoteView("ghost6") }, room.ErrTooManyRemoteViews},
	}
	for _, st := range steps {
		if err := st.wish(); !errors.Is(err, st.want) || (st.want == nil) != (err == nil) {
			t.Fatalf("%s: %v, want %v", st.name, err, st.want)
		}
	}
	if n := m.RemoteViewRefusals(); n != 3 {
		t.Fatalf("%d refusals counted, want 3", n)
	}
	before := videoOfAlice()
	waitFor(t, 10*time.Second, "alice's video to keep flowing to bob", func() bool { return videoOfAlice() > before+30 })
	bob.checkNoErrors(t)
	alice.checkNoErrors(t)
}
