package signaling_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestQAInviteUserCarriesItsParams checks spec §1.2.B inviteUser ("params … 通话邀请超时时间，
// 离线推送自定义内容等": the invitation's own timeout and offline push content) with
// CallParams.userData ("delivered to callee in onCallReceived") and D9: an invitee added by
// inviteUser gets the userData and offlinePushInfo of that inviteUser, online or on a later
// login; without them it gets the call's.
func TestQAInviteUserCarriesItsParams(t *testing.T) { qaInviteUserCarriesItsParams(t, newStack) }

func qaInviteUserCarriesItsParams(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qg", "alice", "bob", "carol")
	alice, bob, carol := us[0], us[1], us[2]
	callPush := json.RawMessage(`{"title":"call"}`)
	started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{UserData: "from-call", OfflinePushInfo: callPush})
	must(t, err)
	accepted(t, alice, bob)

	invitePush := json.RawMessage(`{"title":"invite","desc":"join us"}`)
	_, err = bob.InviteUser(ctx, []string{carol.UserID(), "qgdave"}, protocol.CallParams{UserData: "from-invite", OfflinePushInfo: invitePush, Timeout: 60})
	must(t, err)
	_, err = alice.InviteUser(ctx, []string{"qgerin"}, protocol.CallParams{})
	must(t, err)

	tests := []struct {
		name      string
		invitee   func() *client.Conn
		userData  string
		push      json.RawMessage
		callerID  string
		timeoutAt int
	}{
		{"online invitee", func() *client.Conn { return carol }, "from-invite", invitePush, bob.UserID(), 60},
		{"offline invitee on login", func() *client.Conn { return st.login(t, "qgdave") }, "from-invite", invitePush, bob.UserID(), 60},
		{"no params: the call's", func() *client.Conn { return st.login(t, "qgerin") }, "from-call", callPush, alice.UserID(), 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.invitee()
			got := waitFor[protocol.CallReceivedEvent](t, c, protocol.EventCallReceived, nil)
			if got.CallID != started.CallID || got.CallerID != tc.callerID || got.UserData != tc.userData {
				t.Fatalf("onCallReceived call %s caller %s userData %q, want %s %s %q", got.CallID, got.CallerID, got.UserData, started.CallID, tc.callerID, tc.userData)
			}
			if string(got.OfflinePushInfo) != string(tc.push) {
				t.Fatalf("offlinePushInfo %s, want %s", got.OfflinePushInfo, tc.push)
			}
			if got.Timeout > tc.timeoutAt || got.Timeout < tc.timeoutAt-5 {
				t.Fatalf("timeout %d, want about %d", got.Timeout, tc.timeoutAt)
			}
		})
	}
}

// TestQAFullCall checks the bound on a call's users (32 invitees and the caller, PROTOCOL.md
// §4.2): a group call may ring 32 users, and once 33 users are in it (ringing or in the
// call) inviteUser, join and joinInGroupCall fail with 3009 and the call goes on.
func TestQAFullCall(t *testing.T) { qaFullCall(t, newStack) }

func qaFullCall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	alice := st.login(t, "qfalice")
	invitees := make([]string, protocol.MaxInvitees)
	for i := range invitees {
		invitees[i] = "qfu" + itoa(i) // offline: they ring all the same (D9)
	}
	started, err := alice.GroupCall(ctx, "qfg", invitees, audio, protocol.CallParams{})
	must(t, err)
	first := st.login(t, invitees[0])
	waitFor[protocol.CallReceivedEvent](t, first, protocol.EventCallReceived, nil)
	accepted(t, alice, first)

	late := st.login(t, "qflate")
	_, err = late.Join(ctx, started.CallID)
	wantCode(t, err, protocol.CodeTooManyInvitees)
	_, err = late.JoinInGroupCall(ctx, started.RoomID, "qfg", audio)
	wantCode(t, err, protocol.CodeTooManyInvitees)
	_, err = first.InviteUser(ctx, []string{late.UserID()}, protocol.CallParams{})
	wantCode(t, err, protocol.CodeTooManyInvitees)

	must(t, first.Hangup(ctx)) // 32 users left: one more may join
	res, err := late.Join(ctx, started.CallID)
	must(t, err)
	if res.CallID != started.CallID {
		t.Fatalf("joined %s, want %s", res.CallID, started.CallID)
	}
	must(t, alice.Hangup(ctx))
	must(t, late.Hangup(ctx))
}

// TestQAJoinWhileRinging checks D161: a user ringing for a group call that enters it by
// join or joinInGroupCall (a client that shows "join" on a call it is invited to) answers
// its invitation: the others get onUserAccept as on an accept (D14), it gets onCallBegin
// and no longer rings. A user ringing for another call gets 3006 as any busy user.
func TestQAJoinWhileRinging(t *testing.T) { qaJoinWhileRinging(t, newStack) }

func qaJoinWhileRinging(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qj", "alice", "bob", "carol", "dave", "erin", "frank")
	alice, bob, carol, dave, erin, frank := us[0], us[1], us[2], us[3], us[4], us[5]
	tr := newTracer(t)
	started, err := alice.GroupCall(ctx, "qjg", []string{bob.UserID(), carol.UserID(), dave.UserID()}, audio, protocol.CallParams{})
	must(t, err)
	accepted(t, alice, bob)
	_, err = erin.Call(ctx, frank.UserID(), audio, protocol.CallParams{})
	must(t, err)
	waitFor[protocol.CallReceivedEvent](t, frank, protocol.EventCallReceived, nil)
	tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob.UserID()), ev(protocol.EventCallBegin))

	res, err := carol.Join(ctx, started.CallID)
	must(t, err)
	if res.CallID != started.CallID || res.RoomID != started.RoomID {
		t.Fatalf("carol joined %+v, want %+v", res, started)
	}
	res, err = dave.JoinInGroupCall(ctx, started.RoomID, "qjg", video)
	must(t, err)
	if res.CallID != started.CallID {
		t.Fatalf("dave joined %s, want %s", res.CallID, started.CallID)
	}
	tr.expect(alice, ev(protocol.EventUserAccept, "userId", carol.UserID()), ev(protocol.EventUserAccept, "userId", dave.UserID()))
	tr.expect(carol, ev(protocol.EventCallReceived), ev(protocol.EventUserAccept, "userId", bob.UserID()),
		ev(protocol.EventCallBegin, "callId", started.CallID, "mediaType", 1, "role", 2),
		ev(protocol.EventUserAccept, "userId", dave.UserID()))
	wantCode(t, carol.Accept(ctx, 0), protocol.CodeNoCallRinging)

	_, err = frank.Join(ctx, started.CallID)
	wantCode(t, err, protocol.CodeAlreadyInCall)
	_, err = frank.JoinInGroupCall(ctx, started.RoomID, "qjg", audio)
	wantCode(t, err, protocol.CodeAlreadyInCall)
	must(t, frank.Reject(ctx))
	for _, c := range []*client.Conn{alice, bob, carol} {
		must(t, c.Hangup(ctx))
	}
	waitFor[protocol.CallEndEvent](t, dave, protocol.EventCallEnd, nil) // left alone (D16)
}
