package room_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parley-rtc/parley/room"
	"github.com/pion/webrtc/v4"
)

// nopSignaller drops every message: for tests that never negotiate.
type nopSignaller struct{}

func (nopSignaller) SendSubscriberOffer(webrtc.SessionDescription)      {}
func (nopSignaller) SendCandidate(room.Target, webrtc.ICECandidateInit) {}

func mustID(t *testing.T, n int64) room.ID {
	t.Helper()
	id, err := room.NewIntID(n)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func shortTimeoutConfig() room.Config {
	cfg := room.DefaultConfig()
	cfg.EmptyTimeout = 100 * time.Millisecond
	return cfg
}

func TestJoinRejectsSecondJoinOfSameUser(t *testing.T) {
	m, _ := newFakeManager(t, room.DefaultConfig(), nil)
	r1, r2 := mustID(t, 1), mustID(t, 2)
	strRoom, err := room.NewStringID("1")
	if err != nil {
		t.Fatal(err)
	}

	alice, err := m.Join(r1, "alice", nopSignaller{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Join(r1, "alice", nopSignaller{}); !errors.Is(err, room.ErrAlreadyInRoom) {
		t.Fatalf("second join = %v, want ErrAlreadyInRoom", err)
	}
	// Same user, other rooms (including the string room "1"): allowed.
	for _, id := range []room.ID{r2, strRoom} {
		p, err := m.Join(id, "alice", nopSignaller{})
		if err != nil {
			t.Fatalf("join %s: %v", id, err)
		}
		defer p.Leave()
	}
	if got := m.Rooms(); got != 3 {
		t.Fatalf("Rooms() = %d, want 3", got)
	}
	r, ok := m.Room(r1)
	if !ok || r.ID() != r1 || r.Participant("alice") != alice || alice.Room() != r || alice.UserID() != "alice" {
		t.Fatalf("Room(%s) = %v, %v", r1, r, ok)
	}
	if err := alice.Leave(); err != nil {
		t.Fatal(err)
	}
	if err := alice.Leave(); err != nil {
		t.Fatalf("second Leave: %v", err)
	}
	again, err := m.Join(r1, "alice", nopSignaller{})
	if err != nil {
		t.Fatalf("rejoin after leave: %v", err)
	}
	defer again.Leave()
}

func TestJoinValidatesArguments(t *testing.T) {
	m, _ := newFakeManager(t, room.DefaultConfig(), nil)
	if _, err := m.Join(room.ID{}, "alice", nopSignaller{}); !errors.Is(err, room.ErrInvalidRoomID) {
		t.Errorf("zero room: %v, want ErrInvalidRoomID", err)
	}
	if _, err := m.Join(mustID(t, 1), "", nopSignaller{}); !errors.Is(err, room.ErrInvalidUserID) {
		t.Errorf("empty user: %v, want ErrInvalidUserID", err)
	}
	if m.Rooms() != 0 {
		t.Errorf("failed joins opened %d rooms", m.Rooms())
	}
}

func TestEmptyRoomClosesAfterTimeout(t *testing.T) {
	l := &recordingListener{}
	m, _ := newFakeManager(t, shortTimeoutConfig(), l)
	id := mustID(t, 7)
	p, err := m.Join(id, "alice", nopSignaller{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Leave(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the empty room to close", func() bool { return m.Rooms() == 0 })
	waitFor(t, 10*time.Second, "RoomClosed", func() bool { return l.has("7 closed") })
	if _, ok := m.Room(id); ok {
		t.Fatal("closed room still listed")
	}
	// Nobody ever connected: no joined/left events, only the close.
	if got := l.snapshot(); len(got) != 1 {
		t.Fatalf("events %q, want only the close", got)
	}
	// The same ID opens a fresh room.
	p, err = m.Join(id, "alice", nopSignaller{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Leave()
	if m.Rooms() != 1 {
		t.Fatalf("Rooms() = %d after rejoin", m.Rooms())
	}
}

func TestRejoinCancelsEmptyTimeout(t *testing.T) {
	l := &recordingListener{}
	m, _ := newFakeManager(t, shortTimeoutConfig(), l)
	id := mustID(t, 8)
	p, err := m.Join(id, "alice", nopSignaller{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Leave(); err != nil {
		t.Fatal(err)
	}
	bob, err := m.Join(id, "bob", nopSignaller{})
	if err != nil {
		t.Fatal(err)
	}
	// Three empty timeouts later the room must still be open (bob is in it).
	time.Sleep(3 * shortTimeoutConfig().EmptyTimeout)
	if r, ok := m.Room(id); !ok || r.Participant("bob") != bob || l.has("8 closed") {
		t.Fatalf("room closed while bob is in it: %v, events %q", ok, l.snapshot())
	}
	if err := bob.Leave(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the room to close after bob left", func() bool { return m.Rooms() == 0 })
}

func TestManagerCloseClosesRoomsAndIsIdempotent(t *testing.T) {
	l := &recordingListener{}
	m := room.NewManagerWith(room.DefaultConfig(), newFakePeers(), l, nil)
	str, _ := room.NewStringID("lobby")
	for _, id := range []room.ID{mustID(t, 1), str} {
		if _, err := m.Join(id, "alice", nopSignaller{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if m.Rooms() != 0 {
		t.Fatalf("Rooms() = %d after Close", m.Rooms())
	}
	if !l.has(`1 closed`) || !l.has(`"lobby" closed`) {
		t.Fatalf("events %q, want both rooms closed", l.snapshot())
	}
	if _, err := m.Join(mustID(t, 1), "bob", nopSignaller{}); !errors.Is(err, room.ErrManagerClosed) {
		t.Fatalf("join after Close: %v, want ErrManagerClosed", err)
	}
}

func TestParticipantStateAndErrors(t *testing.T) {
	l := &recordingListener{}
	m, _ := newFakeManager(t, room.DefaultConfig(), l)
	id := mustID(t, 3)
	alice, err := m.Join(id, "alice", nopSignaller{})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := m.Join(id, "bob", nopSignaller{})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.StartRemoteView("alice"); !errors.Is(err, room.ErrOwnTracks) {
		t.Errorf("view own tracks: %v, want ErrOwnTracks", err)
	}
	if err := alice.StartRemoteView("carol"); err != nil {
		t.Errorf("view a user not in the room yet: %v", err)
	}
	if err := alice.StopRemoteView("carol"); err != nil {
		t.Errorf("stop viewing: %v", err)
	}
	if err := alice.AddICECandidate(room.Target(9), webrtc.ICECandidateInit{}); !errors.Is(err, room.ErrInvalidTarget) {
		t.Errorf("bad target: %v, want ErrInvalidTarget", err)
	}
	alice.SetMuted(room.KindAudio, true)
	alice.SetMuted(room.KindAudio, true) // no change, no event
	alice.SetMuted(room.KindVideo, true)
	alice.SetMuted(room.KindVideo, false)
	r, _ := m.Room(id)
	want := []room.ParticipantInfo{{UserID: "alice", AudioMuted: true}, {UserID: "bob"}}
	if got := r.Participants(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Participants() = %+v, want %+v", got, want)
	}
	waitFor(t, 10*time.Second, "mute events", func() bool { return len(l.snapshot()) == 3 })
	wantEvents := []string{"3 muted alice audio true", "3 muted alice video true", "3 muted alice video false"}
	if got := l.snapshot(); !slices.Equal(got, wantEvents) {
		t.Fatalf("events %q, want %q", got, wantEvents)
	}
	if err := bob.Leave(); err != nil {
		t.Fatal(err)
	}
	if r.Participant("bob") != nil {
		t.Fatal("bob still in the room after Leave")
	}
	if err := bob.StartRemoteView("alice"); !errors.Is(err, room.ErrParticipantLeft) {
		t.Errorf("view after leave: %v, want ErrParticipantLeft", err)
	}
	if _, err := bob.HandlePublisherOffer(webrtc.SessionDescription{}); !errors.Is(err, room.ErrParticipantLeft) {
		t.Errorf("offer after leave: %v, want ErrParticipantLeft", err)
	}
	if err := bob.HandleSubscriberAnswer(webrtc.SessionDescription{}); !errors.Is(err, room.ErrParticipantLeft) {
		t.Errorf("answer after leave: %v, want ErrParticipantLeft", err)
	}
}

func TestTargetAndKindNames(t *testing.T) {
	for _, target := range []room.Target{room.TargetPublisher, room.TargetSubscriber} {
		got, err := room.ParseTarget(target.String())
		if err != nil || got != target {
			t.Errorf("ParseTarget(%q) = %v, %v", target.String(), got, err)
		}
	}
	for _, bad := range []string{"", "Publisher", "pub", "subscriber "} {
		if _, err := room.ParseTarget(bad); !errors.Is(err, room.ErrInvalidTarget) {
			t.Errorf("ParseTarget(%q) = %v, want ErrInvalidTarget", bad, err)
		}
	}
	if room.KindAudio.String() != "audio" || room.KindVideo.String() != "video" || room.TrackKind(0).String() != "TrackKind(0)" {
		t.Error("TrackKind names")
	}
	if room.Target(0).String() != "Target(0)" {
		t.Error("Target(0) name")
	}
}
