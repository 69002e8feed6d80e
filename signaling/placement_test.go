package signaling_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/cluster"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// The call bodies of the one-node tests, with every room on a media node that is neither
// the owner nor any user's front (newPlacedClusterStack, D95): the same events, real
// media both ways.

func TestClusterPlacedVideoCall1v1(t *testing.T) { videoCall1v1(t, newPlacedClusterStack) }

// TestClusterPlacedConformance runs every call-flow conformance body that the TestCluster*
// tests run (calls, group calls, timeouts, sessions, errors, kicks and multi-device,
// resume, room events, volumes, network quality, remote-view sizes, early media, ICE
// restarts, rights, tenancy) with placed rooms; bodies that open no room run roomless.
func TestClusterPlacedConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		body func(*testing.T, func(testing.TB, ...stackOption) *stack)
	}{
		{"SpecSingleCall", unplaced(specSingleCall)},
		{"SpecGroupCall", unplaced(specGroupCall)},
		{"SpecRoomEventsOfAGroupCall", specRoomEventsOfAGroupCall},
		{"SpecSessionEndsDuringACall", unplaced(specSessionEndsDuringACall)},
		{"SpecRoomWithoutCall", specRoomWithoutCall},
		{"SpecVoiceVolume", specVoiceVolume},
		{"SpecNetworkQuality", specNetworkQuality},
		{"SpecRemoteViewResolution", specRemoteViewResolution},
		{"SpecMediaErrors", specMediaErrors},
		{"SpecUnpublishAndEarlyView", specUnpublishAndEarlyView},
		{"EarlyMediaIsSilentUntilTheCallBegins", earlyMediaIsSilentUntilTheCallBegins},
		{"EarlyMediaOnAnotherDevice", earlyMediaOnAnotherDevice},
		{"ICERestartRenewsBothPeerConnections", iCERestartRenewsBothPeerConnections},
		{"NewPeerConnectionsInTheSameRoom", newPeerConnectionsInTheSameRoom},
		{"NewPeerConnectionsAfterAnEarlyStop", newPeerConnectionsAfterAnEarlyStop},
		{"RightsSeparatePublishAndSubscribe", rightsSeparatePublishAndSubscribe},
		{"StrangerCannotEnterACallRoom", strangerCannotEnterACallRoom},
		{"MediaTypeSwitchAndVoiceAnswer", unplaced(mediaTypeSwitchAndVoiceAnswer)},
		{"SpecTimeouts", unplaced(specTimeouts)},
		{"SpecSessions", unplaced(specSessions)},
		{"SpecErrors", unplaced(specErrors)},
		{"GroupCallInviteRejectTimeoutJoin", unplaced(groupCallInviteRejectTimeoutJoin)},
		{"BusyCancelIgnore", unplaced(busyCancelIgnore)},
		{"KickAndMultiDevice", unplaced(kickAndMultiDevice)},
		{"OfflineInviteeGetsInvitationOnLogin", roomless(offlineInviteeGetsInvitationOnLogin)},
		{"ResumeKeepsTheCall", unplaced(resumeKeepsTheCall)},
		{"ResumeReplaysAfterLastSeq", unplaced(resumeReplaysAfterLastSeq)},
		{"DisconnectEndsTheCallAfterGrace", unplaced(disconnectEndsTheCallAfterGrace)},
		{"UserSigExpiryAndRelogin", roomless(userSigExpiryAndRelogin)},
		{"CallsEntryPoint", roomless(callsEntryPoint)},
		{"RoomGrantsGateJoinRoom", roomGrantsGateJoinRoom},
		{"TooManySessions", roomless(tooManySessions)},
		{"TwoAppsAreIndependent", twoAppsAreIndependent},
		{"LoginOfAnotherAppKeepsSessionsApart", roomless(loginOfAnotherAppKeepsSessionsApart)},
		{"QAMultiDeviceRinging", roomless(qaMultiDeviceRinging)},
		{"QAOtherSessionIsNotInTheCall", unplaced(qaOtherSessionIsNotInTheCall)},
		{"QAInviteUserCarriesItsParams", unplaced(qaInviteUserCarriesItsParams)},
		{"QAFullCall", unplaced(qaFullCall)},
		{"QAParamsOnTheWire", roomless(qaParamsOnTheWire)},
		{"QAInviteUserIgnoresTheRoom", unplaced(qaInviteUserIgnoresTheRoom)},
		{"QAMethodErrorLists", unplaced(qaMethodErrorLists)},
		{"QARecordsOrderAndFilters", unplaced(qaRecordsOrderAndFilters)},
		{"QALeaveRoomOfACall", qaLeaveRoomOfACall},
		{"QARenewalIsALogin", unplaced(qaRenewalIsALogin)},
		{"QAKickedSessionActsNoMore", unplaced(qaKickedSessionActsNoMore)},
		{"QARingingSurvivesAFreshLogin", unplaced(qaRingingSurvivesAFreshLogin)},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.body(t, newPlacedClusterStack) })
	}
}

// unplaced runs body, whose calls never negotiate media, on a placed cluster and checks
// that none of their rooms was placed (D187): nothing counted by the owner, nobody hosted
// by the media node.
func unplaced(body func(*testing.T, func(testing.TB, ...stackOption) *stack)) func(*testing.T, func(testing.TB, ...stackOption) *stack) {
	return func(t *testing.T, _ func(testing.TB, ...stackOption) *stack) {
		body(t, func(tb testing.TB, opts ...stackOption) *stack {
			tb.Helper()
			st := newPlacedClusterStackRoomless(tb, opts...)
			tb.Cleanup(func() { // before the stacks close (LIFO)
				if placed, hosted := st.service.PlacementStats().Placed, st.media.service.PlacementStats().HostedTotal; placed != 0 || hosted != 0 {
					tb.Errorf("calls without media placed %d rooms (media node hosted %d participants), want none", placed, hosted)
				}
			})
			return st
		})
	}
}

// roomless runs body on a placed cluster whose media node need not host anyone: the body
// opens no room.
func roomless(body func(*testing.T, func(testing.TB, ...stackOption) *stack)) func(*testing.T, func(testing.TB, ...stackOption) *stack) {
	return func(t *testing.T, _ func(testing.TB, ...stackOption) *stack) { body(t, newPlacedClusterStackRoomless) }
}

// roomsOn is the number of open rooms of each node of st (dialled nodes, then the media
// node).
func (st *stack) roomsOn() []int {
	var out []int
	for _, n := range st.all() {
		out = append(out, n.service.Rooms().Rooms())
	}
	return out
}

// all is st's node, or all its nodes in a cluster (the media node too).
func (st *stack) all() []*stack {
	if len(st.nodes) == 0 {
		return []*stack{st}
	}
	out := append([]*stack(nil), st.nodes...) // st among them
	if st.media != nil {
		out = append(out, st.media)
	}
	return out
}

// openRooms is the number of open rooms of st's node, or of all its nodes in a cluster.
func (st *stack) openRooms() int {
	n := 0
	for _, node := range st.all() {
		n += node.service.Rooms().Rooms()
	}
	return n
}

// connCount is the number of WebSocket connections of st's node, or of all its nodes.
func (st *stack) connCount() int {
	n := 0
	for _, node := range st.all() {
		n += node.service.Handler().(*signaling.Server).ConnCount()
	}
	return n
}

// hearEachOther waits until a and b each received 20 audio packets of the other.
func hearEachOther(t *testing.T, a, b *client.Conn) {
	t.Helper()
	for _, pair := range [][2]*client.Conn{{a, b}, {b, a}} {
		if _, err := pair[0].WaitRemoteTrack(ctxT(t, 30*time.Second), pair[1].UserID(), webrtc.RTPCodecTypeAudio, 20); err != nil {
			t.Fatalf("%s: %v", pair[0].UserID(), err)
		}
	}
}

// TestClusterPlacementPicksTheLeastLoadedNode: a new room goes to the least loaded live
// node as the owner's registry shows it; its later members follow it there whatever the
// loads say by then; a room on a node that no longer is the least loaded stays there.
func TestClusterPlacementPicksTheLeastLoadedNode(t *testing.T) {
	st := newPlacedClusterStack(t, func(c *signalingConfig) { c.Auth.Apps[0].OpenRooms = true })
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "l", "alice", "bob", "carol", "dave") // n1, n2, n0, n1
	alice, bob, carol, dave := us[0], us[1], us[2], us[3]

	must(t, alice.JoinRoom(ctx, protocol.IntRoom(7001))) // n3: the others pretend 100 rooms
	if got := st.roomsOn(); got[3] != 1 || got[0]+got[1]+got[2] != 0 {
		t.Fatalf("rooms per node n0..n3 %v: want room 7001 on n3", got)
	}
	st.media.extraLoad.Store(200)
	st.nodes[2].extraLoad.Store(5)
	st.waitLoads(t, st.media, st.nodes[2])
	must(t, bob.JoinRoom(ctx, protocol.IntRoom(7001))) // follows the room to n3
	must(t, carol.JoinRoom(ctx, protocol.IntRoom(7002)))
	if got := st.roomsOn(); got[3] != 1 || got[2] != 1 || got[0]+got[1] != 0 {
		t.Fatalf("rooms per node n0..n3 %v: want 7001 on n3 and 7002 on n2, the least loaded now", got)
	}
	if n := st.media.service.PlacementStats().Hosted; n != 2 {
		t.Fatalf("n3 hosts %d participants, want alice and bob; stats n0 %+v n3 %+v", n, st.service.PlacementStats(), st.media.service.PlacementStats())
	}
	// Media flows in the room on n3 between users of n1 and n2.
	for _, c := range []*client.Conn{alice, bob} {
		must(t, c.StartMedia(ctx, client.MediaOptions{Audio: true}))
	}
	waitFor(t, alice, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool { return e.UserID == bob.UserID() })
	waitFor(t, bob, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool { return e.UserID == alice.UserID() })
	hearEachOther(t, alice, bob)
	must(t, dave.JoinRoom(ctx, protocol.IntRoom(7002))) // follows 7002 to n2
	if got := st.roomsOn(); got[2] != 1 || got[3] != 1 {
		t.Fatalf("rooms per node n0..n3 %v after dave joined 7002", got)
	}
	must(t, alice.LeaveRoom(ctx))
	waitFor(t, bob, protocol.EventUserLeave, func(e protocol.UserLeaveEvent) bool { return e.UserID == alice.UserID() })
}

// TestClusterPlacementPrefersTheFirstUsersRegion: a room goes to a node of its first
// member's front's region even when a node elsewhere is less loaded (D51, D95).
func TestClusterPlacementPrefersTheFirstUsersRegion(t *testing.T) {
	regions := map[string]string{"n0": "eu", "n1": "us", "n2": "eu", "n3": "eu"}
	st := newPlacedCluster(t, func(c *cluster.Config) { c.Region = regions[c.NodeID] },
		func(c *signalingConfig) { c.Auth.Apps[0].OpenRooms = true })
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "g", "alice", "bob") // n1 (us), n2 (eu)
	must(t, us[0].JoinRoom(ctx, protocol.IntRoom(7201)))
	must(t, us[1].JoinRoom(ctx, protocol.IntRoom(7202)))
	if got := st.roomsOn(); got[1] != 1 || got[3] != 1 || got[0]+got[2] != 0 {
		t.Fatalf("rooms per node n0..n3 %v: want 7201 on n1 (the only us node) and 7202 on n3 (the least loaded in eu)", got)
	}
}

// TestClusterMediaNodeDeathEndsItsCalls: when the media node of a room leaves the cluster
// without draining (its registration gone: dead for the others after node_ttl), the
// owner ends the calls in its rooms as on a lost connection — each party hears onCallEnd
// — and the users of a room outside calls hear each other leave (onUserLeave) and are
// out of the room (4002 not in room); nothing hangs, and the next call is placed on a
// live node.
func TestClusterMediaNodeDeathEndsItsCalls(t *testing.T) {
	st := newPlacedClusterStack(t, func(c *signalingConfig) { c.Auth.Apps[0].OpenRooms = true })
	ctx := ctxT(t, 90*time.Second)
	us := st.users(t, "k", "alice", "bob", "carol", "dave") // n1, n2, n0, n1
	alice, bob, carol, dave := us[0], us[1], us[2], us[3]
	started, err := alice.Call(ctx, bob.UserID(), protocol.MediaTypeVideo, protocol.CallParams{})
	must(t, err)
	accepted(t, alice, bob)
	for _, c := range []*client.Conn{alice, bob} {
		must(t, c.StartMedia(ctx, client.MediaOptions{Audio: true}))
	}
	hearEachOther(t, alice, bob)
	for _, c := range []*client.Conn{carol, dave} {
		must(t, c.JoinRoom(ctx, protocol.IntRoom(7100)))
		must(t, c.StartMedia(ctx, client.MediaOptions{Audio: true}))
	}
	waitFor(t, carol, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool { return e.UserID == dave.UserID() })
	waitFor(t, dave, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool { return e.UserID == carol.UserID() })
	if got := st.roomsOn(); got[3] != 2 {
		t.Fatalf("rooms per node n0..n3 %v: want both rooms on n3", got)
	}

	if err := st.media.cl.Close(); err != nil { // n3 leaves without draining
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{alice, bob} {
		end := waitFor(t, c, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == started.CallID })
		if end.RoomID != started.RoomID {
			t.Fatalf("%s: onCallEnd %+v", c.UserID(), end)
		}
	}
	waitFor(t, carol, protocol.EventUserLeave, func(e protocol.UserLeaveEvent) bool { return e.UserID == dave.UserID() })
	waitFor(t, dave, protocol.EventUserLeave, func(e protocol.UserLeaveEvent) bool { return e.UserID == carol.UserID() })
	waitUntil(t, ctx, "carol out of the dead room", func() bool {
		perr, ok := protocolError(carol.StartRemoteView(ctx, dave.UserID(), protocol.VideoQuality{}))
		return ok && perr.Code == protocol.CodeNotInRoom
	})
	if n := st.service.PlacementStats().Remote; n != 0 {
		t.Fatalf("the owner keeps %d remote participants of the dead node", n)
	}

	st.nodes[1].extraLoad.Store(0) // the next room goes to the least loaded live node: n1
	st.waitLoads(t, st.nodes[1])
	again, err := bob.Call(ctx, alice.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	must(t, err)
	accepted(t, bob, alice)
	for _, c := range []*client.Conn{alice, bob} {
		must(t, c.StopMedia()) // the PeerConnections of the dead node's room
		must(t, c.StartMedia(ctx, client.MediaOptions{Audio: true}))
	}
	if got := st.roomsOn(); got[1] != 1 { // placed at the first offer (D187)
		t.Fatalf("rooms per node n0..n3 %v: want the new call's room on n1", got)
	}
	hearEachOther(t, alice, bob)
	must(t, alice.Hangup(ctx))
	waitFor(t, bob, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == again.CallID })
}

// TestClusterPlacedOwnerDeath: when the owner dies, the fronts end its users' calls as
// without placement (D50), and the media node drops the participants it hosted for it.
// The room is placed at the first offer (D187), with both members.
func TestClusterPlacedOwnerDeath(t *testing.T) {
	st := newPlacedClusterStack(t)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "w", "alice", "bob") // n1, n2
	alice, bob := us[0], us[1]
	started, err := alice.Call(ctx, bob.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	must(t, err)
	accepted(t, alice, bob)
	if n := st.media.service.PlacementStats().Hosted; n != 0 {
		t.Fatalf("the media node hosts %d participants before any offer, want 0", n)
	}
	must(t, alice.StartMedia(ctx, client.MediaOptions{Audio: true}))
	if n := st.media.service.PlacementStats().Hosted; n != 2 {
		t.Fatalf("the media node hosts %d participants, want 2", n)
	}
	must(t, st.cl.Close()) // n0, the owner, leaves
	for _, c := range []*client.Conn{alice, bob} {
		waitFor(t, c, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == started.CallID })
	}
	waitUntil(t, ctx, "the media node drops the dead owner's participants", func() bool {
		return st.media.service.PlacementStats().Hosted == 0 && st.media.service.Rooms().Rooms() == 0
	})
}

// BenchmarkClusterMediaRequest is one media request (openMicrophone, answered by the
// room) of a user whose session is on the owner, with the room on the owner or placed on
// another node (D95): the cost of the hop to the media node and back through Redis.
func BenchmarkClusterMediaRequest(b *testing.B) {
	for _, tc := range clusterModes {
		b.Run(tc.name, func(b *testing.B) {
			st := tc.newStack(b, func(c *signalingConfig) {
				c.Auth.Apps[0].OpenRooms = true
				c.Limits.DeviceTogglesPerMinute, c.Limits.DeviceTogglesBurst = 100000, 100000 // D112: the most allowed
			})
			ctx := ctxT(b, 10*time.Minute)
			var c *client.Conn
			for _, name := range []string{"b1", "b2", "b0"} { // n1, n2, n0: b0's session is on the owner
				c = st.login(b, name)
			}
			if err := c.JoinRoom(ctx, protocol.IntRoom(7300)); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if err := c.OpenMicrophone(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// clusterModes are the room placements the cluster benchmarks compare: rooms on the owner
// (D50) and placed on a fourth node (D95).
var clusterModes = []struct {
	name     string
	newStack func(testing.TB, ...stackOption) *stack
}{{"owner", newClusterStack}, {"placed", newPlacedClusterStack}}

// BenchmarkClusterAcceptToFirstMedia is the time from a callee's accept of a 1v1 audio
// call (caller and callee on two fronts) to the first audio packet of each party at the
// other, both starting their media once accepted, with the room on the owner or placed.
func BenchmarkClusterAcceptToFirstMedia(b *testing.B) {
	for _, tc := range clusterModes {
		b.Run(tc.name, func(b *testing.B) {
			st := tc.newStack(b)
			ctx := ctxT(b, 10*time.Minute)
			st.login(b, "a0") // n1: the callers and callees below are on n2 and n0, n1 and n2, …
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				alice, bob := st.login(b, fmt.Sprintf("a%da", i)), st.login(b, fmt.Sprintf("a%db", i))
				started, err := alice.Call(ctx, bob.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
				if err != nil {
					b.Fatal(err)
				}
				waitFor(b, bob, protocol.EventCallReceived, func(e protocol.CallReceivedEvent) bool { return e.CallID == started.CallID })
				b.StartTimer()
				if err := bob.Accept(ctx, 0); err != nil {
					b.Fatal(err)
				}
				errs := make(chan error, 2)
				for _, pair := range [][2]*client.Conn{{alice, bob}, {bob, alice}} {
					go func() {
						if err := pair[0].StartMedia(ctx, client.MediaOptions{Audio: true}); err != nil {
							errs <- err
							return
						}
						_, err := pair[0].WaitRemoteTrack(ctx, pair[1].UserID(), webrtc.RTPCodecTypeAudio, 1)
						errs <- err
					}()
				}
				for range 2 {
					if err := <-errs; err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if err := alice.Hangup(ctx); err != nil {
					b.Fatal(err)
				}
				for _, c := range []*client.Conn{alice, bob} {
					_ = c.Close()
				}
				b.StartTimer()
			}
		})
	}
}
