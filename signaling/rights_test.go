package signaling_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestStrangerCannotEnterACallRoom: while a call lives, a user of the same app who is not
// in it cannot joinRoom its room (4006) nor start a call in it (3011); the callers hear
// nothing of the attempt and keep their media (D27).
func TestStrangerCannotEnterACallRoom(t *testing.T) { strangerCannotEnterACallRoom(t, newStack) }
func TestClusterStrangerCannotEnterACallRoom(t *testing.T) {
	strangerCannotEnterACallRoom(t, newClusterStack)
}

func strangerCannotEnterACallRoom(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 60*time.Second)
	alice, bob, mallory := st.login(t, "alice"), st.login(t, "bob"), st.login(t, "mallory")
	started, err := alice.Call(ctx, "bob", protocol.MediaTypeAudio, protocol.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
	// Ringing already: the room is the call's.
	wantCode(t, mallory.JoinRoom(ctx, started.RoomID), protocol.CodeRoomForbidden)
	if err := bob.Accept(ctx, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{alice, bob} {
		waitFor[protocol.CallBeginEvent](t, c, protocol.EventCallBegin, nil)
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bob.WaitRemoteTrack(ctx, "alice", webrtc.RTPCodecTypeAudio, 10); err != nil {
		t.Fatal(err)
	}

	wantCode(t, mallory.JoinRoom(ctx, started.RoomID), protocol.CodeRoomForbidden)
	_, err = mallory.Call(ctx, "carol", protocol.MediaTypeAudio, protocol.CallParams{RoomID: started.RoomID})
	wantCode(t, err, protocol.CodeRoomInUse)

	before := bob.RemoteTracks("alice")[0].Packets
	if _, err := bob.WaitTracks(ctx, func(ts []client.TrackStats) bool {
		for _, tr := range ts {
			if tr.StreamID == "alice" && tr.Packets > before+10 {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("the call's media stopped: %v", err)
	}
	for _, c := range []*client.Conn{alice, bob} {
		if n := c.EventCount(protocol.EventUserJoin); n != 1 {
			t.Fatalf("%s: %d onUserJoin, want 1 (the partner): %s", c.UserID(), n, eventNames(c))
		}
	}
	if n := mallory.EventCount(protocol.EventUserJoin); n != 0 {
		t.Fatalf("mallory heard of the call's users: %s", eventNames(mallory))
	}
}

// TestRoomGrantsGateJoinRoom: outside calls, joinRoom needs a grant for exactly this app,
// user and room (D27); an app with open_rooms needs none. Each refusal leaves the session
// usable.
func TestRoomGrantsGateJoinRoom(t *testing.T)        { roomGrantsGateJoinRoom(t, newStack) }
func TestClusterRoomGrantsGateJoinRoom(t *testing.T) { roomGrantsGateJoinRoom(t, newClusterStack) }

func roomGrantsGateJoinRoom(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, withOtherApp, func(c *signalingConfig) {
		c.Auth.Apps = append(c.Auth.Apps, signaling.AppCredential{SDKAppID: openApp, Secret: otherSecret + "-open", OpenRooms: true})
	})
	ctx := ctxT(t, 60*time.Second)
	alice := st.login(t, "alice")
	both := protocol.RoomRights{Publish: true, Subscribe: true}
	room := protocol.IntRoom(123)
	mint := func(app int, secret, user string, r protocol.RoomID, ttl time.Duration) string {
		now := time.Now()
		if ttl < 0 { // made 2|ttl| ago, valid for |ttl|: expired |ttl| ago
			now, ttl = now.Add(2*ttl), -ttl
		}
		g, err := signaling.MintRoomGrant(app, []byte(secret), user, r, both, ttl, now)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	userSig := sig(t, "alice", time.Hour)
	tests := []struct {
		name  string
		grant string
		key   string // "privateMapKey" sends the grant under TRTC's name
		code  int    // 0: admitted
	}{
		{"no grant", "", "", protocol.CodeRoomForbidden},
		{"expired", mint(signaling.DevSDKAppID, signaling.DevSecret, "alice", room, -time.Minute), "", protocol.CodeRoomGrantExpired},
		{"another app's grant", mint(otherApp, otherSecret, "alice", room, time.Hour), "", protocol.CodeRoomGrantInvalid},
		{"another user's grant", mint(signaling.DevSDKAppID, signaling.DevSecret, "bob", room, time.Hour), "", protocol.CodeRoomGrantInvalid},
		{"another room", mint(signaling.DevSDKAppID, signaling.DevSecret, "alice", protocol.IntRoom(124), time.Hour), "", protocol.CodeRoomGrantInvalid},
		{"string form of the room", mint(signaling.DevSDKAppID, signaling.DevSecret, "alice", protocol.StrRoom("123"), time.Hour), "", protocol.CodeRoomGrantInvalid},
		{"a userSig is no grant", userSig, "", protocol.CodeRoomGrantInvalid},
		{"garbage", "not.a.jwt", "", protocol.CodeRoomGrantInvalid},
		{"valid", mint(signaling.DevSDKAppID, signaling.DevSecret, "alice", room, time.Hour), "", 0},
		{"valid as privateMapKey", mint(signaling.DevSDKAppID, signaling.DevSecret, "alice", room, time.Hour), "privateMapKey", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := protocol.JoinRoomParams{RoomID: room, RoomGrant: tt.grant}
			if tt.key == "privateMapKey" {
				p = protocol.JoinRoomParams{RoomID: room, PrivateMapKey: tt.grant}
			}
			err := alice.Request(ctx, protocol.MethodJoinRoom, p, nil)
			if tt.code != 0 {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatalf("a valid grant was refused: %v", err)
			}
			if err := alice.LeaveRoom(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
	// A grant does not open a call's room to a stranger.
	bob, carol := st.login(t, "bob"), st.login(t, "carol")
	started, err := bob.Call(ctx, "carol", protocol.MediaTypeAudio, protocol.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, carol, protocol.EventCallReceived, nil)
	err = alice.Request(ctx, protocol.MethodJoinRoom, protocol.JoinRoomParams{RoomID: started.RoomID,
		RoomGrant: mint(signaling.DevSDKAppID, signaling.DevSecret, "alice", started.RoomID, time.Hour)}, nil)
	wantCode(t, err, protocol.CodeRoomForbidden)

	// An open app admits any of its users to any of its rooms without a grant.
	dave := st.loginApp(t, openApp, otherSecret+"-open", "dave")
	if err := dave.JoinRoom(ctx, room); err != nil {
		t.Fatalf("open app refused a room: %v", err)
	}
}

// openApp is an app configured with open_rooms.
const openApp = 1400000003

// TestRightsSeparatePublishAndSubscribe: a subscribe-only user's tracks are never
// forwarded nor announced; a publish-only user receives nothing; a user with both rights
// hears the publisher (D27).
func TestRightsSeparatePublishAndSubscribe(t *testing.T) {
	rightsSeparatePublishAndSubscribe(t, newStack)
}
func TestClusterRightsSeparatePublishAndSubscribe(t *testing.T) {
	rightsSeparatePublishAndSubscribe(t, newClusterStack)
}

func rightsSeparatePublishAndSubscribe(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 90*time.Second)
	room := protocol.StrRoom("rights")
	join := func(c *client.Conn, rights protocol.RoomRights) {
		t.Helper()
		p := protocol.JoinRoomParams{RoomID: room, RoomGrant: grant(t, c.UserID(), room, rights)}
		if err := c.Request(ctx, protocol.MethodJoinRoom, p, nil); err != nil {
			t.Fatalf("%s: %v", c.UserID(), err)
		}
	}
	listener, viewer, talker := st.login(t, "listener"), st.login(t, "viewer"), st.login(t, "talker")
	join(viewer, protocol.RoomRights{Publish: true, Subscribe: true})
	join(listener, protocol.RoomRights{Subscribe: true})
	join(talker, protocol.RoomRights{Publish: true})

	// The subscribe-only listener publishes anyway; its media reaches the server first.
	if err := listener.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}); err != nil {
		t.Fatal(err)
	}
	waitPublishing(t, listener, 50)
	for _, c := range []*client.Conn{viewer, talker} {
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := viewer.StartRemoteView(ctx, "listener", protocol.VideoQuality{}); err != nil {
		t.Fatal(err)
	}
	if err := viewer.StartRemoteView(ctx, "talker", protocol.VideoQuality{}); err != nil {
		t.Fatal(err)
	}
	if err := listener.StartRemoteView(ctx, "talker", protocol.VideoQuality{}); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := viewer.WaitRemoteTrack(ctx, "talker", kind, 50); err != nil {
			t.Fatalf("viewer: %v", err)
		}
		if _, err := listener.WaitRemoteTrack(ctx, "talker", kind, 50); err != nil {
			t.Fatalf("listener: %v", err)
		}
	}
	if tracks := viewer.RemoteTracks("listener"); len(tracks) != 0 {
		t.Fatalf("a subscribe-only user's tracks were forwarded: %+v", tracks)
	}
	for _, name := range []string{protocol.EventUserAudioAvailable, protocol.EventUserVideoAvailable} {
		for _, e := range viewer.Events() {
			if e.Name == name && strings.Contains(string(e.Params), `"listener"`) {
				t.Fatalf("a subscribe-only user was announced: %s %s", e.Name, e.Params)
			}
		}
	}
	if tracks := talker.RemoteTracks(""); len(tracks) != 0 {
		t.Fatalf("a publish-only user received media: %+v", tracks)
	}
}
