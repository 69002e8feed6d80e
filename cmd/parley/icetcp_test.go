package main

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
)

// TestCallOverICETCP: two clients that may use only TCP (no UDP, no TURN) call each other;
// both connections of each connect with ICE over TCP to the SFU's passive candidate on the
// media TCP port, and audio and video flow.
func TestCallOverICETCP(t *testing.T) {
	cfg := testConfig(t)
	cfg.TURN.Enabled = false
	r := startServe(t, cfg)
	mediaTCP := r.srv.engine.TCPAddr()
	if mediaTCP == nil {
		t.Fatal("the media plane does not listen on TCP")
	}
	peer := client.PeerConfig{Loopback: true, NetworkTypes: []webrtc.NetworkType{webrtc.NetworkTypeTCP4}}
	alice := loginWithPeer(t, r.wsURL(), "alice", peer)
	bob := loginWithPeer(t, r.wsURL(), "bob", peer)
	if res, _ := alice.LoginResult(); res.ICEServers == nil || len(res.ICEServers) != 0 {
		t.Fatalf("with TURN disabled the login result has iceServers %#v, want [] (never null)", res.ICEServers)
	}
	ctx := ctxFor(t, 60*time.Second)
	videoCall(t, ctx, alice, bob)

	for _, pair := range [][2]*client.Conn{{alice, bob}, {bob, alice}} {
		me, other := pair[0], pair[1]
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			tr, err := me.WaitRemoteTrack(ctx, other.UserID(), kind, 100)
			if err != nil {
				t.Fatalf("%s: %v", me.UserID(), err)
			}
			if tr.PayloadErrors != 0 {
				t.Fatalf("%s: %s of %s has %d corrupted payloads", me.UserID(), kind, other.UserID(), tr.PayloadErrors)
			}
		}
		for _, publisher := range []bool{true, false} {
			path, ok := pathOf(me, publisher)
			if !ok {
				t.Fatalf("%s (publisher %v): no selected candidate pair", me.UserID(), publisher)
			}
			if path.Local.Protocol != webrtc.ICEProtocolTCP || path.Remote.Protocol != webrtc.ICEProtocolTCP ||
				path.Remote.TCPType != "passive" || int(path.Remote.Port) != mediaTCP.Port {
				t.Fatalf("%s (publisher %v): selected %s, want TCP to the SFU's passive candidate on port %d",
					me.UserID(), publisher, describePath(path), mediaTCP.Port)
			}
		}
	}
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}
