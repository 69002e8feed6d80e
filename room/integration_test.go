package room_test

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/room"
	"github.com/pion/webrtc/v4"
)

const (
	mediaRunTime = 3 * time.Second
	// lossTail: with loss, the last few packets may be dropped with nothing after them to
	// reveal the hole (the ~last 200 ms are allowed to stay unrepaired).
	lossTail = 12
)

// TestMediaCore runs one publisher (audio + video) and three subscribers through a real
// sfu.Engine over loopback: two view alice's video (one of them losing 5 % of the packets
// on the SFU→subscriber path), one only hears her.
func TestMediaCore(t *testing.T) {
	engine := startEngine(t)
	l := &recordingListener{}
	m := newManager(t, room.DefaultConfig(), engine, l)
	id, err := room.NewStringID("media core")
	if err != nil {
		t.Fatal(err)
	}

	// Subscribers join first and ask for alice's video before she is even in the room.
	viewer := join(t, m, id, "viewer", wireOptions{})
	lossy := join(t, m, id, "lossy", wireOptions{dropRate: 0.05})
	listener := join(t, m, id, "listener", wireOptions{})
	for _, w := range []*wire{viewer, lossy} {
		if err := w.part.StartRemoteView("alice"); err != nil {
			t.Fatal(err)
		}
	}
	alice := join(t, m, id, "alice", wireOptions{publish: true})
	waitFor(t, 10*time.Second, "alice's publisher to connect", func() bool {
		return alice.pub.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	if err := alice.pub.Start(); err != nil {
		t.Fatal(err)
	}
	subscribers := []*wire{viewer, lossy, listener}
	waitFor(t, 15*time.Second, "every subscriber to receive its tracks", func() bool {
		for _, w := range subscribers {
			if _, ok := w.track("alice", webrtc.RTPCodecTypeAudio); !ok {
				return false
			}
		}
		for _, w := range []*wire{viewer, lossy} {
			if _, ok := w.track("alice", webrtc.RTPCodecTypeVideo); !ok {
				return false
			}
		}
		return true
	})
	time.Sleep(mediaRunTime)
	alice.pub.Stop()
	sent := alice.pub.Stats()

	// Settle: retransmissions of the last NACKed packets arrive.
	complete := func(w *wire, kind webrtc.RTPCodecType, total uint32, tail uint32) bool {
		tr, ok := w.track("alice", kind)
		return ok && tr.LastBlockSeq+1+tail >= total && tr.SeqGaps == 0 && tr.BlockGaps == 0
	}
	waitFor(t, 10*time.Second, "every packet to arrive", func() bool {
		return complete(viewer, webrtc.RTPCodecTypeVideo, sent.VideoPackets, 0) &&
			complete(lossy, webrtc.RTPCodecTypeVideo, sent.VideoPackets, lossTail) &&
			complete(viewer, webrtc.RTPCodecTypeAudio, sent.AudioPackets, 0) &&
			complete(lossy, webrtc.RTPCodecTypeAudio, sent.AudioPackets, 0) &&
			complete(listener, webrtc.RTPCodecTypeAudio, sent.AudioPackets, 0)
	})
	t.Logf("alice sent %+v", sent)
	for _, w := range subscribers {
		t.Logf("%s (dropped %d):%s", w.userID, w.sub.Dropped(), describe(w.sub.Tracks()))
	}

	for _, w := range subscribers {
		tracks := w.sub.Tracks()
		wantTracks := 2
		if w == listener {
			wantTracks = 1
		}
		if len(tracks) != wantTracks {
			t.Errorf("%s received %d tracks, want %d:%s", w.userID, len(tracks), wantTracks, describe(tracks))
		}
		for _, tr := range tracks {
			checkTrack(t, w, tr, sent)
		}
	}
	if _, ok := listener.track("alice", webrtc.RTPCodecTypeVideo); ok {
		t.Error("listener received alice's video without StartRemoteView")
	}
	if lossy.sub.Dropped() == 0 {
		t.Error("the loss simulator dropped nothing")
	}
	if v, _ := lossy.track("alice", webrtc.RTPCodecTypeVideo); v.OutOfOrder == 0 {
		t.Error("no retransmission reached the lossy subscriber")
	}
	for _, w := range []*wire{viewer, lossy} {
		// The SFU holds a new DownTrack until the subscriber's SRTP is up and then starts
		// it at a keyframe.
		if v, _ := w.track("alice", webrtc.RTPCodecTypeVideo); !v.FirstKeyframe {
			t.Errorf("%s: video did not start with a keyframe", w.userID)
		}
	}

	// Alice leaves: every subscriber sees her tracks end.
	if err := alice.part.Leave(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "alice's tracks to end at every subscriber", func() bool {
		for _, w := range subscribers {
			for _, tr := range w.sub.Tracks() {
				if !tr.Ended {
					return false
				}
			}
		}
		return true
	})
	waitFor(t, 10*time.Second, "alice's leave to be reported", func() bool { return l.has(`"media core" left alice`) })
	for _, w := range append(subscribers, alice) {
		w.checkNoErrors(t)
	}

	// Listener events: each participant joined once; alice's tracks were published after
	// she joined and unpublished before she left.
	events := l.snapshot()
	for _, user := range []string{"viewer", "lossy", "listener", "alice"} {
		if n := countOf(events, `"media core" joined `+user); n != 1 {
			t.Errorf("%s joined %d times in %q", user, n, events)
		}
	}
	order := []string{
		`"media core" joined alice`,
		`"media core" published alice audio`,
		`"media core" unpublished alice audio`,
		`"media core" left alice`,
	}
	checkOrder(t, l, order)
	checkOrder(t, l, []string{`"media core" joined alice`, `"media core" published alice video`, `"media core" unpublished alice video`, `"media core" left alice`})
}

func checkTrack(t *testing.T, w *wire, tr client.TrackStats, sent client.PublisherStats) {
	t.Helper()
	if tr.StreamID != "alice" {
		t.Errorf("%s: track from %q, want alice", w.userID, tr.StreamID)
	}
	if tr.PayloadErrors != 0 {
		t.Errorf("%s %s: %d corrupted payloads", w.userID, tr.Kind, tr.PayloadErrors)
	}
	if tr.SeqGaps != 0 || tr.BlockGaps != 0 {
		t.Errorf("%s %s: %d sequence gaps, %d payload sequence gaps", w.userID, tr.Kind, tr.SeqGaps, tr.BlockGaps)
	}
	// The SFU's rewritten sequence numbers are continuous: one per forwarded packet.
	if span := uint64(tr.LastBlockSeq-tr.FirstBlockSeq) + 1; tr.Unique != span {
		t.Errorf("%s %s: %d distinct RTP sequence numbers for payloads %d..%d", w.userID, tr.Kind, tr.Unique, tr.FirstBlockSeq, tr.LastBlockSeq)
	}
	if tr.Duplicates != 0 && w.userID != "lossy" {
		t.Errorf("%s %s: %d duplicates", w.userID, tr.Kind, tr.Duplicates)
	}
	total := sent.AudioPackets
	if tr.Kind == webrtc.RTPCodecTypeVideo {
		total = sent.VideoPackets
	}
	// The subscription starts once the SFU sees the track and negotiates, so the first
	// packets may predate it; after that, nothing is missing.
	if received := tr.LastBlockSeq - tr.FirstBlockSeq + 1; received < total/2 {
		t.Errorf("%s %s: only payloads %d..%d of %d", w.userID, tr.Kind, tr.FirstBlockSeq, tr.LastBlockSeq, total)
	}
}

func countOf(events []string, event string) int {
	n := 0
	for _, e := range events {
		if e == event {
			n++
		}
	}
	return n
}

// checkOrder asserts that every event happened, in this order.
func checkOrder(t *testing.T, l *recordingListener, order []string) {
	t.Helper()
	last := -1
	for _, ev := range order {
		i := l.indexOf(ev)
		if i < 0 || i < last {
			t.Errorf("event %q missing or out of order in %q", ev, l.snapshot())
			return
		}
		last = i
	}
}
