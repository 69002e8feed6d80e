package signaling_test

import (
	"encoding/binary"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/testhttp"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// whepPlayer is an outside WHEP client (a browser player, GStreamer's whepsrc): a pion
// PeerConnection with receive-only audio and video sections; it counts the packets it
// gets and notes the picture width of each VP8 keyframe.
type whepPlayer struct {
	pc       *webrtc.PeerConnection
	location string
	wg       sync.WaitGroup

	mu     sync.Mutex
	audio  int
	video  int
	widths map[int]int // keyframes by width
}

// playWHEP posts a receive-only offer to path; it returns the player when the server
// answered 201, else the status.
func playWHEP(t *testing.T, base, path, bearer string) (*whepPlayer, int, string) {
	t.Helper()
	pc := loopbackPeerConnection(t)
	p := &whepPlayer{pc: pc, widths: map[int]int{}}
	t.Cleanup(p.close)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		_, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		must(t, err)
	}
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		p.wg.Add(1)
		go p.read(track)
	})
	status, h, body := testhttp.Do(t, http.MethodPost, base+path, "application/sdp", bearer, gatheredOffer(t, pc), nil)
	if status != http.StatusCreated {
		return nil, status, body
	}
	loc, err := url.Parse(base + path)
	if err == nil {
		loc, err = loc.Parse(h.Get("Location"))
	}
	must(t, err)
	p.location = loc.String()
	must(t, pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}))
	return p, status, body
}

func (p *whepPlayer) read(track *webrtc.TrackRemote) {
	defer p.wg.Done()
	var vp8 codecs.VP8Packet
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		p.mu.Lock()
		if track.Kind() == webrtc.RTPCodecTypeAudio {
			p.audio++
		} else {
			p.video++
			// The first packet of a keyframe: descriptor S=1, PID 0, frame tag P=0,
			// then the start code and the 14-bit width (RFC 6386 §9.1).
			if b, err := vp8.Unmarshal(pkt.Payload); err == nil && vp8.S == 1 && vp8.PID == 0 && len(b) >= 10 && b[0]&1 == 0 && b[3] == 0x9d {
				p.widths[int(binary.LittleEndian.Uint16(b[6:])&0x3fff)]++
			}
		}
		p.mu.Unlock()
	}
}

// counts returns the audio and video packets and the keyframes by width so far.
func (p *whepPlayer) counts() (audio, video int, widths map[int]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	widths = map[int]int{}
	for w, n := range p.widths {
		widths[w] = n
	}
	return p.audio, p.video, widths
}

func (p *whepPlayer) close() {
	_ = p.pc.Close()
	p.wg.Wait()
}

// TestWHEPViewsPublisher: a WHEP player receives a Go SDK publisher's audio and video;
// ?layer=low picks the smallest simulcast layer (320 wide) and ?layer=high a larger one;
// when the publisher leaves, the viewer sessions end.
func TestWHEPViewsPublisher(t *testing.T) {
	st := newStack(t)
	w, base := st.whipServer(t, signaling.DefaultWHIPConfig())
	roomID := protocol.StrRoom("show")
	alice := st.login(t, "alice")
	inRoom(t, alice, roomID, client.MediaOptions{Audio: true, Video: true, Simulcast: client.DefaultSimulcastLayers()})
	waitPublishing(t, alice, 20)
	viewGrant := grant(t, "viewer", roomID, protocol.RoomRights{Subscribe: true})

	ctx := ctxT(t, 90*time.Second)
	low, status, body := playWHEP(t, base, "/whep/s:show/alice?layer=low", viewGrant)
	if low == nil {
		t.Fatalf("WHEP POST ?layer=low: %d %s", status, body)
	}
	waitUntil(t, ctx, "audio and three 320-wide keyframes on the low viewer", func() bool {
		a, v, widths := low.counts()
		return a > 50 && v > 50 && widths[320] >= 3
	})
	if _, _, widths := low.counts(); len(widths) != 1 {
		t.Fatalf("the low viewer got keyframes of widths %v, want 320 only", widths)
	}

	high, status, body := playWHEP(t, base, "/whep/s:show/alice?layer=high", grant(t, "viewer2", roomID, protocol.RoomRights{Subscribe: true}))
	if high == nil {
		t.Fatalf("WHEP POST ?layer=high: %d %s", status, body)
	}
	waitUntil(t, ctx, "a keyframe wider than 320 on the high viewer", func() bool {
		_, _, widths := high.counts()
		for w := range widths {
			if w > 320 {
				return true
			}
		}
		return false
	})
	if n := w.Sessions(); n != 2 {
		t.Fatalf("%d sessions, want 2", n)
	}

	must(t, alice.Request(ctx, protocol.MethodLeaveRoom, protocol.Empty{}, nil))
	waitUntil(t, ctx, "the viewer sessions to end with the publisher's tracks", func() bool { return w.Sessions() == 0 })
}

// TestWHIPSimulcastToWHEP: a WHIP publisher that offers simulcast (three rid layers,
// 320, 640 and 1280 wide) is one video with layers: a WHEP player with ?layer=low gets
// the 320-wide layer only, one with ?layer=high a larger one.
func TestWHIPSimulcastToWHEP(t *testing.T) {
	st := newStack(t)
	_, base := st.whipServer(t, signaling.DefaultWHIPConfig())
	roomID := protocol.IntRoom(31)
	publishWHIP(t, base, "31", grant(t, "obs", roomID, protocol.RoomRights{Publish: true}), 320, 640, 1280)
	ctx := ctxT(t, 90*time.Second)
	viewer := grant(t, "viewer", roomID, protocol.RoomRights{Subscribe: true})
	waitUntil(t, ctx, "obs to publish audio and video", func() bool {
		r, ok := st.service.Rooms().Room(roomIn(t, roomID))
		if !ok {
			return false
		}
		for _, p := range r.Participants() {
			if p.UserID == "obs" && p.AudioPublished && p.VideoPublished {
				return true
			}
		}
		return false
	})
	low, code, msg := playWHEP(t, base, "/whep/31/obs?layer=low", viewer)
	if low == nil {
		t.Fatalf("WHEP POST: %d %s", code, msg)
	}
	waitUntil(t, ctx, "three 320-wide keyframes on the low player", func() bool {
		_, _, widths := low.counts()
		return widths[320] >= 3
	})
	// Mostly 320: a layer that sends nothing for a second counts as stopped and its
	// viewers move to another (on a starved machine the in-process publisher can stall).
	if _, _, widths := low.counts(); widths[320] <= widths[640]+widths[1280] {
		t.Fatalf("the low player got keyframes of widths %v, want mostly 320", widths)
	}
	high, status, body := playWHEP(t, base, "/whep/31/obs?layer=high", grant(t, "viewer2", roomID, protocol.RoomRights{Subscribe: true}))
	if high == nil {
		t.Fatalf("WHEP POST: %d %s", status, body)
	}
	waitUntil(t, ctx, "a keyframe wider than 320 on the high player", func() bool {
		_, _, widths := high.counts()
		return widths[640]+widths[1280] > 0
	})
}

// TestWHEPErrors: what is wrong with a WHEP request, and DELETE.
func TestWHEPErrors(t *testing.T) {
	st := newStack(t)
	_, base := st.whipServer(t, signaling.DefaultWHIPConfig())
	roomID := protocol.IntRoom(9)
	alice := st.login(t, "alice")
	inRoom(t, alice, roomID, client.MediaOptions{Audio: true, Video: true})
	waitPublishing(t, alice, 5)
	sub := grant(t, "viewer", roomID, protocol.RoomRights{Subscribe: true})
	tests := []struct {
		name, path, bearer string
		want               int
	}{
		{"no grant", "/whep/9/alice", "", http.StatusUnauthorized},
		{"publish right only", "/whep/9/alice", grant(t, "viewer", roomID, protocol.RoomRights{Publish: true}), http.StatusForbidden},
		{"grant for the string room \"9\"", "/whep/9/alice", grant(t, "viewer", protocol.StrRoom("9"), protocol.RoomRights{Subscribe: true}), http.StatusForbidden},
		{"user publishes nothing", "/whep/9/bob", sub, http.StatusNotFound},
		{"bad userId", "/whep/9/al%20ice", sub, http.StatusNotFound},
		{"bad layer", "/whep/9/alice?layer=huge", sub, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, status, body := playWHEP(t, base, tt.path, tt.bearer); p != nil || status != tt.want {
				t.Fatalf("POST %s: %d %s, want %d", tt.path, status, body, tt.want)
			}
		})
	}
	p, status, body := playWHEP(t, base, "/whep/9/alice", sub)
	if p == nil {
		t.Fatalf("POST: %d %s", status, body)
	}
	whipURL := base + "/whip/sessions/" + p.location[len(base+"/whep/sessions/"):]
	if status, _, _ := testhttp.Do(t, http.MethodDelete, whipURL, "", "", "", nil); status != http.StatusNotFound {
		t.Fatalf("DELETE of a WHEP session under /whip/: %d, want 404", status)
	}
	if status, _, _ := testhttp.Do(t, http.MethodDelete, p.location, "", "", "", nil); status != http.StatusOK {
		t.Fatalf("DELETE: %d", status)
	}
}
