package signaling_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/testhttp"
	"github.com/parley-rtc/parley/internal/teststack"
	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// The WHIP client of these tests is written as an outsider would (OBS, GStreamer's
// whipsink): plain HTTP and a pion PeerConnection, no Parley client code.

// whipServer mounts the stack's WHIP endpoint on its own HTTP server.
func (st *stack) whipServer(t *testing.T, cfg signaling.WHIPConfig) (*signaling.WHIP, string) {
	t.Helper()
	w, err := st.service.NewWHIP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(func() {
		srv.Close()
		if err := w.Close(); err != nil {
			t.Errorf("whip close: %v", err)
		}
	})
	return w, srv.URL
}

// whipPublisher is an outside WHIP client: one pion PeerConnection sending VP8 and Opus.
type whipPublisher struct {
	pc       *webrtc.PeerConnection
	location string // absolute URL of the session resource
	etag     string
	answer   string
	stop     chan struct{}
	wg       sync.WaitGroup
	// videoGate, when not nil, holds the video back until it is closed.
	videoGate chan struct{}
}

// whipVideo is a WHIP publisher's video: one track, or one per simulcast layer, each
// with the width its keyframes say.
type whipVideo struct {
	transceiver *webrtc.RTPTransceiver
	layers      []videoLayer
}

type videoLayer struct {
	track *webrtc.TrackLocalStaticRTP
	rid   string // "" without simulcast
	width uint16
	pack  rtp.Packetizer
}

// newWHIPPeer is a send-only PeerConnection on loopback with an Opus track and a VP8
// video: one track 640 wide, or with several widths one simulcast layer each (rids l0,
// l1, ... smallest first).
func newWHIPPeer(t *testing.T, widths ...uint16) (*webrtc.PeerConnection, *webrtc.TrackLocalStaticSample, *whipVideo) {
	t.Helper()
	pc := loopbackPeerConnection(t)
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "obs")
	must(t, err)
	if _, err := pc.AddTransceiverFromTrack(audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	if len(widths) == 0 {
		widths = []uint16{640}
	}
	v := &whipVideo{}
	for i, w := range widths {
		l := videoLayer{width: w, pack: rtp.NewPacketizer(1200, 96, 0, &codecs.VP8Payloader{}, rtp.NewRandomSequencer(), 90000)}
		var opts []func(*webrtc.TrackLocalStaticRTP)
		if len(widths) > 1 {
			l.rid = fmt.Sprintf("l%d", i)
			opts = append(opts, webrtc.WithRTPStreamID(l.rid))
		}
		l.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "obs", opts...)
		must(t, err)
		if i == 0 {
			v.transceiver, err = pc.AddTransceiverFromTrack(l.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			must(t, err)
		} else {
			must(t, v.transceiver.Sender().AddEncoding(l.track))
		}
		v.layers = append(v.layers, l)
	}
	return pc, audio, v
}

// loopbackPeerConnection is a pion PeerConnection with default codecs and interceptors
// and the mid and rid header extensions (simulcast), that gathers on the loopback
// interface only (UDP4), as the test server listens there.
func loopbackPeerConnection(t *testing.T) *webrtc.PeerConnection {
	t.Helper()
	m := &webrtc.MediaEngine{}
	must(t, m.RegisterDefaultCodecs())
	for _, uri := range []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI} {
		must(t, m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo))
	}
	must(t, m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.SDESMidURI}, webrtc.RTPCodecTypeAudio))
	reg := &interceptor.Registry{}
	must(t, webrtc.RegisterDefaultInterceptors(m, reg))
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	must(t, err)
	return pc
}

// gatheredOffer makes pc's offer and waits for its candidates (a WHIP client without
// trickle sends them in the offer).
func gatheredOffer(t *testing.T, pc *webrtc.PeerConnection) string {
	t.Helper()
	return teststack.GatheredOffer(t, pc, nil)
}

// publishWHIP publishes into roomPath (the URL form of the RoomId) with bearer and
// starts sending media (video as newWHIPPeer makes it for widths); the test ends it.
func publishWHIP(t *testing.T, base, roomPath, bearer string, widths ...uint16) *whipPublisher {
	t.Helper()
	return publishWHIPGated(t, base, roomPath, bearer, nil, widths...)
}

// publishWHIPGated is publishWHIP whose video (announced in the offer) is sent only once
// videoGate is closed (nil: at once).
func publishWHIPGated(t *testing.T, base, roomPath, bearer string, videoGate chan struct{}, widths ...uint16) *whipPublisher {
	t.Helper()
	pc, audio, video := newWHIPPeer(t, widths...)
	p := &whipPublisher{pc: pc, stop: make(chan struct{}), videoGate: videoGate}
	t.Cleanup(p.close)
	status, h, body := testhttp.Do(t, http.MethodPost, base+"/whip/"+roomPath, "application/sdp", bearer, gatheredOffer(t, pc), nil)
	if status != http.StatusCreated {
		t.Fatalf("WHIP POST: %d %s", status, body)
	}
	if ct := h.Get("Content-Type"); ct != "application/sdp" {
		t.Fatalf("answer Content-Type %q", ct)
	}
	loc, err := url.Parse(base + "/whip/" + roomPath)
	if err == nil {
		loc, err = loc.Parse(h.Get("Location"))
	}
	if err != nil || h.Get("Location") == "" || h.Get("ETag") == "" {
		t.Fatalf("WHIP POST: Location %q (%v), ETag %q", h.Get("Location"), err, h.Get("ETag"))
	}
	p.location, p.etag, p.answer = loc.String(), h.Get("ETag"), body
	if !strings.Contains(body, "a=candidate:") {
		t.Fatalf("the answer carries no candidate (WHIP has no server trickle):\n%s", body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		t.Fatal(err)
	}
	p.wg.Add(1)
	go p.send(audio, video)
	return p
}

// send writes 20 ms Opus frames and ~33 fps VP8 frames on each layer (a keyframe every
// 30) until stop. pion does not write the mid and rid header extensions on simulcast
// encodings, so a simulcast layer's packets carry them here (as a real client's do).
func (p *whipPublisher) send(audio *webrtc.TrackLocalStaticSample, video *whipVideo) {
	defer p.wg.Done()
	var midID, ridID uint8
	for _, ext := range video.transceiver.Sender().GetParameters().HeaderExtensions {
		switch ext.URI {
		case sdp.SDESMidURI:
			midID = uint8(ext.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(ext.ID)
		}
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		_ = audio.WriteSample(media.Sample{Data: []byte{0xfc, 0xff, 0xfe}, Duration: 20 * time.Millisecond})
		if n%3 == 2 { // 2 of 3 ticks ≈ 33 fps
			continue
		}
		if p.videoGate != nil {
			select {
			case <-p.videoGate:
			default:
				continue
			}
		}
		for _, l := range video.layers {
			for _, pkt := range l.pack.Packetize(vp8Frame(n%45 == 0, l.width), 2970) {
				if l.rid != "" && midID != 0 && ridID != 0 {
					_ = pkt.SetExtension(midID, []byte(video.transceiver.Mid()))
					_ = pkt.SetExtension(ridID, []byte(l.rid))
				}
				_ = l.track.WriteRTP(pkt)
			}
		}
	}
}

// vp8Frame is a VP8 frame whose header says keyframe (width × width*9/16) or inter frame.
func vp8Frame(key bool, width uint16) []byte {
	tag := uint32(1<<4) | uint32(100)<<5
	if !key {
		tag |= 1
	}
	b := []byte{byte(tag), byte(tag >> 8), byte(tag >> 16)}
	if key {
		b = append(b, 0x9d, 0x01, 0x2a)
		b = binary.LittleEndian.AppendUint16(b, width)
		b = binary.LittleEndian.AppendUint16(b, width*9/16)
	}
	return append(b, bytes.Repeat([]byte{0x55}, 400)...)
}

func (p *whipPublisher) close() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
	_ = p.pc.Close()
}

// viewer logs userID in, joins roomID to receive only and starts its media.
func (st *stack) viewer(t *testing.T, userID string, roomID protocol.RoomID) *client.Conn {
	t.Helper()
	c := st.login(t, userID)
	ctx := ctxT(t, 30*time.Second)
	must(t, c.Request(ctx, protocol.MethodJoinRoom, protocol.JoinRoomParams{RoomID: roomID, RoomGrant: grant(t, userID, roomID, protocol.RoomRights{Subscribe: true})}, nil))
	if err := c.StartMedia(ctx, client.MediaOptions{}); err != nil {
		t.Fatalf("%s: start media: %v", userID, err)
	}
	return c
}

// TestWHIPPublishReachesRoom: a WHIP client publishes into a string room; a Go SDK user
// in that room hears onUserJoin and the availability of the WHIP user, receives its
// audio without asking and its video after startRemoteView, like any publisher's (D24);
// DELETE ends the session and the user leaves the room.
func TestWHIPPublishReachesRoom(t *testing.T) {
	st := newStack(t)
	w, base := st.whipServer(t, signaling.DefaultWHIPConfig())
	roomID := protocol.StrRoom("stage #1")
	bob := st.viewer(t, "bob", roomID)

	pub := publishWHIP(t, base, "s:"+url.PathEscape(roomID.Str), grant(t, "obs", roomID, protocol.RoomRights{Publish: true}))
	sawJoin(t, bob, "obs", roomID)
	sawAudio(t, bob, "obs", true)
	sawVideo(t, bob, "obs", true)
	ctx := ctxT(t, 60*time.Second)
	if _, err := bob.WaitRemoteTrack(ctx, "obs", webrtc.RTPCodecTypeAudio, 50); err != nil {
		t.Fatal(err)
	}
	must(t, bob.StartRemoteView(ctx, "obs", protocol.VideoQuality{}))
	if _, err := bob.WaitRemoteTrack(ctx, "obs", webrtc.RTPCodecTypeVideo, 60); err != nil {
		t.Fatal(err)
	}
	if n := w.Sessions(); n != 1 {
		t.Fatalf("%d WHIP sessions, want 1", n)
	}

	if status, _, body := testhttp.Do(t, http.MethodDelete, pub.location, "", "", "", nil); status != http.StatusOK {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	waitFor(t, bob, protocol.EventUserLeave, func(e protocol.UserLeaveEvent) bool { return e.UserID == "obs" })
	if n := w.Sessions(); n != 0 {
		t.Fatalf("%d WHIP sessions after DELETE, want 0", n)
	}
	if status, _, _ := testhttp.Do(t, http.MethodDelete, pub.location, "", "", "", nil); status != http.StatusNotFound {
		t.Fatalf("second DELETE: %d, want 404", status)
	}
}

// TestWHIPICERestart: a PATCH with new ICE credentials (RFC 9725 §4.3.2) answers 200
// with the server's new credentials and candidates and a new ETag; the client applies
// them and its media keeps reaching the room over the new ICE session.
func TestWHIPICERestart(t *testing.T) {
	st := newStack(t)
	_, base := st.whipServer(t, signaling.DefaultWHIPConfig())
	roomID := protocol.IntRoom(77)
	bob := st.viewer(t, "bob", roomID)
	pub := publishWHIP(t, base, "77", grant(t, "obs", roomID, protocol.RoomRights{Publish: true}))
	ctx := ctxT(t, 60*time.Second)
	if _, err := bob.WaitRemoteTrack(ctx, "obs", webrtc.RTPCodecTypeAudio, 20); err != nil {
		t.Fatal(err)
	}

	local := teststack.GatheredOffer(t, pub.pc, &webrtc.OfferOptions{ICERestart: true})
	frag := sdpLines(local, "a=ice-ufrag:", "a=ice-pwd:") + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n" + sdpLines(local, "a=candidate:")
	status, h, body := testhttp.Do(t, http.MethodPatch, pub.location, "application/trickle-ice-sdpfrag", "", frag, http.Header{"If-Match": {"*"}})
	if status != http.StatusOK || h.Get("Content-Type") != "application/trickle-ice-sdpfrag" {
		t.Fatalf("ICE restart PATCH: %d %q %s", status, h.Get("Content-Type"), body)
	}
	if h.Get("ETag") == "" || h.Get("ETag") == pub.etag {
		t.Fatalf("ETag after the restart %q, before %q: want a new one", h.Get("ETag"), pub.etag)
	}
	oldUfrag := sdpLines(pub.answer, "a=ice-ufrag:")
	newUfrag := sdpLines(body, "a=ice-ufrag:")
	if newUfrag == "" || strings.Contains(oldUfrag, strings.TrimSpace(newUfrag)) || !strings.Contains(body, "a=candidate:") {
		t.Fatalf("restart fragment without new credentials or candidates:\n%s", body)
	}
	// The new answer: the old one with the server's new credentials and candidates.
	answer := withLines(pub.answer, body)
	must(t, pub.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}))
	before := audioPackets(bob, "obs")
	waitUntil(t, ctx, "audio after the ICE restart", func() bool {
		return pub.pc.ICEConnectionState() == webrtc.ICEConnectionStateConnected && audioPackets(bob, "obs") > before+50
	})

	// The old ETag no longer matches.
	if status, _, _ := testhttp.Do(t, http.MethodPatch, pub.location, "application/trickle-ice-sdpfrag", "", "a=end-of-candidates\r\n", http.Header{"If-Match": {pub.etag}}); status != http.StatusPreconditionFailed {
		t.Fatalf("PATCH with the old ETag: %d, want 412", status)
	}
}

// sdpLines are the lines of sdp starting with one of prefixes, CRLF-terminated, the
// credentials once.
func sdpLines(sdp string, prefixes ...string) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, line := range strings.Split(sdp, "\n") {
		line = strings.TrimSuffix(line, "\r")
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) && !seen[line] {
				seen[line] = true
				b.WriteString(line + "\r\n")
			}
		}
	}
	return b.String()
}

// withLines is answer with the ICE credentials and candidates of frag.
func withLines(answer, frag string) string {
	ufrag := strings.TrimSpace(sdpLines(frag, "a=ice-ufrag:"))
	pwd := strings.TrimSpace(sdpLines(frag, "a=ice-pwd:"))
	cands := sdpLines(frag, "a=candidate:")
	var b strings.Builder
	for _, line := range strings.SplitAfter(answer, "\n") {
		bare := strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(bare, "a=ice-ufrag:"):
			line = ufrag + "\r\n"
		case strings.HasPrefix(bare, "a=ice-pwd:"):
			line = pwd + "\r\n"
			line += cands
		case strings.HasPrefix(bare, "a=candidate:"), bare == "a=end-of-candidates":
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

func audioPackets(c *client.Conn, publisher string) uint64 {
	return trackPackets(c, publisher, webrtc.RTPCodecTypeAudio)
}

// TestWHIPConnectTimeout: a session whose client never connects ends after
// whip.connect_timeout and its user leaves the room.
func TestWHIPConnectTimeout(t *testing.T) {
	st := newStack(t)
	cfg := signaling.DefaultWHIPConfig()
	cfg.ConnectTimeout = 300 * time.Millisecond
	w, base := st.whipServer(t, cfg)
	pc, _, _ := newWHIPPeer(t)
	offer := gatheredOffer(t, pc)
	must(t, pc.Close()) // never answers ICE checks
	roomID := protocol.IntRoom(5)
	if status, _, body := testhttp.Do(t, http.MethodPost, base+"/whip/5", "application/sdp", grant(t, "obs", roomID, protocol.RoomRights{Publish: true}), offer, nil); status != http.StatusCreated {
		t.Fatalf("POST: %d %s", status, body)
	}
	waitUntil(t, ctxT(t, 30*time.Second), "the session to end and obs to leave", func() bool {
		r, ok := st.service.Rooms().Room(roomIn(t, roomID))
		return w.Sessions() == 0 && (!ok || len(r.Participants()) == 0)
	})
}

// roomIn is roomID in the development app.
func roomIn(t *testing.T, roomID protocol.RoomID) room.ID {
	t.Helper()
	id, err := room.ParseID(roomID.Int, roomID.Str)
	if err != nil {
		t.Fatal(err)
	}
	return id.InApp(signaling.DevSDKAppID)
}

// TestWHIPErrors: the answers of RFC 9725 to what is wrong with a request (401 without a
// valid room grant, 403 for another room or without the publish right, 400 bad SDP or
// fragment, 404 unknown room form or session, 409 user in the room already, 412 stale
// ETag, 413 body too large, 415 wrong content type, 429 too many sessions of a user).
func TestWHIPErrors(t *testing.T) {
	st := newStack(t)
	cfg := signaling.DefaultWHIPConfig()
	cfg.MaxSessionsPerUser = 2
	cfg.MaxBodyBytes = 16 << 10
	_, base := st.whipServer(t, cfg)
	pc, _, _ := newWHIPPeer(t)
	t.Cleanup(func() { _ = pc.Close() })
	offer := gatheredOffer(t, pc)
	int123, str123 := protocol.IntRoom(123), protocol.StrRoom("123")
	pubGrant := grant(t, "obs", int123, protocol.RoomRights{Publish: true})
	expired, err := signaling.MintRoomGrant(signaling.DevSDKAppID, []byte(signaling.DevSecret), "obs", int123, protocol.RoomRights{Publish: true}, time.Minute, time.Now().Add(-time.Hour))
	must(t, err)

	tests := []struct {
		name        string
		path        string
		contentType string
		bearer      string
		body        string
		want        int
	}{
		{"no grant", "/whip/123", "application/sdp", "", offer, http.StatusUnauthorized},
		{"not a JWT", "/whip/123", "application/sdp", "nonsense", offer, http.StatusUnauthorized},
		{"a userSig is not a grant", "/whip/123", "application/sdp", sig(t, "obs", time.Hour), offer, http.StatusUnauthorized},
		{"expired grant", "/whip/123", "application/sdp", expired, offer, http.StatusUnauthorized},
		{"grant for the string room \"123\"", "/whip/123", "application/sdp", grant(t, "obs", str123, protocol.RoomRights{Publish: true}), offer, http.StatusForbidden},
		{"grant for the integer room, string URL", "/whip/s:123", "application/sdp", pubGrant, offer, http.StatusForbidden},
		{"subscribe right only", "/whip/123", "application/sdp", grant(t, "obs", int123, protocol.RoomRights{Subscribe: true}), offer, http.StatusForbidden},
		{"wrong content type", "/whip/123", "application/json", pubGrant, offer, http.StatusUnsupportedMediaType},
		{"not SDP", "/whip/123", "application/sdp", pubGrant, "hello", http.StatusBadRequest},
		{"SDP without media", "/whip/123", "application/sdp", pubGrant, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", http.StatusBadRequest},
		{"body too large", "/whip/123", "application/sdp", pubGrant, offer + strings.Repeat("a=x\r\n", 4<<10), http.StatusRequestEntityTooLarge},
		{"leading zero", "/whip/0123", "application/sdp", pubGrant, offer, http.StatusNotFound},
		{"integer out of range", "/whip/2147483648", "application/sdp", pubGrant, offer, http.StatusNotFound},
		{"neither digits nor s:", "/whip/abc", "application/sdp", pubGrant, offer, http.StatusNotFound},
		{"string room with a character outside the set", "/whip/s:a%2Ab", "application/sdp", pubGrant, offer, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := testhttp.Do(t, http.MethodPost, base+tt.path, tt.contentType, tt.bearer, tt.body, nil)
			if status != tt.want {
				t.Fatalf("POST %s: %d %s, want %d", tt.path, status, body, tt.want)
			}
			if status == http.StatusUnauthorized && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without WWW-Authenticate: Bearer")
			}
		})
	}

	pub := publishWHIP(t, base, "123", pubGrant)
	sessionTests := []struct {
		name, method, url, contentType, body string
		header                               http.Header
		want                                 int
	}{
		{"same user again in the room", http.MethodPost, base + "/whip/123", "application/sdp", offer, nil, http.StatusConflict},
		{"PATCH unknown session", http.MethodPatch, base + "/whip/sessions/0000", "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", nil, http.StatusNotFound},
		{"DELETE unknown session", http.MethodDelete, base + "/whip/sessions/0000", "", "", nil, http.StatusNotFound},
		{"PATCH wrong content type", http.MethodPatch, pub.location, "application/sdp", "a=end-of-candidates\r\n", nil, http.StatusUnsupportedMediaType},
		{"PATCH not a fragment", http.MethodPatch, pub.location, "application/trickle-ice-sdpfrag", "garbage", nil, http.StatusBadRequest},
		{"PATCH candidate before an m-line", http.MethodPatch, pub.location, "application/trickle-ice-sdpfrag", "a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n", nil, http.StatusBadRequest},
		{"PATCH stale ETag", http.MethodPatch, pub.location, "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", http.Header{"If-Match": {`"stale"`}}, http.StatusPreconditionFailed},
		{"PATCH end of candidates", http.MethodPatch, pub.location, "application/trickle-ice-sdpfrag", "a=end-of-candidates\r\n", http.Header{"If-Match": {pub.etag}}, http.StatusNoContent},
		{"PATCH a trickled candidate", http.MethodPatch, pub.location, "application/trickle-ice-sdpfrag", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:9 1 udp 2130706431 127.0.0.1 9 typ host\r\n", nil, http.StatusNoContent},
		{"GET a session", http.MethodGet, pub.location, "", "", nil, http.StatusMethodNotAllowed},
	}
	for _, tt := range sessionTests {
		t.Run(tt.name, func(t *testing.T) {
			bearer := ""
			if tt.method == http.MethodPost {
				bearer = pubGrant
			}
			if status, _, body := testhttp.Do(t, tt.method, tt.url, tt.contentType, bearer, tt.body, tt.header); status != tt.want {
				t.Fatalf("%s %s: %d %s, want %d", tt.method, tt.url, status, body, tt.want)
			}
		})
	}

	t.Run("sessions per user", func(t *testing.T) {
		publishWHIP(t, base, "124", grant(t, "obs", protocol.IntRoom(124), protocol.RoomRights{Publish: true}))
		status, _, body := testhttp.Do(t, http.MethodPost, base+"/whip/125", "application/sdp", grant(t, "obs", protocol.IntRoom(125), protocol.RoomRights{Publish: true}), offer, nil)
		if status != http.StatusTooManyRequests {
			t.Fatalf("third session of obs: %d %s, want 429", status, body)
		}
	})
}

// TestWHIPCORS: a browser origin listed in signaling.allowed_origins gets the CORS
// headers (preflight included); another origin is refused.
func TestWHIPCORS(t *testing.T) {
	st := newStack(t, func(c *signalingConfig) { c.Signaling.AllowedOrigins = []string{"https://studio.example"} })
	_, base := st.whipServer(t, signaling.DefaultWHIPConfig())
	preflight := http.Header{"Origin": {"https://studio.example"}, "Access-Control-Request-Method": {"POST"}}
	status, h, _ := testhttp.Do(t, http.MethodOptions, base+"/whip/1", "", "", "", preflight)
	if status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://studio.example" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(h.Get("Access-Control-Expose-Headers"), "Location") || h.Get("Accept-Post") != "application/sdp" {
		t.Fatalf("preflight: %d %v", status, h)
	}
	status, h, _ = testhttp.Do(t, http.MethodOptions, base+"/whip/1", "", "", "", http.Header{"Origin": {"https://evil.example"}})
	if status != http.StatusForbidden || h.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin: %d %v", status, h)
	}
}
