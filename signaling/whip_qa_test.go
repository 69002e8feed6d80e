package signaling_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

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
			status, _, body := whipRequest(t, http.MethodPost, base+"/whip/"+strconv.Itoa(600+i), "application/sdp",
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
