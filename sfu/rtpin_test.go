package sfu

import (
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// publisherOf is the Engine's one Publisher.
func publisherOf(t *testing.T, e *Engine) *Publisher {
	t.Helper()
	pubs := e.Publishers()
	if len(pubs) != 1 {
		t.Fatalf("%d publishers, want 1", len(pubs))
	}
	return pubs[0]
}

// boundRoute is the own read path's route of r's single layer, nil when not bound.
func boundRoute(e *Engine, r *Receiver) *inboundRoute {
	return e.stamping.stamps.inbound.slot(r.one.ssrc.Load()).Load()
}

// withOwnInbound sets rtc.own_srtp_inbound.
func withOwnInbound(on bool) func(*Config) { return func(c *Config) { c.OwnSRTPInbound = on } }

// A publisher's packets are decrypted and forwarded by the socket's read goroutine once
// the track is bound (rtc.own_srtp_inbound on), all of them, none refused; off, pion's
// path carries them and nothing is bound.
func TestOwnReadPathForwards(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[on], func(t *testing.T) {
			c := newOwnPathCall(t, 200, withOwnInbound(on))
			pub := publisherOf(t, c.engine)
			if !on {
				if pub.in != nil || boundRoute(c.engine, c.track) != nil {
					t.Fatal("the own read path is set up while off")
				}
				if !c.burst(50) {
					t.Fatal("a burst was not read")
				}
				return
			}
			waitFor(t, func() bool { c.write(); return boundRoute(c.engine, c.track) != nil })
			taken := pub.in.taken.Load()
			if !c.burst(50) {
				t.Fatal("a burst was not read")
			}
			if got := pub.in.taken.Load() - taken; got < 50 {
				t.Fatalf("%d of 50 packets taken by the socket goroutine", got)
			}
			if n := pub.in.rejected.Load(); n != 0 {
				t.Fatalf("%d packets refused", n)
			}
		})
	}
}

// The rollover counter: a stream bound before its sequence numbers wrap goes on through
// the wrap on the own context; one whose numbers are near the wrap is bound after it,
// with the rollover counter the track goroutine counted. Nothing is refused, every packet
// is read.
func TestOwnReadPathRollover(t *testing.T) {
	for _, first := range []uint16{64000, 65300} {
		c := newOwnPathCallFrom(t, newClientPC, first, 200, withOwnInbound(true))
		pub := publisherOf(t, c.engine)
		for i := range 40 { // 2000 packets, past the wrap
			if !c.burst(50) {
				t.Fatalf("first %d: burst %d was not read (%d taken, %d refused, %d via pion, bound %v)", first, i,
					pub.in.taken.Load(), pub.in.rejected.Load(), pub.in.viaPion.Load(), boundRoute(c.engine, c.track) != nil)
			}
		}
		if boundRoute(c.engine, c.track) == nil || pub.in.taken.Load() == 0 {
			t.Fatalf("first %d: not bound (%d taken)", first, pub.in.taken.Load())
		}
		if n := pub.in.rejected.Load(); n != 0 {
			t.Fatalf("first %d: %d packets refused after the wrap", first, n)
		}
	}
}

// recordingConn is a publishing client's UDP socket that keeps its last RTP datagram to
// the server, so a test can replay it or forge one from the client's address.
type recordingConn struct {
	*net.UDPConn
	mu   sync.Mutex
	last []byte
	to   net.Addr
}

func (c *recordingConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if len(b) >= 12 && b[0]&0xc0 == 0x80 && (b[1] < 192 || b[1] > 223) {
		c.mu.Lock()
		c.last, c.to = append(c.last[:0], b...), addr
		c.mu.Unlock()
	}
	return c.UDPConn.WriteTo(b, addr)
}

// Packets of a bound stream from the publisher's address that fail authentication (a
// forged payload, a flipped bit) or replay one already taken are refused and counted;
// the stream goes on.
func TestOwnReadPathRefusesForgedAndReplayed(t *testing.T) {
	var rec *recordingConn
	client := func(tb testing.TB) *webrtc.PeerConnection {
		mux := clientUDPMux(tb, func(conn *net.UDPConn) net.PacketConn {
			rec = &recordingConn{UDPConn: conn}
			return rec
		})
		return newClientPCWithInterceptors(tb, webrtc.Configuration{}, func(media *webrtc.MediaEngine, s *webrtc.SettingEngine) (*interceptor.Registry, error) {
			s.SetICEUDPMux(mux)
			registry := &interceptor.Registry{}
			return registry, webrtc.RegisterDefaultInterceptors(media, registry)
		})
	}
	c := newOwnPathCallFrom(t, client, 0, 200, withOwnInbound(true))
	pub := publisherOf(t, c.engine)
	waitFor(t, func() bool { c.write(); return boundRoute(c.engine, c.track) != nil })
	c.write()
	rec.mu.Lock()
	last, to := append([]byte(nil), rec.last...), rec.to
	rec.mu.Unlock()
	if binary.BigEndian.Uint32(last[8:12]) != c.track.one.ssrc.Load() {
		t.Fatal("the recorded datagram is not the track's")
	}
	time.Sleep(50 * time.Millisecond) // the original first
	forged := append([]byte(nil), last...)
	forged[len(forged)-1] ^= 1
	before := pub.in.rejected.Load()
	for _, b := range [][]byte{last, forged, last[:14]} {
		if _, err := rec.UDPConn.WriteTo(b, to); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return pub.in.rejected.Load() >= before+3 })
	if !c.burst(50) {
		t.Fatal("the stream stopped after forged packets")
	}
}

// A publisher closed while the socket goroutine forwards its packets: the Receiver's
// wait covers the socket goroutine (the race detector watches), the route is gone, and
// the subscriber's DownTrack with it.
func TestOwnReadPathPublisherCloseUnderLoad(t *testing.T) {
	c := newOwnPathCall(t, 200, withOwnInbound(true))
	waitFor(t, func() bool { c.write(); return boundRoute(c.engine, c.track) != nil })
	stop := repeat(time.Millisecond, func() { c.write(); c.write() })
	defer stop()
	time.Sleep(100 * time.Millisecond)
	if err := publisherOf(t, c.engine).Close(); err != nil {
		t.Fatal(err)
	}
	if boundRoute(c.engine, c.track) != nil {
		t.Fatal("the route outlives the Publisher")
	}
	if n := len(c.sub.DownlinkStats().Tracks); n != 0 {
		t.Fatalf("%d DownTracks after the publisher closed", n)
	}
}

// An ICE restart of the publisher moves it to a new address: its packets from there
// are taken again (those before the pair change go through pion and the track
// goroutine), with the same keys.
func TestOwnReadPathFollowsICERestart(t *testing.T) {
	c := newOwnPathCall(t, 200, withOwnInbound(true))
	pub := publisherOf(t, c.engine)
	waitFor(t, func() bool { c.write(); return boundRoute(c.engine, c.track) != nil })
	before := *pub.in.remote.Load()
	offer, err := c.publisher.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.publisher.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	answerOffer(t, c.publisher, pub, offer)
	waitFor(t, func() bool {
		c.write()
		now := pub.in.remote.Load()
		return now != nil && *now != before
	})
	taken := pub.in.taken.Load()
	waitFor(t, func() bool { return c.burst(20) })
	if pub.in.taken.Load()-taken < 20 {
		t.Fatalf("%d packets taken after the restart", pub.in.taken.Load()-taken)
	}
}

// Media that bypasses pion's ICE connection does not let the publisher's connection go
// disconnected: a call three times the disconnected timeout long, a client that sends
// only media (pion's agent sends no keepalive while it hears the server's RTCP), stays
// connected, every packet written arrives and the own path takes most of them (how many
// the client writes in the 3 s depends on the machine's load, not on the server).
func TestOwnReadPathKeepsICEAlive(t *testing.T) {
	c := newOwnPathCall(t, 200, withOwnInbound(true), func(cfg *Config) {
		cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout, cfg.ICEKeepaliveInterval = time.Second, 2*time.Second, 300*time.Millisecond
	})
	pub := publisherOf(t, c.engine)
	var left atomic.Value
	pub.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s != webrtc.PeerConnectionStateConnected {
			left.Store(s)
		}
	})
	waitFor(t, func() bool { c.write(); return boundRoute(c.engine, c.track) != nil })
	taken, viaPion := pub.in.taken.Load(), pub.in.viaPion.Load()
	written := uint64(0)
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		c.write()
		written++
	}
	if s := left.Load(); s != nil {
		t.Fatalf("the publisher went %v while media flowed", s)
	}
	if pub.ConnectionState() != webrtc.PeerConnectionStateConnected {
		t.Fatalf("publisher %v", pub.ConnectionState())
	}
	waitFor(t, func() bool { return pub.in.taken.Load()-taken+pub.in.viaPion.Load()-viaPion >= written })
	if got := pub.in.taken.Load() - taken; got < written/2 {
		t.Fatalf("%d of %d packets taken on the own path", got, written)
	}
}

// With the own read path, a publisher's first offer that asks to be the DTLS server
// (setup:passive) is refused with ErrPassiveOffer, as a WHEP viewer's is (D253): the
// publisher API answers as the DTLS server, and pion would take the client role the
// offer leaves it. Off, pion answers it as before.
func TestOwnReadPathPassiveOffer(t *testing.T) {
	for _, on := range []bool{true, false} {
		engine := newTestEngine(t, withOwnInbound(on))
		pub, err := engine.NewPublisher("alice")
		if err != nil {
			t.Fatal(err)
		}
		_, offer := offerTracks(t, newClientPC(t))
		offer.SDP = strings.ReplaceAll(offer.SDP, "a=setup:actpass", "a=setup:passive")
		_, err = pub.HandleOffer(offer)
		if on != errors.Is(err, ErrPassiveOffer) {
			t.Fatalf("own read path %v: %v", on, err)
		}
		_ = pub.Close()
	}
}

// A simulcast publisher's rid layers are bound one by one, each when its own first
// packets arrived (here seconds apart): every layer ends up on the own read path with its
// own route, and the later layers' packets reach their layers.
func TestOwnReadPathSimulcastLayersBoundApart(t *testing.T) {
	engine := newTestEngine(t, withOwnInbound(true))
	rids := []string{"q", "h", "f"}
	var layers []*webrtc.TrackLocalStaticRTP
	for _, rid := range rids {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
			"cam", "alice-media", webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, tr)
	}
	client := newClientPCWithInterceptors(t, webrtc.Configuration{}, func(media *webrtc.MediaEngine, _ *webrtc.SettingEngine) (*interceptor.Registry, error) {
		for _, uri := range []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI} {
			if err := media.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
				return nil, err
			}
		}
		registry := &interceptor.Registry{}
		return registry, webrtc.RegisterDefaultInterceptors(media, registry)
	})
	sender, err := client.AddTrack(layers[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers[1:] {
		if err := sender.AddEncoding(l); err != nil {
			t.Fatal(err)
		}
	}
	pub, receivers := publishFrom(t, engine, client)
	// pion's sender does not write mid and rid: the test does, with the negotiated IDs.
	var midID, ridID uint8
	waitFor(t, func() bool {
		for _, e := range sender.GetParameters().HeaderExtensions {
			switch e.URI {
			case sdp.SDESMidURI:
				midID = uint8(e.ID)
			case sdp.SDESRTPStreamIDURI:
				ridID = uint8(e.ID)
			}
		}
		return midID != 0 && ridID != 0
	})
	mid := []byte(client.GetTransceivers()[0].Mid())
	var sending atomic.Int32
	sending.Store(1)
	var seq [3]uint16
	stop := repeat(10*time.Millisecond, func() {
		for i := range int(sending.Load()) {
			seq[i]++
			p := vp8Packet(seq[i])
			_ = p.Header.SetExtension(midID, mid)
			_ = p.Header.SetExtension(ridID, []byte(rids[i]))
			_ = layers[i].WriteRTP(p)
		}
	})
	defer stop()
	r := nextReceiver(t, receivers)
	if !r.Simulcast() {
		t.Fatal("not a simulcast Receiver")
	}
	bound := func(i int) bool {
		l := r.sim.layers[i]
		ssrc := l.ssrc.Load()
		return ssrc != 0 && engine.stamping.stamps.inbound.slot(ssrc).Load() != nil
	}
	for n := 1; n <= len(rids); n++ {
		sending.Store(int32(n))
		waitFor(t, func() bool { return bound(n - 1) })
		if n < len(rids) && bound(n) {
			t.Fatalf("layer %d bound before it sent", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i, l := range r.sim.layers {
		before := l.lastPacketNs.Load()
		waitFor(t, func() bool { return l.lastPacketNs.Load() > before })
		if !bound(i) {
			t.Fatalf("layer %s unbound", l.rid)
		}
	}
	if pub.in.taken.Load() == 0 || pub.in.rejected.Load() != 0 {
		t.Fatalf("%d taken, %d refused", pub.in.taken.Load(), pub.in.rejected.Load())
	}
}

// A track the publisher adds by renegotiation mid-call is bound on its own, beside the
// first, through the same keys; both go on being taken.
func TestOwnReadPathRenegotiatedTrack(t *testing.T) {
	c := newOwnPathCall(t, 200, withOwnInbound(true))
	pub := publisherOf(t, c.engine)
	waitFor(t, func() bool { c.write(); return boundRoute(c.engine, c.track) != nil })
	second, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam2", "cam-media")
	if err != nil {
		t.Fatal(err)
	}
	receivers := make(chan *Receiver, 1)
	pub.OnTrack(func(r *Receiver) { receivers <- r })
	if _, err := c.publisher.AddTrack(second); err != nil {
		t.Fatal(err)
	}
	offer, err := c.publisher.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.publisher.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	answerOffer(t, c.publisher, pub, offer)
	var seq uint16
	stop := repeat(10*time.Millisecond, func() {
		seq++
		_ = second.WriteRTP(vp8Packet(seq))
	})
	defer stop()
	r2 := nextReceiver(t, receivers)
	waitFor(t, func() bool { return boundRoute(c.engine, r2) != nil })
	if !c.burst(20) || boundRoute(c.engine, c.track) == nil {
		t.Fatal("the first track is no longer read on the own path")
	}
	before := r2.uplink.packets.Load()
	waitFor(t, func() bool { return r2.uplink.packets.Load() > before+10 })
	if n := pub.in.rejected.Load(); n != 0 {
		t.Fatalf("%d packets refused", n)
	}
}

// vp8Packet is the test publishers' packet seq: a VP8 frame, a keyframe every 8th.
func vp8Packet(seq uint16) *rtp.Packet {
	return &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Marker: true, Timestamp: uint32(seq) * 3000},
		Payload: vp8Payload(seq%8 == 1, seq)}
}

// nextReceiver is the next published track, within 20 s.
func nextReceiver(t *testing.T, receivers <-chan *Receiver) *Receiver {
	t.Helper()
	select {
	case r := <-receivers:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the published track did not arrive")
		return nil
	}
}
