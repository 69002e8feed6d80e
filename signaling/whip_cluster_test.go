package signaling_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/cluster"
	"github.com/parley-rtc/parley/internal/testhttp"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// mountWHIP serves the node's WHIP and WHEP endpoints next to its /ws, as cmd/parley does.
func (st *stack) mountWHIP(t *testing.T) *signaling.WHIP {
	t.Helper()
	w, err := st.service.NewWHIP(signaling.DefaultWHIPConfig())
	must(t, err)
	st.mux.Handle("/whip/", w)
	st.mux.Handle("/whep/", w)
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("whip close: %v", err)
		}
	})
	return w
}

// TestClusterPlacedWHIPAndWHEP (D119): a WHIP publisher and a WHEP viewer that reach a
// node which neither owns the app nor holds the room are redirected (307) to the room's
// media node and served in the placed room — the room's member hears onUserJoin and the
// publisher's audio, the viewer gets it too, no second room of that RoomId opens
// anywhere; a user joining after the room's last session member left follows the room to
// the publisher; DELETE at the session's absolute Location ends it there. A WHIP publisher of
// a room nobody is in goes to the owner, and a user joining later lands in that room.
func TestClusterPlacedWHIPAndWHEP(t *testing.T) {
	st := newPlacedClusterStack(t)
	nodes := append(append([]*stack(nil), st.nodes...), st.media) // n0 … n3
	whips := make([]*signaling.WHIP, len(nodes))
	for i, n := range nodes {
		whips[i] = n.mountWHIP(t)
	}
	ctx := ctxT(t, 90*time.Second)
	stage := protocol.StrRoom("stage")
	alice := st.viewer(t, "alice", stage) // on n1: the room goes to n3
	pub := publishWHIP(t, nodes[2].http.URL, "s:stage", grant(t, "obs", stage, protocol.RoomRights{Publish: true}))
	sawJoin(t, alice, "obs", stage)
	if _, err := alice.WaitRemoteTrack(ctx, "obs", webrtc.RTPCodecTypeAudio, 50); err != nil {
		t.Fatal(err)
	}
	player, status, body := playWHEP(t, nodes[1].http.URL, "/whep/s:stage/obs", grant(t, "carol", stage, protocol.RoomRights{Subscribe: true}))
	if player == nil {
		t.Fatalf("WHEP POST through n1: %d %s", status, body)
	}
	waitUntil(t, ctx, "the WHEP viewer gets the publisher's audio", func() bool {
		a, _, _ := player.counts()
		return a > 20
	})
	if got := st.roomsOn(); got[3] != 1 || got[0]+got[1]+got[2] != 0 {
		t.Fatalf("rooms per node n0..n3 %v: want the one room stage on n3", got)
	}
	if n := whips[3].Sessions(); n != 2 {
		t.Fatalf("the media node serves %d WHIP/WHEP sessions, want 2", n)
	}
	must(t, alice.LeaveRoom(ctx)) // obs stays alone: the room stays placed on n3
	st.media.extraLoad.Store(500) // a new room would go elsewhere now
	st.waitLoads(t, st.media)
	dave := st.viewer(t, "dave", stage)
	sawJoin(t, dave, "obs", stage)
	if got := st.roomsOn(); got[3] != 1 || got[0]+got[1]+got[2] != 0 {
		t.Fatalf("rooms per node n0..n3 %v after dave joined: want stage on n3 only", got)
	}
	if status, _, body := testhttp.Do(t, http.MethodDelete, pub.location, "", "", "", nil); status != http.StatusOK {
		t.Fatalf("DELETE %s: %d %s", pub.location, status, body)
	}
	waitFor(t, dave, protocol.EventUserLeave, func(e protocol.UserLeaveEvent) bool { return e.UserID == "obs" })

	solo := protocol.StrRoom("solo")
	publishWHIP(t, nodes[1].http.URL, "s:solo", grant(t, "obs2", solo, protocol.RoomRights{Publish: true}))
	bob := st.viewer(t, "bob", solo) // on n2
	sawJoin(t, bob, "obs2", solo)
	if _, err := bob.WaitRemoteTrack(ctx, "obs2", webrtc.RTPCodecTypeAudio, 50); err != nil {
		t.Fatal(err)
	}
	if got := st.roomsOn(); got[0] != 1 || got[1]+got[2] != 0 {
		t.Fatalf("rooms per node n0..n3 %v: want solo on n0, the owner, where its WHIP publisher is", got)
	}
}

// TestClusterHTTPBase (D137, D138): the base URL that redirects to a node point at is its
// registered signaling URL without /ws (a path before it kept), http for ws and https for
// wss; a URL whose host is unspecified (a listener on 0.0.0.0 or [::] and no
// cluster.advertise_url) or that is not ws(s) gives none: the redirect is a 503 naming
// the key. Each cluster.advertise_url comes back as it was given (less a final slash).
func TestClusterHTTPBase(t *testing.T) {
	for _, tt := range []struct{ registered, want string }{
		{"ws://127.0.0.1:7880/ws", "http://127.0.0.1:7880"},
		{"wss://n1.example.com/ws", "https://n1.example.com"},
		{"wss://lb.example.com/n1/ws", "https://lb.example.com/n1"},
		{"ws://[2001:db8::1]:7880/ws", "http://[2001:db8::1]:7880"},
		{"ws://0.0.0.0:7880/ws", ""},
		{"ws://[::]:7880/ws", ""},
		{"http://n1:7880/ws", ""},
		{"", ""},
	} {
		got, err := signaling.HTTPBase(tt.registered)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("%q: %q %v, want %q", tt.registered, got, err, tt.want)
		}
		if err != nil && strings.Contains(tt.registered, "://0.0.0.0") && !strings.Contains(err.Error(), "cluster.advertise_url") {
			t.Errorf("%q: %v does not name cluster.advertise_url", tt.registered, err)
		}
	}
	for _, advertise := range []string{"http://203.0.113.10:7891", "https://n1.example.com/", "https://lb.example.com/n1"} {
		cfg := cluster.DefaultConfig()
		cfg.AdvertiseURL = advertise
		registered, _ := cfg.SignalingURL("0.0.0.0:7880")
		if got, err := signaling.HTTPBase(registered); err != nil || got != strings.TrimSuffix(advertise, "/") {
			t.Errorf("advertise_url %s registered as %s: redirects to %q (%v)", advertise, registered, got, err)
		}
	}
}
