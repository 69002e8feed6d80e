package signaling_test

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestStrangerCannotEnterACallRoom: while a call lives, a user of the same app who is not
// in it cannot joinRoom its room (4006) nor start a call in it (3011); the callers hear
// nothing of the attempt and keep their media (D27).
func TestStrangerCannotEnterACallRoom(t *testing.T) {
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
