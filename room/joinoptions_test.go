package room_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parley-rtc/parley/room"
	"github.com/pion/webrtc/v4"
)

// TestParticipantsWithoutNegotiationCostNoPeer: users who join and never negotiate (a
// call answered but no media) build no PeerConnection, early or not, whatever they do in
// the room; what needs a PeerConnection fails with ErrNotNegotiated; leaving tells nobody
// of an early participant.
func TestParticipantsWithoutNegotiationCostNoPeer(t *testing.T) {
	l := &recordingListener{}
	m, peers := newFakeManager(t, shortTimeoutConfig(), l)
	id := mustID(t, 14)
	alice, err := m.Join(id, "alice", nopSignaller{})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := m.JoinWith(id, "bob", room.JoinOptions{Rights: room.FullRights, Early: true}, nopSignaller{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*room.Participant{alice, bob} {
		other := map[*room.Participant]string{alice: "bob", bob: "alice"}[p]
		if err := p.StartRemoteView(other); err != nil {
			t.Fatal(err)
		}
		if err := p.SetRemoteViewQuality(other, 320, 240); err != nil {
			t.Fatal(err)
		}
		p.SetMuted(room.KindAudio, true)
		// (A publisher candidate would start the negotiation: it builds the Peers.)
		if err := p.AddICECandidate(room.TargetSubscriber, webrtc.ICECandidateInit{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host"}); !errors.Is(err, room.ErrNotNegotiated) {
			t.Errorf("%s: subscriber candidate before the server offered: %v, want ErrNotNegotiated", p.UserID(), err)
		}
		if err := p.HandleSubscriberAnswer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer}); !errors.Is(err, room.ErrNotNegotiated) {
			t.Errorf("%s: subscriber answer before any offer: %v, want ErrNotNegotiated", p.UserID(), err)
		}
	}
	if n := peers.total(); n != 0 {
		t.Fatalf("%d Peers for two users who never negotiated, want 0", n)
	}
	r, _ := m.Room(id)
	want := []room.ParticipantInfo{{UserID: "alice", AudioMuted: true}, {UserID: "bob", Early: true, AudioMuted: true}}
	if got := r.Participants(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Participants() = %+v, want %+v", got, want)
	}
	if !bob.Early() || alice.Early() {
		t.Fatalf("Early(): alice %v, bob %v", alice.Early(), bob.Early())
	}

	// Neither ever connected: activating bob reports no join; a second Activate and one
	// on a normal participant change nothing.
	for _, p := range []*room.Participant{bob, bob, alice} {
		if err := p.Activate(); err != nil {
			t.Fatalf("Activate %s: %v", p.UserID(), err)
		}
	}
	if bob.Early() {
		t.Fatal("bob still early after Activate")
	}
	for _, p := range []*room.Participant{alice, bob} {
		if err := p.Leave(); err != nil {
			t.Fatal(err)
		}
	}
	if err := bob.Activate(); !errors.Is(err, room.ErrParticipantLeft) {
		t.Errorf("Activate after Leave: %v, want ErrParticipantLeft", err)
	}
	if n := peers.total(); n != 0 {
		t.Fatalf("%d Peers after both left, want 0", n)
	}
	// Alice's mute is told; early bob's is not (nobody may hear of him). Nobody connected:
	// no joins, no leaves; the room's close comes last.
	waitFor(t, 10*time.Second, "the room to close", func() bool { return l.has("14 closed") })
	if got, want := l.snapshot(), []string{"14 muted alice audio true", "14 closed"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestCloseWhenEmpty: a room made or joined with CloseWhenEmpty closes when its last
// participant leaves; other rooms wait for room.empty_timeout (30 s here).
func TestCloseWhenEmpty(t *testing.T) {
	for _, tc := range []struct {
		name       string
		aliceClose bool // alice makes the room
		bobClose   bool
		closes     bool
	}{
		{name: "made to close", aliceClose: true, closes: true},
		{name: "joined to close", bobClose: true, closes: true},
		{name: "neither", closes: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &recordingListener{}
			m, _ := newFakeManager(t, room.DefaultConfig(), l)
			id := mustID(t, 5)
			alice, err := m.JoinWith(id, "alice", room.JoinOptions{Rights: room.FullRights, CloseWhenEmpty: tc.aliceClose}, nopSignaller{})
			if err != nil {
				t.Fatal(err)
			}
			bob, err := m.JoinWith(id, "bob", room.JoinOptions{Rights: room.FullRights, Early: true, CloseWhenEmpty: tc.bobClose}, nopSignaller{})
			if err != nil {
				t.Fatal(err)
			}
			if err := bob.Leave(); err != nil {
				t.Fatal(err)
			}
			if m.Rooms() != 1 {
				t.Fatal("the room closed while alice is in it")
			}
			if err := alice.Leave(); err != nil {
				t.Fatal(err)
			}
			if got := m.Rooms() == 0; got != tc.closes {
				t.Fatalf("room closed at the last leave: %v, want %v", got, tc.closes)
			}
			if !tc.closes {
				return
			}
			waitFor(t, 10*time.Second, "RoomClosed", func() bool { return l.has("5 closed") })
			// The ID opens a fresh room, which follows its own joins' options.
			carol, err := m.Join(id, "carol", nopSignaller{})
			if err != nil {
				t.Fatal(err)
			}
			if err := carol.Leave(); err != nil {
				t.Fatal(err)
			}
			if m.Rooms() != 1 {
				t.Fatal("a room joined without CloseWhenEmpty closed at once")
			}
		})
	}
}
