package signaling_test

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// A second app beside the development app: the same userIds live in both (D26).
const (
	otherApp    = 1400000002
	otherSecret = "the-other-app-secret-0123456789-abcdef"
)

// withOtherApp configures otherApp next to the development app.
func withOtherApp(c *signalingConfig) {
	c.Auth.Apps = append(c.Auth.Apps, signaling.AppCredential{SDKAppID: otherApp, Secret: otherSecret})
}

// loginApp dials and logs userID of app in.
func (st *stack) loginApp(t *testing.T, app int, secret, userID string) *client.Conn {
	t.Helper()
	c := st.dial(t)
	us, err := signaling.MintUserSig(app, []byte(secret), userID, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctxT(t, 10*time.Second), app, userID, us); err != nil {
		t.Fatalf("login %s of %d: %v", userID, app, err)
	}
	waitFor[protocol.SdkReadyEvent](t, c, protocol.EventSdkReady, nil)
	return c
}

// TestTwoAppsAreIndependent runs the same userIds in two apps side by side: logins do not
// kick each other, invitations reach only the app's own user, both calls use RoomId 777
// (two rooms), media and room events stay within each app, and each user's records are
// its own (D26).
func TestTwoAppsAreIndependent(t *testing.T)        { twoAppsAreIndependent(t, newStack) }
func TestClusterTwoAppsAreIndependent(t *testing.T) { twoAppsAreIndependent(t, newClusterStack) }

func twoAppsAreIndependent(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, withOtherApp)
	ctx := ctxT(t, 60*time.Second)
	aliceA, bobA := st.login(t, "alice"), st.login(t, "bob")
	aliceB := st.loginApp(t, otherApp, otherSecret, "alice")
	bobB := st.loginApp(t, otherApp, otherSecret, "bob")
	if err := aliceB.SetSelfInfo(ctx, "Alice of B", ""); err != nil {
		t.Fatal(err)
	}

	room := protocol.IntRoom(777)
	callA, err := aliceA.Call(ctx, "bob", protocol.MediaTypeAudio, protocol.CallParams{RoomID: room})
	if err != nil {
		t.Fatal(err)
	}
	callB, err := aliceB.Call(ctx, "bob", protocol.MediaTypeAudio, protocol.CallParams{RoomID: room}) // not busy: another app's alice
	if err != nil {
		t.Fatalf("app B's call on the same RoomId: %v", err)
	}
	for _, tc := range []struct {
		bob      *client.Conn
		callID   string
		nickname string
	}{{bobA, callA.CallID, ""}, {bobB, callB.CallID, "Alice of B"}} {
		inv := waitFor[protocol.CallReceivedEvent](t, tc.bob, protocol.EventCallReceived, nil)
		if inv.CallID != tc.callID || inv.CallerNickname != tc.nickname {
			t.Fatalf("invitation %+v, want call %s from %q", inv, tc.callID, tc.nickname)
		}
		if err := tc.bob.Accept(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*client.Conn{aliceA, bobA, aliceB, bobB} {
		waitFor[protocol.CallBeginEvent](t, c, protocol.EventCallBegin, nil)
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true}); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.openRooms(); n != 2 { // with media: a placed cluster opens a call's room at its first offer (D187)
		t.Fatalf("%d rooms for RoomId 777 of two apps, want 2", n)
	}
	for _, pair := range [][2]*client.Conn{{aliceA, bobA}, {bobA, aliceA}, {aliceB, bobB}, {bobB, aliceB}} {
		me, other := pair[0], pair[1]
		waitFor(t, me, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool { return e.UserID == other.UserID() })
		if _, err := me.WaitRemoteTrack(ctx, other.UserID(), webrtc.RTPCodecTypeAudio, 20); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*client.Conn{aliceA, bobA, aliceB, bobB} {
		if n := c.EventCount(protocol.EventUserJoin); n != 1 {
			t.Fatalf("%s got %d onUserJoin, want 1 (its own app's partner only): %s", c.UserID(), n, eventNames(c))
		}
		if n := c.EventCount(protocol.EventKickedOffline); n != 0 {
			t.Fatalf("%s was kicked by the other app's login", c.UserID())
		}
		if tracks := c.RemoteTracks(c.UserID()); len(tracks) != 0 {
			t.Fatalf("%s receives its namesake's media: %+v", c.UserID(), tracks)
		}
	}

	if err := aliceA.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallEndEvent](t, bobA, protocol.EventCallEnd, nil)
	if err := bobB.SetSelfInfo(ctx, "still here", ""); err != nil { // app B's call goes on
		t.Fatal(err)
	}
	if n := bobB.EventCount(protocol.EventCallEnd); n != 0 {
		t.Fatalf("app A's hangup ended app B's call: %s", eventNames(bobB))
	}
	if err := aliceB.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallEndEvent](t, bobB, protocol.EventCallEnd, nil)
	for _, tc := range []struct {
		c      *client.Conn
		callID string
	}{{aliceA, callA.CallID}, {bobA, callA.CallID}, {aliceB, callB.CallID}, {bobB, callB.CallID}} {
		recs, err := tc.c.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs.Records) != 1 || recs.Records[0].CallID != tc.callID {
			t.Fatalf("%s records %+v, want only call %s", tc.c.UserID(), recs.Records, tc.callID)
		}
	}
	if del, _ := bobB.DeleteRecordCalls(ctx, []string{callA.CallID}); len(del.Deleted) != 0 {
		t.Fatalf("app B's bob deleted app A's record: %+v", del)
	}
}

// TestLoginOfAnotherAppKeepsSessionsApart: a login of app B with a userSig of app B does
// not resume, kick or replace app A's session of the same userId, and a session logged in
// for one app cannot log in again as the other.
func TestLoginOfAnotherAppKeepsSessionsApart(t *testing.T) {
	loginOfAnotherAppKeepsSessionsApart(t, newStack)
}
func TestClusterLoginOfAnotherAppKeepsSessionsApart(t *testing.T) {
	loginOfAnotherAppKeepsSessionsApart(t, newClusterStack)
}

func loginOfAnotherAppKeepsSessionsApart(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, withOtherApp)
	ctx := ctxT(t, 20*time.Second)
	aliceA := st.login(t, "alice")
	res, _ := aliceA.LoginResult()
	other := st.dial(t)
	us, err := signaling.MintUserSig(otherApp, []byte(otherSecret), "alice", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// app A's resume token with app B's credentials starts a fresh session instead.
	if _, err := other.Resume(ctx, otherApp, "alice", us, res.ResumeToken, 0); err != nil {
		t.Fatal(err)
	}
	if err := aliceA.SetSelfInfo(ctx, "A", ""); err != nil {
		t.Fatalf("app A's session was taken over: %v", err)
	}
	if n := aliceA.EventCount(protocol.EventKickedOffline); n != 0 {
		t.Fatal("app B's login kicked app A's alice")
	}
	_, err = other.Login(ctx, signaling.DevSDKAppID, "alice", sig(t, "alice", time.Hour))
	wantCode(t, err, protocol.CodeAlreadyLoggedIn)
}

// TestTooManySessions: with multi-device on, a user has at most
// signaling.max_sessions_per_user sessions; the next login is refused with 1008 and the
// existing ones keep working.
func TestTooManySessions(t *testing.T)        { tooManySessions(t, newStack) }
func TestClusterTooManySessions(t *testing.T) { tooManySessions(t, newClusterStack) }

func tooManySessions(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, func(c *signalingConfig) { c.Signaling.MaxSessionsPerUser = 2 })
	ctx := ctxT(t, 20*time.Second)
	first := st.login(t, "alice")
	if err := first.EnableMultiDeviceAbility(ctx, true); err != nil {
		t.Fatal(err)
	}
	second := st.login(t, "alice")
	third := st.dial(t)
	_, err := third.Login(ctx, signaling.DevSDKAppID, "alice", sig(t, "alice", time.Hour))
	wantCode(t, err, protocol.CodeTooManySessions)
	bob := st.login(t, "bob")
	if _, err := bob.Call(ctx, "alice", protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, first, protocol.EventCallReceived, nil)
	waitFor[protocol.CallReceivedEvent](t, second, protocol.EventCallReceived, nil)
	if err := second.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := third.Login(ctx, signaling.DevSDKAppID, "alice", sig(t, "alice", time.Hour)); err != nil {
		t.Fatalf("login after a logout freed a slot: %v", err)
	}
}
