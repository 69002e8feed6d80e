package room_test

import (
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
