package signaling_test

// Black-box round "bb": scenarios from the call spec (spec §9) that earlier rounds drove
// only one at a time: a multi-device user inside a group call and invited into one, a
// user outside a call sending that call's requests, and what each way a call ends leaves
// for the app's server (the summaries behind the call_began / call_ended webhooks, D22).
// See spec_conformance_test.go for the tracer.

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestBBMultiDeviceInviteeInAGroupCall checks D4 inside a group call (D13, D14, D16, D17):
// a multi-device invitee rings on both sessions; the session that accepts is the user's
// in the call and hears every later call event (a reject, the invitee list, an accept,
// the end); the other session hears "answeredElsewhere" and then nothing, and cannot
// invite into, switch or hang up the call (3003).
func TestBBMultiDeviceInviteeInAGroupCall(t *testing.T) {
	bbMultiDeviceInviteeInAGroupCall(t, newStack)
}
func TestClusterBBMultiDeviceInviteeInAGroupCall(t *testing.T) {
	bbMultiDeviceInviteeInAGroupCall(t, newClusterStack)
}

func bbMultiDeviceInviteeInAGroupCall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "bbm", "alice", "bob", "carol", "dave")
	alice, bob1, carol, dave := us[0], us[1], us[2], us[3]
	must(t, bob1.EnableMultiDeviceAbility(ctx, true))
	bob2 := st.login(t, bob1.UserID())
	tr := newTracer(t)
	started, err := alice.GroupCall(ctx, "bbm-g", []string{bob1.UserID(), carol.UserID()}, audio, protocol.CallParams{})
	must(t, err)
	id := started.CallID
	ringing := []string{bob1.UserID(), carol.UserID()}
	must(t, bob2.Accept(ctx, 0))
	tr.expect(bob1, ev(protocol.EventCallReceived, "callId", id, "calleeIdList", ringing),
		ev(protocol.EventCallCancelled, "callId", id, "userId", bob1.UserID(), "reason", "answeredElsewhere", "role", 2))
	tr.expect(bob2, ev(protocol.EventCallReceived, "callId", id, "calleeIdList", ringing), ev(protocol.EventCallBegin, "callId", id, "role", 2))
	tr.expect(carol, ev(protocol.EventCallReceived, "callId", id), ev(protocol.EventUserAccept, "userId", bob1.UserID()))

	must(t, carol.Reject(ctx))
	for _, act := range []struct {
		name string
		do   func() error
	}{
		{"inviteUser", func() error {
			_, err := bob1.InviteUser(ctx, []string{dave.UserID()}, protocol.CallParams{})
			return err
		}},
		{"hangup", func() error { return bob1.Hangup(ctx) }},
		{"switchCallMediaType", func() error { return bob1.SwitchCallMediaType(ctx, video) }},
	} {
		wantCodeNamed(t, "the other session's "+act.name, act.do(), protocol.CodeNotInCall)
	}
	wantCode(t, bob1.Accept(ctx, 0), protocol.CodeNoCallRinging)
	_, err = bob1.Join(ctx, id)
	wantCode(t, err, protocol.CodeAlreadyInCall)
	res, err := bob2.InviteUser(ctx, []string{dave.UserID()}, protocol.CallParams{})
	must(t, err)
	if !slices.Equal(res.UserIDList, []string{dave.UserID()}) {
		t.Fatalf("inviteUser result %v, want dave", res.UserIDList)
	}
	must(t, dave.Accept(ctx, 0))
	must(t, alice.Hangup(ctx))
	must(t, dave.Hangup(ctx)) // bob is left alone: the call ends for him
	tr.expect(bob1)
	tr.expect(bob2, ev(protocol.EventUserReject, "userId", carol.UserID()),
		ev(protocol.EventGroupCallInviteeListUpdate, "userIdList", []string{dave.UserID()}),
		ev(protocol.EventUserAccept, "userId", dave.UserID()),
		ev(protocol.EventCallEnd, "callId", id, "userId", dave.UserID(), "role", 2))
	tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob1.UserID()), ev(protocol.EventCallBegin, "role", 1),
		ev(protocol.EventUserReject, "userId", carol.UserID()),
		ev(protocol.EventGroupCallInviteeListUpdate, "userIdList", []string{dave.UserID()}),
		ev(protocol.EventUserAccept, "userId", dave.UserID()),
		ev(protocol.EventCallEnd, "callId", id, "userId", alice.UserID()))
	tr.expect(dave, ev(protocol.EventCallReceived, "callId", id, "callerId", bob1.UserID(), "calleeIdList", []string{dave.UserID()}),
		ev(protocol.EventCallBegin, "role", 2), ev(protocol.EventCallEnd, "userId", dave.UserID()))
	tr.expect(carol, ev(protocol.EventCallCancelled, "userId", carol.UserID(), "reason", "reject"))
}

// TestBBInviteUserRingsEveryDevice checks D17 with D4, D11 and D18 when inviteUser turns a
// 1v1 call into a group call for a multi-device invitee: both of its sessions ring with
// the inviter as caller and the group scene; inviting it again while it rings invites
// nobody (result [], no event, no invitee list update) and leaves its invitation as it
// was; its ignore on one session is "rejectedElsewhere" on the other and onUserLineBusy
// for both participants; the call, a group call now, refuses a media switch (3007).
func TestBBInviteUserRingsEveryDevice(t *testing.T) { bbInviteUserRingsEveryDevice(t, newStack) }
func TestClusterBBInviteUserRingsEveryDevice(t *testing.T) {
	bbInviteUserRingsEveryDevice(t, newClusterStack)
}

func bbInviteUserRingsEveryDevice(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "bbi", "alice", "bob", "carol")
	alice, bob, carol1 := us[0], us[1], us[2]
	must(t, carol1.EnableMultiDeviceAbility(ctx, true))
	carol2 := st.login(t, carol1.UserID())
	tr := newTracer(t)
	started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{})
	must(t, err)
	id := started.CallID
	accepted(t, alice, bob)
	res, err := bob.InviteUser(ctx, []string{carol1.UserID()}, protocol.CallParams{})
	must(t, err)
	if !slices.Equal(res.UserIDList, []string{carol1.UserID()}) {
		t.Fatalf("inviteUser result %v, want carol", res.UserIDList)
	}
	invitation := ev(protocol.EventCallReceived, "callId", id, "callerId", bob.UserID(), "calleeIdList", []string{carol1.UserID()},
		"scene", 0, "role", 2, "mediaType", 2, "roomId", started.RoomID)
	tr.expect(carol1, invitation)
	tr.expect(carol2, invitation)
	res, err = alice.InviteUser(ctx, []string{carol1.UserID(), bob.UserID()}, protocol.CallParams{Timeout: protocol.MaxCallTimeout})
	must(t, err)
	if len(res.UserIDList) != 0 {
		t.Fatalf("inviting a ringing invitee and a participant invited %v, want nobody", res.UserIDList)
	}
	tr.expect(carol1)
	tr.expect(carol2)
	must(t, carol2.Ignore(ctx))
	tr.expect(carol2, ev(protocol.EventCallCancelled, "callId", id, "userId", carol1.UserID(), "reason", "ignore"))
	tr.expect(carol1, ev(protocol.EventCallCancelled, "callId", id, "userId", carol1.UserID(), "reason", "rejectedElsewhere"))
	wantCode(t, alice.SwitchCallMediaType(ctx, audio), protocol.CodeMediaSwitchNotAllowed)
	wantCode(t, carol1.Accept(ctx, 0), protocol.CodeNoCallRinging)
	must(t, alice.Hangup(ctx)) // bob alone, nobody rings: the call ends
	update := ev(protocol.EventGroupCallInviteeListUpdate, "callId", id, "userIdList", []string{carol1.UserID()})
	busy := ev(protocol.EventUserLineBusy, "callId", id, "userId", carol1.UserID())
	tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin), update, busy,
		ev(protocol.EventCallEnd, "callId", id, "userId", alice.UserID()))
	tr.expect(bob, ev(protocol.EventCallReceived, "scene", 2), ev(protocol.EventCallBegin), update, busy,
		ev(protocol.EventCallEnd, "callId", id, "userId", alice.UserID(), "mediaType", 2))
	tr.expect(carol1)
	tr.expect(carol2)
}

// TestBBOutsiderCannotTouchACall checks D25 and D27 for a user who is not in a call and
// sends that call's requests, as a buggy or hostile app would, while the call rings and
// while it runs: each is refused with its documented code and nobody hears anything of
// it; the call then goes on as if nothing happened.
func TestBBOutsiderCannotTouchACall(t *testing.T) { bbOutsiderCannotTouchACall(t, newStack) }
func TestClusterBBOutsiderCannotTouchACall(t *testing.T) {
	bbOutsiderCannotTouchACall(t, newClusterStack)
}

func bbOutsiderCannotTouchACall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "bbo", "alice", "bob", "carol", "mallory")
	alice, bob, carol, mallory := us[0], us[1], us[2], us[3]
	tr := newTracer(t)
	started, err := alice.GroupCall(ctx, "bbo-g", []string{bob.UserID(), carol.UserID()}, video, protocol.CallParams{})
	must(t, err)
	attempts := []struct {
		name string
		do   func() error
		code int
	}{
		{"accept", func() error { return mallory.Accept(ctx, 0) }, protocol.CodeNoCallRinging},
		{"reject", func() error { return mallory.Reject(ctx) }, protocol.CodeNoCallRinging},
		{"ignore", func() error { return mallory.Ignore(ctx) }, protocol.CodeNoCallRinging},
		{"hangup", func() error { return mallory.Hangup(ctx) }, protocol.CodeNotInCall},
		{"switchCallMediaType", func() error { return mallory.SwitchCallMediaType(ctx, audio) }, protocol.CodeNotInCall},
		{"inviteUser", func() error {
			_, err := mallory.InviteUser(ctx, []string{bob.UserID()}, protocol.CallParams{})
			return err
		}, protocol.CodeNotInCall},
		{"prepareCall", func() error { _, err := mallory.PrepareCall(ctx, started.CallID); return err }, protocol.CodeNoSuchCall},
		{"joinRoom of the call's room with a grant", func() error { return joinRoomGranted(ctx, t, mallory, started.RoomID) }, protocol.CodeRoomForbidden},
		{"leaveRoom", func() error { return mallory.LeaveRoom(ctx) }, protocol.CodeNotInRoom},
	}
	for _, phase := range []string{"ringing", "running"} {
		if phase == "running" {
			accepted(t, alice, bob)
		}
		for _, a := range attempts {
			wantCodeNamed(t, phase+": "+a.name, a.do(), a.code)
		}
	}
	tr.expect(mallory)
	tr.expect(carol, ev(protocol.EventCallReceived, "callId", started.CallID), ev(protocol.EventUserAccept, "userId", bob.UserID()))
	tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob.UserID()), ev(protocol.EventCallBegin, "callId", started.CallID))
	tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin, "callId", started.CallID))
	must(t, carol.Accept(ctx, 0))
	tr.expect(carol, ev(protocol.EventCallBegin, "callId", started.CallID, "mediaType", 2))
	must(t, alice.Hangup(ctx))
	must(t, bob.Hangup(ctx))
	tr.expect(carol, ev(protocol.EventCallEnd, "userId", bob.UserID()))
	// Its records are its users' own: the outsider deletes none of them (D22).
	waitUntil(t, ctx, "alice's record of the call", func() bool {
		recs, err := alice.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
		return err == nil && len(recs.Records) == 1
	})
	res, err := mallory.DeleteRecordCalls(ctx, []string{started.CallID})
	must(t, err)
	recs, err := alice.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
	must(t, err)
	if len(res.Deleted) != 0 || len(recs.Records) != 1 || recs.Records[0].CallID != started.CallID {
		t.Fatalf("mallory deleted %v; alice's records %+v", res.Deleted, recs.Records)
	}
}

// TestBBCallSummariesOfEachEnd checks D22's webhooks for each way a call ends: the call's
// summary the call_began and call_ended webhooks are made of (ops/webhooks) comes once at
// the end, with the outcome (cancelled when the caller hung up or went away before an
// answer; unanswered when every invitee rejected, ignored, timed out, went away or was
// busy; answered), the invitees (a busy one too) and one record per user who heard of it
// (none for a busy invitee, D10); call_began comes once, at the first accept, only for a
// call that was answered, with the scene it had then (a 1v1 call an inviteUser turned
// into a group call ends as a group call).
func TestBBCallSummariesOfEachEnd(t *testing.T)        { bbCallSummariesOfEachEnd(t, newStack) }
func TestClusterBBCallSummariesOfEachEnd(t *testing.T) { bbCallSummariesOfEachEnd(t, newClusterStack) }

func bbCallSummariesOfEachEnd(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations, func(c *signalingConfig) { c.Call.DefaultTimeout = 1200 * time.Millisecond })
	ctx := ctxT(t, 90*time.Second)
	// Every end but the timeout acts while the invitation rings for 10 s (the stack's
	// 1.2 s is too short for a request on a loaded machine).
	ten := protocol.CallParams{Timeout: protocol.MinCallTimeout}
	type endFunc = func(t *testing.T, alice, bob, carol *client.Conn) protocol.CallStartResult
	ringing := func(act func(alice, bob *client.Conn) error) endFunc {
		return func(t *testing.T, alice, bob, _ *client.Conn) protocol.CallStartResult {
			started, err := alice.Call(ctx, bob.UserID(), audio, ten)
			must(t, err)
			waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
			must(t, act(alice, bob))
			return started
		}
	}
	out, in, miss := protocol.CallResultOutgoing, protocol.CallResultIncoming, protocol.CallResultMissed
	unanswered := map[string]protocol.CallResult{"alice": out, "bob": miss}
	tests := []struct {
		name     string
		end      endFunc
		outcome  call.Outcome
		invitees []string                       // by name
		records  map[string]protocol.CallResult // by name
		scene    protocol.Scene                 // at the end
	}{
		{"cancel", ringing(func(alice, _ *client.Conn) error { return alice.Hangup(ctx) }), call.OutcomeCancelled, []string{"bob"}, unanswered, protocol.SceneSingle},
		{"caller logs out while dialing", ringing(func(alice, _ *client.Conn) error { return logoutAndBack(ctx, t, alice) }), call.OutcomeCancelled, []string{"bob"}, unanswered, protocol.SceneSingle},
		{"reject", ringing(func(_, bob *client.Conn) error { return bob.Reject(ctx) }), call.OutcomeUnanswered, []string{"bob"}, unanswered, protocol.SceneSingle},
		{"ignore", ringing(func(_, bob *client.Conn) error { return bob.Ignore(ctx) }), call.OutcomeUnanswered, []string{"bob"}, unanswered, protocol.SceneSingle},
		{"invitee logs out while ringing", ringing(func(_, bob *client.Conn) error { return logoutAndBack(ctx, t, bob) }), call.OutcomeUnanswered, []string{"bob"}, unanswered, protocol.SceneSingle},
		{"timeout", func(t *testing.T, alice, bob, _ *client.Conn) protocol.CallStartResult {
			started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{}) // the stack's 1.2 s
			must(t, err)
			waitFor[protocol.CallCancelledEvent](t, alice, protocol.EventCallCancelled, nil)
			return started
		}, call.OutcomeUnanswered, []string{"bob"}, unanswered, protocol.SceneSingle},
		{"busy", func(t *testing.T, alice, bob, carol *client.Conn) protocol.CallStartResult {
			_, err := carol.Call(ctx, bob.UserID(), audio, ten)
			must(t, err)
			started, err := alice.Call(ctx, bob.UserID(), audio, ten)
			must(t, err)
			must(t, carol.Hangup(ctx))
			return started
		}, call.OutcomeUnanswered, []string{"bob"}, map[string]protocol.CallResult{"alice": out}, protocol.SceneSingle},
		{"answered", ringing(func(alice, bob *client.Conn) error { accepted(t, alice, bob); return alice.Hangup(ctx) }),
			call.OutcomeAnswered, []string{"bob"}, map[string]protocol.CallResult{"alice": out, "bob": in}, protocol.SceneSingle},
		{"answered, then turned into a group call", ringing(func(alice, bob *client.Conn) error {
			accepted(t, alice, bob)
			if _, err := bob.InviteUser(ctx, []string{"bbs8carol"}, ten); err != nil {
				return err
			}
			return alice.Hangup(ctx) // bob stays while carol rings (D16); she times out or is ended below
		}), call.OutcomeAnswered, []string{"bob", "carol"}, map[string]protocol.CallResult{"alice": out, "bob": in, "carol": miss}, protocol.SceneGroup},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			us := st.users(t, "bbs"+itoa(i), "alice", "bob", "carol")
			names := map[string]string{}
			for j, n := range []string{"alice", "bob", "carol"} {
				names[us[j].UserID()] = n
			}
			started := tc.end(t, us[0], us[1], us[2])
			if tc.scene == protocol.SceneGroup {
				must(t, us[2].Reject(ctx)) // the last ringing invitee: bob is left alone, the call ends
			}
			var began, ended []call.CallSummary
			waitUntil(t, ctx, "the call's end summary", func() bool {
				began, ended = st.callSummaries(started.CallID)
				return len(ended) > 0
			})
			answered := tc.outcome == call.OutcomeAnswered
			if len(ended) != 1 || len(began) != map[bool]int{false: 0, true: 1}[answered] {
				t.Fatalf("%d began and %d ended summaries, want %v and 1", len(began), len(ended), answered)
			}
			e := ended[0]
			var invitees []string
			for _, u := range e.Invitees {
				invitees = append(invitees, names[u])
			}
			records := map[string]protocol.CallResult{}
			for _, r := range e.Records {
				records[names[r.UserID]] = r.Result
			}
			if e.Outcome != tc.outcome || !slices.Equal(invitees, tc.invitees) || !maps.Equal(records, tc.records) || e.Scene != tc.scene ||
				e.Caller != us[0].UserID() || e.RoomID != started.RoomID || e.EndedAt.IsZero() || e.BeganAt.IsZero() == answered {
				t.Fatalf("ended summary %+v (invitees %v, records %v), want outcome %s, invitees %v, records %v, scene %d",
					e, invitees, records, tc.outcome, tc.invitees, tc.records, tc.scene)
			}
			if answered {
				if b := began[0]; b.Outcome != "" || !b.EndedAt.IsZero() || b.Records != nil || b.Scene != protocol.SceneSingle || !b.BeganAt.Equal(e.BeganAt) {
					t.Fatalf("began summary %+v, want the 1v1 call as it began", b)
				}
			}
		})
	}
}

// callSummaries returns the began and ended call summaries of callID on every node.
func (st *stack) callSummaries(callID string) (began, ended []call.CallSummary) {
	for _, node := range st.all() {
		b, e := node.offline.summaries(callID)
		began, ended = append(began, b...), append(ended, e...)
	}
	return began, ended
}

// TestBBExpiredUserSigStartsNothing checks D2 (spec §9: in the grace after its userSig
// expired "a call in progress continues") with D337: a session in the grace goes on with
// the call and room it has, may answer an invitation and read its records, but starts
// nothing new on the expired userSig — no call, invitation, join or room — and changes
// nothing of the account (profile, multi-device flag, records): 1003, nobody hears of it,
// until a login renews it.
func TestBBExpiredUserSigStartsNothing(t *testing.T) { bbExpiredUserSigStartsNothing(t, newStack) }
func TestClusterBBExpiredUserSigStartsNothing(t *testing.T) {
	bbExpiredUserSigStartsNothing(t, newClusterStack)
}

func bbExpiredUserSigStartsNothing(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations, func(c *signalingConfig) { c.Auth.Apps[0].OpenRooms = true })
	ctx := ctxT(t, 90*time.Second)
	us := st.users(t, "bbx", "bob", "carol", "dave", "erin")
	bob, carol, dave, erin := us[0], us[1], us[2], us[3]
	alice := st.dial(t)
	_, err := alice.Login(ctx, protocolDevApp, "bbxalice", sig(t, "bbxalice", shortSigTTL))
	must(t, err)
	tr := newTracer(t)
	group, err := dave.GroupCall(ctx, "bbx-g", []string{erin.UserID()}, audio, protocol.CallParams{})
	must(t, err)
	accepted(t, dave, erin) // an active group call alice could join
	started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
	must(t, err)
	accepted(t, alice, bob)
	waitFor[protocol.UserSigExpiredEvent](t, alice, protocol.EventUserSigExpired, nil)

	expired := []struct {
		name string
		do   func() error
	}{
		{"call", func() error { _, err := alice.Call(ctx, carol.UserID(), audio, protocol.CallParams{}); return err }},
		{"groupCall", func() error {
			_, err := alice.GroupCall(ctx, "bbx-h", []string{carol.UserID()}, audio, protocol.CallParams{})
			return err
		}},
		{"calls", func() error {
			_, err := alice.Calls(ctx, []string{carol.UserID()}, audio, protocol.CallParams{})
			return err
		}},
		{"inviteUser", func() error {
			_, err := alice.InviteUser(ctx, []string{carol.UserID()}, protocol.CallParams{})
			return err
		}},
		{"join", func() error { _, err := alice.Join(ctx, group.CallID); return err }},
		{"joinInGroupCall", func() error { _, err := alice.JoinInGroupCall(ctx, group.RoomID, "bbx-g", audio); return err }},
		{"joinRoom", func() error { return alice.JoinRoom(ctx, protocol.StrRoom("bbx-room")) }},
		{"setSelfInfo", func() error { return alice.SetSelfInfo(ctx, "Alice", "") }},
		{"enableMultiDeviceAbility", func() error { return alice.EnableMultiDeviceAbility(ctx, true) }},
		{"deleteRecordCalls", func() error { _, err := alice.DeleteRecordCalls(ctx, []string{started.CallID}); return err }},
	}
	check := func(phase string) {
		for _, e := range expired {
			wantCodeNamed(t, phase+": "+e.name, e.do(), protocol.CodeUserSigExpired)
		}
	}
	check("in a call")
	// The call in progress goes on: a switch, a device toggle, the hangup.
	must(t, alice.SwitchCallMediaType(ctx, video))
	must(t, alice.CloseMicrophone(ctx))
	must(t, alice.Hangup(ctx))
	tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin),
		ev(protocol.EventCallMediaTypeChanged, "newMediaType", 2), ev(protocol.EventCallEnd, "callId", started.CallID))
	check("idle")
	recs, err := alice.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
	must(t, err)
	if len(recs.Records) != 1 || recs.Records[0].CallID != started.CallID {
		t.Fatalf("alice's records %+v, want the call, kept", recs.Records)
	}
	// An invitation still reaches it, and it may answer.
	second, err := bob.Call(ctx, alice.UserID(), audio, protocol.CallParams{})
	must(t, err)
	must(t, alice.Accept(ctx, 0))
	must(t, alice.Hangup(ctx))
	tr.expect(alice, ev(protocol.EventCallReceived, "callId", second.CallID), ev(protocol.EventCallBegin), ev(protocol.EventCallEnd))
	tr.expect(carol)
	tr.expect(dave, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin))

	// A renewal lifts it.
	_, err = alice.Login(ctx, protocolDevApp, "bbxalice", sig(t, "bbxalice", time.Hour))
	must(t, err)
	_, err = alice.Call(ctx, carol.UserID(), audio, protocol.CallParams{})
	must(t, err)
	tr.expect(carol, ev(protocol.EventCallReceived, "callerId", alice.UserID()))
	must(t, alice.Hangup(ctx))
}

// TestBBStaleCallIDActsOnNothing checks D25 with D338 for requests that name a call that is
// not the user's current one, as a late click of an app's call screen does: an accept,
// reject or ignore sent for a call that was cancelled meanwhile while the next one rings
// (3002), a hangup, media switch or invitation for a call that ended while the user is in
// the next one, or for another user's call (3003). Each is refused, the current call and
// everybody in it hear nothing of it, and the same request naming the current call acts.
func TestBBStaleCallIDActsOnNothing(t *testing.T) { bbStaleCallIDActsOnNothing(t, newStack) }
func TestClusterBBStaleCallIDActsOnNothing(t *testing.T) {
	bbStaleCallIDActsOnNothing(t, newClusterStack)
}

func bbStaleCallIDActsOnNothing(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "bbc", "alice", "bob", "carol", "dave", "erin")
	alice, bob, carol, dave, erin := us[0], us[1], us[2], us[3], us[4]
	tr := newTracer(t)
	naming := func(c *client.Conn, method, callID string, more ...any) error {
		p := map[string]any{"callId": callID}
		for i := 0; i < len(more); i += 2 {
			p[more[i].(string)] = more[i+1]
		}
		return c.Request(ctx, method, p, nil)
	}
	first, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{})
	must(t, err)
	must(t, alice.Hangup(ctx))
	second, err := carol.Call(ctx, bob.UserID(), video, protocol.CallParams{})
	must(t, err)
	tr.expect(bob, ev(protocol.EventCallReceived, "callId", first.CallID), ev(protocol.EventCallCancelled, "callId", first.CallID),
		ev(protocol.EventCallReceived, "callId", second.CallID))
	tr.expect(alice, ev(protocol.EventCallCancelled, "callId", first.CallID))

	// The second call rings: answers naming the first one are late.
	for _, m := range []string{protocol.MethodAccept, protocol.MethodReject, protocol.MethodIgnore} {
		wantCodeNamed(t, m+" of the cancelled call", naming(bob, m, first.CallID), protocol.CodeNoCallRinging)
	}
	wantCodeNamed(t, "accept with audio of the cancelled call", naming(bob, protocol.MethodAccept, first.CallID, "mediaType", 1), protocol.CodeNoCallRinging)
	wantCodeNamed(t, "hangup of the cancelled call", naming(bob, protocol.MethodHangup, first.CallID), protocol.CodeNotInCall)
	wantCodeNamed(t, "switch of the cancelled call", naming(bob, protocol.MethodSwitchCallMediaType, first.CallID, "mediaType", 1), protocol.CodeNotInCall)
	tr.expect(bob)
	tr.expect(carol)
	must(t, naming(bob, protocol.MethodAccept, second.CallID))
	tr.expect(bob, ev(protocol.EventCallBegin, "callId", second.CallID, "mediaType", 2))
	tr.expect(carol, ev(protocol.EventUserAccept, "callId", second.CallID), ev(protocol.EventCallBegin, "callId", second.CallID))

	// In the second call: requests naming the first, or dave's call with erin, do nothing.
	third, err := dave.Call(ctx, erin.UserID(), audio, protocol.CallParams{})
	must(t, err)
	accepted(t, dave, erin)
	for _, other := range []string{first.CallID, third.CallID} {
		wantCodeNamed(t, "hangup of "+other, naming(bob, protocol.MethodHangup, other), protocol.CodeNotInCall)
		wantCodeNamed(t, "switch of "+other, naming(bob, protocol.MethodSwitchCallMediaType, other, "mediaType", 1), protocol.CodeNotInCall)
		wantCodeNamed(t, "inviteUser into "+other, naming(bob, protocol.MethodInviteUser, other, "userIdList", []string{alice.UserID()}), protocol.CodeNotInCall)
	}
	wantCodeNamed(t, "a callId of 129 bytes", naming(bob, protocol.MethodHangup, strings.Repeat("c", 129)), protocol.CodeInvalidParams)
	for _, c := range []*client.Conn{alice, bob, carol} {
		tr.expect(c)
	}
	tr.expect(dave, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "callId", third.CallID))
	tr.expect(erin, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin, "callId", third.CallID))

	must(t, naming(bob, protocol.MethodSwitchCallMediaType, second.CallID, "mediaType", 1))
	must(t, naming(bob, protocol.MethodHangup, second.CallID))
	changed := ev(protocol.EventCallMediaTypeChanged, "callId", second.CallID, "newMediaType", 1)
	tr.expect(bob, changed, ev(protocol.EventCallEnd, "callId", second.CallID, "userId", bob.UserID()))
	tr.expect(carol, changed, ev(protocol.EventCallEnd, "callId", second.CallID, "userId", bob.UserID()))
	must(t, dave.Hangup(ctx))
}

// TestBBReinvitedCallerIsCalled checks spec §5.1 (a RINGING user's role is Called) with D17
// and D339 for the caller of a group call who hung up and is invited back by a participant:
// every event of that invitation says role 2 — the invitation, the onCallCancelled of its
// reject, and, invited again and answering, onCallBegin and onCallEnd — as for any
// invitee; the caller's record of the call stays outgoing (D163: she made it).
func TestBBReinvitedCallerIsCalled(t *testing.T) { bbReinvitedCallerIsCalled(t, newStack) }
func TestClusterBBReinvitedCallerIsCalled(t *testing.T) {
	bbReinvitedCallerIsCalled(t, newClusterStack)
}

func bbReinvitedCallerIsCalled(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "bbr", "alice", "bob", "carol")
	alice, bob, carol := us[0], us[1], us[2]
	tr := newTracer(t)
	started, err := alice.GroupCall(ctx, "bbr-g", []string{bob.UserID(), carol.UserID()}, audio, protocol.CallParams{})
	must(t, err)
	id := started.CallID
	accepted(t, alice, bob)
	must(t, carol.Accept(ctx, 0))
	must(t, alice.Hangup(ctx))
	tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "role", 1), ev(protocol.EventUserAccept),
		ev(protocol.EventCallEnd, "callId", id, "role", 1))
	invited := ev(protocol.EventCallReceived, "callId", id, "callerId", bob.UserID(), "role", 2)
	_, err = bob.InviteUser(ctx, []string{alice.UserID()}, protocol.CallParams{})
	must(t, err)
	must(t, alice.Reject(ctx))
	tr.expect(alice, invited, ev(protocol.EventCallCancelled, "callId", id, "userId", alice.UserID(), "reason", "reject", "role", 2))
	_, err = carol.InviteUser(ctx, []string{alice.UserID()}, protocol.CallParams{})
	must(t, err)
	must(t, alice.Accept(ctx, 0))
	must(t, alice.Hangup(ctx))
	tr.expect(alice, ev(protocol.EventCallReceived, "callId", id, "callerId", carol.UserID(), "role", 2),
		ev(protocol.EventCallBegin, "callId", id, "role", 2), ev(protocol.EventCallEnd, "callId", id, "role", 2))
	must(t, bob.Hangup(ctx))
	recs, err := alice.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
	must(t, err)
	if len(recs.Records) != 1 || recs.Records[0].Role != protocol.RoleCaller || recs.Records[0].Result != protocol.CallResultOutgoing {
		t.Fatalf("alice's records %+v, want the call as her outgoing one", recs.Records)
	}
}
