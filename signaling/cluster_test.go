package signaling_test

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestClusterOwnerDeathEndsItsCalls: when the node that owns the app (and runs its calls)
// leaves the cluster, the users relayed through the other nodes hear their calls end — a
// call in progress with onCallEnd, a ringing one with onCallCancelled("disconnect") — and
// their sockets close with 4012; they log in again and a surviving node takes the app.
func TestClusterOwnerDeathEndsItsCalls(t *testing.T) {
	st := newClusterStack(t)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "d", "alice", "bob", "carol", "dave") // n1, n2, n0, n1
	alice, bob, dave := us[0], us[1], us[3]
	talking, err := alice.Call(ctx, bob.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	accepted(t, alice, bob)
	ringing, err := dave.Call(ctx, us[2].UserID(), protocol.MediaTypeVideo, protocol.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, us[2], protocol.EventCallReceived, nil)

	if err := st.cl.Close(); err != nil { // n0 leaves: its lease and registration go
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{alice, bob} {
		end := waitFor(t, c, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == talking.CallID })
		if end.RoomID != talking.RoomID {
			t.Fatalf("%s: onCallEnd %+v", c.UserID(), end)
		}
	}
	cancelled := waitFor(t, dave, protocol.EventCallCancelled, func(e protocol.CallCancelledEvent) bool { return e.CallID == ringing.CallID })
	if cancelled.Reason != protocol.CancelReasonDisconnect || cancelled.Role != protocol.RoleCaller {
		t.Fatalf("dave's onCallCancelled %+v, want reason disconnect as caller", cancelled)
	}
	for _, c := range []*client.Conn{alice, bob, dave} {
		closedWith(ctx, t, c, 4012) // its owner left
	}

	st.nodes = st.nodes[1:] // n1 and n2 are left: alice again on n2, bob on n1
	alice2, bob2 := st.login(t, alice.UserID()), st.login(t, bob.UserID())
	again, err := alice2.Call(ctx, bob2.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	accepted(t, alice2, bob2)
	if err := bob2.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice2, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == again.CallID })
	if st.nodes[0].service.Sessions()+st.nodes[1].service.Sessions() != 2 {
		t.Fatalf("sessions after the new logins: n1 %d, n2 %d", st.nodes[0].service.Sessions(), st.nodes[1].service.Sessions())
	}
}

// TestClusterFrontDeathEndsItsUsersCalls: when a node that only relays (the front of one
// party) leaves the cluster, the owner treats its users as disconnected: after
// signaling.reconnect_grace their calls end for the others (onCallEnd).
func TestClusterFrontDeathEndsItsUsersCalls(t *testing.T) {
	st := newClusterStack(t, func(c *signalingConfig) { c.Signaling.ReconnectGrace = 500 * time.Millisecond })
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "f", "alice", "bob") // n1, n2
	alice, bob := us[0], us[1]
	started, err := alice.Call(ctx, bob.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	accepted(t, alice, bob)
	if err := st.nodes[1].cl.Close(); err != nil { // n1, alice's front, leaves
		t.Fatal(err)
	}
	end := waitFor(t, bob, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == started.CallID })
	if end.UserID != alice.UserID() {
		t.Fatalf("bob's onCallEnd %+v, want ended by alice", end)
	}
	waitUntil(t, ctx, "alice's session ended on the owner", func() bool { return st.service.Sessions() == 1 })
}

// TestClusterRedisOutageKeepsCallsAndMedia: with Redis stopped, a call between a user
// relayed through another node and a user on the owner keeps its media flowing both ways
// (it goes to the owner's media address, not through Redis); a request through a front
// fails with 5002 meanwhile; the owner's user may hang up, and the relayed user hears
// onCallEnd once Redis is back (the owner retries its messages in order); new calls work.
func TestClusterRedisOutageKeepsCallsAndMedia(t *testing.T) {
	redisOutageKeepsCallsAndMedia(t, newClusterStack)
}

// TestClusterPlacedRedisOutageKeepsCallsAndMedia is the same with the room on a fourth
// node (D95): the media goes to that node, and the owner's leave reaches it once Redis is
// back.
func TestClusterPlacedRedisOutageKeepsCallsAndMedia(t *testing.T) {
	redisOutageKeepsCallsAndMedia(t, newPlacedClusterStack)
}

func redisOutageKeepsCallsAndMedia(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 90*time.Second)
	us := st.users(t, "o", "alice", "bob", "carol") // n1, n2, n0 (the owner)
	alice, bob, carol := us[0], us[1], us[2]
	started, err := alice.Call(ctx, carol.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	accepted(t, alice, carol)
	for _, c := range []*client.Conn{alice, carol} {
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true}); err != nil {
			t.Fatalf("%s: start media: %v", c.UserID(), err)
		}
	}
	heard := func(me, other *client.Conn, atLeast uint64) uint64 {
		t.Helper()
		tr, err := me.WaitRemoteTrack(ctx, other.UserID(), webrtc.RTPCodecTypeAudio, atLeast)
		if err != nil {
			t.Fatalf("%s: %v", me.UserID(), err)
		}
		return tr.Packets
	}
	before := [2]uint64{heard(alice, carol, 20), heard(carol, alice, 20)}

	st.redis.Stop()
	waitUntil(t, ctx, "the fronts see Redis gone", func() bool {
		return st.nodes[1].cl.Ready(ctx) != nil && st.nodes[2].cl.Ready(ctx) != nil
	})
	heard(alice, carol, before[0]+100) // 2 s of audio more, without Redis
	heard(carol, alice, before[1]+100)
	_, err = bob.Call(ctx, carol.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	wantCode(t, err, protocol.CodeClusterUnavailable)
	if err := carol.Hangup(ctx); err != nil { // on the owner: no Redis needed
		t.Fatal(err)
	}
	waitFor(t, carol, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == started.CallID })

	st.redis.Restart(t)
	waitFor(t, alice, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == started.CallID })
	waitUntil(t, ctx, "n2 ready again", func() bool { return st.nodes[2].cl.Ready(ctx) == nil })
	again, err := bob.Call(ctx, alice.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, protocol.EventCallReceived, func(e protocol.CallReceivedEvent) bool { return e.CallID == again.CallID })
	st.wantSessionsOnOwner(t, 3)
	if st.media != nil {
		waitUntil(t, ctx, "the media node hosts nobody after the hangup", func() bool { return st.media.service.PlacementStats().Hosted == 0 })
	}
}

// TestClusterGroupVideoCall: a 3-party video group call with one user on each node (alice
// on n1 calls, bob on n2 and carol on n0, the owner): every user receives the audio and
// video of both others, undamaged.
func TestClusterGroupVideoCall(t *testing.T) { groupVideoCall(t, newClusterStack) }

// TestClusterPlacedGroupVideoCall is TestClusterGroupVideoCall with the room placed on a
// fourth node (D95).
func TestClusterPlacedGroupVideoCall(t *testing.T) { groupVideoCall(t, newPlacedClusterStack) }

func groupVideoCall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 90*time.Second)
	us := st.users(t, "v", "alice", "bob", "carol") // n1, n2, n0
	st.wantSessionsOnOwner(t, 3)
	alice := us[0]
	if _, err := alice.GroupCall(ctx, "team", []string{us[1].UserID(), us[2].UserID()}, protocol.MediaTypeVideo, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	accepted(t, alice, us[1])
	must(t, us[2].Accept(ctx, 0))
	waitFor[protocol.CallBeginEvent](t, us[2], protocol.EventCallBegin, nil)
	for _, c := range us {
		must(t, c.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}))
		for _, other := range us {
			if other != c {
				must(t, c.StartRemoteView(ctx, other.UserID(), protocol.VideoQuality{}))
			}
		}
	}
	for _, me := range us {
		for _, other := range us {
			if other == me {
				continue
			}
			for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
				tr, err := me.WaitRemoteTrack(ctx, other.UserID(), kind, 50)
				if err != nil {
					t.Fatalf("%s: %v", me.UserID(), err)
				}
				if tr.PayloadErrors != 0 {
					t.Fatalf("%s: %s of %s has %d corrupted payloads", me.UserID(), kind, other.UserID(), tr.PayloadErrors)
				}
			}
		}
	}
}

// TestClusterDrainingFrontKeepsRelayedCalls: a draining front counts the calls of the
// users it relays (RelayedCalls; ActiveCalls counts only the calls this node runs), which
// its drain waits for (D130); it refuses their new calls and room joins with 5001 before
// relaying them; once they hang up nothing is left to wait for.
func TestClusterDrainingFrontKeepsRelayedCalls(t *testing.T) {
	st := newClusterStack(t)
	ctx := ctxT(t, 30*time.Second)
	us := st.users(t, "k", "alice", "bob", "carol") // n1, n2, n0: the app on n0
	alice, bob := us[0], us[1]
	front := st.nodes[1].service
	talking, err := alice.Call(ctx, bob.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	accepted(t, alice, bob)
	front.Drain()
	if got, own := front.RelayedCalls(), front.ActiveCalls(); got != 1 || own != 0 {
		t.Fatalf("draining front: RelayedCalls %d, ActiveCalls %d; want 1 and 0", got, own)
	}
	_, err = alice.Call(ctx, us[2].UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
	wantCode(t, err, protocol.CodeServerDraining)
	wantCode(t, alice.JoinRoom(ctx, protocol.StrRoom("k-room")), protocol.CodeServerDraining)
	if err := alice.Hangup(ctx); err != nil {
		t.Fatalf("hangup through the draining front: %v", err)
	}
	waitFor(t, bob, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == talking.CallID })
	if n := front.RelayedCalls(); n != 0 {
		t.Fatalf("RelayedCalls %d after the hangup", n)
	}
}

// TestClusterDrainingFrontRefusesLogins: a draining node relays no new login to the owner
// (5001, as on one node); the other nodes still take them.
func TestClusterDrainingFrontRefusesLogins(t *testing.T) {
	st := newClusterStack(t)
	st.users(t, "w", "alice") // n1: the app goes to n0
	st.nodes[1].service.Drain()
	refused := st.nodes[1].dial(t) // n1's own stack dials n1 only
	_, err := refused.Login(ctxT(t, 10*time.Second), protocolDevApp, "wbob", sig(t, "wbob", time.Hour))
	wantCode(t, err, protocol.CodeServerDraining)
	st.login(t, "wbob") // n2
	st.wantSessionsOnOwner(t, 2)
}

// TestClusterFrontCountedDeadWhileAlive: the owner counts a live front as dead (its
// heartbeats came late: NodeGone) and drops the connections it relayed, while the front and
// its clients live on. The next request of such a client fails (5002) and its socket
// closes with 1001, as at a lost keep-alive — not "log in first" to a client that is logged
// in — and the client resumes its session over a new socket (D165).
func TestClusterFrontCountedDeadWhileAlive(t *testing.T) {
	st := newClusterStack(t)
	ctx := ctxT(t, 30*time.Second)
	bob := st.login(t, "fdbob") // the first dial goes to n1, a front of the owner n0
	login, _ := bob.LoginResult()
	st.service.NodeGone("n1") // n0 counts n1 as dead; n1 does not know

	// The request fails (5002, or the close overtakes its answer), never with 1001.
	if err := bob.SetSelfInfo(ctx, "Bob", ""); err == nil {
		t.Fatal("a request of the dropped connection succeeded")
	} else if perr, ok := protocolError(err); ok && perr.Code != protocol.CodeClusterUnavailable {
		t.Fatalf("request of the dropped connection: %v, want 5002 or the close", err)
	}
	select {
	case <-bob.Done():
	case <-ctx.Done():
		t.Fatal("the dropped connection's socket stayed open")
	}
	if code, reason := bob.CloseStatus(); code != 1001 {
		t.Fatalf("closed with %d %q, want 1001", code, reason)
	}
	bob2 := st.dial(t)
	if _, err := bob2.Resume(ctx, protocolDevApp, "fdbob", sig(t, "fdbob", time.Hour), login.ResumeToken, bob.LastSeq()); err != nil {
		t.Fatalf("resume after the close: %v", err)
	}
	must(t, bob2.SetSelfInfo(ctx, "Bob", ""))
}
