package sfu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// newTestEngine starts an Engine on an ephemeral loopback port; opts change the
// configuration first.
func newTestEngine(t testing.TB, opts ...func(*Config)) *Engine {
	t.Helper()
	cfg := DefaultConfig()
	cfg.UDPPort = 0
	for _, o := range opts {
		o(&cfg)
	}
	var logger *slog.Logger
	if os.Getenv("SFU_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e, err := NewEngine(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("engine close: %v", err)
		}
	})
	return e
}

// newClientPC is a plain pion PeerConnection standing in for a browser, on loopback.
func newClientPC(t testing.TB) *webrtc.PeerConnection {
	t.Helper()
	return newClientPCWith(t, webrtc.Configuration{})
}

// newClientPCWith is newClientPC with a PeerConnection configuration.
func newClientPCWith(t testing.TB, config webrtc.Configuration) *webrtc.PeerConnection {
	t.Helper()
	return newClientPCWithInterceptors(t, config, func(media *webrtc.MediaEngine, _ *webrtc.SettingEngine) (*interceptor.Registry, error) {
		registry := &interceptor.Registry{}
		return registry, webrtc.RegisterDefaultInterceptors(media, registry)
	})
}

// newClientPCWithInterceptors is newClientPCWith whose interceptors (and the feedback and
// header extensions they negotiate, registered in the media engine, and the settings
// they need) interceptors chooses instead of pion's defaults.
func newClientPCWithInterceptors(t testing.TB, config webrtc.Configuration, interceptors func(*webrtc.MediaEngine, *webrtc.SettingEngine) (*interceptor.Registry, error)) *webrtc.PeerConnection {
	t.Helper()
	media := &webrtc.MediaEngine{}
	if err := media.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	settings := webrtc.SettingEngine{}
	settings.SetIncludeLoopbackCandidate(true)
	settings.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4}) // interceptors may add TCP
	settings.SetInterfaceFilter(func(n string) bool { return n == "lo" })
	settings.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	settings.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	registry, err := interceptors(media, &settings)
	if err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(media), webrtc.WithInterceptorRegistry(registry), webrtc.WithSettingEngine(settings))
	pc, err := api.NewPeerConnection(config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// candidatePeer is a Publisher or a Subscriber, as trickle ICE sees it.
type candidatePeer interface {
	AddICECandidate(webrtc.ICECandidateInit) error
	OnICECandidate(func(webrtc.ICECandidateInit))
	ConnectionState() webrtc.PeerConnectionState
}

// connectCandidates trickles the client's candidates to the server Peer and back.
func connectCandidates(t testing.TB, client *webrtc.PeerConnection, server candidatePeer) {
	client.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			if err := server.AddICECandidate(c.ToJSON()); err != nil && !errors.Is(err, ErrPeerClosed) {
				t.Errorf("server AddICECandidate: %v", err)
			}
		}
	})
	server.OnICECandidate(func(c webrtc.ICECandidateInit) {
		_ = client.AddICECandidate(c)
	})
}

// answerOffer lets publisher Peer pub answer the client's offer and sets the answer.
func answerOffer(t testing.TB, client *webrtc.PeerConnection, pub *Publisher, offer webrtc.SessionDescription) {
	t.Helper()
	answer, err := pub.HandleOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SetRemoteDescription(answer); err != nil {
		t.Fatal(err)
	}
	pub.MarkLocalDescriptionSent()
}

// received is what the subscribing client got on one track.
type received struct {
	mu      sync.Mutex
	packets []*rtp.Packet
	ended   bool
}

func (r *received) snapshot() ([]*rtp.Packet, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*rtp.Packet(nil), r.packets...), r.ended
}

func TestPublishSubscribeOverLoopback(t *testing.T) {
	engine := newTestEngine(t)
	if engine.UDPAddr() == nil || engine.UDPAddr().Port == 0 {
		t.Fatalf("UDPAddr() = %v after Start", engine.UDPAddr())
	}

	// Server side: a publisher and a subscriber Peer.
	pub, err := engine.NewPublisher("alice")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := engine.NewSubscriber(SubscriberOptions{ID: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	receivers := make(chan *Receiver, 4)
	closedReceivers := make(chan string, 4)
	pub.OnTrack(func(r *Receiver) {
		r.OnClose(func() {
			closedReceivers <- r.TrackID()
			// Closing the publisher from its own track's OnClose must not deadlock.
			if err := pub.Close(); err != nil {
				t.Errorf("publisher Close from OnClose: %v", err)
			}
		})
		receivers <- r
	})

	// Subscribing client: answers the server's offers, reads every track until it ends.
	subClient := newClientPC(t)
	connectCandidates(t, subClient, sub)
	var recvMu sync.Mutex
	byKind := map[webrtc.RTPCodecType]*received{}
	var readers sync.WaitGroup
	subClient.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		rec := &received{}
		recvMu.Lock()
		byKind[track.Kind()] = rec
		recvMu.Unlock()
		if track.StreamID() != "alice" {
			t.Errorf("subscriber track stream ID %q, want the publisher's ID", track.StreamID())
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				p, _, err := track.ReadRTP()
				rec.mu.Lock()
				if err != nil {
					rec.ended = errors.Is(err, io.EOF)
					rec.mu.Unlock()
					return
				}
				rec.packets = append(rec.packets, p)
				rec.mu.Unlock()
			}
		}()
	})
	negotiate := make(chan struct{}, 1)
	sub.OnNegotiationNeeded(func() {
		select {
		case negotiate <- struct{}{}:
		default:
		}
	})
	stopNegotiation := make(chan struct{})
	var stopNegotiationOnce sync.Once
	stopNegotiating := func() { stopNegotiationOnce.Do(func() { close(stopNegotiation) }) }
	var negotiationDone sync.WaitGroup
	negotiationDone.Add(1)
	go func() {
		defer negotiationDone.Done()
		for {
			select {
			case <-stopNegotiation:
				return
			case <-negotiate:
			}
			offer, err := sub.CreateOffer()
			if err != nil {
				t.Errorf("CreateOffer: %v", err)
				return
			}
			if err := subClient.SetRemoteDescription(offer); err != nil {
				t.Errorf("client SetRemoteDescription: %v", err)
				return
			}
			answer, err := subClient.CreateAnswer(nil)
			if err == nil {
				err = subClient.SetLocalDescription(answer)
			}
			if err != nil {
				t.Errorf("client answer: %v", err)
				return
			}
			sub.MarkLocalDescriptionSent()
			if err := sub.HandleAnswer(answer); err != nil {
				t.Errorf("HandleAnswer: %v", err)
				return
			}
		}
	}()
	defer func() {
		stopNegotiating()
		negotiationDone.Wait()
	}()

	// Publishing client: audio + VP8, offers to the server.
	pubClient := newClientPC(t)
	connectCandidates(t, pubClient, pub)
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "alice-media")
	if err != nil {
		t.Fatal(err)
	}
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "alice-media")
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []webrtc.TrackLocal{audio, video} {
		if _, err := pubClient.AddTrack(tr); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pubClient.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pubClient.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	answerOffer(t, pubClient, pub, offer)

	// Send: video every 5 ms with a keyframe every 10 packets, audio alongside.
	sentVideo := map[uint16][]byte{}
	sentAudio := map[uint16][]byte{}
	var sentMu sync.Mutex
	stopSending := make(chan struct{})
	var sending sync.WaitGroup
	sending.Add(1)
	go func() {
		defer sending.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := uint16(0); ; i++ {
			select {
			case <-stopSending:
				return
			case <-tick.C:
			}
			vp := append(vp8Payload(i%10 == 0, i), bytes.Repeat([]byte{byte(i)}, 200)...)
			ap := binary.BigEndian.AppendUint16([]byte{0xA0}, i)
			vseq, aseq := 1000+i, 60000+i
			sentMu.Lock()
			sentVideo[vseq], sentAudio[aseq] = vp, ap
			sentMu.Unlock()
			_ = video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: vseq, Timestamp: uint32(i/2) * 3000, Marker: i%2 == 1}, Payload: vp})
			_ = audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: aseq, Timestamp: uint32(i) * 960}, Payload: ap})
		}
	}()
	defer func() {
		select {
		case <-stopSending:
		default:
			close(stopSending)
		}
		sending.Wait()
	}()

	// The room's part: subscribe bob to both of alice's tracks.
	for i := 0; i < 2; i++ {
		select {
		case r := <-receivers:
			if r.StreamID() != "alice" {
				t.Fatalf("receiver stream ID %q, want alice", r.StreamID())
			}
			if _, err := sub.AddDownTrack(r); err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("publisher's tracks did not arrive")
		}
	}

	get := func(kind webrtc.RTPCodecType) *received {
		recvMu.Lock()
		defer recvMu.Unlock()
		return byKind[kind]
	}
	waitFor(t, func() bool {
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			rec := get(kind)
			if rec == nil {
				return false
			}
			if pkts, _ := rec.snapshot(); len(pkts) < 40 {
				return false
			}
		}
		return true
	})

	sentMu.Lock()
	checkContinuous(t, "video", get(webrtc.RTPCodecTypeVideo), sentVideo, true)
	checkContinuous(t, "audio", get(webrtc.RTPCodecTypeAudio), sentAudio, false)
	sentMu.Unlock()

	// The publisher leaves: both Receivers close and bob's tracks end.
	close(stopSending)
	sending.Wait()
	if err := pubClient.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case <-closedReceivers:
		case <-time.After(30 * time.Second):
			t.Fatal("receivers did not close after the publisher left")
		}
	}
	waitFor(t, func() bool {
		_, audioEnded := get(webrtc.RTPCodecTypeAudio).snapshot()
		_, videoEnded := get(webrtc.RTPCodecTypeVideo).snapshot()
		return audioEnded && videoEnded
	})
	stopNegotiating()
	negotiationDone.Wait()
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	_ = subClient.Close()
	readers.Wait()
}

// checkContinuous: the subscriber's packets carry consecutive sequence numbers and each
// payload is exactly the payload the publisher sent under the corresponding number.
func checkContinuous(t *testing.T, name string, rec *received, sent map[uint16][]byte, video bool) {
	t.Helper()
	pkts, _ := rec.snapshot()
	idOf := func(p *rtp.Packet) uint16 {
		if video {
			return binary.BigEndian.Uint16(p.Payload[2:4])
		}
		return binary.BigEndian.Uint16(p.Payload[1:3])
	}
	inBase := map[bool]uint16{true: 1000, false: 60000}[video]
	first := pkts[0]
	if video && !isVP8KeyframeStart(first.Payload) {
		ids := []uint16{}
		for _, p := range pkts[:min(len(pkts), 12)] {
			ids = append(ids, idOf(p))
		}
		t.Errorf("%s: first packet is not a keyframe; first ids %v seqs from %d", name, ids, first.SequenceNumber)
	}
	offset := first.SequenceNumber - (inBase + idOf(first))
	for i, p := range pkts {
		inSeq := inBase + idOf(p)
		if p.SequenceNumber-inSeq != offset {
			t.Fatalf("%s packet %d: seq %d for input %d, offset changed", name, i, p.SequenceNumber, inSeq)
		}
		if !bytes.Equal(p.Payload, sent[inSeq]) {
			t.Fatalf("%s packet %d: payload differs from what was sent", name, i)
		}
		if i > 0 && p.SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Errorf("%s packet %d: seq %d after %d", name, i, p.SequenceNumber, pkts[i-1].SequenceNumber)
		}
		if p.SSRC == 0 || len(p.Extensions) > 1 {
			t.Errorf("%s packet %d: ssrc %d, %d extensions (only transport-cc expected)", name, i, p.SSRC, len(p.Extensions))
		}
	}
}
