package client

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// joinFake dials the fake SFU's server, logs in as userID and joins the room.
func joinFake(t *testing.T, ctx context.Context, fs *fakeServer, userID string) *Conn {
	t.Helper()
	c := dial(t, fs, Options{Peer: PeerConfig{Loopback: true}})
	if _, err := c.Login(ctx, 1, userID, "sig"); err != nil {
		t.Fatal(err)
	}
	if err := c.JoinRoom(ctx, protocol.IntRoom(1)); err != nil {
		t.Fatal(err)
	}
	return c
}

func checkTrack(t *testing.T, c *Conn, publisher string, kind webrtc.RTPCodecType) {
	t.Helper()
	ctx := testContext(t)
	tr, err := c.WaitRemoteTrack(ctx, publisher, kind, 25)
	if err != nil {
		t.Fatalf("%s: %v (tracks %+v, media errors %v)", c.UserID(), err, c.RemoteTracks(""), c.MediaErrors())
	}
	if tr.PayloadErrors != 0 {
		t.Errorf("%s: %s track of %s has %d payload errors", c.UserID(), kind, publisher, tr.PayloadErrors)
	}
}

func TestMediaThroughFakeSFU(t *testing.T) {
	sfu, fs := newFakeSFU(t)
	ctx := testContext(t)

	// alice publishes first.
	alice := joinFake(t, ctx, fs, "alice")
	if err := alice.StartMedia(ctx, MediaOptions{Audio: true, Video: true, KeyframeInterval: 10, AudioLevel: 30}); err != nil {
		t.Fatal(err)
	}
	if err := alice.StartMedia(ctx, MediaOptions{Audio: true}); !errors.Is(err, ErrMediaStarted) {
		t.Fatalf("second StartMedia: %v, want ErrMediaStarted", err)
	}
	if alice.Publisher() == nil || alice.Subscriber() == nil {
		t.Fatal("alice has no Publisher or Subscriber")
	}
	if st := alice.Publisher().ConnectionState(); st != webrtc.PeerConnectionStateConnected {
		t.Fatalf("publisher %s after StartMedia", st)
	}

	// bob joins: the server offers alice's tracks at once, before bob starts media. The
	// offer and its candidates must wait for StartMedia.
	bob := joinFake(t, ctx, fs, "bob")
	if _, err := bob.WaitEvent(ctx, protocol.MethodOffer, nil); err != nil {
		t.Fatal(err)
	}
	if bob.Subscriber() != nil {
		t.Fatal("bob has a Subscriber before StartMedia")
	}
	if err := bob.StartMedia(ctx, MediaOptions{}); err != nil {
		t.Fatal(err)
	}
	if bob.Publisher() != nil {
		t.Fatal("a receive-only StartMedia created a Publisher")
	}
	checkTrack(t, bob, "alice", webrtc.RTPCodecTypeAudio)
	checkTrack(t, bob, "alice", webrtc.RTPCodecTypeVideo)

	// carol publishes later: alice and bob renegotiate their subscribers, one offer at a
	// time.
	carol := joinFake(t, ctx, fs, "carol")
	if err := carol.StartMedia(ctx, MediaOptions{Audio: true, Video: true, KeyframeInterval: 10}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Conn{alice, bob} {
		checkTrack(t, c, "carol", webrtc.RTPCodecTypeAudio)
		checkTrack(t, c, "carol", webrtc.RTPCodecTypeVideo)
	}
	checkTrack(t, carol, "alice", webrtc.RTPCodecTypeVideo)
	if n := bob.EventCount(protocol.MethodOffer); n < 2 {
		t.Errorf("bob answered %d offers, want a re-offer", n)
	}
	sfu.mu.Lock()
	members := append([]*fakeMember(nil), sfu.members...)
	sfu.mu.Unlock()
	for _, m := range members {
		m.mu.Lock()
		pending := m.offerPending
		m.mu.Unlock()
		if pending {
			t.Errorf("%s: the last subscriber offer was not answered", m.userID)
		}
	}
	if got := len(alice.RemoteTracks("carol")); got != 2 {
		t.Errorf("alice has %d tracks of carol, want 2", got)
	}
	for _, c := range []*Conn{alice, bob, carol} {
		if errs := c.MediaErrors(); len(errs) != 0 {
			t.Errorf("%s media errors: %v", c.UserID(), errs)
		}
	}

	// StopMedia closes both PeerConnections and can be repeated.
	sent := alice.Publisher()
	if err := alice.StopMedia(); err != nil {
		t.Fatal(err)
	}
	if err := alice.StopMedia(); err != nil {
		t.Fatal(err)
	}
	if alice.Publisher() != nil || alice.Subscriber() != nil || alice.RemoteTracks("") != nil {
		t.Error("media still there after StopMedia")
	}
	if st := sent.ConnectionState(); st != webrtc.PeerConnectionStateClosed {
		t.Errorf("publisher %s after StopMedia", st)
	}
}

func TestStartMediaRejectedOffer(t *testing.T) {
	fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) {
		switch req.Method {
		case protocol.MethodLogin:
			fc.respond(req, protocol.LoginResult{UserID: "alice"})
		case protocol.MethodOffer:
			fc.respondError(req, protocol.NewError(protocol.CodeNotInRoom, ""))
		default:
			fc.respond(req, nil)
		}
	})
	c := dial(t, fs, Options{Peer: PeerConfig{Loopback: true}})
	ctx := testContext(t)
	if _, err := c.Login(ctx, 1, "alice", "sig"); err != nil {
		t.Fatal(err)
	}
	err := c.StartMedia(ctx, MediaOptions{Audio: true})
	if protocol.ErrorCode(err) != protocol.CodeNotInRoom {
		t.Fatalf("StartMedia: %v, want code %d", err, protocol.CodeNotInRoom)
	}
	if c.Publisher() != nil || c.Subscriber() != nil {
		t.Fatal("a failed StartMedia left media up")
	}
	// After the failure a new attempt is allowed (and fails the same way here).
	if err := c.StartMedia(ctx, MediaOptions{Audio: true}); errors.Is(err, ErrMediaStarted) {
		t.Fatalf("retry: %v", err)
	}
}

func TestStartMediaContextCancelled(t *testing.T) {
	// The server never answers the offer: StartMedia gives up with the context.
	fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) {
		switch req.Method {
		case protocol.MethodLogin:
			fc.respond(req, protocol.LoginResult{UserID: "alice"})
		case protocol.MethodOffer:
		default:
			fc.respond(req, nil)
		}
	})
	c := dial(t, fs, Options{Peer: PeerConfig{Loopback: true}})
	if _, err := c.Login(testContext(t), 1, "alice", "sig"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testContext(t))
	go func() {
		waitFor(t, 10*time.Second, "the offer", func() bool {
			for _, r := range fs.conn(0).requests() {
				if r.Method == protocol.MethodOffer {
					return true
				}
			}
			return false
		})
		cancel()
	}()
	if err := c.StartMedia(ctx, MediaOptions{Video: true}); !errors.Is(err, context.Canceled) {
		t.Fatalf("StartMedia: %v, want context.Canceled", err)
	}
	if c.Publisher() != nil {
		t.Fatal("publisher left after a cancelled StartMedia")
	}
}

// serverOffer makes a real SDP offer with one audio track, as the server would send.
func serverOffer(t *testing.T) string {
	t.Helper()
	api, err := NewAPI(PeerConfig{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}

func TestSubscriberAnswerErrors(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		wantRecord bool
	}{
		{"left the room meanwhile", protocol.CodeNotInRoom, false},
		{"answer rejected", protocol.CodeNegotiationFailed, true},
	}
	offer := serverOffer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) {
				switch req.Method {
				case protocol.MethodLogin:
					fc.respond(req, protocol.LoginResult{UserID: "bob"})
					fc.notify(protocol.MethodOffer, protocol.OfferParams{Target: protocol.TargetSubscriber, SDP: protocol.SessionDescription{Type: "offer", SDP: offer}})
				case protocol.MethodAnswer:
					fc.respondError(req, protocol.NewError(tt.code, ""))
					// The worker handles notifications in order: once this marker's error
					// is recorded, the answer's outcome is too.
					fc.notify(protocol.MethodTrickle, protocol.TrickleParams{Target: "marker"})
				default:
					fc.respond(req, nil)
				}
			})
			c := dial(t, fs, Options{Peer: PeerConfig{Loopback: true}})
			ctx := testContext(t)
			if _, err := c.Login(ctx, 1, "bob", "sig"); err != nil {
				t.Fatal(err)
			}
			if err := c.StartMedia(ctx, MediaOptions{}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "the marker", func() bool {
				for _, err := range c.MediaErrors() {
					if strings.Contains(err.Error(), "marker") {
						return true
					}
				}
				return false
			})
			recorded := false
			for _, err := range c.MediaErrors() {
				if protocol.ErrorCode(err) == tt.code {
					recorded = true
				}
			}
			if recorded != tt.wantRecord {
				t.Errorf("answer error %d recorded %v, want %v (errors %v)", tt.code, recorded, tt.wantRecord, c.MediaErrors())
			}
		})
	}
}

func TestPeerConfigICEServers(t *testing.T) {
	login := protocol.LoginResult{UserID: "alice", ICEServers: []protocol.ICEServer{
		{URLs: []string{"turn:127.0.0.1:3478?transport=udp"}, Username: "u", Credential: "p"},
	}}
	fromLogin := []webrtc.ICEServer{{URLs: []string{"turn:127.0.0.1:3478?transport=udp"}, Username: "u", Credential: "p"}}
	explicit := []webrtc.ICEServer{{URLs: []string{"stun:127.0.0.1:3478"}}}
	tests := []struct {
		name string
		peer PeerConfig
		want []webrtc.ICEServer
	}{
		{"loopback ignores the login's servers", PeerConfig{Loopback: true}, nil},
		{"login servers by default", PeerConfig{}, fromLogin},
		{"configured servers win", PeerConfig{ICEServers: explicit}, explicit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Conn{opts: Options{Peer: tt.peer}}
			if got := c.peerConfig(login).ICEServers; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ICE servers %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestWatchConnection: connected closes at the first connected state, failed at the first
// failed or closed state; repeated states close nothing twice.
func TestWatchConnection(t *testing.T) {
	const (
		connected  = webrtc.PeerConnectionStateConnected
		failed     = webrtc.PeerConnectionStateFailed
		closed     = webrtc.PeerConnectionStateClosed
		connecting = webrtc.PeerConnectionStateConnecting
	)
	tests := []struct {
		name                    string
		states                  []webrtc.PeerConnectionState
		wantConnected, wantFail bool
	}{
		{"none", nil, false, false},
		{"connecting", []webrtc.PeerConnectionState{connecting}, false, false},
		{"connected twice", []webrtc.PeerConnectionState{connecting, connected, connected}, true, false},
		{"failed then closed", []webrtc.PeerConnectionState{failed, closed}, false, true},
		{"connected then closed", []webrtc.PeerConnectionState{connected, closed, closed}, true, true},
	}
	isClosed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var handler func(webrtc.PeerConnectionState)
			c, f := WatchConnection(func(h func(webrtc.PeerConnectionState)) { handler = h })
			for _, s := range tt.states {
				handler(s)
			}
			if isClosed(c) != tt.wantConnected || isClosed(f) != tt.wantFail {
				t.Fatalf("connected %v, failed %v", isClosed(c), isClosed(f))
			}
		})
	}
}

// TestCountRTCP: the publisher's RTCP readers count NACKs and PLI/FIRs, run keyframe for
// each PLI/FIR and end at the first read error.
func TestCountRTCP(t *testing.T) {
	batches := [][]rtcp.Packet{
		{&rtcp.TransportLayerNack{}, &rtcp.PictureLossIndication{}},
		{&rtcp.ReceiverReport{}, &rtcp.FullIntraRequest{}, &rtcp.TransportLayerNack{}},
	}
	read := func() ([]rtcp.Packet, interceptor.Attributes, error) {
		if len(batches) == 0 {
			return nil, nil, errors.New("closed")
		}
		b := batches[0]
		batches = batches[1:]
		return b, nil, nil
	}
	var p Publisher
	keyframes := 0
	p.wg.Add(1)
	p.countRTCP(read, func() { keyframes++ })
	if s := p.Stats(); s.NACKs != 2 || s.KeyframeRequests != 2 || keyframes != 2 {
		t.Fatalf("NACKs %d, keyframe requests %d, keyframe calls %d; want 2, 2, 2", s.NACKs, s.KeyframeRequests, keyframes)
	}
}
