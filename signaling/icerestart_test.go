package signaling_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
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
	st := newStack(t)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	ctx := ctxT(t, 60*time.Second)
	id := protocol.StrRoom("ice-restart")
	for _, c := range []*client.Conn{alice, bob} {
		must(t, c.JoinRoom(ctx, id))
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
	for _, s := range []interface {
		ConnectionState() webrtc.PeerConnectionState
	}{alice.Publisher(), alice.Subscriber()} {
		if state := s.ConnectionState(); state != webrtc.PeerConnectionStateConnected {
			t.Fatalf("alice's PeerConnection is %s after the restart", state)
		}
	}

	// A receive-only client has no publisher to restart.
	carol := st.login(t, "carol")
	must(t, carol.JoinRoom(ctx, id))
	if err := carol.StartMedia(ctx, client.MediaOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := carol.RestartICE(ctx); !errors.Is(err, client.ErrNoPublisher) {
		t.Fatalf("receive-only RestartICE: %v, want ErrNoPublisher", err)
	}
}
