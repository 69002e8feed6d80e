package room_test

import (
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/sfu/quality"
	"github.com/pion/webrtc/v4"
)

// The room's rules on fakes (fakes_test.go): what each participant receives, its remote
// views, the reports and early participants, decided without a PeerConnection.

const (
	audio = webrtc.RTPCodecTypeAudio
	video = webrtc.RTPCodecTypeVideo
)

func checkReceiving(t *testing.T, who string, s *fakeSubscriber, want ...string) {
	t.Helper()
	if got := s.receiving(); !slices.Equal(got, want) {
		t.Fatalf("%s receives %q, want %q", who, got, want)
	}
}

// TestRemoteViewFollowsStartAndStop: video reaches a participant only between
// StartRemoteView and StopRemoteView; audio flows regardless; a publisher never receives
// its own tracks; a wish for a user not there yet applies when it publishes; the wanted
// size reaches the down track and goes with StopRemoteView; published and muted state
// show in Participants; a track that ends leaves every subscriber.
func TestRemoteViewFollowsStartAndStop(t *testing.T) {
	f := newFakeRoom(t, room.DefaultConfig())
	alice, _ := f.join("alice", room.JoinOptions{Rights: room.FullRights}, true)
	aliceAudio := f.peers.pub("alice").publish(audio)
	aliceVideo := f.peers.pub("alice").publish(video)
	bob, bobSig := f.join("bob", room.JoinOptions{Rights: room.FullRights}, false)
	if err := bob.StartRemoteView("carol"); err != nil { // not in the room yet
		t.Fatal(err)
	}
	bobSub := f.waitSub("bob") // built in the background: the room has audio for him
	checkReceiving(t, "bob", bobSub, "alice audio")
	checkReceiving(t, "alice", f.peers.sub("alice"))

	if err := bob.StartRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	checkReceiving(t, "bob", bobSub, "alice audio", "alice video")
	if err := bob.SetRemoteViewQuality("alice", 320, 180); err != nil {
		t.Fatal(err)
	}
	if w, h := bobSub.down("alice", video).wanted(); w != 320 || h != 180 {
		t.Fatalf("wanted size %dx%d, want 320x180", w, h)
	}
	if err := bob.StopRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	checkReceiving(t, "bob", bobSub, "alice audio")
	if err := bob.StartRemoteView("alice"); err != nil { // again: a new down track, no size wish
		t.Fatal(err)
	}
	if w, h := bobSub.down("alice", video).wanted(); w != 0 || h != 0 {
		t.Fatalf("wanted size %dx%d after StopRemoteView, want none", w, h)
	}

	carol, _ := f.join("carol", room.JoinOptions{Rights: room.FullRights}, true)
	f.peers.pub("carol").publish(video)
	checkReceiving(t, "bob", bobSub, "alice audio", "alice video", "carol video")
	checkReceiving(t, "carol", f.peers.sub("carol"), "alice audio")

	alice.SetMuted(room.KindVideo, true)
	r, _ := f.m.Room(f.id)
	want := []room.ParticipantInfo{
		{UserID: "alice", AudioPublished: true, VideoPublished: true, VideoMuted: true},
		{UserID: "bob"},
		{UserID: "carol", VideoPublished: true},
	}
	if got := r.Participants(); !slices.Equal(got, want) {
		t.Fatalf("Participants() = %+v, want %+v", got, want)
	}
	_ = aliceVideo.Close()
	checkReceiving(t, "bob", bobSub, "alice audio", "carol video")
	_ = aliceAudio.Close()
	if err := carol.Leave(); err != nil {
		t.Fatal(err)
	}
	checkReceiving(t, "bob", bobSub)
	if offers := bobSub.offerCount(); offers == 0 || offers != bobSig.offers {
		t.Fatalf("bob's subscriber made %d offers, the signaller sent %d", offers, bobSig.offers)
	}
	waitFor(t, 10*time.Second, "carol's leave", func() bool { return f.l.has("77 left carol") })
	checkOrder(t, f.l, []string{"77 joined alice", "77 published alice audio", "77 published alice video",
		"77 joined carol", "77 published carol video", "77 muted alice video true",
		"77 unpublished alice video", "77 unpublished alice audio", "77 unpublished carol video", "77 left carol"})
	if f.l.has("77 joined bob") {
		t.Fatal("bob joined without a connected PeerConnection")
	}
}

// TestPendingRemoteViewsBounded: wishes for users who are not in the room stop at
// room.max_pending_remote_views (ErrTooManyRemoteViews, counted); repeating a wish,
// wishing for a user in the room and wishing again after StopRemoteView are allowed, and
// bob keeps receiving alice's video throughout.
func TestPendingRemoteViewsBounded(t *testing.T) {
	cfg := room.DefaultConfig()
	cfg.MaxPendingRemoteViews = 3
	f := newFakeRoom(t, cfg)
	f.join("alice", room.JoinOptions{Rights: room.FullRights}, true)
	f.peers.pub("alice").publish(video)
	bob, _ := f.join("bob", room.JoinOptions{Rights: room.FullRights}, false)
	if err := bob.StartRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	bobSub := f.waitSub("bob")
	steps := []struct {
		name string
		wish func() error
		want error
	}{
		{"ghost1", func() error { return bob.StartRemoteView("ghost1") }, nil},
		{"ghost2 by quality", func() error { return bob.SetRemoteViewQuality("ghost2", 640, 360) }, nil},
		{"ghost3", func() error { return bob.StartRemoteView("ghost3") }, nil},
		{"ghost4 over the bound", func() error { return bob.StartRemoteView("ghost4") }, room.ErrTooManyRemoteViews},
		{"ghost5 quality over the bound", func() error { return bob.SetRemoteViewQuality("ghost5", 1, 1) }, room.ErrTooManyRemoteViews},
		{"ghost2 view after its quality", func() error { return bob.StartRemoteView("ghost2") }, nil},
		{"ghost1 again", func() error { return bob.StartRemoteView("ghost1") }, nil},
		{"a user in the room", func() error { return bob.SetRemoteViewQuality("alice", 320, 180) }, nil},
		{"stop ghost3", func() error { return bob.StopRemoteView("ghost3") }, nil},
		{"ghost4 after a stop", func() error { return bob.StartRemoteView("ghost4") }, nil},
		{"ghost6 over the bound again", func() error { return bob.StartRemoteView("ghost6") }, room.ErrTooManyRemoteViews},
	}
	for _, st := range steps {
		if err := st.wish(); !errors.Is(err, st.want) || (st.want == nil) != (err == nil) {
			t.Fatalf("%s: %v, want %v", st.name, err, st.want)
		}
	}
	if n := f.m.RemoteViewRefusals(); n != 3 {
		t.Fatalf("%d refusals counted, want 3", n)
	}
	checkReceiving(t, "bob", bobSub, "alice video")
	if w, h := bobSub.down("alice", video).wanted(); w != 320 || h != 180 {
		t.Fatalf("wanted size %dx%d, want 320x180", w, h)
	}
}

// TestPeersFollowTheClient: a subscriber candidate before the server offered is
// ErrNotNegotiated and a denied one is refused before any Peer exists; local candidates
// go out for the current Peers only; a publisher ICE restart restarts the subscriber; an
// offer from a new client session replaces both Peers (the old tracks end, the new
// subscriber gets everything again).
func TestPeersFollowTheClient(t *testing.T) {
	f := newFakeRoom(t, room.DefaultConfig())
	f.join("alice", room.JoinOptions{Rights: room.FullRights}, true)
	f.peers.pub("alice").publish(audio)
	bob, bobSig := f.join("bob", room.JoinOptions{Rights: room.FullRights}, false)
	if err := bob.AddICECandidate(room.TargetPublisher, webrtc.ICECandidateInit{Candidate: "deny"}); !errors.Is(err, errFakeDenied) {
		t.Fatalf("denied candidate: %v", err)
	}
	bobSub := f.waitSub("bob")
	if pubs, _ := f.peers.count("bob"); pubs != 0 {
		t.Fatalf("a refused candidate built %d publisher Peers", pubs)
	}
	if _, err := bob.HandlePublisherOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: "bob session 1"}); err != nil {
		t.Fatal(err)
	}
	if pubs, subs := f.peers.count("bob"); pubs != 1 || subs != 1 {
		t.Fatalf("bob has %d publisher and %d subscriber Peers, want 1 and 1 (his subscriber was there)", pubs, subs)
	}
	bobPub := f.peers.pub("bob")
	bobPub.setState(webrtc.PeerConnectionStateConnected)
	bobAudio := bobPub.publish(audio)
	bobPub.gather("pub-candidate")
	bobSub.gather("sub-candidate")
	bobPub.restartICE()
	if bobSub.restartCount() != 1 {
		t.Fatalf("subscriber restarted ICE %d times after the publisher's restart, want 1", bobSub.restartCount())
	}

	// A new client session: both Peers are new, the old ones closed.
	if _, err := bob.HandlePublisherOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: "bob session 2"}); err != nil {
		t.Fatal(err)
	}
	if pubs, subs := f.peers.count("bob"); pubs != 2 || subs != 2 {
		t.Fatalf("after a new session bob has had %d publisher and %d subscriber Peers, want 2 and 2", pubs, subs)
	}
	if !bobPub.isClosed() || !bobSub.isClosed() || !bobAudio.isClosed() {
		t.Fatal("the replaced Peers or their tracks are still open")
	}
	checkReceiving(t, "bob's new subscriber", f.peers.sub("bob"), "alice audio")
	checkReceiving(t, "alice", f.peers.sub("alice"))
	bobPub.gather("late-candidate") // from a replaced Peer: not sent
	bobSig.mu.Lock()
	got := slices.Clone(bobSig.candidates)
	bobSig.mu.Unlock()
	if want := []string{"publisher pub-candidate", "subscriber sub-candidate"}; !slices.Equal(got, want) {
		t.Fatalf("candidates sent %q, want %q", got, want)
	}
	waitFor(t, 10*time.Second, "bob's old audio to end", func() bool { return f.l.has("77 unpublished bob audio") })
}

// TestEarlyParticipantsOnFakes: an early participant's Peers are built at its first
// offer (the subscriber pre-connected) but nobody hears of it, its tracks are held and
// it receives nothing; its wishes are kept. Activate publishes the held tracks and
// subscribes it, with one offer per subscriber for all of it; an early participant that
// never offered gets a subscriber when activated.
func TestEarlyParticipantsOnFakes(t *testing.T) {
	f := newFakeRoom(t, room.DefaultConfig())
	alice, _ := f.join("alice", room.JoinOptions{Rights: room.FullRights}, true)
	alicePub := f.peers.pub("alice")
	alicePub.publish(audio)
	alicePub.publish(video)
	early := room.JoinOptions{Rights: room.FullRights, Early: true}
	bob, _ := f.join("bob", early, true)
	carol, _ := f.join("carol", early, false)
	bobSub := f.peers.sub("bob")
	if !bobSub.preConnect {
		t.Fatal("an early participant's subscriber is not pre-connected")
	}
	f.peers.pub("bob").publish(audio)
	f.peers.pub("bob").publish(video)
	if err := bob.StartRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	if err := alice.StartRemoteView("bob"); err != nil {
		t.Fatal(err)
	}
	aliceSub := f.peers.sub("alice")
	checkReceiving(t, "alice", aliceSub)
	checkReceiving(t, "bob", bobSub)
	if pubs, subs := f.peers.count("carol"); pubs+subs != 0 {
		t.Fatalf("carol never offered and has %d Peers", pubs+subs)
	}
	r, _ := f.m.Room(f.id)
	want := []room.ParticipantInfo{{UserID: "alice", AudioPublished: true, VideoPublished: true}, {UserID: "bob", Early: true}, {UserID: "carol", Early: true}}
	if got := r.Participants(); !slices.Equal(got, want) {
		t.Fatalf("Participants() = %+v, want %+v", got, want)
	}

	aliceOffers, bobOffers := aliceSub.offerCount(), bobSub.offerCount()
	if bobOffers != 1 {
		t.Fatalf("bob's pre-connected subscriber offered %d times before Activate, want 1", bobOffers)
	}
	if err := bob.Activate(); err != nil {
		t.Fatal(err)
	}
	checkReceiving(t, "alice", aliceSub, "bob audio", "bob video")
	checkReceiving(t, "bob", bobSub, "alice audio", "alice video")
	if a, b := aliceSub.offerCount()-aliceOffers, bobSub.offerCount()-bobOffers; a != 1 || b != 1 {
		t.Fatalf("Activate made alice's subscriber offer %d times and bob's %d, want 1 each", a, b)
	}
	if err := carol.Activate(); err != nil {
		t.Fatal(err)
	}
	checkReceiving(t, "carol", f.waitSub("carol"), "alice audio", "bob audio")
	waitFor(t, 10*time.Second, "bob's tracks to be announced", func() bool { return f.l.has("77 published bob video") })
	checkOrder(t, f.l, []string{"77 joined alice", "77 published alice video", "77 joined bob", "77 published bob video"})
	for _, e := range f.l.snapshot() {
		if e == "77 joined carol" {
			t.Fatal("carol joined without a connected PeerConnection")
		}
	}
}

// TestVoiceVolumeOnFakes: every volume interval the room reports each audio publisher's
// loudest track (0 while muted, and the track hears of the mute), an unchanged map only
// again when someone joined since.
func TestVoiceVolumeOnFakes(t *testing.T) {
	cfg := room.DefaultConfig()
	cfg.VolumeInterval = 20 * time.Millisecond
	f := newFakeRoom(t, cfg)
	alice, _ := f.join("alice", room.JoinOptions{Rights: room.FullRights}, true)
	quiet := f.peers.pub("alice").publish(audio)
	loud := f.peers.pub("alice").publish(audio)
	quiet.setVolume(20)
	loud.setVolume(67)
	f.join("bob", room.JoinOptions{Rights: room.FullRights}, true)
	f.peers.pub("bob").publish(audio)
	f.peers.pub("bob").publish(video)
	latest := func() map[string]int {
		if r := f.l.volumeReports(); len(r) > 0 {
			return r[len(r)-1].volumes
		}
		return nil
	}
	waitFor(t, 10*time.Second, "alice 67, bob 0", func() bool {
		v := latest()
		return len(v) == 2 && v["alice"] == 67 && v["bob"] == 0
	})
	reports := len(f.l.volumeReports())
	alice.SetMuted(room.KindAudio, true)
	waitFor(t, 10*time.Second, "alice muted to 0", func() bool { v := latest(); return len(v) == 2 && v["alice"] == 0 })
	if !loud.isMuted() || !quiet.isMuted() {
		t.Fatal("the tracks did not hear of the mute")
	}
	if n := len(f.l.volumeReports()); n != reports+1 {
		t.Fatalf("%d reports after one change, want %d: an unchanged map was repeated", n, reports+1)
	}
	f.join("carol", room.JoinOptions{Rights: room.FullRights}, true) // the same map again, for carol
	waitFor(t, 10*time.Second, "the report for the newcomer", func() bool { return len(f.l.volumeReports()) == reports+2 })
}

// growingStats is a published audio track's statistics that grow by 100 packets, lost
// of them lost, at each read (one per quality tick).
func growingStats(lost uint64) func() sfu.UplinkStats {
	var reads atomic.Uint64
	return func() sfu.UplinkStats {
		n := reads.Add(1)
		expected, received := 100*n, (100-lost)*n
		return sfu.UplinkStats{
			Kind: audio, Packets: received, Bytes: received * 100, Jitter: 2 * time.Millisecond, LastPacket: time.Now(),
			Sequence: quality.SequenceSnapshot{Expected: expected, Received: received, ExtendedHighest: uint32(expected)},
		}
	}
}

// TestNetworkQualityOnFakes: every quality interval each announced participant gets the
// level of its links, in join order: uplink loss 5 % is Poor, 20 % Vbad, none
// Excellent; a participant that sends nothing is Unknown; an early one is not listed.
func TestNetworkQualityOnFakes(t *testing.T) {
	cfg := room.DefaultConfig()
	cfg.QualityInterval = 200 * time.Millisecond
	f := newFakeRoom(t, cfg)
	for _, u := range []struct {
		user string
		lost uint64
	}{{"clean", 0}, {"loss5", 5}, {"loss20", 20}} {
		f.join(u.user, room.JoinOptions{Rights: room.FullRights}, true)
		f.peers.pub(u.user).publish(audio).setStats(growingStats(u.lost))
	}
	f.join("listener", room.JoinOptions{Rights: room.FullRights}, true)
	f.join("early", room.JoinOptions{Rights: room.FullRights, Early: true}, true)
	want := []room.UserQuality{
		{UserID: "clean", Quality: int(quality.Excellent)}, {UserID: "loss5", Quality: int(quality.Poor)},
		{UserID: "loss20", Quality: int(quality.Vbad)}, {UserID: "listener", Quality: int(quality.Unknown)},
	}
	waitForQuality(t, f.l, 20*time.Second, "the documented levels", func(map[string]int) bool {
		r := f.l.qualityReports()
		return len(r) > 0 && slices.Equal(r[len(r)-1].list, want)
	})
}

// TestSimulcastViewsOnFakes: RemoteVideoLayer reports the layers of a simulcast video a
// participant receives and nothing for a single-layer one; a size wished before the
// view applies to the new down track; the layers a simulcast track's subscribers need go
// to the listener as PublishLayersChanged of its publisher.
func TestSimulcastViewsOnFakes(t *testing.T) {
	f := newFakeRoom(t, room.DefaultConfig())
	f.join("alice", room.JoinOptions{Rights: room.FullRights}, true)
	layered := f.peers.pub("alice").publishSimulcast()
	f.join("carol", room.JoinOptions{Rights: room.FullRights}, true)
	f.peers.pub("carol").publish(video)
	bob, _ := f.join("bob", room.JoinOptions{Rights: room.FullRights}, false)
	if err := bob.SetRemoteViewQuality("alice", 640, 360); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"alice", "carol"} {
		if err := bob.StartRemoteView(user); err != nil {
			t.Fatal(err)
		}
	}
	bobSub := f.waitSub("bob")
	checkReceiving(t, "bob", bobSub, "alice video", "carol video")
	down := bobSub.down("alice", video)
	if w, h := down.wanted(); w != 640 || h != 360 {
		t.Fatalf("wanted size %dx%d, want the 640x360 wished before the view", w, h)
	}
	down.setLayers(1, 2)
	if cur, target, ok := bob.RemoteVideoLayer("alice"); !ok || cur != 1 || target != 2 {
		t.Fatalf("RemoteVideoLayer(alice) = %d, %d, %v; want 1, 2, true", cur, target, ok)
	}
	if _, _, ok := bob.RemoteVideoLayer("carol"); ok {
		t.Fatal("RemoteVideoLayer reports a single-layer video")
	}
	layered.wantLayers(sfu.WantedLayer{RID: "q", Wanted: true}, sfu.WantedLayer{RID: "h", Wanted: true}, sfu.WantedLayer{RID: "f", Wanted: false})
	waitFor(t, 10*time.Second, "the layers event", func() bool { return f.l.has("77 layers alice q:true h:true f:false") })
}

// TestNegotiationCutShortByLeave: an offer that fails because the participant
// left while it ran (its Peers closed under it) is ErrParticipantLeft — the leave, not the
// SDP (D152); one that fails on its own stays the Peer's error.
func TestNegotiationCutShortByLeave(t *testing.T) {
	tests := []struct {
		name      string
		leave     bool
		negotiate func(p *room.Participant) error
	}{
		{"offer, left meanwhile", true, func(p *room.Participant) error {
			_, err := p.HandlePublisherOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: "alice session 1"})
			return err
		}},
		{"offer, still in the room", false, func(p *room.Participant) error {
			_, err := p.HandlePublisherOffer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: "alice session 1"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRoom(t, room.Config{})
			alice, _ := f.join("alice", room.JoinOptions{}, true)
			pub := f.peers.pub("alice")
			pub.mu.Lock()
			pub.during = func() {
				if tt.leave {
					if err := alice.Leave(); err != nil {
						t.Errorf("leave: %v", err)
					}
					return
				}
				pub.Close() // the Peer fails by itself; alice stays
			}
			pub.mu.Unlock()
			err := tt.negotiate(alice)
			if got := errors.Is(err, room.ErrParticipantLeft); got != tt.leave {
				t.Fatalf("error %v: ErrParticipantLeft %v, want %v", err, got, tt.leave)
			}
			if !tt.leave && !errors.Is(err, sfu.ErrPeerClosed) {
				t.Fatalf("error %v, want the Peer's own", err)
			}
		})
	}
}
