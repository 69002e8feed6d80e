package signaling_test

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// A call's room is placed at its first media request (D187).

// TestClusterSignalingOnlyCallPlacesNothing: a call whose members never negotiate opens no
// room anywhere and places none (no member hosted by the media node, no room counted);
// the next call's first offer places its room on the media node, where both members
// are joined and hear each other.
func TestClusterSignalingOnlyCallPlacesNothing(t *testing.T) {
	st := newPlacedClusterStack(t)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "s", "alice", "bob") // n1, n2
	alice, bob := us[0], us[1]

	started, err := alice.Call(ctx, bob.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	must(t, err)
	accepted(t, alice, bob)
	if ps, hosted := st.service.PlacementStats(), st.media.service.PlacementStats().HostedTotal; ps.Unplaced != 1 || ps.Placed != 0 || hosted != 0 || st.openRooms() != 0 {
		t.Fatalf("call begun without media: owner %+v, media node hosted %d, rooms %v; want one room waiting, nothing placed or open",
			ps, hosted, st.roomsOn())
	}
	must(t, alice.Hangup(ctx))
	waitFor(t, bob, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == started.CallID })
	waitUntil(t, ctx, "the call's room forgotten", func() bool { return st.service.PlacementStats().Unplaced == 0 })
	if ps, hosted := st.service.PlacementStats(), st.media.service.PlacementStats().HostedTotal; ps.Placed != 0 || hosted != 0 || st.openRooms() != 0 {
		t.Fatalf("after a signaling-only call: owner %+v, media node hosted %d, rooms %v; want nothing placed", ps, hosted, st.roomsOn())
	}

	again, err := bob.Call(ctx, alice.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	must(t, err)
	accepted(t, bob, alice)
	must(t, alice.StartMedia(ctx, client.MediaOptions{Audio: true})) // the first offer places the room
	if ps := st.service.PlacementStats(); ps.Placed != 1 || ps.Unplaced != 0 || ps.Remote != 2 {
		t.Fatalf("after the first offer: owner %+v, want the room placed with both members", ps)
	}
	if got := st.roomsOn(); got[3] != 1 || got[0]+got[1]+got[2] != 0 {
		t.Fatalf("rooms per node n0..n3 %v: want the call's room on n3", got)
	}
	must(t, bob.StartMedia(ctx, client.MediaOptions{Audio: true}))
	hearEachOther(t, alice, bob)
	waitFor(t, alice, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool { return e.UserID == bob.UserID() })
	waitFor(t, bob, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool { return e.UserID == alice.UserID() })
	must(t, bob.Hangup(ctx))
	waitFor(t, alice, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == again.CallID })
	waitFor(t, alice, protocol.EventUserLeave, func(e protocol.UserLeaveEvent) bool { return e.UserID == bob.UserID() })
}

// TestClusterFirstOffersAtOnceMakeOneRoom: the two members of a call, on two fronts,
// offer at the same moment; their room is placed once — one room on one node, both
// members in it hearing each other — although two nodes are equally the least loaded (a
// second placement would go to the other one: cluster.PlaceRoom counts the first).
func TestClusterFirstOffersAtOnceMakeOneRoom(t *testing.T) {
	st := newPlacedClusterStack(t)
	st.roomless = true // the rooms go to n2 or n3
	st.nodes[2].extraLoad.Store(0)
	st.waitLoads(t, st.nodes[2])
	ctx := ctxT(t, 120*time.Second)
	us := st.users(t, "r", "alice", "bob") // n1, n2
	alice, bob := us[0], us[1]
	for i := range 3 {
		started, err := alice.Call(ctx, bob.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		errs := make(chan error, 2)
		for _, c := range []*client.Conn{alice, bob} {
			go func() { errs <- c.StartMedia(ctx, client.MediaOptions{Audio: true}) }()
		}
		for range 2 {
			must(t, <-errs)
		}
		rooms := st.roomsOn()
		if sum := rooms[0] + rooms[1] + rooms[2] + rooms[3]; sum != 1 || rooms[0]+rooms[1] != 0 {
			t.Fatalf("call %d: rooms per node n0..n3 %v, want one room on n2 or n3", i, rooms)
		}
		hearEachOther(t, alice, bob)
		must(t, alice.Hangup(ctx))
		waitFor(t, bob, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == started.CallID })
		for _, c := range []*client.Conn{alice, bob} {
			must(t, c.StopMedia())
		}
		waitUntil(t, ctx, "the call's room closed", func() bool { return st.openRooms() == 0 })
	}
	if ps := st.service.PlacementStats(); ps.Placed != 3 {
		t.Fatalf("owner %+v: want 3 rooms placed, one per call", ps)
	}
}

// TestClusterPrepareCallPlacesTheWaitingRoom: a group call's first two members talk
// without media (their room waits); an invitee's prepareCall, which needs a PeerConnection
// at once, places the room and joins the waiting members there first; after its accept
// all three hear each other in that one room.
func TestClusterPrepareCallPlacesTheWaitingRoom(t *testing.T) {
	st := newPlacedClusterStack(t)
	ctx := ctxT(t, 90*time.Second)
	us := st.users(t, "p", "alice", "bob", "carol") // n1, n2, n0
	alice, bob, carol := us[0], us[1], us[2]
	started, err := alice.Call(ctx, bob.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	must(t, err)
	accepted(t, alice, bob)
	if ps := st.service.PlacementStats(); ps.Unplaced != 1 || ps.Placed != 0 {
		t.Fatalf("call begun without media: owner %+v, want its room waiting", ps)
	}
	_, err = alice.InviteUser(ctx, []string{carol.UserID()}, protocol.CallParams{})
	must(t, err)
	waitFor(t, carol, protocol.EventCallReceived, func(e protocol.CallReceivedEvent) bool { return e.CallID == started.CallID })
	_, err = carol.PrepareCall(ctx, started.CallID)
	must(t, err)
	if ps, hosted := st.service.PlacementStats(), st.media.service.PlacementStats().Hosted; ps.Unplaced != 0 || ps.Placed != 1 || hosted != 3 {
		t.Fatalf("after prepareCall: owner %+v, media node hosts %d; want the room placed with alice, bob and carol", ps, hosted)
	}
	must(t, carol.StartMedia(ctx, client.MediaOptions{Audio: true}))
	must(t, carol.Accept(ctx, 0))
	for _, c := range []*client.Conn{alice, bob} {
		must(t, c.StartMedia(ctx, client.MediaOptions{Audio: true}))
	}
	if got := st.roomsOn(); got[3] != 1 || got[0]+got[1]+got[2] != 0 {
		t.Fatalf("rooms per node n0..n3 %v: want the call's one room on n3", got)
	}
	hearEachOther(t, alice, bob)
	hearEachOther(t, alice, carol)
	hearEachOther(t, bob, carol)
	must(t, alice.Hangup(ctx))
	must(t, bob.Hangup(ctx))
	waitFor(t, carol, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == started.CallID })
}
