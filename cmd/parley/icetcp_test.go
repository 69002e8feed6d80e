package main

import (
	"fmt"
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

	checkCallMedia(t, ctx, alice, bob, false, func(path client.SelectedPath) string {
		if path.Local.Protocol != webrtc.ICEProtocolTCP || path.Remote.Protocol != webrtc.ICEProtocolTCP ||
			path.Remote.TCPType != "passive" || int(path.Remote.Port) != mediaTCP.Port {
			return fmt.Sprintf("TCP to the SFU's passive candidate on port %d", mediaTCP.Port)
		}
		return ""
	})
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}
