package client

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestSwitchToAudioStopsVideo: alice and bob publish audio and video through real pion
// PeerConnections (fakeSFU) and view each other. alice switches the call to audio and the
// server tells both sides: each stops sending video, tells the server (closeCamera) and
// stops its view of the other, while the audio goes on. Back to video, the views start
// again and the cameras stay closed until each side opens its camera; then the video
// flows again (D241).
func TestSwitchToAudioStopsVideo(t *testing.T) {
	_, fs := newFakeSFU(t)
	ctx := testContext(t)
	alice := joinFake(t, ctx, fs, "alice")
	if err := alice.StartMedia(ctx, MediaOptions{Audio: true, Video: true, KeyframeInterval: 10}); err != nil {
		t.Fatal(err)
	}
	bob := joinFake(t, ctx, fs, "bob")
	if err := bob.StartMedia(ctx, MediaOptions{Audio: true, Video: true, KeyframeInterval: 10}); err != nil {
		t.Fatal(err)
	}
	servers := map[*Conn]*fakeConn{alice: fs.conn(0), bob: fs.conn(1)}
	pairs := [][2]*Conn{{alice, bob}, {bob, alice}}
	for _, pair := range pairs {
		me, other := pair[0], pair[1]
		checkTrack(t, me, other.UserID(), webrtc.RTPCodecTypeVideo)
		if err := me.StartRemoteView(ctx, other.UserID(), protocol.VideoQuality{}); err != nil {
			t.Fatal(err)
		}
	}
	switchTo := func(from, to protocol.MediaType) {
		for _, fc := range servers {
			fc.notify(protocol.EventCallMediaTypeChanged, protocol.CallMediaTypeChangedEvent{CallID: "c1", OldMediaType: from, NewMediaType: to})
		}
	}

	if err := alice.SwitchCallMediaType(ctx, protocol.MediaTypeAudio); err != nil {
		t.Fatal(err)
	}
	switchTo(protocol.MediaTypeVideo, protocol.MediaTypeAudio)
	for _, pair := range pairs {
		me, other := pair[0], pair[1]
		waitVideoStopped(t, me, other.UserID())
		waitRequest(t, servers[me], protocol.MethodCloseCamera, "", 1)
		waitRequest(t, servers[me], protocol.MethodStopRemoteView, other.UserID(), 1)
	}

	switchTo(protocol.MediaTypeAudio, protocol.MediaTypeVideo)
	for _, pair := range pairs {
		me, other := pair[0], pair[1]
		waitRequest(t, servers[me], protocol.MethodStartRemoteView, other.UserID(), 2)
	}
	for _, c := range []*Conn{alice, bob} {
		if c.Publisher().videoOff.Load() == false {
			t.Fatalf("%s: the switch back to video opened the camera", c.UserID())
		}
		if err := c.OpenCamera(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, pair := range pairs {
		me, other := pair[0], pair[1]
		tr, _ := trackOfKind(me.RemoteTracks(other.UserID()), webrtc.RTPCodecTypeVideo)
		if _, err := me.WaitRemoteTrack(ctx, other.UserID(), webrtc.RTPCodecTypeVideo, tr.Packets+25); err != nil {
			t.Fatalf("%s: %s's video after the camera opened again: %v", me.UserID(), other.UserID(), err)
		}
		if errs := me.MediaErrors(); len(errs) != 0 {
			t.Errorf("%s media errors: %v", me.UserID(), errs)
		}
	}
}

// waitVideoStopped waits until c has sent no video, and received none from other, for a
// second, then checks that other's audio still reaches c.
func waitVideoStopped(t *testing.T, c *Conn, other string) {
	t.Helper()
	var sent uint32
	var got uint64
	stableSince := time.Now()
	waitFor(t, 20*time.Second, c.UserID()+"'s video and "+other+"'s video to "+c.UserID()+" stopped", func() bool {
		tr, _ := trackOfKind(c.RemoteTracks(other), webrtc.RTPCodecTypeVideo)
		nowSent := c.Publisher().Stats().VideoPackets
		if nowSent != sent || tr.Packets != got {
			sent, got, stableSince = nowSent, tr.Packets, time.Now()
		}
		return time.Since(stableSince) > time.Second
	})
	audio, _ := trackOfKind(c.RemoteTracks(other), webrtc.RTPCodecTypeAudio)
	if _, err := c.WaitRemoteTrack(testContext(t), other, webrtc.RTPCodecTypeAudio, audio.Packets+25); err != nil {
		t.Fatalf("%s: %s's audio stopped with the video: %v", c.UserID(), other, err)
	}
}

// waitRequest waits until fc received n requests of method (about userID when it is set).
func waitRequest(t *testing.T, fc *fakeConn, method, userID string, n int) {
	t.Helper()
	waitFor(t, 10*time.Second, method+" "+userID, func() bool {
		count := 0
		for _, req := range fc.requests() {
			var p struct {
				UserID string `json:"userId"`
			}
			_ = json.Unmarshal(req.Params, &p)
			if req.Method == method && p.UserID == userID {
				count++
			}
		}
		return count == n
	})
}
