package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// turnConfig is testConfig with TURN over UDP, TCP and TLS (self-signed) on free ports and
// a relay port range of its own.
func turnConfig(t *testing.T) configs.Config {
	t.Helper()
	cfg := testConfig(t)
	for cfg.TURN.TLSPort == 0 || cfg.TURN.TLSPort == cfg.TURN.TCPPort {
		cfg.TURN.TLSPort = freePort(t)
	}
	cfg.TURN.DevSelfSigned = true
	cfg.TURN.RelayIP = "127.0.0.1"
	cfg.TURN.RelayPortMin, cfg.TURN.RelayPortMax = 42100, 42899
	return cfg
}

// trustTURNCertificate fetches the certificate the TURN/TLS listener presents (trust on
// first use, as a developer accepting the dev certificate would) and returns a TLS
// configuration that verifies the server against it, and only it.
func trustTURNCertificate(t *testing.T, srv *server) *tls.Config {
	t.Helper()
	addr := srv.turn.Addrs().TLS
	if addr == nil {
		t.Fatal("TURN over TLS is not listening")
	}
	conn, err := tls.Dial("tcp", addr.String(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // fetching the cert to pin it
	if err != nil {
		t.Fatalf("fetch TURN certificate: %v", err)
	}
	certs := conn.ConnectionState().PeerCertificates
	_ = conn.Close()
	if len(certs) == 0 {
		t.Fatal("TURN/TLS presented no certificate")
	}
	pool := x509.NewCertPool()
	pool.AddCert(certs[0])
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// loginWithPeer connects and logs userID in with peer as the media configuration; its
// media is stopped and the connection closed at the end of the test.
func loginWithPeer(t *testing.T, wsURL, userID string, peer client.PeerConfig) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, wsURL, client.Options{Peer: peer, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.StopMedia()
		_ = c.Close()
	})
	sig, err := signaling.MintUserSig(signaling.DevSDKAppID, []byte(signaling.DevSecret), userID, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, signaling.DevSDKAppID, userID, sig); err != nil {
		t.Fatalf("login %s: %v", userID, err)
	}
	if _, err := c.WaitEvent(ctx, protocol.EventSdkReady, nil); err != nil {
		t.Fatalf("%s: no onSdkReady: %v", userID, err)
	}
	return c
}

// videoCall has caller call callee, callee accept, both start audio and video and view
// each other.
func videoCall(t *testing.T, ctx context.Context, caller, callee *client.Conn) {
	t.Helper()
	if _, err := caller.Call(ctx, callee.UserID(), protocol.MediaTypeVideo, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.WaitFor[protocol.CallReceivedEvent](ctx, callee, protocol.EventCallReceived, nil); err != nil {
		t.Fatalf("%s: no invitation: %v", callee.UserID(), err)
	}
	if err := callee.Accept(ctx, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{caller, callee} {
		if _, err := client.WaitFor[protocol.CallBeginEvent](ctx, c, protocol.EventCallBegin, nil); err != nil {
			t.Fatalf("%s: no onCallBegin: %v", c.UserID(), err)
		}
	}
	for _, c := range []*client.Conn{caller, callee} {
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}); err != nil {
			t.Fatalf("%s: start media: %v", c.UserID(), err)
		}
	}
	if err := caller.StartRemoteView(ctx, callee.UserID(), protocol.VideoQuality{}); err != nil {
		t.Fatal(err)
	}
	if err := callee.StartRemoteView(ctx, caller.UserID(), protocol.VideoQuality{}); err != nil {
		t.Fatal(err)
	}
}

// pathOf returns the selected path of one of c's PeerConnections.
// checkCallMedia waits until alice and bob each received 100 packets of the other's
// audio and video, none corrupted (with firstKeyframe, a video that did not start with a
// keyframe fails t too), then checks the selected candidate pair of each of their four
// PeerConnections: wantPath returns what the pair should have been when it is not ("":
// it is).
func checkCallMedia(t *testing.T, ctx context.Context, alice, bob *client.Conn, firstKeyframe bool, wantPath func(client.SelectedPath) string) {
	t.Helper()
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
			if firstKeyframe && kind == webrtc.RTPCodecTypeVideo && !tr.FirstKeyframe {
				t.Errorf("%s: video of %s did not start with a keyframe", me.UserID(), other.UserID())
			}
		}
		for _, publisher := range []bool{true, false} {
			path, ok := pathOf(me, publisher)
			if !ok {
				t.Fatalf("%s (publisher %v): no selected candidate pair", me.UserID(), publisher)
			}
			if want := wantPath(path); want != "" {
				t.Fatalf("%s (publisher %v): selected %s, want %s", me.UserID(), publisher, describePath(path), want)
			}
		}
	}
}

func pathOf(c *client.Conn, publisher bool) (client.SelectedPath, bool) {
	if publisher {
		if p := c.Publisher(); p != nil {
			return p.SelectedPath()
		}
		return client.SelectedPath{}, false
	}
	if s := c.Subscriber(); s != nil {
		return s.SelectedPath()
	}
	return client.SelectedPath{}, false
}

func describePath(p client.SelectedPath) string {
	var b strings.Builder
	b.WriteString(p.Local.Typ.String() + " " + p.Local.Protocol.String() + " " + p.Local.Address)
	if p.LocalRelayProtocol != "" {
		b.WriteString(" (relay over " + p.LocalRelayProtocol + ")")
	}
	b.WriteString(" ↔ " + p.Remote.Typ.String() + " " + p.Remote.Protocol.String() + " " + p.Remote.Address)
	if p.Remote.TCPType != "" {
		b.WriteString(" tcptype " + p.Remote.TCPType)
	}
	return b.String()
}
