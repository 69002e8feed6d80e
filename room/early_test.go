package room_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
	"github.com/pion/webrtc/v4"
)

// publisherOf and subscriberOf return user's open Publisher and Subscriber, nil when it
// has none.
func publisherOf(e *sfu.Engine, user string) *sfu.Publisher {
	for _, p := range e.Publishers() {
		if p.ID() == user {
			return p
		}
	}
	return nil
}

func subscriberOf(e *sfu.Engine, user string) *sfu.Subscriber {
	for _, s := range e.Subscribers() {
		if s.ID() == user {
			return s
		}
	}
	return nil
}

// firstPackets records when each (receiver, publisher, kind) got its first packet after
// start (client.Subscriber.OnTrack fires on a track's first packet).
type firstPackets struct {
	mu    sync.Mutex
	start time.Time
	at    map[string]time.Duration
}

func (f *firstPackets) watch(w *wire) {
	w.sub.OnTrack(func(tr client.TrackStats) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.at[fmt.Sprintf("%s<-%s %s", w.userID, tr.StreamID, tr.Kind)] = time.Since(f.start)
	})
}

// startNow starts the clock (under mu: the OnTrack callbacks read it on pion's
// goroutines, and nothing else orders them after this write when no offer goes between).
func (f *firstPackets) startNow() {
	f.mu.Lock()
	f.start = time.Now()
	f.mu.Unlock()
}

// waitAll waits until every key of want got its first packet, logs the times and
// returns them all.
func (f *firstPackets) waitAll(t *testing.T, want []string) map[string]time.Duration {
	t.Helper()
	waitFor(t, 15*time.Second, "every subscription to deliver", func() bool {
		got := f.snapshot()
		for _, k := range want {
			if _, ok := got[k]; !ok {
				return false
			}
		}
		return true
	})
	got := f.snapshot()
	for _, k := range want {
		t.Logf("Activate → first packet %s: %v", k, got[k].Round(100*time.Microsecond))
	}
	return got
}

func (f *firstPackets) snapshot() map[string]time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]time.Duration, len(f.at))
	for k, v := range f.at {
		out[k] = v
	}
	return out
}

// TestEarlyParticipantMedia: bob joins early and publishes, carol joins early and only
// receives, alice is in the room and publishes. While early, bob's PeerConnections
// connect (the subscriber one pre-connected) and his tracks reach the server, but nobody
// hears of him or carol, his tracks go to nobody and neither receives anything. Activate
// makes them normal participants at once: announced, bob's tracks forwarded, both
// receiving what they asked for while early. The test logs Activate → first packet.
func TestEarlyParticipantMedia(t *testing.T) {
	engine := startEngine(t)
	l := &recordingListener{}
	cfg := room.DefaultConfig()
	cfg.QualityInterval = 500 * time.Millisecond
	m := newManager(t, cfg, engine, l)
	id, err := room.NewStringID("early")
	if err != nil {
		t.Fatal(err)
	}
	alice := join(t, m, id, "alice", wireOptions{publish: true})
	bob := join(t, m, id, "bob", wireOptions{publish: true, early: true})
	carol := join(t, m, id, "carol", wireOptions{early: true})
	for _, view := range []struct {
		w    *wire
		user string
	}{{bob, "alice"}, {alice, "bob"}, {carol, "bob"}} {
		if err := view.w.part.StartRemoteView(view.user); err != nil {
			t.Fatal(err)
		}
	}
	startPublishing(t, alice, bob)
	waitFor(t, 10*time.Second, "bob's pre-connected subscriber to connect", func() bool {
		return bob.sub.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	connectedAt := time.Now()
	bobPub, bobSub, aliceSub := publisherOf(engine, "bob"), subscriberOf(engine, "bob"), subscriberOf(engine, "alice")
	if bobPub == nil || bobSub == nil || aliceSub == nil {
		t.Fatalf("peers: bob %v/%v, alice's subscriber %v", bobPub, bobSub, aliceSub)
	}
	// Bob's media reaches the server, and a quality report and alice's volume come after
	// his connection: what would have gone to or been told of him had time to.
	waitFor(t, 15*time.Second, "bob's tracks at the server, a quality report and a volume report", func() bool {
		receivers := bobPub.Receivers()
		if len(receivers) != 2 {
			return false
		}
		for _, rcv := range receivers {
			if rcv.Stats().Packets < 50 {
				return false
			}
		}
		q, v := l.qualityReports(), l.volumeReports()
		return len(q) > 0 && q[len(q)-1].at.After(connectedAt) && len(v) > 0 && v[len(v)-1].at.After(connectedAt)
	})
	for _, ev := range l.snapshot() {
		for _, user := range []string{"bob", "carol"} {
			if ev == `"early" joined `+user || ev == `"early" published `+user+" audio" || ev == `"early" published `+user+" video" {
				t.Errorf("event %q while %s is early", ev, user)
			}
		}
	}
	for _, q := range l.qualityReports() {
		for _, uq := range q.list {
			if uq.UserID != "alice" {
				t.Errorf("quality report lists %s while early: %v", uq.UserID, q.list)
			}
		}
	}
	for _, v := range l.volumeReports() {
		if _, ok := v.volumes["bob"]; ok {
			t.Errorf("volume report has early bob: %v", v.volumes)
		}
	}
	r, _ := m.Room(id)
	for _, info := range r.Participants() {
		early := info.UserID != "alice"
		if info.Early != early || (early && (info.AudioPublished || info.VideoPublished)) {
			t.Errorf("Participants() entry %+v while bob and carol are early", info)
		}
	}
	for _, s := range []*sfu.Subscriber{bobSub, aliceSub} {
		if st := s.SenderStats(); st.ForwardedPackets != 0 {
			t.Errorf("%s's subscriber forwarded %d packets while bob is early", s.ID(), st.ForwardedPackets)
		}
	}
	for _, w := range []*wire{alice, bob, carol} {
		if tracks := w.sub.Tracks(); len(tracks) != 0 {
			t.Errorf("%s received while bob and carol are early:%s", w.userID, describe(tracks))
		}
	}
	if publisherOf(engine, "carol") != nil || subscriberOf(engine, "carol") != nil {
		t.Error("carol, early and never offering, has Peers")
	}

	first := &firstPackets{at: map[string]time.Duration{}}
	for _, w := range []*wire{alice, bob, carol} {
		first.watch(w)
	}
	first.startNow()
	offersBefore := map[*wire]int32{}
	for _, w := range []*wire{alice, bob, carol} {
		offersBefore[w] = w.offers.Load()
	}
	for _, w := range []*wire{bob, carol} {
		if err := w.part.Activate(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"bob<-alice audio", "bob<-alice video", "alice<-bob audio", "alice<-bob video",
		"carol<-alice audio", "carol<-bob audio", "carol<-bob video",
	}
	got := first.waitAll(t, want)
	if _, ok := got["carol<-alice video"]; ok {
		t.Error("carol received alice's video without viewing it")
	}
	// Each subscriber got what the activations added in one offer: alice bob's audio and
	// video, bob alice's, carol alice's audio and bob's audio and video.
	for _, w := range []*wire{alice, bob, carol} {
		if n := w.offers.Load() - offersBefore[w]; n != 1 {
			t.Errorf("%s's subscriber got %d offers after the activations, want 1", w.userID, n)
		}
	}
	for _, kind := range []string{"audio", "video"} {
		checkOrder(t, l, []string{`"early" joined bob`, `"early" published bob ` + kind})
	}
	waitFor(t, 10*time.Second, "carol's join once her subscriber connects", func() bool { return l.has(`"early" joined carol`) })
	for _, w := range []*wire{alice, bob, carol} {
		w.checkNoErrors(t)
	}
}

// TestEarlyExpectedMediaNeedsNoOffer: alice, bob and carol join a room early as a call's
// members do, each expecting the other two (JoinOptions.Expect), publish and view each
// other. Their pre-connected subscribers' first offers reserve a section for each other
// member's audio and video, so after the activations every track forwards to everyone
// without one more offer (TestEarlyParticipantMedia, without Expect, needs one).
func TestEarlyExpectedMediaNeedsNoOffer(t *testing.T) {
	engine := startEngine(t)
	m := newManager(t, room.DefaultConfig(), engine, &recordingListener{})
	id, err := room.NewStringID("early-expect")
	if err != nil {
		t.Fatal(err)
	}
	users := []string{"alice", "bob", "carol"}
	var wires []*wire
	for _, u := range users {
		var others []string
		for _, o := range users {
			if o != u {
				others = append(others, o)
			}
		}
		w := join(t, m, id, u, wireOptions{publish: true, early: true, expect: append(others, u, others[0])}) // itself and a repeat are skipped
		for _, o := range others {
			if err := w.part.StartRemoteView(o); err != nil {
				t.Fatal(err)
			}
		}
		wires = append(wires, w)
	}
	startPublishing(t, wires...)
	waitFor(t, 15*time.Second, "every pre-connected subscriber connected and every track at the server", func() bool {
		for _, w := range wires {
			pub := publisherOf(engine, w.userID)
			if w.sub.ConnectionState() != webrtc.PeerConnectionStateConnected || pub == nil || len(pub.Receivers()) != 2 {
				return false
			}
		}
		return true
	})
	offersBefore := map[*wire]int32{}
	for _, w := range wires {
		offersBefore[w] = w.offers.Load()
		sub := subscriberOf(engine, w.userID)
		if total, used := sub.ReservedSections(); total != 4 || used != 0 {
			t.Fatalf("%s's subscriber has %d reserved sections (%d used) while early, want 4 (0)", w.userID, total, used)
		}
		if tracks := w.sub.Tracks(); len(tracks) != 0 {
			t.Fatalf("%s received while early:%s", w.userID, describe(tracks))
		}
	}
	first := &firstPackets{at: map[string]time.Duration{}}
	for _, w := range wires {
		first.watch(w)
	}
	first.startNow()
	for _, w := range wires {
		if err := w.part.Activate(); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for _, w := range wires {
		for _, o := range users {
			if o != w.userID {
				want = append(want, w.userID+"<-"+o+" audio", w.userID+"<-"+o+" video")
			}
		}
	}
	first.waitAll(t, want)
	for _, w := range wires {
		if n := w.offers.Load() - offersBefore[w]; n != 0 {
			t.Errorf("%s's subscriber got %d offers after the activations, want 0", w.userID, n)
		}
		if _, used := subscriberOf(engine, w.userID).ReservedSections(); used != 4 {
			t.Errorf("%s's subscriber uses %d reserved sections, want 4", w.userID, used)
		}
		w.checkNoErrors(t)
	}
}
