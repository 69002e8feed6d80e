package signaling_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/testhttp"
	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// withQuotas sets auth.apps[].max_sessions and max_rooms of the development app and adds
// otherApp without quotas (open_rooms: its users join rooms without a grant).
func withQuotas(sessions, rooms int) stackOption {
	return func(c *signalingConfig) {
		withOtherApp(c)
		c.Auth.Apps[1].OpenRooms = true
		c.Auth.Apps[0].MaxSessions, c.Auth.Apps[0].MaxRooms = sessions, rooms
	}
}

// appSessions is the number of sessions st's nodes count for app (Service.Apps).
func (st *stack) appSessions(app int) int {
	n := 0
	for _, node := range st.all() {
		for _, a := range node.service.Apps() {
			if a.SDKAppID == app {
				n += a.Sessions
			}
		}
	}
	return n
}

// waitAppSessions waits until the node counts n sessions of the development app.
func (st *stack) waitAppSessions(t *testing.T, n int) {
	t.Helper()
	testwait.For(t, 10*time.Second, "the app's session count", func() bool { return st.appSessions(protocolDevApp) == n })
}

// TestAppSessionQuota: auth.apps[].max_sessions refuses the login beyond it with 1009 on
// a socket that stays usable; another app is not affected; a resume, and a login that
// kicks the user's session, are not refused; logout, kick and a socket lost past
// signaling.reconnect_grace free their places, and a login/logout loop leaks none (D326).
// In a cluster the app's owner counts the sessions of every front.
func TestAppSessionQuota(t *testing.T)        { appSessionQuota(t, newStack) }
func TestClusterAppSessionQuota(t *testing.T) { appSessionQuota(t, newClusterStack) }

func appSessionQuota(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, withQuotas(2, 0), manyLogins, func(c *signalingConfig) { c.Signaling.ReconnectGrace = 300 * time.Millisecond })
	ctx := ctxT(t, 60*time.Second)
	login := func(c *client.Conn, user string) error {
		_, err := c.Login(ctx, signaling.DevSDKAppID, user, sig(t, user, time.Hour))
		return err
	}
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	carol := st.dial(t)
	perr := wantCode(t, login(carol, "carol"), protocol.CodeAppSessionQuota)
	if want := "auth.apps[].max_sessions"; !strings.Contains(perr.Message, want) {
		t.Fatalf("1009 message %q does not name %s", perr.Message, want)
	}
	st.loginApp(t, otherApp, otherSecret, "carol") // another app: its own count
	alice = st.login(t, "alice")                   // kicks her first session: not refused
	st.waitAppSessions(t, 2)

	// A logout frees a place; the refused socket takes it.
	must(t, bob.Logout(ctx))
	must(t, login(carol, "carol"))
	// A session waiting for its resume keeps its place; its resume is not refused.
	token, _ := carol.LoginResult()
	seq := carol.LastSeq()
	carol.Abort()
	testwait.For(t, 10*time.Second, "carol's socket lost", func() bool { return st.detachedSessions() == 1 })
	dave := st.dial(t)
	wantCode(t, login(dave, "dave"), protocol.CodeAppSessionQuota)
	carol = st.dial(t)
	res, err := carol.Resume(ctx, signaling.DevSDKAppID, "carol", sig(t, "carol", time.Hour), token.ResumeToken, seq)
	must(t, err)
	if res.ResumeToken != token.ResumeToken {
		t.Fatalf("resume made a new session (token %q, want %q)", res.ResumeToken, token.ResumeToken)
	}
	// A socket lost past the grace frees its place.
	carol.Abort()
	st.waitAppSessions(t, 1)
	must(t, login(dave, "dave"))
	// A login/logout loop leaks no place.
	must(t, dave.Logout(ctx))
	for range 20 {
		must(t, login(dave, "dave"))
		must(t, dave.Logout(ctx))
	}
	st.waitAppSessions(t, 1)
	must(t, alice.Logout(ctx))
	st.waitAppSessions(t, 0)
}

// TestAppRoomQuota: auth.apps[].max_rooms refuses opening a room beyond it with 4011,
// whether by joinRoom or by a call, but never joining an open room; a room that closes
// after room.empty_timeout frees its place (D327).
func TestAppRoomQuota(t *testing.T) {
	st := newStack(t, withQuotas(0, 1))
	ctx := ctxT(t, 60*time.Second)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	r1, r2 := protocol.StrRoom("quota-1"), protocol.StrRoom("quota-2")
	must(t, joinRoomGranted(ctx, t, alice, r1))
	perr := wantCode(t, joinRoomGranted(ctx, t, bob, r2), protocol.CodeAppRoomQuota)
	if want := "auth.apps[].max_rooms"; !strings.Contains(perr.Message, want) {
		t.Fatalf("4011 message %q does not name %s", perr.Message, want)
	}
	_, err := bob.Call(ctx, "carol", protocol.MediaTypeAudio, protocol.CallParams{})
	wantCode(t, err, protocol.CodeAppRoomQuota)
	must(t, joinRoomGranted(ctx, t, bob, r1)) // an open room
	other := st.loginApp(t, otherApp, otherSecret, "alice")
	if err := other.Request(ctx, protocol.MethodJoinRoom, protocol.JoinRoomParams{RoomID: r2}, nil); err != nil {
		t.Fatalf("another app's room: %v", err)
	}

	must(t, alice.LeaveRoom(ctx))
	must(t, bob.LeaveRoom(ctx))
	testwait.For(t, 10*time.Second, "the empty room to close", func() bool { return st.service.Rooms().AppRooms(protocolDevApp) == 0 })
	carol := st.login(t, "carol")
	if _, err := bob.Call(ctx, "carol", protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatalf("call after the room closed: %v", err)
	}
	waitFor[protocol.CallReceivedEvent](t, carol, protocol.EventCallReceived, nil)
	must(t, carol.Accept(ctx, 0))
	waitFor[protocol.CallBeginEvent](t, bob, protocol.EventCallBegin, nil)
	testwait.For(t, 10*time.Second, "the call's room", func() bool { return st.service.Rooms().AppRooms(protocolDevApp) == 1 })
	wantCode(t, joinRoomGranted(ctx, t, alice, r2), protocol.CodeAppRoomQuota)
}

// TestRoomMaxParticipants: room.max_participants refuses the join of a full room with
// 4012; a member's join again is 4003, its resume keeps its place, and its new login's
// join takes the place of its kicked session; a group call holds at most that many
// members (3009; D328).
func TestRoomMaxParticipants(t *testing.T) {
	st := newStack(t, manyInvitations, func(c *signalingConfig) {
		c.Room.MaxParticipants = 2
		c.Signaling.ReconnectGrace = time.Minute
	})
	ctx := ctxT(t, 60*time.Second)
	rid := protocol.StrRoom("full")
	alice, bob, carol := st.login(t, "alice"), st.login(t, "bob"), st.login(t, "carol")
	must(t, joinRoomGranted(ctx, t, alice, rid))
	must(t, joinRoomGranted(ctx, t, bob, rid))
	perr := wantCode(t, joinRoomGranted(ctx, t, carol, rid), protocol.CodeRoomFull)
	if want := "room.max_participants"; !strings.Contains(perr.Message, want) {
		t.Fatalf("4012 message %q does not name %s", perr.Message, want)
	}
	wantCode(t, joinRoomGranted(ctx, t, alice, rid), protocol.CodeAlreadyInRoom)

	token, _ := bob.LoginResult()
	seq := bob.LastSeq()
	bob.Abort()
	testwait.For(t, 10*time.Second, "bob's socket lost", func() bool { return st.detachedSessions() == 1 })
	bob = st.dial(t)
	_, err := bob.Resume(ctx, signaling.DevSDKAppID, "bob", sig(t, "bob", time.Hour), token.ResumeToken, seq)
	must(t, err)
	must(t, bob.StopRemoteView(ctx, "alice")) // in the room still: not 4002

	alice2 := st.login(t, "alice") // kicks alice, whose participant leaves
	must(t, joinRoomGranted(ctx, t, alice2, rid))
	wantCode(t, joinRoomGranted(ctx, t, carol, rid), protocol.CodeRoomFull)

	_, err = carol.GroupCall(ctx, "quota-group", []string{"dave", "erin"}, protocol.MediaTypeAudio, protocol.CallParams{})
	wantCode(t, err, protocol.CodeTooManyInvitees)
	if _, err := carol.GroupCall(ctx, "quota-group", []string{"dave"}, protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatalf("a group call of two: %v", err)
	}
}

// TestWHIPQuotas: a WHIP publish that would open a room beyond auth.apps[].max_rooms, or
// enter a room that has room.max_participants participants, is refused with 429 naming
// the key (D327, D328).
func TestWHIPQuotas(t *testing.T) {
	st := newStack(t, withQuotas(0, 1), func(c *signalingConfig) { c.Room.MaxParticipants = 2 })
	ctx := ctxT(t, 30*time.Second)
	_, base := st.whipServer(t, signaling.DefaultWHIPConfig())
	pc, _, _ := newWHIPPeer(t)
	t.Cleanup(func() { _ = pc.Close() })
	offer := gatheredOffer(t, pc)
	open, other := protocol.IntRoom(900), protocol.IntRoom(901)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	must(t, joinRoomGranted(ctx, t, alice, open))
	post := func(rid protocol.RoomID, path, key string) {
		t.Helper()
		status, _, body := testhttp.Do(t, http.MethodPost, base+"/whip/"+path, "application/sdp", grant(t, "obs", rid, protocol.RoomRights{Publish: true}), offer, nil)
		if status != http.StatusTooManyRequests || !strings.Contains(body, key) {
			t.Fatalf("POST /whip/%s: %d %s, want 429 naming %s", path, status, body, key)
		}
	}
	post(other, "901", "auth.apps[].max_rooms")
	must(t, joinRoomGranted(ctx, t, bob, open))
	post(open, "900", "room.max_participants")
}
