package signaling_test

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// prepared starts a video call from alice to bob in which both enter the room early
// (prepareCall), start audio and video and ask to view each other; it returns once both
// publishers are connected and sending, before anyone accepted.
func prepared(t *testing.T, st *stack, alice, bob *client.Conn) protocol.CallStartResult {
	t.Helper()
	ctx := ctxT(t, 60*time.Second)
	started, err := alice.Call(ctx, bob.UserID(), protocol.MediaTypeVideo, protocol.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	inv := waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
	for _, c := range []*client.Conn{alice, bob} {
		res, err := c.PrepareCall(ctx, inv.CallID)
		if err != nil {
			t.Fatalf("%s: prepareCall: %v", c.UserID(), err)
		}
		if res.RoomID != started.RoomID {
			t.Fatalf("%s: prepared room %v, the call's is %v", c.UserID(), res.RoomID, started.RoomID)
		}
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}); err != nil {
			t.Fatalf("%s: start media: %v", c.UserID(), err)
		}
	}
	must(t, alice.StartRemoteView(ctx, bob.UserID(), protocol.VideoQuality{}))
	must(t, bob.StartRemoteView(ctx, alice.UserID(), protocol.VideoQuality{}))
	waitPublishing(t, alice, 50)
	waitPublishing(t, bob, 50)
	return started
}

// TestEarlyMediaIsSilentUntilTheCallBegins: both sides connect their media while the call
// rings; nothing reaches anyone and nobody is told before the accept; then media flows
// both ways without new PeerConnections and without a subscriber renegotiation (the
// early subscribers reserved the other's audio and video), and the room closes as soon
// as the call ends.
func TestEarlyMediaIsSilentUntilTheCallBegins(t *testing.T) {
	earlyMediaIsSilentUntilTheCallBegins(t, newStack)
}
func TestClusterEarlyMediaIsSilentUntilTheCallBegins(t *testing.T) {
	earlyMediaIsSilentUntilTheCallBegins(t, newClusterStack)
}

func earlyMediaIsSilentUntilTheCallBegins(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 90*time.Second)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	prepared(t, st, alice, bob)
	peers := st.engine.PeerCount()
	for _, c := range []*client.Conn{alice, bob} {
		if tracks := c.RemoteTracks(""); len(tracks) != 0 {
			t.Fatalf("%s received media before the accept: %+v", c.UserID(), tracks)
		}
		for _, name := range []string{protocol.EventUserJoin, protocol.EventUserVideoAvailable, protocol.EventUserAudioAvailable} {
			if n := c.EventCount(name); n != 0 {
				t.Fatalf("%s heard %s before the accept: %s", c.UserID(), name, eventNames(c))
			}
		}
	}

	offers := map[*client.Conn]int{}
	for _, c := range []*client.Conn{alice, bob} {
		offers[c] = c.EventCount(protocol.MethodOffer)
	}
	acceptedAt := time.Now()
	must(t, bob.Accept(ctx, 0))
	for _, pair := range [][2]*client.Conn{{alice, bob}, {bob, alice}} {
		me, other := pair[0], pair[1]
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			if _, err := me.WaitRemoteTrack(ctx, other.UserID(), kind, 1); err != nil {
				t.Fatalf("%s: %v", me.UserID(), err)
			}
			t.Logf("accept → first %s packet at %s: %s", kind, me.UserID(), time.Since(acceptedAt).Round(time.Millisecond))
		}
		waitFor(t, me, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool { return e.UserID == other.UserID() })
	}
	for _, c := range []*client.Conn{alice, bob} {
		// The early subscribers' first offers reserved the other's audio and video (D104).
		if n := c.EventCount(protocol.MethodOffer) - offers[c]; n != 0 {
			t.Errorf("%s got %d subscriber offers after the accept, want 0", c.UserID(), n)
		}
	}
	if n := st.engine.PeerCount(); n != peers {
		t.Fatalf("%d server PeerConnections after the accept, %d before: the early ones were not kept", n, peers)
	}
	must(t, alice.Hangup(ctx))
	waitUntil(t, ctx, "the call's room to close", func() bool { return st.service.Rooms().Rooms() == 0 })
	waitUntil(t, ctx, "the PeerConnections to close", func() bool { return st.engine.PeerCount() == 0 })
}

// TestEarlyMediaLeavesNothingBehind: a call that ends while ringing — rejected, cancelled,
// timed out, answered on another device — takes the early participants out of the room
// and closes their PeerConnections; the users can call again at once.
func TestEarlyMediaLeavesNothingBehind(t *testing.T) {
	// Long enough to connect media on a busy machine; the timeout case waits for it.
	st := newStack(t, func(c *signalingConfig) { c.Call.DefaultTimeout = 10 * time.Second })
	ctx := ctxT(t, 120*time.Second)
	tests := []struct {
		name string
		end  func(alice, bob *client.Conn)
	}{
		{"reject", func(_, bob *client.Conn) { must(t, bob.Reject(ctx)) }},
		{"cancel", func(alice, _ *client.Conn) { must(t, alice.Hangup(ctx)) }},
		{"timeout", func(alice, _ *client.Conn) {
			waitFor[protocol.CallCancelledEvent](t, alice, protocol.EventCallCancelled, nil)
		}},
		{"caller logs out", func(alice, _ *client.Conn) { must(t, alice.Logout(ctx)) }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			baseline := goroutines()
			us := st.users(t, "e"+string(rune('a'+i)), "alice", "bob")
			alice, bob := us[0], us[1]
			prepared(t, st, alice, bob)
			tt.end(alice, bob)
			waitUntil(t, ctx, "no room", func() bool { return st.service.Rooms().Rooms() == 0 })
			waitUntil(t, ctx, "no PeerConnection", func() bool { return st.engine.PeerCount() == 0 })
			for _, c := range []*client.Conn{alice, bob} {
				if tracks := c.RemoteTracks(""); len(tracks) != 0 {
					t.Fatalf("%s received media from a call that never began: %+v", c.UserID(), tracks)
				}
				_ = c.StopMedia()
				_ = c.Close()
			}
			waitUntil(t, ctx, "goroutines back to the baseline", func() bool { return goroutines() <= baseline+2 })
		})
	}
}

// TestEarlyMediaOnAnotherDevice: with multi-device on, the device that prepared is taken
// out when another device of the same user accepts; the accepting device joins the room
// and the call's media flows to it.
func TestEarlyMediaOnAnotherDevice(t *testing.T) { earlyMediaOnAnotherDevice(t, newStack) }
func TestClusterEarlyMediaOnAnotherDevice(t *testing.T) {
	earlyMediaOnAnotherDevice(t, newClusterStack)
}

func earlyMediaOnAnotherDevice(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 90*time.Second)
	phone := st.login(t, "bob")
	must(t, phone.EnableMultiDeviceAbility(ctx, true))
	laptop, alice := st.login(t, "bob"), st.login(t, "alice")
	prepared(t, st, alice, phone)
	_, err := laptop.PrepareCall(ctx, "no-such-call")
	wantCode(t, err, protocol.CodeNoSuchCall)
	inv := waitFor[protocol.CallReceivedEvent](t, laptop, protocol.EventCallReceived, nil)
	_, err = laptop.PrepareCall(ctx, inv.CallID)
	wantCode(t, err, protocol.CodeAlreadyInRoom)
	must(t, laptop.Accept(ctx, 0))
	must(t, laptop.StartMedia(ctx, client.MediaOptions{Audio: true}))
	if _, err := laptop.WaitRemoteTrack(ctx, "alice", webrtc.RTPCodecTypeAudio, 10); err != nil {
		t.Fatalf("the answering device gets no audio: %v", err)
	}
	if _, err := alice.WaitRemoteTrack(ctx, "bob", webrtc.RTPCodecTypeAudio, 10); err != nil {
		t.Fatalf("alice gets no audio from the answering device: %v", err)
	}
	if tracks := phone.RemoteTracks(""); len(tracks) != 0 {
		t.Fatalf("the device that did not answer received media: %+v", tracks)
	}
}
