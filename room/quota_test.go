package room_test

import (
	"errors"
	"testing"
	"time"

	"github.com/parley-rtc/parley/room"
)

// TestMaxParticipants: room.max_participants refuses the join beyond it with ErrRoomFull;
// a member's second join answers ErrAlreadyInRoom (it is in, not refused for fullness), a
// place freed by a leave is taken again, other rooms are not affected, 0 is no cap.
func TestMaxParticipants(t *testing.T) {
	tests := []struct {
		name      string
		max       int
		joins     int // users joining room 1 before the checks
		wantThird error
	}{
		{"uncapped", 0, 2, nil},
		{"full at two", 2, 2, room.ErrRoomFull},
		{"room for three", 3, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := room.DefaultConfig()
			cfg.MaxParticipants = tt.max
			m, _ := newFakeManager(t, cfg, nil)
			id := mustID(t, 1)
			users := []string{"alice", "bob"}
			parts := make(map[string]*room.Participant)
			for _, u := range users[:tt.joins] {
				p, err := m.Join(id, u, nopSignaller{})
				if err != nil {
					t.Fatalf("join %s: %v", u, err)
				}
				parts[u] = p
			}
			carol, err := m.Join(id, "carol", nopSignaller{})
			if !errors.Is(err, tt.wantThird) {
				t.Fatalf("third join = %v, want %v", err, tt.wantThird)
			}
			if _, err := m.Join(id, "alice", nopSignaller{}); !errors.Is(err, room.ErrAlreadyInRoom) {
				t.Fatalf("a member's second join = %v, want ErrAlreadyInRoom", err)
			}
			if tt.wantThird == nil {
				if err := carol.Leave(); err != nil {
					t.Fatal(err)
				}
				return
			}
			other, err := m.Join(mustID(t, 2), "carol", nopSignaller{})
			if err != nil {
				t.Fatalf("join of another room: %v", err)
			}
			defer other.Leave()
			if err := parts["bob"].Leave(); err != nil {
				t.Fatal(err)
			}
			p, err := m.Join(id, "dave", nopSignaller{})
			if err != nil {
				t.Fatalf("join after a leave freed a place: %v", err)
			}
			defer p.Leave()
			defer parts["alice"].Leave()
		})
	}
}

// TestMaxAppRooms: JoinOptions.MaxAppRooms refuses opening a room of an app that has that
// many open (ErrRoomQuota) but never a join of an open room; another app's rooms do not
// count; a room closed by its empty timeout frees its place.
func TestMaxAppRooms(t *testing.T) {
	cfg := room.DefaultConfig()
	cfg.EmptyTimeout = 50 * time.Millisecond
	m, _ := newFakeManager(t, cfg, nil)
	quota := room.JoinOptions{Rights: room.FullRights, MaxAppRooms: 2}
	join := func(n int64, app int, user string) (*room.Participant, error) {
		return m.JoinWith(mustID(t, n).InApp(app), user, quota, nopSignaller{})
	}
	var held []*room.Participant
	defer func() {
		for _, p := range held {
			_ = p.Leave()
		}
	}()
	for _, j := range []struct {
		room int64
		app  int
		user string
		want error
	}{
		{1, 7, "alice", nil},
		{2, 7, "alice", nil},
		{3, 7, "alice", room.ErrRoomQuota}, // a third room of app 7
		{1, 7, "bob", nil},                 // an open room: joined
		{3, 8, "alice", nil},               // app 8 has its own count
		{3, 7, "bob", room.ErrRoomQuota},
	} {
		p, err := join(j.room, j.app, j.user)
		if !errors.Is(err, j.want) {
			t.Fatalf("join room %d of app %d as %s = %v, want %v", j.room, j.app, j.user, err, j.want)
		}
		if err == nil {
			held = append(held, p)
		}
	}
	if got := m.AppRooms(7); got != 2 {
		t.Fatalf("AppRooms(7) = %d, want 2", got)
	}
	// Room 2 of app 7 (alice alone) empties and closes after its timeout: its place frees.
	if err := held[1].Leave(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "room 2 of app 7 to close", func() bool { return m.AppRooms(7) == 1 })
	p, err := join(3, 7, "bob")
	if err != nil {
		t.Fatalf("join after a room closed: %v", err)
	}
	held = append(held, p)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if a, b := m.AppRooms(7), m.AppRooms(8); a != 0 || b != 0 {
		t.Fatalf("after Close AppRooms = %d, %d, want 0", a, b)
	}
}
