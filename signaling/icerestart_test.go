package signaling_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// remoteUfrag is the a=ice-ufrag of d ("" without a description).
func remoteUfrag(d *webrtc.SessionDescription) string {
	if d == nil {
		return ""
	}
	_, rest, ok := strings.Cut(d.SDP, "a=ice-ufrag:")
	if !ok {
		return ""
	}
	ufrag, _, _ := strings.Cut(rest, "\r\n")
	return strings.TrimSpace(ufrag)
}

// TestICERestartRenewsBothPeerConnections: a client restarts ICE on its publisher, as
// after a network change (PROTOCOL.md §6 rule 7). The server answers with new
// credentials, restarts ICE on the client's subscriber with its next offer, and media
// keeps flowing both ways.
func TestICERestartRenewsBothPeerConnections(t *testing.T) {
	iCERestartRenewsBothPeerConnections(t, newStack)
}
func TestClusterICERestartRenewsBothPeerConnections(t *testing.T) {
	iCERestartRenewsBothPeerConnections(t, newClusterStack)
}

func iCERestartRenewsBothPeerConnections(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	ctx := ctxT(t, 60*time.Second)
	id := protocol.StrRoom("ice-restart")
	for _, c := range []*client.Conn{alice, bob} {
		must(t, joinRoomGranted(ctx, t, c, id))
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}); err != nil {
			t.Fatalf("%s: start media: %v", c.UserID(), err)
		}
	}
	must(t, bob.StartRemoteView(ctx, "alice", protocol.VideoQuality{}))
	video, err := bob.WaitRemoteTrack(ctx, "alice", webrtc.RTPCodecTypeVideo, 30)
	if err != nil {
		t.Fatal(err)
	}
	audio, err := alice.WaitRemoteTrack(ctx, "bob", webrtc.RTPCodecTypeAudio, 20)
	if err != nil {
		t.Fatal(err)
	}
	pubUfrag := remoteUfrag(alice.Publisher().RemoteDescription())
	subUfrag := remoteUfrag(alice.Subscriber().RemoteDescription())
	if pubUfrag == "" || subUfrag == "" {
		t.Fatalf("no server ICE credentials before the restart: publisher %q, subscriber %q", pubUfrag, subUfrag)
	}

	if err := alice.RestartICE(ctx); err != nil {
		t.Fatal(err)
	}
	if got := remoteUfrag(alice.Publisher().RemoteDescription()); got == pubUfrag {
		t.Fatalf("the publisher answer kept ICE ufrag %q after the restart offer", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for remoteUfrag(alice.Subscriber().RemoteDescription()) == subUfrag {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not restart ICE on alice's subscriber (ufrag still %q)", subUfrag)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Media flows on the new ICE generation both ways.
	if _, err := bob.WaitRemoteTrack(ctx, "alice", webrtc.RTPCodecTypeVideo, video.Packets+100); err != nil {
		t.Fatalf("alice's video after her ICE restart: %v", err)
	}
	if _, err := alice.WaitRemoteTrack(ctx, "bob", webrtc.RTPCodecTypeAudio, audio.Packets+50); err != nil {
		t.Fatalf("bob's audio at alice after her ICE restart: %v", err)
	}
	// A restart is not a new PeerConnection: alice's tracks never ended for bob.
	if n := countVideoAvailable(t, bob, "alice", false); n != 0 {
		t.Fatalf("bob saw alice's video end %d times across her ICE restart", n)
	}
	for _, s := range []interface {
		ConnectionState() webrtc.PeerConnectionState
	}{alice.Publisher(), alice.Subscriber()} {
		if state := s.ConnectionState(); state != webrtc.PeerConnectionStateConnected {
			t.Fatalf("alice's PeerConnection is %s after the restart", state)
		}
	}

	// A receive-only client has no publisher to restart.
	carol := st.login(t, "carol")
	must(t, joinRoomGranted(ctx, t, carol, id))
	if err := carol.StartMedia(ctx, client.MediaOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := carol.RestartICE(ctx); !errors.Is(err, client.ErrNoPublisher) {
		t.Fatalf("receive-only RestartICE: %v, want ErrNoPublisher", err)
	}
}

// countVideoAvailable counts me's onUserVideoAvailable(other, on) events.
func countVideoAvailable(t *testing.T, me *client.Conn, other string, on bool) int {
	n := 0
	for _, e := range decoded[protocol.UserVideoAvailableEvent](t, me, protocol.EventUserVideoAvailable) {
		if e.UserID == other && e.IsVideoAvailable == on {
			n++
		}
	}
	return n
}

// TestNewPeerConnectionsInTheSameRoom: a client closes its PeerConnections and makes new
// ones without leaving the room (Go client: StopMedia, StartMedia). Its first publisher
// offer from the new PeerConnection makes the server replace both of its own (PROTOCOL.md
// §6 rule 8): the others see the old tracks end and the new ones arrive, and media flows
// both ways again on the new pair.
func TestNewPeerConnectionsInTheSameRoom(t *testing.T) { newPeerConnectionsInTheSameRoom(t, newStack) }
func TestClusterNewPeerConnectionsInTheSameRoom(t *testing.T) {
	newPeerConnectionsInTheSameRoom(t, newClusterStack)
}

func newPeerConnectionsInTheSameRoom(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	ctx := ctxT(t, 60*time.Second)
	id := protocol.IntRoom(777)
	for _, c := range []*client.Conn{alice, bob} {
		must(t, joinRoomGranted(ctx, t, c, id))
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}); err != nil {
			t.Fatalf("%s: start media: %v", c.UserID(), err)
		}
	}
	must(t, bob.StartRemoteView(ctx, "alice", protocol.VideoQuality{}))
	must(t, alice.StartRemoteView(ctx, "bob", protocol.VideoQuality{}))
	if _, err := bob.WaitRemoteTrack(ctx, "alice", webrtc.RTPCodecTypeVideo, 30); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.WaitRemoteTrack(ctx, "bob", webrtc.RTPCodecTypeVideo, 30); err != nil {
		t.Fatal(err)
	}
	oldSub := alice.Subscriber()
	oldSession := oldSub.RemoteDescription().SDP

	must(t, alice.StopMedia())
	sawVideo(t, bob, "alice", false) // the closed PeerConnection's tracks end (ICE/DTLS teardown)
	if err := alice.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}); err != nil {
		t.Fatalf("StartMedia again in the same room: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for countVideoAvailable(t, bob, "alice", true) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("bob never saw alice's new video; events: %s", eventNames(bob))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Bob still views alice (his startRemoteView outlives her republishing) and alice's
	// new subscriber gets bob's audio and video from the server's new PeerConnection.
	if _, err := bob.WaitRemoteTrack(ctx, "alice", webrtc.RTPCodecTypeVideo, 30); err != nil {
		t.Fatalf("alice's new video at bob: %v", err)
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := alice.WaitRemoteTrack(ctx, "bob", kind, 30); err != nil {
			t.Fatalf("bob's %s at alice's new subscriber: %v", kind, err)
		}
	}
	if alice.Subscriber() == oldSub {
		t.Fatal("alice's subscriber was not replaced")
	}
	if newSession := alice.Subscriber().RemoteDescription().SDP; remoteUfrag(&webrtc.SessionDescription{SDP: newSession}) ==
		remoteUfrag(&webrtc.SessionDescription{SDP: oldSession}) {
		t.Fatal("the server answered the new subscriber from its old PeerConnection")
	}
	if errs := alice.MediaErrors(); len(errs) != 0 {
		t.Fatalf("alice's media errors: %v", errs)
	}
}

// TestNewPeerConnectionsAfterAnEarlyStop: alice stops her media before the server offered
// her anything, so the first offer her next Subscriber applies comes from the server's old
// subscriber PeerConnection; her new publisher then makes the server renew both, and the
// Go client answers the renewed subscriber from a new Subscriber of its own.
func TestNewPeerConnectionsAfterAnEarlyStop(t *testing.T) {
	newPeerConnectionsAfterAnEarlyStop(t, newStack)
}
func TestClusterNewPeerConnectionsAfterAnEarlyStop(t *testing.T) {
	newPeerConnectionsAfterAnEarlyStop(t, newClusterStack)
}

func newPeerConnectionsAfterAnEarlyStop(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	ctx := ctxT(t, 60*time.Second)
	id := protocol.IntRoom(778)
	must(t, joinRoomGranted(ctx, t, alice, id))
	if err := alice.StartMedia(ctx, client.MediaOptions{Audio: true}); err != nil {
		t.Fatal(err)
	}
	must(t, alice.StopMedia())

	must(t, joinRoomGranted(ctx, t, bob, id))
	if err := bob.StartMedia(ctx, client.MediaOptions{Audio: true}); err != nil {
		t.Fatal(err)
	}
	// The server offers bob's audio to alice's old subscriber PeerConnection; she keeps the
	// offer for her next StartMedia.
	waitFor(t, alice, protocol.MethodOffer, func(p protocol.OfferParams) bool { return p.Target == protocol.TargetSubscriber })
	if err := alice.StartMedia(ctx, client.MediaOptions{Audio: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.WaitRemoteTrack(ctx, "bob", webrtc.RTPCodecTypeAudio, 50); err != nil {
		t.Fatalf("bob's audio at alice: %v", err)
	}
	if _, err := bob.WaitRemoteTrack(ctx, "alice", webrtc.RTPCodecTypeAudio, 50); err != nil {
		t.Fatalf("alice's audio at bob: %v", err)
	}
	if errs := alice.MediaErrors(); len(errs) != 0 {
		t.Fatalf("alice's media errors: %v", errs)
	}
}

// TestFailedSubscriberRestartsICE: a receive-only user's network goes away (every datagram
// of her subscriber PeerConnection is lost, ICE included) and comes back. The server sees
// the subscriber fail, restarts ICE with a new offer by itself (she has no publisher to
// restart from), and once the network is back the audio she hears flows again.
func TestFailedSubscriberRestartsICE(t *testing.T) {
	st := newStackRTC(t, func(c *sfu.Config) {
		c.ICEDisconnectedTimeout, c.ICEFailedTimeout, c.ICEKeepaliveInterval = 500*time.Millisecond, 500*time.Millisecond, 100*time.Millisecond
	})
	ctx := ctxT(t, 60*time.Second)
	network := &client.NetworkSwitch{}
	alice, err := client.Dial(ctx, st.url, client.Options{Peer: client.PeerConfig{Loopback: true, Network: network}, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = alice.Close() })
	if _, err := alice.Login(ctx, signaling.DevSDKAppID, "alice", sig(t, "alice", time.Hour)); err != nil {
		t.Fatal(err)
	}
	bob := st.login(t, "bob")
	id := protocol.StrRoom("outage")
	must(t, joinRoomGranted(ctx, t, alice, id))
	if err := alice.StartMedia(ctx, client.MediaOptions{}); err != nil {
		t.Fatal(err)
	}
	must(t, joinRoomGranted(ctx, t, bob, id))
	if err := bob.StartMedia(ctx, client.MediaOptions{Audio: true}); err != nil {
		t.Fatal(err)
	}
	heard, err := alice.WaitRemoteTrack(ctx, "bob", webrtc.RTPCodecTypeAudio, 25)
	if err != nil {
		t.Fatal(err)
	}
	ufrag := remoteUfrag(alice.Subscriber().RemoteDescription())

	network.SetCut(true)
	deadline := time.Now().Add(15 * time.Second)
	for remoteUfrag(alice.Subscriber().RemoteDescription()) == ufrag {
		if time.Now().After(deadline) {
			t.Fatal("the server never restarted ICE on alice's failed subscriber")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stalled := alice.Subscriber().Tracks()[0].Packets
	network.SetCut(false)
	if _, err := alice.WaitRemoteTrack(ctx, "bob", webrtc.RTPCodecTypeAudio, max(stalled, heard.Packets)+50); err != nil {
		t.Fatalf("bob's audio after alice's network came back: %v", err)
	}
}
