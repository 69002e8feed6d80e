package sfu

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// injectingConn is a client's UDP socket that remembers where its datagrams came from
// (the server), so a test can write what it likes to the server from the client's
// address; while gone, it drops everything both ways (the client vanished).
type injectingConn struct {
	*net.UDPConn
	server atomic.Pointer[net.UDPAddr]
	gone   atomic.Bool
}

func (c *injectingConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(b)
		if err == nil && c.gone.Load() {
			continue
		}
		if a, ok := addr.(*net.UDPAddr); ok && err == nil {
			c.server.Store(a)
		}
		return n, addr, err
	}
}

func (c *injectingConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.gone.Load() {
		return len(b), nil
	}
	return c.UDPConn.WriteTo(b, addr)
}

// injectingClient is a subscribing client's setting: its ICE runs on an injectingConn.
func injectingClient(t *testing.T) (*injectingConn, func(*webrtc.SettingEngine)) {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	inject := &injectingConn{UDPConn: conn}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: inject})
	t.Cleanup(func() { _ = mux.Close() })
	return inject, func(s *webrtc.SettingEngine) { s.SetICEUDPMux(mux) }
}

// writeOnly is a PacketConn (a spare socket that receives nothing) whose writes go to
// the server through c, for a DTLS client whose ClientHello flights must reach the
// server from the client's address.
type writeOnly struct {
	net.PacketConn
	c *injectingConn
}

func (w *writeOnly) WriteTo(b []byte, _ net.Addr) (int, error) {
	return w.c.WriteTo(b, w.c.server.Load())
}

// A client that sends the server a second DTLS handshake (a new ClientHello and its
// retransmissions) and garbage DTLS records from its own address, after the first
// handshake, changes nothing: the own path keeps the first handshake's keys and the client
// keeps reading everything.
func TestOwnPathSurvivesSecondHandshakeAndGarbage(t *testing.T) {
	inject, settings := injectingClient(t)
	c := newLossyLoopbackCall(t, 1, callLoss{settings: settings})
	sub := c.subs[0]
	ctx := sub.keys.context()
	if ctx == nil || sub.out.own.Load() == 0 || inject.server.Load() == nil {
		t.Fatal("the subscriber is not on the own path")
	}

	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	spare, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	w := &writeOnly{PacketConn: spare, c: inject}
	client, err := dtls.Client(w, inject.server.Load(), &dtls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true,
		SRTPProtectionProfiles: []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM}, ExtendedMasterSecret: dtls.RequireExtendedMasterSecret})
	if err != nil {
		t.Fatal(err)
	}
	hctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	go func() { _ = client.HandshakeContext(hctx) }()
	for _, garbage := range [][]byte{
		{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0},             // a truncated ClientHello, epoch 0
		{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8}, // application data, epoch 1
		{20, 0xfe, 0xfd, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 1},                      // a ChangeCipherSpec, epoch 5
		{63, 0xff, 0xff, 0xff},
	} {
		if _, err := inject.WriteTo(garbage, inject.server.Load()); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		c.sendBursts(4)
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	_ = client.Close()
	if c.gate.lost != 0 {
		t.Fatalf("the client lost %d packets", c.gate.lost)
	}
	if sub.keys.context() != ctx {
		t.Fatal("the SRTP context changed")
	}
	if own, fwd := sub.out.own.Load(), sub.sender.forwardedPackets.Load(); own != fwd {
		t.Fatalf("%d of %d packets went the own path", own, fwd)
	}
}

// A viewer (WHEP: the client offers, the server answers) reads on the own path when its
// offer lets the server be the DTLS server (setup:actpass, pion's and browsers' offer, or
// setup:active). A first offer with setup:passive is refused (ErrPassiveOffer): the
// viewer's answer says passive whatever the offer says, while pion would take the DTLS
// client role, so neither end would start the handshake (before, the client read nothing).
func TestOwnPathViewerDTLSRoles(t *testing.T) {
	c := newOwnPathCall(t, 200)
	for _, tc := range []struct {
		setup   string
		refused bool
	}{{"actpass", false}, {"active", false}, {"passive", true}} {
		t.Run(tc.setup, func(t *testing.T) {
			viewer, err := c.engine.NewSubscriber(SubscriberOptions{ID: "viewer-" + tc.setup})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = viewer.Close() })
			client := newClientPC(t)
			if _, err := client.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				t.Fatal(err)
			}
			var read atomic.Uint32
			done := make(chan struct{})
			client.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				defer close(done)
				for {
					if _, _, err := track.ReadRTP(); err != nil {
						return
					}
					read.Add(1)
				}
			})
			connectCandidates(t, client, viewer)
			offer, err := client.CreateOffer(nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := client.SetLocalDescription(offer); err != nil {
				t.Fatal(err)
			}
			offer.SDP = strings.ReplaceAll(offer.SDP, "a=setup:actpass", "a=setup:"+tc.setup)
			_, _, err = viewer.AnswerViewer(offer, []*Receiver{c.track})
			if tc.refused {
				if !errors.Is(err, ErrPassiveOffer) {
					t.Fatalf("AnswerViewer: %v, want %v", err, ErrPassiveOffer)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			answer, err := viewer.GatheredLocalDescription(ctx)
			if err != nil {
				t.Fatal(err)
			}
			viewer.MarkLocalDescriptionSent()
			if err := client.SetRemoteDescription(answer); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { c.write(); return read.Load() >= 20 })
			if fwd, own := viewer.sender.forwardedPackets.Load(), viewer.out.own.Load(); own != fwd {
				t.Fatalf("%d of %d packets went the own path, want all", own, fwd)
			}
			_ = client.Close()
			<-done
		})
	}
}

// When the client stops answering (its consent to receive expires, RFC 7675: ICE failed
// after ice_disconnected_timeout + ice_failed_timeout), the own path stops sending to its
// address, as pion's path stops with pion's selected pair, until an ICE restart selects
// a pair again; then the client reads again on the same context.
func TestOwnPathStopsWhenConsentExpires(t *testing.T) {
	inject, settings := injectingClient(t)
	c := newLossyLoopbackCall(t, 1, callLoss{settings: settings}, func(cfg *Config) {
		cfg.ICEKeepaliveInterval, cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout = 200*time.Millisecond, time.Second, time.Second
	})
	sub, client := c.subs[0], c.clients[0]
	inject.gone.Store(true)
	waitFor(t, func() bool { return sub.pc.ICEConnectionState() == webrtc.ICEConnectionStateFailed })
	// What the Sender handles after that: sent (forwarded) or dropped as unroutable.
	handled := func() uint64 { return sub.sender.forwardedPackets.Load() + sub.out.unroutable.Load() }
	own, before := sub.out.own.Load(), handled()
	waitFor(t, func() bool {
		c.write(false)
		time.Sleep(time.Millisecond)
		return handled() > before+50
	})
	if sent := sub.out.own.Load() - own; sent != 0 {
		t.Fatalf("%d packets sent to a client whose consent expired", sent)
	}

	inject.gone.Store(false)
	read := c.gate.counts[0].Load()
	waitFor(t, func() bool {
		if sub.pc.ICEConnectionState() == webrtc.ICEConnectionStateFailed { // again, on a loaded machine
			sub.RestartICE()
			negotiate(t, sub, client)
		}
		c.write(false)
		time.Sleep(time.Millisecond)
		return c.gate.counts[0].Load() > read+20
	})
}
