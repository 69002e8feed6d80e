package web

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/parley-rtc/parley/internal/testhttp"
	"github.com/parley-rtc/parley/internal/teststack"
	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling"
)

// The WHIP and WHEP clients of these tests are written as an outsider would (OBS,
// GStreamer's whipsink and whepsrc): plain HTTP and a pion PeerConnection, no Parley code.

// devRoomGrant asks the server's dev endpoint for a room grant of userID in the string
// room roomName with rights ("publish", "subscribe").
func devRoomGrant(t *testing.T, srv *testServer, userID, roomName string, rights ...string) string {
	t.Helper()
	req, err := json.Marshal(map[string]any{"userId": userID, "roomId": roomName, "rights": rights})
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := testhttp.Do(t, http.MethodPost, srv.URL+"/dev/roomgrant", "application/json", "", string(req), nil)
	var res devRoomGrantResponse
	if status != http.StatusOK || json.Unmarshal([]byte(body), &res) != nil || res.RoomGrant == "" {
		t.Fatalf("POST /dev/roomgrant: %d %s", status, body)
	}
	return res.RoomGrant
}

// loopbackPeer is a pion PeerConnection with pion's default codecs and interceptors that
// gathers UDP4 on loopback (the tests' network namespace has nothing else).
func loopbackPeer(t *testing.T) *webrtc.PeerConnection {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// offerSDP posts pc's offer, candidates gathered (neither WHIP nor WHEP clients need
// trickle), to endpoint with bearer, and applies the 201's answer. It returns the session
// resource's absolute URL.
func offerSDP(t *testing.T, pc *webrtc.PeerConnection, endpoint, bearer string) string {
	t.Helper()
	status, h, body := testhttp.Do(t, http.MethodPost, endpoint, "application/sdp", bearer, teststack.GatheredOffer(t, pc, nil), nil)
	if status != http.StatusCreated || h.Get("Content-Type") != "application/sdp" {
		t.Fatalf("POST %s: %d %q %s", endpoint, status, h.Get("Content-Type"), body)
	}
	loc, err := url.Parse(endpoint)
	if err == nil {
		loc, err = loc.Parse(h.Get("Location"))
	}
	if err != nil || h.Get("Location") == "" {
		t.Fatalf("POST %s: Location %q (%v)", endpoint, h.Get("Location"), err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		t.Fatal(err)
	}
	return loc.String()
}

// encodedMedia makes 320×240 VP8 video (a keyframe every 30 frames, IVF) and a 440 Hz
// Opus sine (20 ms frames, one per Ogg page) with ffmpeg (libvpx, libopus): real media a
// browser decodes.
func encodedMedia(t *testing.T) (ivfPath, oggPath string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg is required for the WHIP browser test: %v (scripts/ensure-test-deps.sh installs it)", err)
	}
	dir := t.TempDir()
	ivfPath, oggPath = filepath.Join(dir, "v.ivf"), filepath.Join(dir, "a.ogg")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "4", "-c:v", "libvpx", "-g", "30", "-b:v", "300k", ivfPath},
		{"-f", "lavfi", "-i", "sine=frequency=440:duration=4", "-c:a", "libopus", "-frame_duration", "20", "-page_duration", "20000", oggPath},
	} {
		if out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %s %v", args, out, err)
		}
	}
	return ivfPath, oggPath
}

// readFrames returns the frames of an IVF file, or the packets of an Ogg Opus file whose
// pages hold one packet each (the two header pages skipped).
func readFrames(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var frames [][]byte
	if strings.HasSuffix(path, ".ivf") {
		r, _, err := ivfreader.NewWith(f)
		if err != nil {
			t.Fatal(err)
		}
		for {
			frame, _, err := r.ParseNextFrame()
			if errors.Is(err, io.EOF) {
				return frames
			} else if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, frame)
		}
	}
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	for {
		page, _, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return frames
		} else if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(page), "OpusHead") && !strings.HasPrefix(string(page), "OpusTags") {
			frames = append(frames, page)
		}
	}
}

// whipPublish publishes the media of encodedMedia, in a loop, into the string room
// roomName as a WHIP client with bearer; the publisher stops when the test ends.
func whipPublish(t *testing.T, srv *testServer, roomName, bearer string) {
	t.Helper()
	ivfPath, oggPath := encodedMedia(t)
	video, audio := readFrames(t, ivfPath), readFrames(t, oggPath)
	pc := loopbackPeer(t)
	vt, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "obs")
	if err != nil {
		t.Fatal(err)
	}
	at, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "obs")
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []webrtc.TrackLocal{at, vt} {
		if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() {
		close(stop)
		<-done
		_ = pc.Close()
	})
	offerSDP(t, pc, srv.URL+"/whip/s:"+url.PathEscape(roomName), bearer)
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ { // audio every 20 ms, video every 30 ms
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if n%2 == 0 {
				_ = at.WriteSample(media.Sample{Data: audio[n/2%len(audio)], Duration: 20 * time.Millisecond})
			}
			if n%3 == 0 {
				_ = vt.WriteSample(media.Sample{Data: video[n/3%len(video)], Duration: 30 * time.Millisecond})
			}
		}
	}()
}

// TestBrowserWHIPPublishToChromium: a WHIP client (pion) publishes ffmpeg-encoded VP8
// and Opus into a string room; a Chromium user in that room (lab page, room grant from
// /dev/roomgrant) decodes its 320×240 video and hears its sine.
func TestBrowserWHIPPublishToChromium(t *testing.T) {
	srv := startTestServer(t, true)
	bob := signedInBrowsers(t, srv, "bob")[0]
	joinLabRoom(t, bob, "stage 1")
	whipPublish(t, srv, "stage 1", devRoomGrant(t, srv, "obs", "stage 1", "publish"))

	waitFor[int](bob, "obs joining", eventCountJS("onUserJoin", `p.userId === "obs"`), 20*time.Second)
	st := waitMediaFlowing(t, bob)
	t.Logf("bob receives obs: %+v", st)
	if st.VideoWidth != 320 || st.VideoHeight != 240 {
		t.Errorf("bob decodes %d×%d, want obs's 320×240", st.VideoWidth, st.VideoHeight)
	}
	// The sine is loud (ffmpeg's default amplitude 1/8, about −18 dBFS): audioLevel ≈ 0.1.
	waitFor[bool](bob, "obs's sine audible", `(async () => (await (`+statsJS+`)).audioLevel > 0.05)()`, 20*time.Second)
	if n := srv.WHIP.Sessions(); n != 1 {
		t.Fatalf("%d WHIP sessions, want 1", n)
	}
	checkNoErrors(t, bob)
}

// whepCounts is what a WHEP player received: RTP packets by kind and VP8 keyframes by
// picture width.
type whepCounts struct {
	mu     sync.Mutex
	audio  int
	video  int
	widths map[int]int
}

// count notes one packet of kind.
func (c *whepCounts) count(kind webrtc.RTPCodecType, payload []byte) {
	var vp8 codecs.VP8Packet
	c.mu.Lock()
	defer c.mu.Unlock()
	if kind == webrtc.RTPCodecTypeAudio {
		c.audio++
		return
	}
	c.video++
	// The first packet of a keyframe: descriptor S=1, partition 0, frame tag P=0, then
	// the start code and the 14-bit width (RFC 6386 §9.1).
	if b, err := vp8.Unmarshal(payload); err == nil && vp8.S == 1 && vp8.PID == 0 && len(b) >= 10 && b[0]&1 == 0 && b[3] == 0x9d {
		c.widths[int(binary.LittleEndian.Uint16(b[6:])&0x3fff)]++
	}
}

// snapshot returns the counts and the keyframes by width so far.
func (c *whepCounts) snapshot() (audio, video int, widths map[int]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	widths = make(map[int]int, len(c.widths))
	for w, n := range c.widths {
		widths[w] = n
	}
	return c.audio, c.video, widths
}

// waitPublishing waits until userID publishes audio and video in the string room
// roomName on the server: a WHEP viewer takes the tracks published when it starts
// (docs/whip.md), and the server has a browser's video only from its first packet on.
func waitPublishing(t *testing.T, srv *testServer, roomName, userID string) {
	t.Helper()
	id, err := room.ParseID(0, roomName)
	if err != nil {
		t.Fatal(err)
	}
	id = id.InApp(signaling.DevSDKAppID)
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if r, ok := srv.Rooms.Room(id); ok {
			for _, p := range r.Participants() {
				if p.UserID == userID && p.AudioPublished && p.VideoPublished {
					return
				}
			}
		}
		if time.Now().After(end) {
			t.Fatalf("%s does not publish audio and video in room %q", userID, roomName)
		}
	}
}

// whepPlay is a WHEP player (pion, one receive-only audio and one video section) of
// path with bearer; it returns the session's URL and what it receives. It stops when
// the test ends.
func whepPlay(t *testing.T, srv *testServer, path, bearer string) (string, *whepCounts) {
	t.Helper()
	pc := loopbackPeer(t)
	counts := &whepCounts{widths: map[int]int{}}
	var readers sync.WaitGroup
	t.Cleanup(func() {
		_ = pc.Close()
		readers.Wait()
	})
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				pkt, _, err := track.ReadRTP()
				if err != nil {
					return
				}
				counts.count(track.Kind(), pkt.Payload)
			}
		}()
	})
	return offerSDP(t, pc, srv.URL+path, bearer), counts
}

// TestBrowserWHEPViewsChromium: a Chromium user publishes in a room (SDK joinRoom, camera
// open, simulcast); a WHEP player (pion, receive-only) POSTs /whep/{roomId}/{userId} with
// a subscribe grant and receives the user's Opus and VP8, keyframes included: with
// ?layer=low only the 320-wide layer, without a hint the largest layer sent.
func TestBrowserWHEPViewsChromium(t *testing.T) {
	srv := startTestServer(t, true)
	alice := signedInBrowsers(t, srv, "alice")[0]
	joinLabRoom(t, alice, "show")
	waitFor[bool](alice, "the camera published", `window.parleyDemo.engine.isSimulcastPublishing`, 20*time.Second)
	waitPublishing(t, srv, "show", "alice")
	grant := devRoomGrant(t, srv, "viewer", "show", "subscribe")
	tests := []struct {
		name, query string
		ok          func(widths map[int]int) bool // the keyframes by width are right
	}{
		// Chromium sends a keyframe when asked (the start of forwarding), rarely otherwise.
		{"layer=low", "?layer=low", func(w map[int]int) bool { return w[320] >= 1 && len(w) == 1 }},
		{"no hint: the largest layer", "", func(w map[int]int) bool { return w[1280] >= 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			location, counts := whepPlay(t, srv, "/whep/s:show/alice"+tt.query, grant)
			for end := time.Now().Add(45 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				a, v, widths := counts.snapshot()
				if a > 100 && v > 300 && tt.ok(widths) {
					t.Logf("the WHEP player got %d audio and %d video packets, keyframes by width %v", a, v, widths)
					break
				}
				if time.Now().After(end) {
					alice.dumpOutput()
					t.Fatalf("the WHEP player got %d audio and %d video packets, keyframes by width %v", a, v, widths)
				}
			}
			if status, _, body := testhttp.Do(t, http.MethodDelete, location, "", "", "", nil); status != http.StatusOK {
				t.Fatalf("DELETE %s: %d %s", location, status, body)
			}
			if n := srv.WHIP.Sessions(); n != 0 {
				t.Fatalf("%d WHEP sessions after DELETE, want 0", n)
			}
		})
	}
	checkNoErrors(t, alice)
}

// playerStatsJS is statsJS for the WHEP player page (examples/whep-player): its
// PeerConnection's inbound-rtp.
const playerStatsJS = `(async () => {
  ` + newMediaStatsJS + `
  if (window.whepPlayer.pc) (await window.whepPlayer.pc.getStats()).forEach(addInbound);
  return out;
})()`

// TestBrowserWHEPPlayerPage: the example WHEP player page (examples/whep-player, plain
// RTCPeerConnection and fetch, on its own origin listed in allowed_origins) plays a WHIP
// publisher (pion) in Chromium: it decodes the 320×240 video and hears the sine; Stop
// DELETEs the viewer session.
func TestBrowserWHEPPlayerPage(t *testing.T) {
	site := httptest.NewServer(http.FileServerFS(os.DirFS("examples/whep-player")))
	t.Cleanup(site.Close)
	srv := startTestServerFor(t, true, []string{site.URL})
	whipPublish(t, srv, "stage", devRoomGrant(t, srv, "obs", "stage", "publish"))
	waitPublishing(t, srv, "stage", "obs")

	b := newBrowsers(t, "viewer")[0]
	b.do(
		chromedp.Navigate(site.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#form")),
		chromedp.SetValue(chromedp.CSS("#endpoint"), srv.URL+"/whep/s:stage/obs"),
		chromedp.SetValue(chromedp.CSS("#token"), devRoomGrant(t, srv, "viewer", "stage", "subscribe")),
		chromedp.Click(chromedp.CSS("#play")),
	)
	st := waitMediaFlowingOf(t, b, playerStatsJS)
	t.Logf("the player page receives: %+v", st)
	if st.VideoWidth != 320 || st.VideoHeight != 240 {
		t.Errorf("the player decodes %d×%d, want obs's 320×240", st.VideoWidth, st.VideoHeight)
	}
	waitFor[bool](b, "obs's sine audible", `(async () => (await (`+playerStatsJS+`)).audioLevel > 0.05)()`, 20*time.Second)
	waitFor[bool](b, "the video element playing", `document.getElementById('video').videoWidth === 320`, 20*time.Second)
	if n := srv.WHIP.Sessions(); n != 2 {
		t.Fatalf("%d WHIP and WHEP sessions, want 2", n)
	}

	b.do(chromedp.Click(chromedp.CSS("#stop")))
	waitFor[bool](b, "the player stopped", `window.whepPlayer.status === 'stopped'`, 20*time.Second)
	if n := srv.WHIP.Sessions(); n != 1 {
		t.Fatalf("%d sessions after Stop, want 1 (the WHIP publisher)", n)
	}
}
