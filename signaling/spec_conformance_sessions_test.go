package signaling_test

// Conformance checks of sessions, errors, room events of a group call and a session that
// ends during a call (see spec_conformance_test.go for the tracer).

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestSpecSessions checks D3, D4 and logout against calls in each state.
func TestSpecSessions(t *testing.T)        { specSessions(t, newStack) }
func TestClusterSpecSessions(t *testing.T) { specSessions(t, newClusterStack) }

func specSessions(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 120*time.Second)

	t.Run("D3 onSdkReady names the user", func(t *testing.T) {
		c := st.dial(t)
		_, err := c.Login(ctx, protocolDevApp, "d3user", sig(t, "d3user", time.Hour))
		must(t, err)
		ready := waitFor[protocol.SdkReadyEvent](t, c, protocol.EventSdkReady, nil)
		if ready.UserID != "d3user" {
			t.Fatalf("onSdkReady %+v", ready)
		}
	})

	t.Run("D4 a kicked participant hangs up", func(t *testing.T) {
		us := st.users(t, "k1", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin))
		alice2 := st.login(t, alice.UserID())
		kicked(ctx, t, alice)
		tr.check(alice, ev(protocol.EventKickedOffline),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", alice.UserID(), "role", 1))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", alice.UserID(), "role", 2))
		tr.expect(alice2)
		if _, err := alice2.Call(ctx, bob.UserID(), audio, protocol.CallParams{}); err != nil {
			t.Fatalf("the new session cannot call: %v", err)
		}
		must(t, alice2.Hangup(ctx))
	})

	t.Run("D4 a kicked caller cancels", func(t *testing.T) {
		us := st.users(t, "k2", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		alice2 := st.login(t, alice.UserID())
		kicked(ctx, t, alice)
		tr.check(alice, ev(protocol.EventKickedOffline),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "role", 1))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "role", 2))
		tr.expect(alice2)
	})

	t.Run("D4 a kicked ringing invitee rejects", func(t *testing.T) {
		us := st.users(t, "k3", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
		bob2 := st.login(t, bob.UserID())
		kicked(ctx, t, bob)
		tr.check(bob, ev(protocol.EventCallReceived), ev(protocol.EventKickedOffline),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob.UserID(), "role", 2))
		tr.expect(alice, ev(protocol.EventUserReject, "userId", bob.UserID()),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "role", 1))
		tr.expect(bob2)
	})

	t.Run("D4 multi-device: reject on one session ends ringing on all", func(t *testing.T) {
		us := st.users(t, "m1", "alice", "bob")
		alice, bob1 := us[0], us[1]
		tr := newTracer(t)
		must(t, bob1.EnableMultiDeviceAbility(ctx, true))
		bob2 := st.login(t, bob1.UserID())
		started, err := alice.Call(ctx, bob1.UserID(), video, protocol.CallParams{})
		must(t, err)
		tr.expect(bob2, ev(protocol.EventCallReceived, "callId", started.CallID))
		must(t, bob1.Reject(ctx))
		tr.expect(bob1, ev(protocol.EventCallReceived, "callId", started.CallID),
			ev(protocol.EventCallCancelled, "userId", bob1.UserID(), "reason", "reject"))
		tr.expect(bob2, ev(protocol.EventCallCancelled, "userId", bob1.UserID(), "reason", "rejectedElsewhere"))
		tr.expect(alice, ev(protocol.EventUserReject, "userId", bob1.UserID()), ev(protocol.EventCallCancelled, "userId", alice.UserID()))
	})

	t.Run("D4 multi-device: the first accept wins, the others stay out", func(t *testing.T) {
		us := st.users(t, "m2", "alice", "bob")
		alice, bob1 := us[0], us[1]
		tr := newTracer(t)
		must(t, bob1.EnableMultiDeviceAbility(ctx, true))
		bob2 := st.login(t, bob1.UserID())
		started, err := alice.Call(ctx, bob1.UserID(), video, protocol.CallParams{})
		must(t, err)
		must(t, bob2.Accept(ctx, 0))
		tr.expect(bob1, ev(protocol.EventCallReceived),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob1.UserID(), "reason", "answeredElsewhere"))
		tr.expect(bob2, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin, "role", 2))
		wantCode(t, bob1.Accept(ctx, 0), protocol.CodeNoCallRinging)
		must(t, bob2.SwitchCallMediaType(ctx, audio))
		must(t, alice.Hangup(ctx))
		tr.expect(bob2, ev(protocol.EventCallMediaTypeChanged), ev(protocol.EventCallEnd, "userId", alice.UserID()))
		tr.expect(bob1)
	})

	t.Run("D4 multi-device: a second session logging out leaves the ringing alone", func(t *testing.T) {
		us := st.users(t, "m3", "alice", "bob")
		alice, bob1 := us[0], us[1]
		tr := newTracer(t)
		must(t, bob1.EnableMultiDeviceAbility(ctx, true))
		bob2 := st.login(t, bob1.UserID())
		// bob1 was the session of an earlier call: that must not tie it to the next one.
		_, err := bob1.Call(ctx, alice.UserID(), audio, protocol.CallParams{})
		must(t, err)
		must(t, bob1.Hangup(ctx))
		tr.expect(alice, ev(protocol.EventCallReceived), ev(protocol.EventCallCancelled))
		// The caller's events go to the session that called only.
		tr.expect(bob1, ev(protocol.EventCallCancelled, "userId", bob1.UserID(), "reason", "cancel"))
		tr.expect(bob2)
		started, err := alice.Call(ctx, bob1.UserID(), audio, protocol.CallParams{})
		must(t, err)
		tr.expect(bob1, ev(protocol.EventCallReceived))
		must(t, bob1.Logout(ctx))
		tr.expect(alice)
		tr.expect(bob2, ev(protocol.EventCallReceived, "callId", started.CallID))
		must(t, bob2.Accept(ctx, 0))
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin))
		must(t, alice.Hangup(ctx))
	})

	t.Run("D4 multi-device: the caller's other session stays out of the call", func(t *testing.T) {
		us := st.users(t, "m4", "alice", "bob")
		alice1, bob := us[0], us[1]
		tr := newTracer(t)
		must(t, alice1.EnableMultiDeviceAbility(ctx, true))
		alice2 := st.login(t, alice1.UserID())
		started, err := alice1.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		must(t, bob.Accept(ctx, 0))
		tr.expect(alice1, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "callId", started.CallID, "role", 1))
		tr.expect(alice2)
		// The other session cannot act on the call; ending it leaves the call alone.
		wantCode(t, alice2.Accept(ctx, 0), protocol.CodeNoCallRinging)
		must(t, alice2.Logout(ctx))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin))
		must(t, alice1.Hangup(ctx))
		tr.expect(alice1, ev(protocol.EventCallEnd, "userId", alice1.UserID()))
		tr.expect(bob, ev(protocol.EventCallEnd, "userId", alice1.UserID()))
	})

	t.Run("logout in a call hangs up", func(t *testing.T) {
		us := st.users(t, "l1", "alice", "bob")
		alice, bob := us[0], us[1]
		tr := newTracer(t)
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		bobID := bob.UserID()
		must(t, bob.Logout(ctx))
		tr.check(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", bobID))
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", bobID))
		wantCode(t, bob.Hangup(ctx), protocol.CodeNotLoggedIn)
	})
}

// TestSpecErrors checks the documented error codes of the call methods (D25, PROTOCOL.md
// §4.2 and §7), and that a failed request changes nothing.
func TestSpecErrors(t *testing.T)        { specErrors(t, newStack) }
func TestClusterSpecErrors(t *testing.T) { specErrors(t, newClusterStack) }

func specErrors(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "e", "alice", "bob", "carol")
	alice, bob, carol := us[0], us[1], us[2]
	tr := newTracer(t)
	raw := func(c *client.Conn, method string, params map[string]any) error {
		return c.Request(ctx, method, params, nil)
	}
	many := make([]string, 33)
	for i := range many {
		many[i] = fmt.Sprintf("u%d", i)
	}
	cases := []struct {
		name string
		do   func() error
		code int
	}{
		{"call: mediaType 3", func() error {
			return raw(alice, protocol.MethodCall, map[string]any{"userId": bob.UserID(), "mediaType": 3})
		}, protocol.CodeInvalidMediaType},
		{"call: mediaType missing", func() error { return raw(alice, protocol.MethodCall, map[string]any{"userId": bob.UserID()}) }, protocol.CodeInvalidParams},
		{"call: userId missing", func() error { return raw(alice, protocol.MethodCall, map[string]any{"mediaType": 1}) }, protocol.CodeInvalidParams},
		{"call: bad userId", func() error {
			_, err := alice.Call(ctx, "b@d", audio, protocol.CallParams{})
			return err
		}, protocol.CodeInvalidUserID},
		{"call: 65-character userId", func() error {
			_, err := alice.Call(ctx, strings.Repeat("x", 65), audio, protocol.CallParams{})
			return err
		}, protocol.CodeInvalidUserID},
		{"call: yourself", func() error {
			_, err := alice.Call(ctx, alice.UserID(), audio, protocol.CallParams{})
			return err
		}, protocol.CodeCannotInviteSelf},
		{"groupCall: yourself among others", func() error {
			_, err := alice.GroupCall(ctx, "g", []string{bob.UserID(), alice.UserID()}, audio, protocol.CallParams{})
			return err
		}, protocol.CodeCannotInviteSelf},
		{"groupCall: empty list", func() error {
			_, err := alice.GroupCall(ctx, "g", []string{}, audio, protocol.CallParams{})
			return err
		}, protocol.CodeNoInvitees},
		{"groupCall: 33 invitees", func() error {
			_, err := alice.GroupCall(ctx, "g", many, audio, protocol.CallParams{})
			return err
		}, protocol.CodeTooManyInvitees},
		{"groupCall: groupId missing", func() error {
			return raw(alice, protocol.MethodGroupCall, map[string]any{"userIdList": []string{bob.UserID()}, "mediaType": 1})
		}, protocol.CodeInvalidParams},
		{"calls: bad userId in the list", func() error {
			_, err := alice.Calls(ctx, []string{bob.UserID(), "no spaces"}, audio, protocol.CallParams{})
			return err
		}, protocol.CodeInvalidUserID},
		{"call: negative integer room", func() error {
			_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{RoomID: protocol.IntRoom(-1)})
			return err
		}, protocol.CodeInvalidRoomID},
		{"call: integer room 2^31", func() error {
			_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{RoomID: protocol.IntRoom(2147483648)})
			return err
		}, protocol.CodeInvalidRoomID},
		{"call: string room with a quote", func() error {
			_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{RoomID: protocol.StrRoom(`it's`)})
			return err
		}, protocol.CodeInvalidRoomID},
		{"call: string room of 65 bytes", func() error {
			_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{RoomID: protocol.StrRoom(strings.Repeat("r", 65))})
			return err
		}, protocol.CodeInvalidRoomID},
		{"accept: nothing ringing", func() error { return bob.Accept(ctx, 0) }, protocol.CodeNoCallRinging},
		{"reject: nothing ringing", func() error { return bob.Reject(ctx) }, protocol.CodeNoCallRinging},
		{"ignore: nothing ringing", func() error { return bob.Ignore(ctx) }, protocol.CodeNoCallRinging},
		{"hangup: idle", func() error { return bob.Hangup(ctx) }, protocol.CodeNotInCall},
		{"switchCallMediaType: idle", func() error { return bob.SwitchCallMediaType(ctx, video) }, protocol.CodeNotInCall},
		{"inviteUser: idle", func() error {
			_, err := bob.InviteUser(ctx, []string{carol.UserID()}, protocol.CallParams{})
			return err
		}, protocol.CodeNotInCall},
		{"join: unknown callId", func() error {
			_, err := bob.Join(ctx, "c_unknown")
			return err
		}, protocol.CodeNoSuchCall},
		{"joinInGroupCall: no call there", func() error {
			_, err := bob.JoinInGroupCall(ctx, protocol.IntRoom(5), "nobody", audio)
			return err
		}, protocol.CodeNoSuchCall},
	}
	for _, tc := range cases {
		wantCodeNamed(t, tc.name, tc.do(), tc.code)
	}

	// With a call ringing: the caller cannot start another; wrong media types; nothing
	// changes on failure.
	started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{})
	must(t, err)
	ringing := []struct {
		name string
		do   func() error
		code int
	}{
		{"call while dialing", func() error {
			_, err := alice.Call(ctx, carol.UserID(), audio, protocol.CallParams{})
			return err
		}, protocol.CodeAlreadyInCall},
		{"groupCall while ringing", func() error {
			_, err := bob.GroupCall(ctx, "g", []string{carol.UserID()}, audio, protocol.CallParams{})
			return err
		}, protocol.CodeAlreadyInCall},
		{"accept with mediaType 5", func() error {
			return raw(bob, protocol.MethodAccept, map[string]any{"mediaType": 5})
		}, protocol.CodeInvalidMediaType},
		{"switchCallMediaType to 0", func() error {
			return raw(bob, protocol.MethodSwitchCallMediaType, map[string]any{"mediaType": 0})
		}, protocol.CodeInvalidParams},
		{"switchCallMediaType to 7", func() error {
			return raw(bob, protocol.MethodSwitchCallMediaType, map[string]any{"mediaType": 7})
		}, protocol.CodeInvalidMediaType},
		{"ringing callee joins its call by callId of another", func() error {
			_, err := bob.Join(ctx, "c_other")
			return err
		}, protocol.CodeNoSuchCall},
	}
	for _, tc := range ringing {
		wantCodeNamed(t, tc.name, tc.do(), tc.code)
	}
	tr.expect(alice)
	tr.expect(bob, ev(protocol.EventCallReceived, "callId", started.CallID, "mediaType", 2))
	tr.expect(carol)
	must(t, bob.Accept(ctx, 0))
	tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "callId", started.CallID, "mediaType", 2))
	_, err = carol.Join(ctx, started.CallID) // 1v1: not joinable
	wantCodeNamed(t, "join a 1v1 call", err, protocol.CodeNoSuchCall)
	must(t, bob.Hangup(ctx))
}

// wantCodeNamed is wantCode with the check's name in the failure.
func wantCodeNamed(t *testing.T, name string, err error, code int) {
	t.Helper()
	perr, ok := protocolError(err)
	switch {
	case err == nil:
		t.Errorf("%s: succeeded, want error %d", name, code)
	case !ok:
		t.Errorf("%s: %v, want protocol error %d", name, err, code)
	case perr.Code != code:
		t.Errorf("%s: code %d (%s), want %d", name, perr.Code, perr.Message, code)
	}
}

// TestSpecRoomEventsOfAGroupCall checks D15 and D19 in a group call with real media: each
// participant whose media session is up is announced to the others (onUserJoin with the
// call's room), a latecomer that joined by callId learns who is there and what they
// publish, microphone changes reach the others, and a hangup is an onUserLeave.
func TestSpecRoomEventsOfAGroupCall(t *testing.T) { specRoomEventsOfAGroupCall(t, newStack) }
func TestClusterSpecRoomEventsOfAGroupCall(t *testing.T) {
	specRoomEventsOfAGroupCall(t, newClusterStack)
}

func specRoomEventsOfAGroupCall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 90*time.Second)
	us := st.users(t, "r", "alice", "bob", "carol")
	alice, bob, carol := us[0], us[1], us[2]
	started, err := alice.GroupCall(ctx, "room-team", []string{bob.UserID()}, audio, protocol.CallParams{})
	must(t, err)
	accepted(t, alice, bob)
	for _, c := range []*client.Conn{alice, bob} {
		must(t, c.StartMedia(ctx, client.MediaOptions{Audio: true}))
	}
	joinedEvent := func(me *client.Conn, other string) {
		t.Helper()
		waitFor(t, me, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool {
			if e.UserID == other && e.RoomID != started.RoomID {
				t.Errorf("%s: onUserJoin(%s) in room %s, want the call's %s", me.UserID(), other, e.RoomID, started.RoomID)
			}
			return e.UserID == other
		})
	}
	audioOf := func(me *client.Conn, other string, on bool) {
		t.Helper()
		waitFor(t, me, protocol.EventUserAudioAvailable, func(e protocol.UserAudioAvailableEvent) bool {
			return e.UserID == other && e.IsAudioAvailable == on
		})
	}
	joinedEvent(alice, bob.UserID())
	joinedEvent(bob, alice.UserID())
	audioOf(alice, bob.UserID(), true)
	audioOf(bob, alice.UserID(), true)

	if _, err := carol.Join(ctx, started.CallID); err != nil {
		t.Fatal(err)
	}
	must(t, carol.StartMedia(ctx, client.MediaOptions{Audio: true}))
	for _, other := range []*client.Conn{alice, bob} {
		joinedEvent(carol, other.UserID())
		audioOf(carol, other.UserID(), true)
		joinedEvent(other, carol.UserID())
		audioOf(other, carol.UserID(), true)
	}

	must(t, carol.CloseMicrophone(ctx))
	audioOf(alice, carol.UserID(), false)
	audioOf(bob, carol.UserID(), false)
	must(t, carol.OpenMicrophone(ctx))
	audioOf(alice, carol.UserID(), true)
	audioOf(bob, carol.UserID(), true)

	must(t, carol.Hangup(ctx))
	for _, c := range []*client.Conn{alice, bob} {
		waitFor(t, c, protocol.EventUserLeave, func(e protocol.UserLeaveEvent) bool { return e.UserID == carol.UserID() })
	}
	for _, c := range []*client.Conn{alice, bob, carol} {
		if n := c.EventCount(protocol.EventUserJoin); n != 2 {
			t.Errorf("%s heard onUserJoin %d times, want once per other user", c.UserID(), n)
		}
	}
	must(t, alice.Hangup(ctx))
	waitFor[protocol.CallEndEvent](t, bob, protocol.EventCallEnd, nil)
}

// TestSpecSessionEndsDuringACall checks D2 (the call goes on through the userSig grace,
// then the session ends as if it had hung up and closes with 4003) and §5.3#14 transport
// loss (after the reconnect grace a ringing invitee's call is rejected for it).
func TestSpecSessionEndsDuringACall(t *testing.T) { specSessionEndsDuringACall(t, newStack) }
func TestClusterSpecSessionEndsDuringACall(t *testing.T) {
	specSessionEndsDuringACall(t, newClusterStack)
}

func specSessionEndsDuringACall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, func(c *signalingConfig) {
		c.Auth.SigExpiryGrace = shortSigGrace
		c.Signaling.ReconnectGrace = 300 * time.Millisecond
	})
	ctx := ctxT(t, 60*time.Second)

	t.Run("D2 userSig expiry in a call", func(t *testing.T) {
		tr := newTracer(t)
		alice := st.dial(t)
		_, err := alice.Login(ctx, protocolDevApp, "x1alice", sig(t, "x1alice", shortSigTTL))
		must(t, err)
		bob := st.login(t, "x1bob")
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		waitFor[protocol.UserSigExpiredEvent](t, alice, protocol.EventUserSigExpired, nil)
		// In the grace the call goes on.
		must(t, bob.SwitchCallMediaType(ctx, video))
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin), ev(protocol.EventCallMediaTypeChanged, "newMediaType", 2))
		closedWith(ctx, t, alice, 4003) // at the end of its userSig grace
		tr.check(alice, ev(protocol.EventCallEnd, "callId", started.CallID, "userId", "x1alice", "role", 1))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin), ev(protocol.EventCallMediaTypeChanged),
			ev(protocol.EventCallEnd, "callId", started.CallID, "userId", "x1alice", "role", 2))
	})

	t.Run("§5.3#14 a ringing invitee whose socket is lost", func(t *testing.T) {
		tr := newTracer(t)
		us := st.users(t, "x2", "alice", "bob")
		alice, bob := us[0], us[1]
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
		bob.Abort()
		waitFor[protocol.CallCancelledEvent](t, alice, protocol.EventCallCancelled, nil)
		tr.expect(alice, ev(protocol.EventUserReject, "callId", started.CallID, "userId", bob.UserID()),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "role", 1))
	})

	t.Run("§5.3#14 a dialing caller whose socket is lost", func(t *testing.T) {
		tr := newTracer(t)
		us := st.users(t, "x3", "alice", "bob")
		alice, bob := us[0], us[1]
		started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
		must(t, err)
		alice.Abort()
		waitFor[protocol.CallCancelledEvent](t, bob, protocol.EventCallCancelled, nil)
		tr.expect(bob, ev(protocol.EventCallReceived),
			ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", "x3alice", "role", 2))
	})
}
