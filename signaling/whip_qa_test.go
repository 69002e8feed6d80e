package signaling_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/internal/testhttp"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestWHIPOfferSectionsBounded: a WHIP (or WHEP) offer has at most one audio and one
// video section (RFC 9725 clients send one of each; simulcast layers are rids of the one
// video section). An offer of many sections — each a track the server would set up and
// announce to everyone in the room — gets 400, and the server serves the next offer.
func TestWHIPOfferSectionsBounded(t *testing.T) {
	st := newStack(t)
	w, base := st.whipServer(t, signaling.DefaultWHIPConfig())
	offerOf := func(audio, video int) string {
		pc := loopbackPeerConnection(t)
		t.Cleanup(func() { _ = pc.Close() })
		for kind, n := range map[webrtc.RTPCodecType]int{webrtc.RTPCodecTypeAudio: audio, webrtc.RTPCodecTypeVideo: video} {
			for range n {
				_, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
				must(t, err)
			}
		}
		return gatheredOffer(t, pc)
	}
	tests := []struct {
		name         string
		audio, video int
		want         int
	}{
		{"40 audio sections", 40, 0, http.StatusBadRequest},
		{"two video sections", 1, 2, http.StatusBadRequest},
		{"two audio sections", 2, 1, http.StatusBadRequest},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			roomID := protocol.IntRoom(int64(600 + i))
			status, _, body := testhttp.Do(t, http.MethodPost, base+"/whip/"+strconv.Itoa(600+i), "application/sdp",
				grant(t, "obs", roomID, protocol.RoomRights{Publish: true}), offerOf(tt.audio, tt.video), nil)
			if status != tt.want || !strings.Contains(body, "section") {
				t.Fatalf("POST: %d %.200q, want %d naming the sections", status, body, tt.want)
			}
		})
	}
	if n := w.Sessions(); n != 0 {
		t.Fatalf("%d sessions after refused offers", n)
	}
	// The server serves the next publisher.
	pub := publishWHIP(t, base, "610", grant(t, "obs", protocol.IntRoom(610), protocol.RoomRights{Publish: true}))
	ctx := ctxT(t, 60*time.Second)
	waitUntil(t, ctx, "the next publisher's session", func() bool { return pub.location != "" && w.Sessions() == 1 })
}

// TestWHIPRateLimits: WHIP has the WebSocket's rate limits. PATCHes of a session take
// tokens of limits.trickles_* (a flood of trickles or ICE restarts gets 429 with
// Retry-After; DELETE still works); POSTs without a valid grant take tokens of the
// client IP's limits.failed_logins_* bucket, and once it is empty every POST from that
// IP gets 429 — a valid grant too — as WebSocket logins do.
func TestWHIPRateLimits(t *testing.T) {
	st := newStack(t, func(c *signalingConfig) {
		c.Limits.TricklesPerSecond, c.Limits.TricklesBurst = 1, 3
		c.Limits.FailedLoginsPerMinute, c.Limits.FailedLoginsBurst = 1, 2
	})
	w, base := st.whipServer(t, signaling.DefaultWHIPConfig())
	pub := publishWHIP(t, base, "700", grant(t, "obs", protocol.IntRoom(700), protocol.RoomRights{Publish: true}))
	limited := false
	for i := 0; i < 30 && !limited; i++ {
		status, h, body := testhttp.Do(t, http.MethodPatch, pub.location, "application/trickle-ice-sdpfrag", "", "a=end-of-candidates\r\n", nil)
		switch status {
		case http.StatusNoContent:
		case http.StatusTooManyRequests:
			if h.Get("Retry-After") == "" || !strings.Contains(body, "limits.trickles_per_second") {
				t.Fatalf("429 without Retry-After or naming no limit: %v %q", h, body)
			}
			limited = true
		default:
			t.Fatalf("PATCH %d: %d %s", i, status, body)
		}
	}
	if !limited {
		t.Fatal("30 PATCHes in a row, none refused (limits.trickles_burst is 3)")
	}
	if st.service.LimitStats().Trickles == 0 {
		t.Fatal("the refused PATCH is not counted")
	}
	if status, _, body := testhttp.Do(t, http.MethodDelete, pub.location, "", "", "", nil); status != http.StatusOK {
		t.Fatalf("DELETE after the limit: %d %s", status, body)
	}

	valid := grant(t, "obs2", protocol.IntRoom(701), protocol.RoomRights{Publish: true})
	pc := loopbackPeerConnection(t)
	t.Cleanup(func() { _ = pc.Close() })
	_, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	must(t, err)
	offer := gatheredOffer(t, pc)
	for i, want := range []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusTooManyRequests} {
		status, h, body := testhttp.Do(t, http.MethodPost, base+"/whip/701", "application/sdp", "forged."+strconv.Itoa(i)+".grant", offer, nil)
		if status != want {
			t.Fatalf("POST %d with a forged grant: %d %s, want %d", i, status, body, want)
		}
		if want == http.StatusTooManyRequests && h.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if status, _, body := testhttp.Do(t, http.MethodPost, base+"/whip/701", "application/sdp", valid, offer, nil); status != http.StatusTooManyRequests {
		t.Fatalf("POST with a valid grant from the refused IP: %d %s, want 429", status, body)
	}
	if st.service.LimitStats().FailedLogins == 0 {
		t.Fatal("the refused POSTs are not counted")
	}
	ctx := ctxT(t, 30*time.Second)
	waitUntil(t, ctx, "no session", func() bool { return w.Sessions() == 0 })
}

// TestWHIPGrantSubjectMustBeUserID: a WHIP or WHEP grant is the only thing that names the
// user (there is no login), so its sub must be a userId ([A-Za-z0-9_-]{1,64}) like any
// login's, even when the app's server signed it: else the publisher would join the room
// under a name no SDK user can have (told to everyone in onUserJoin, written into the
// recording's file names, the TURN username). Such a grant gets 401.
func TestWHIPGrantSubjectMustBeUserID(t *testing.T) {
	st := newStack(t)
	w, base := st.whipServer(t, signaling.DefaultWHIPConfig())
	pc, _, _ := newWHIPPeer(t)
	t.Cleanup(func() { _ = pc.Close() })
	offer := gatheredOffer(t, pc)
	signed := func(sub string) string {
		room, _ := json.Marshal(800)
		g, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"typ": "room", "sub": sub, "app": signaling.DevSDKAppID, "room": json.RawMessage(room),
			"rights": []string{"publish", "subscribe"}, "exp": time.Now().Add(time.Hour).Unix(),
		}).SignedString([]byte(signaling.DevSecret))
		must(t, err)
		return g
	}
	for _, sub := range []string{"../../recordings/x", "", "a b", "obs\"", strings.Repeat("a", 65), "é"} {
		for _, path := range []string{"/whip/800", "/whep/800/obs"} {
			status, _, body := testhttp.Do(t, http.MethodPost, base+path, "application/sdp", signed(sub), offer, nil)
			if status != http.StatusUnauthorized || !strings.Contains(body, "userId") {
				t.Fatalf("POST %s with a grant for sub %q: %d %.200q, want 401 naming the userId", path, sub, status, body)
			}
		}
	}
	if n := w.Sessions(); n != 0 {
		t.Fatalf("%d sessions", n)
	}
	if status, _, body := testhttp.Do(t, http.MethodPost, base+"/whip/800", "application/sdp", signed("obs"), offer, nil); status != http.StatusCreated {
		t.Fatalf("the same grant for sub \"obs\": %d %s", status, body)
	}
}
