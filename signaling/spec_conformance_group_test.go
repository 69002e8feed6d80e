package signaling_test

// Conformance checks of group calls and call timeouts (see spec_conformance_test.go for the
// tracer that compares each user's call events with the spec's).

import (
	"slices"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestSpecGroupCall checks §5.4 G1–G3, G6–G9 and D7, D10, D11, D13, D14, D16–D18 for group
// calls.
func TestSpecGroupCall(t *testing.T)        { specGroupCall(t, newStack) }
func TestClusterSpecGroupCall(t *testing.T) { specGroupCall(t, newClusterStack) }

func specGroupCall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 120*time.Second)

	t.Run("G1 G2 G3 G6 G7 G8 D16 a group call from start to end", func(t *testing.T) {
		us := st.users(t, "g1", "alice", "bob", "carol", "dave", "erin", "frank", "gina", "hank")
		alice, bob, carol, dave, erin, frank, gina, hank := us[0], us[1], us[2], us[3], us[4], us[5], us[6], us[7]
		tr := newTracer(t)
		must(t, alice.SetSelfInfo(ctx, "Alice", ""))
		must(t, bob.SetSelfInfo(ctx, "Bob", "https://img.example/bob.png"))
		started, err := alice.GroupCall(ctx, "team-1", []string{bob.UserID(), carol.UserID()}, audio, protocol.CallParams{UserData: "agenda"})
		must(t, err)
		id := started.CallID
		both := []string{bob.UserID(), carol.UserID()}
		for _, c := range []*client.Conn{bob, carol} {
			tr.expect(c, ev(protocol.EventCallReceived, "callId", id, "callerId", alice.UserID(), "calleeIdList", both,
				"groupId", "team-1", "mediaType", 1, "userData", "agenda", "roomId", started.RoomID, "scene", 0, "role", 2,
				"callerNickname", "Alice", "timeout", 30))
		}
		tr.expect(alice)

		// G2 / D14: bob accepts; alice and the pending carol hear onUserAccept.
		must(t, bob.Accept(ctx, 0))
		tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob.UserID()), ev(protocol.EventCallBegin, "callId", id, "role", 1, "mediaType", 1, "roomId", started.RoomID))
		tr.expect(bob, ev(protocol.EventCallBegin, "callId", id, "role", 2, "mediaType", 1, "roomId", started.RoomID))
		tr.expect(carol, ev(protocol.EventUserAccept, "callId", id, "userId", bob.UserID()))

		// G3 / D13: carol rejects; everyone else hears it; the call goes on.
		must(t, carol.Reject(ctx))
		for _, c := range []*client.Conn{alice, bob} {
			tr.expect(c, ev(protocol.EventUserReject, "callId", id, "userId", carol.UserID()))
		}
		tr.expect(carol, ev(protocol.EventCallCancelled, "callId", id, "userId", carol.UserID(), "reason", "reject", "role", 2))

		// G6 / D6 / D17: bob (not the caller) invites dave, a busy frank and a member; the
		// requested room is ignored.
		_, err = frank.Call(ctx, gina.UserID(), audio, protocol.CallParams{})
		must(t, err)
		res, err := bob.InviteUser(ctx, []string{dave.UserID(), frank.UserID(), alice.UserID()}, protocol.CallParams{RoomID: protocol.IntRoom(999)})
		must(t, err)
		if !slices.Equal(res.UserIDList, []string{dave.UserID()}) {
			t.Fatalf("inviteUser result %v, want [dave] (busy and present users are not invited)", res.UserIDList)
		}
		tr.expect(dave, ev(protocol.EventCallReceived, "callId", id, "callerId", bob.UserID(), "calleeIdList", []string{dave.UserID()},
			"groupId", "team-1", "roomId", started.RoomID, "scene", 0, "mediaType", 1, "callerNickname", "Bob",
			"callerAvatar", "https://img.example/bob.png"),
			ev(protocol.EventUserLineBusy, "userId", frank.UserID()))
		for _, c := range []*client.Conn{alice, bob} {
			tr.expect(c,
				ev(protocol.EventUserLineBusy, "callId", id, "userId", frank.UserID()),
				ev(protocol.EventGroupCallInviteeListUpdate, "callId", id, "userIdList", []string{dave.UserID()}))
		}
		tr.expect(gina, ev(protocol.EventCallReceived, "callerId", frank.UserID()))
		tr.expect(frank)
		must(t, frank.Hangup(ctx))
		tr.expect(gina, ev(protocol.EventCallCancelled, "userId", frank.UserID(), "reason", "cancel"))

		// D11: dave ignores; the others hear line busy.
		must(t, dave.Ignore(ctx))
		for _, c := range []*client.Conn{alice, bob} {
			tr.expect(c, ev(protocol.EventUserLineBusy, "userId", dave.UserID()))
		}
		tr.expect(dave, ev(protocol.EventCallCancelled, "userId", dave.UserID(), "reason", "ignore"))

		// G7 / D17: erin joins by callId, hank by room and group; each gets onCallBegin.
		joined, err := erin.Join(ctx, id)
		must(t, err)
		if joined.CallID != id || joined.RoomID != started.RoomID {
			t.Fatalf("join result %+v", joined)
		}
		tr.expect(erin, ev(protocol.EventCallBegin, "callId", id, "roomId", started.RoomID, "mediaType", 1, "role", 2))
		joined, err = hank.JoinInGroupCall(ctx, started.RoomID, "team-1", video)
		must(t, err)
		if joined.CallID != id {
			t.Fatalf("joinInGroupCall result %+v", joined)
		}
		tr.expect(hank, ev(protocol.EventCallBegin, "callId", id, "mediaType", 1))
		tr.expect(alice)
		tr.expect(bob)

		// G8: participants leave one by one; the call goes on while two remain (D16).
		for _, c := range []*client.Conn{alice, erin, hank} {
			must(t, c.Hangup(ctx))
			tr.expect(c, ev(protocol.EventCallEnd, "callId", id, "userId", c.UserID(), "mediaType", 1))
			if c != hank {
				tr.expect(bob)
			}
		}
		// bob is left alone: the call ends for him too.
		tr.expect(bob, ev(protocol.EventCallEnd, "callId", id, "role", 2, "userId", hank.UserID()))
		_, err = carol.Join(ctx, id)
		wantCode(t, err, protocol.CodeNoSuchCall)
		tr.expect(frank, ev(protocol.EventCallCancelled, "userId", frank.UserID()))
		for _, c := range []*client.Conn{carol, dave, gina} {
			tr.expect(c)
		}
	})

	t.Run("G9 D12 the caller cancels a group call", func(t *testing.T) {
		us := st.users(t, "g2", "alice", "bob", "carol")
		alice, bob, carol := us[0], us[1], us[2]
		tr := newTracer(t)
		started, err := alice.GroupCall(ctx, "team-2", []string{bob.UserID(), carol.UserID()}, video, protocol.CallParams{})
		must(t, err)
		must(t, bob.Reject(ctx))
		must(t, alice.Hangup(ctx))
		tr.expect(alice, ev(protocol.EventUserReject, "userId", bob.UserID()),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "reason", "cancel", "role", 1))
		tr.expect(carol, ev(protocol.EventCallReceived), ev(protocol.EventUserReject, "userId", bob.UserID()),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "reason", "cancel", "role", 2))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallCancelled, "userId", bob.UserID(), "reason", "reject"))
	})

	t.Run("§5.2 a group call whose invitees all reject ends for the caller", func(t *testing.T) {
		us := st.users(t, "g3", "alice", "bob", "carol")
		alice, bob, carol := us[0], us[1], us[2]
		tr := newTracer(t)
		_, err := alice.GroupCall(ctx, "team-3", []string{bob.UserID(), carol.UserID()}, video, protocol.CallParams{})
		must(t, err)
		must(t, bob.Reject(ctx))
		must(t, carol.Reject(ctx))
		tr.expect(alice, ev(protocol.EventUserReject, "userId", bob.UserID()), ev(protocol.EventUserReject, "userId", carol.UserID()),
			ev(protocol.EventCallCancelled, "userId", alice.UserID(), "reason", "reject"))
		if _, err := alice.Calls(ctx, []string{bob.UserID()}, audio, protocol.CallParams{}); err != nil {
			t.Fatalf("caller not idle after an unanswered group call: %v", err)
		}
		must(t, alice.Hangup(ctx))
	})

	t.Run("D10 D13 busy invitees of a group call", func(t *testing.T) {
		us := st.users(t, "g4", "alice", "bob", "carol", "dave", "erin")
		alice, bob, carol, dave, erin := us[0], us[1], us[2], us[3], us[4]
		tr := newTracer(t)
		_, err := dave.Call(ctx, erin.UserID(), audio, protocol.CallParams{}) // dave dialing, erin ringing
		must(t, err)
		started, err := alice.GroupCall(ctx, "team-4", []string{bob.UserID(), erin.UserID(), carol.UserID()}, audio, protocol.CallParams{})
		must(t, err)
		ringing := []string{bob.UserID(), carol.UserID()}
		tr.expect(alice, ev(protocol.EventUserLineBusy, "callId", started.CallID, "userId", erin.UserID()))
		for _, c := range []*client.Conn{bob, carol} {
			tr.expect(c, ev(protocol.EventCallReceived, "calleeIdList", ringing), ev(protocol.EventUserLineBusy, "userId", erin.UserID()))
		}
		tr.expect(erin, ev(protocol.EventCallReceived, "callerId", dave.UserID()))
		must(t, alice.Hangup(ctx))
		must(t, dave.Hangup(ctx))
		tr.expect(erin, ev(protocol.EventCallCancelled, "userId", dave.UserID()))

		// Every invitee busy: the group call ends at once.
		_, err = bob.Call(ctx, carol.UserID(), audio, protocol.CallParams{})
		must(t, err)
		_, err = alice.GroupCall(ctx, "team-4", []string{bob.UserID(), carol.UserID()}, audio, protocol.CallParams{})
		must(t, err)
		tr.expect(alice, ev(protocol.EventCallCancelled, "reason", "cancel"),
			ev(protocol.EventUserLineBusy, "userId", bob.UserID()), ev(protocol.EventUserLineBusy, "userId", carol.UserID()),
			ev(protocol.EventCallCancelled, "userId", alice.UserID(), "reason", "busy"))
		must(t, bob.Hangup(ctx))
	})

	t.Run("D7 entry points and scenes", func(t *testing.T) {
		us := st.users(t, "g5", "alice", "bob", "carol")
		alice, bob, carol := us[0], us[1], us[2]
		tr := newTracer(t)
		cases := []struct {
			name  string
			start func() (protocol.CallStartResult, error)
			ring  []*client.Conn
			scene int
			group string
		}{
			{"groupCall with one invitee is a group call", func() (protocol.CallStartResult, error) {
				return alice.GroupCall(ctx, "g-one", []string{bob.UserID()}, audio, protocol.CallParams{})
			}, []*client.Conn{bob}, 0, "g-one"},
			{"calls with two invitees and no group is a group call", func() (protocol.CallStartResult, error) {
				return alice.Calls(ctx, []string{bob.UserID(), carol.UserID()}, audio, protocol.CallParams{})
			}, []*client.Conn{bob, carol}, 0, ""},
			{"calls with one invitee and no group is 1v1", func() (protocol.CallStartResult, error) {
				return alice.Calls(ctx, []string{bob.UserID()}, audio, protocol.CallParams{})
			}, []*client.Conn{bob}, 2, ""},
			{"calls with one invitee and params.chatGroupId is a group call", func() (protocol.CallStartResult, error) {
				return alice.Calls(ctx, []string{bob.UserID()}, audio, protocol.CallParams{ChatGroupID: "chat-9"})
			}, []*client.Conn{bob}, 0, "chat-9"},
			{"repeated invitees count once", func() (protocol.CallStartResult, error) {
				return alice.GroupCall(ctx, "g-dup", []string{bob.UserID(), bob.UserID()}, audio, protocol.CallParams{})
			}, []*client.Conn{bob}, 0, "g-dup"},
		}
		for _, tc := range cases {
			started, err := tc.start()
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var ids []string
			for _, c := range tc.ring {
				ids = append(ids, c.UserID())
			}
			for _, c := range tc.ring {
				tr.expect(c, ev(protocol.EventCallReceived, "callId", started.CallID, "scene", tc.scene, "groupId", tc.group, "calleeIdList", ids))
			}
			must(t, alice.Hangup(ctx))
			for _, c := range tc.ring {
				tr.expect(c, ev(protocol.EventCallCancelled, "userId", alice.UserID()))
			}
		}
	})

	t.Run("D17 D18 group restrictions", func(t *testing.T) {
		us := st.users(t, "g6", "alice", "bob", "carol", "dave")
		alice, bob, carol, dave := us[0], us[1], us[2], us[3]
		tr := newTracer(t)
		started, err := alice.GroupCall(ctx, "team-6", []string{bob.UserID(), carol.UserID()}, video, protocol.CallParams{})
		must(t, err)
		// Not active yet: no join (D17).
		_, err = dave.Join(ctx, started.CallID)
		wantCode(t, err, protocol.CodeNoSuchCall)
		_, err = dave.JoinInGroupCall(ctx, started.RoomID, "team-6", video)
		wantCode(t, err, protocol.CodeNoSuchCall)
		// A voice answer and a switch are refused in a group call (D18); nothing changed.
		wantCode(t, bob.Accept(ctx, audio), protocol.CodeMediaSwitchNotAllowed)
		wantCode(t, alice.SwitchCallMediaType(ctx, audio), protocol.CodeMediaSwitchNotAllowed)
		// inviteUser needs an IN_CALL inviter (D17).
		_, err = alice.InviteUser(ctx, []string{dave.UserID()}, protocol.CallParams{})
		wantCode(t, err, protocol.CodeNotInCall)
		_, err = bob.InviteUser(ctx, []string{dave.UserID()}, protocol.CallParams{})
		wantCode(t, err, protocol.CodeNotInCall)
		must(t, bob.Accept(ctx, 0))
		_, err = dave.JoinInGroupCall(ctx, started.RoomID, "another-group", video)
		wantCode(t, err, protocol.CodeNoSuchCall)
		_, err = dave.JoinInGroupCall(ctx, protocol.IntRoom(started.RoomID.Int+1), "team-6", video)
		wantCode(t, err, protocol.CodeNoSuchCall)
		_, err = bob.Join(ctx, started.CallID)
		wantCode(t, err, protocol.CodeAlreadyInCall)
		wantCode(t, bob.SwitchCallMediaType(ctx, audio), protocol.CodeMediaSwitchNotAllowed)
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin, "mediaType", 2))
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "mediaType", 2))
		tr.expect(carol, ev(protocol.EventCallReceived), ev(protocol.EventUserAccept))
		tr.expect(dave)
		// carol, still ringing, joins by callId: that is her accept (D14).
		_, err = carol.Join(ctx, started.CallID)
		must(t, err)
		tr.expect(carol, ev(protocol.EventCallBegin, "role", 2))
		tr.expect(alice, ev(protocol.EventUserAccept, "userId", carol.UserID()))
		must(t, alice.Hangup(ctx))
		must(t, bob.Hangup(ctx))
		tr.expect(carol, ev(protocol.EventCallEnd, "userId", bob.UserID()))
		// A 1v1 call cannot be joined.
		single, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		_, err = dave.Join(ctx, single.CallID)
		wantCode(t, err, protocol.CodeNoSuchCall)
		must(t, alice.Hangup(ctx))
	})
}

// TestSpecTimeouts checks §5.3#6, G4, D8, D9, D13 and D16 with a short default ringing
// time (G4, where an invitee must accept while it rings, asks for 10 s).
func TestSpecTimeouts(t *testing.T)        { specTimeouts(t, newStack) }
func TestClusterSpecTimeouts(t *testing.T) { specTimeouts(t, newClusterStack) }

func specTimeouts(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, func(c *signalingConfig) { c.Call.DefaultTimeout = 1200 * time.Millisecond })
	ctx := ctxT(t, 120*time.Second)

	t.Run("§5.3#6 1v1 no response", func(t *testing.T) {
		us := st.users(t, "t1", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{})
		must(t, err)
		waitFor[protocol.CallCancelledEvent](t, alice, protocol.EventCallCancelled, nil)
		tr.expect(alice,
			ev(protocol.EventUserNoResponse, "callId", started.CallID, "userId", bob.UserID()),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "reason", "timeout", "role", 1))
		tr.expect(bob, ev(protocol.EventCallReceived),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob.UserID(), "reason", "timeout", "role", 2))
		wantCode(t, bob.Accept(ctx, 0), protocol.CodeNoCallRinging)
	})

	t.Run("G4 D13 group no response goes to everyone else", func(t *testing.T) {
		us := st.users(t, "t2", "alice", "bob", "carol", "dave")
		alice, bob, carol, dave := us[0], us[1], us[2], us[3]
		tr := newTracer(t)
		// The shortest ringing time a call may ask for (10 s), not the stack's 1.2 s: bob's
		// accept must land while he rings, and on a loaded machine a cluster's accept took
		// longer than 1.2 s ('no ringing invitation').
		_, err := alice.GroupCall(ctx, "team-t2", []string{bob.UserID(), carol.UserID(), dave.UserID()}, audio,
			protocol.CallParams{Timeout: protocol.MinCallTimeout})
		must(t, err)
		must(t, bob.Accept(ctx, 0))
		for _, c := range []*client.Conn{carol, dave} {
			if _, err := client.WaitFor[protocol.CallCancelledEvent](ctx, c, protocol.EventCallCancelled, nil); err != nil {
				t.Fatalf("%s: no onCallCancelled: %v", c.UserID(), err)
			}
		}
		noResp := []wantEvent{ev(protocol.EventUserNoResponse, "userId", carol.UserID()), ev(protocol.EventUserNoResponse, "userId", dave.UserID())}
		tr.expect(alice, append([]wantEvent{ev(protocol.EventUserAccept), ev(protocol.EventCallBegin)}, noResp...)...)
		tr.expect(bob, append([]wantEvent{ev(protocol.EventCallReceived), ev(protocol.EventCallBegin)}, noResp...)...)
		tr.expect(carol, ev(protocol.EventCallReceived), ev(protocol.EventUserAccept),
			ev(protocol.EventCallCancelled, "userId", carol.UserID(), "reason", "timeout"))
		tr.expect(dave, ev(protocol.EventCallReceived), ev(protocol.EventUserAccept),
			ev(protocol.EventUserNoResponse, "userId", carol.UserID()),
			ev(protocol.EventCallCancelled, "userId", dave.UserID(), "reason", "timeout"))
		// alice and bob are still in the call (D16: two IN_CALL).
		must(t, alice.Hangup(ctx))
		tr.expect(bob, ev(protocol.EventCallEnd, "userId", alice.UserID()))
	})

	t.Run("D16 a lone participant waits for a ringing invitee", func(t *testing.T) {
		us := st.users(t, "t3", "alice", "bob", "carol")
		alice, bob, carol := us[0], us[1], us[2]
		tr := newTracer(t)
		started, err := alice.GroupCall(ctx, "team-t3", []string{bob.UserID()}, audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		_, err = bob.InviteUser(ctx, []string{carol.UserID()}, protocol.CallParams{Timeout: 600})
		must(t, err)
		must(t, alice.Hangup(ctx)) // bob alone, carol ringing: the call goes on
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin),
			ev(protocol.EventGroupCallInviteeListUpdate, "userIdList", []string{carol.UserID()}),
			ev(protocol.EventCallEnd, "userId", alice.UserID()))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin),
			ev(protocol.EventGroupCallInviteeListUpdate, "userIdList", []string{carol.UserID()}))
		tr.expect(carol, ev(protocol.EventCallReceived, "callerId", bob.UserID(), "timeout", 600))
		must(t, carol.Accept(ctx, 0))
		tr.expect(bob, ev(protocol.EventUserAccept, "userId", carol.UserID()))
		tr.expect(carol, ev(protocol.EventCallBegin, "callId", started.CallID, "role", 2))
		must(t, carol.Hangup(ctx))
		tr.expect(bob, ev(protocol.EventCallEnd, "userId", carol.UserID()))
	})

	t.Run("D9 an offline invitee gets nothing after its timer ran out", func(t *testing.T) {
		alice := st.login(t, "t4alice")
		tr := newTracer(t)
		_, err := alice.Call(ctx, "t4bob", audio, protocol.CallParams{})
		must(t, err)
		waitFor[protocol.CallCancelledEvent](t, alice, protocol.EventCallCancelled, nil)
		tr.expect(alice, ev(protocol.EventUserNoResponse, "userId", "t4bob"),
			ev(protocol.EventCallCancelled, "userId", alice.UserID(), "reason", "timeout"))
		bob := st.login(t, "t4bob")
		tr.expect(bob)
		// A timer ended the call: its records are written on the service's background queue
		// after the events went out, so they may land after alice's onCallCancelled.
		var recs protocol.QueryRecentCallsResult
		waitUntil(t, ctx, "bob's record of the call", func() bool {
			var err error
			recs, err = bob.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{ResultType: protocol.CallResultMissed})
			return err == nil && len(recs.Records) > 0
		})
		if len(recs.Records) != 1 || recs.Records[0].Result != protocol.CallResultMissed || recs.Records[0].Caller != alice.UserID() {
			t.Fatalf("bob's missed calls: %+v (D22)", recs.Records)
		}
	})
}
