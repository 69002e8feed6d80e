package sfu

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// Subscribing clients negotiate what real clients negotiate, and each reads the media:
// every SRTP protection profile the server offers, alone and in another order than the
// server's; the DTLS suites pion negotiates with the server's ECDSA certificate (SHA-256
// and SHA-384 PRFs, GCM, CBC, ChaCha20; pion's DTLS server offers no CCM suite); the
// extended master secret refused or required. Those take the own path with the profile and suite asked for. A client that
// answers setup:passive makes the server the DTLS client: no keys, pion's path, and the
// client still reads everything.
func TestOwnRTPPathClientVariety(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(*webrtc.SettingEngine)
		own     bool
		profile srtp.ProtectionProfile // 0: not checked
		suite   dtls.CipherSuiteID     // 0: not checked
	}{
		{"AES_CM_128_HMAC_SHA1_80 only", func(s *webrtc.SettingEngine) {
			s.SetSRTPProtectionProfiles(dtls.SRTP_AES128_CM_HMAC_SHA1_80)
		}, true, srtp.ProtectionProfileAes128CmHmacSha1_80, 0},
		{"AEAD_AES_128_GCM only", func(s *webrtc.SettingEngine) {
			s.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM)
		}, true, srtp.ProtectionProfileAeadAes128Gcm, 0},
		{"AEAD_AES_256_GCM only", func(s *webrtc.SettingEngine) {
			s.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_256_GCM)
		}, true, srtp.ProtectionProfileAeadAes256Gcm, 0},
		{"profiles reversed", func(s *webrtc.SettingEngine) {
			s.SetSRTPProtectionProfiles(dtls.SRTP_AES128_CM_HMAC_SHA1_80, dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM)
		}, true, 0, 0},
		{"ECDHE_ECDSA_AES_256_GCM_SHA384", func(s *webrtc.SettingEngine) {
			s.SetDTLSCipherSuites(dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)
		}, true, 0, dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
		{"ECDHE_ECDSA_AES_128_GCM_SHA256", func(s *webrtc.SettingEngine) {
			s.SetDTLSCipherSuites(dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
		}, true, 0, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"ECDHE_ECDSA_AES_256_CBC_SHA", func(s *webrtc.SettingEngine) {
			s.SetDTLSCipherSuites(dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA)
		}, true, 0, dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA},
		{"ECDHE_ECDSA_CHACHA20_POLY1305", func(s *webrtc.SettingEngine) {
			s.SetDTLSCipherSuites(dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
		}, true, 0, dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
		{"SHA384 suite with AES_CM profile", func(s *webrtc.SettingEngine) {
			s.SetDTLSCipherSuites(dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)
			s.SetSRTPProtectionProfiles(dtls.SRTP_AES128_CM_HMAC_SHA1_80)
		}, true, srtp.ProtectionProfileAes128CmHmacSha1_80, dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
		{"extended master secret off", func(s *webrtc.SettingEngine) {
			s.SetDTLSExtendedMasterSecret(dtls.DisableExtendedMasterSecret)
		}, true, 0, 0},
		{"extended master secret required", func(s *webrtc.SettingEngine) {
			s.SetDTLSExtendedMasterSecret(dtls.RequireExtendedMasterSecret)
		}, true, 0, 0},
		{"answers setup:passive", func(s *webrtc.SettingEngine) {
			if err := s.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
				t.Fatal(err)
			}
		}, false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newLossyLoopbackCall(t, 1, callLoss{settings: tc.set})
			sub := c.subs[0]
			c.sendBursts(2)
			forwarded, own := sub.sender.forwardedPackets.Load(), sub.out.own.Load()
			if forwarded == 0 || c.gate.counts[0].Load() == 0 {
				t.Fatalf("forwarded %d, the client read %d", forwarded, c.gate.counts[0].Load())
			}
			if lost := c.gate.lost; lost != 0 {
				t.Fatalf("the client lost %d packets", lost)
			}
			switch {
			case tc.own && own != forwarded:
				t.Fatalf("%d of %d forwarded packets went the own path, want all", own, forwarded)
			case !tc.own && own != 0:
				t.Fatalf("%d of %d forwarded packets went the own path, want none", own, forwarded)
			}
			sub.keys.mu.Lock()
			profile, suite := sub.keys.profile, sub.keys.suite
			sub.keys.mu.Unlock()
			if tc.profile != 0 && profile != tc.profile {
				t.Fatalf("profile %v, want %v", profile, tc.profile)
			}
			if tc.suite != 0 && suite != uint16(tc.suite) {
				t.Fatalf("suite %#x, want %#x", suite, uint16(tc.suite))
			}
		})
	}
}

// The own path seals with cryptex (RFC 9335) exactly when the client's description
// declares it for the RTP it receives, as pion decides for its own context: at session
// level, on the RTP sections, or only on the BUNDLE group's tag section, as RFC 9143
// carries transport attributes in answers and later offers — also when that tag section is
// a data channel's. A client whose SRTP context requires cryptex drops every packet sealed
// without it.
func TestRTPOutCryptexFromDescription(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
	const app = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
	const video = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n"
	const rejected = "m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=rtpmap:96 VP8/90000\r\n"
	const cryptex = "a=cryptex\r\n"
	for _, tc := range []struct {
		name, sdp string
		want      srtp.CryptexMode
	}{
		{"none", head + "a=group:BUNDLE 0 1\r\n" + app + video, srtp.CryptexModeDisabled},
		{"session level", head + cryptex + "a=group:BUNDLE 0 1\r\n" + app + video, srtp.CryptexModeEnabled},
		{"on the RTP section", head + "a=group:BUNDLE 0 1\r\n" + app + video + cryptex, srtp.CryptexModeEnabled},
		{"on the data channel tag section", head + "a=group:BUNDLE 0 1\r\n" + app + cryptex + video, srtp.CryptexModeEnabled},
		{"on a data channel outside the bundle", head + "a=group:BUNDLE 1\r\n" + app + cryptex + video, srtp.CryptexModeDisabled},
		{"on a tag section the RTP is not bundled with", head + "a=group:BUNDLE 0\r\n" + app + cryptex + video, srtp.CryptexModeDisabled},
		{"only on a rejected section", head + "a=group:BUNDLE 1\r\n" + video + rejected + cryptex, srtp.CryptexModeDisabled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o rtpOut
			o.setCryptex(tc.sdp)
			if got := srtp.CryptexMode(o.cryptex.Load()); got != tc.want {
				t.Fatalf("cryptex mode %v, want %v", got, tc.want)
			}
		})
	}
}

// The sender reports a client reads on the own path count what it received: bursts of
// packets the client reads whole, and each report (written after a run of writes) counts
// the packets read before its burst plus at most that burst; its octets are its packets
// times the payload size, all payloads being of one size. Nothing is lost or resent on
// loopback, so the counts are the client's.
// ownPathCall is a publishing pion client sending one VP8 track of fixed-size payloads
// and a subscriber whose plain pion client (pion's default interceptors) counts the
// packets it reads and keeps the sender reports of the track.
type ownPathCall struct {
	engine    *Engine
	track     *Receiver // the published track
	down      *DownTrack
	sub       *Subscriber
	client    *webrtc.PeerConnection
	publisher *webrtc.PeerConnection // the publishing client
	write     func()                 // one packet, a keyframe every 8th
	read      atomic.Uint32
	mu        sync.Mutex
	srs       []rtcp.SenderReport
}

// publishVideo publishes a VP8 track of engine from a pion client (a publisher named
// name) and returns its Receiver and write, which sends one packet of payloadSize bytes
// (a keyframe every 8th).
func publishVideo(t *testing.T, engine *Engine, name string, payloadSize int) (write func(), r *Receiver) {
	t.Helper()
	return publishVideoFrom(t, engine, newClientPC(t), name, payloadSize, 0)
}

// publishVideoFrom is publishVideo from client whose first sequence number is first+1.
func publishVideoFrom(t *testing.T, engine *Engine, client *webrtc.PeerConnection, name string, payloadSize int, first uint16) (write func(), r *Receiver) {
	t.Helper()
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, name, name+"-media")
	if err != nil {
		t.Fatal(err)
	}
	_, receivers := publishFrom(t, engine, client, video)
	seq := first
	write = func() {
		seq++
		payload := make([]byte, payloadSize)
		copy(payload, vp8Payload(seq%8 == 1, seq))
		_ = video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Marker: true,
			Timestamp: uint32(seq) * 3000}, Payload: payload})
	}
	stop := repeat(20*time.Millisecond, write)
	defer stop()
	select {
	case r = <-receivers:
	case <-time.After(20 * time.Second):
		t.Fatal("the published track did not arrive")
	}
	return write, r
}

// readClientTrack reads a client's track and its RTCP on two goroutines counted in
// readers until the client closes, calling onRTP with every packet and onSR with every
// sender report of the track.
func readClientTrack(readers *sync.WaitGroup, track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver, onRTP func(*rtp.Packet), onSR func(*rtcp.SenderReport)) {
	readers.Add(2)
	go func() {
		defer readers.Done()
		for {
			p, _, err := track.ReadRTP()
			if err != nil {
				return
			}
			onRTP(p)
		}
	}()
	go func() {
		defer readers.Done()
		for {
			pkts, _, err := receiver.ReadRTCP()
			if err != nil {
				return
			}
			for _, pkt := range pkts {
				if sr, ok := pkt.(*rtcp.SenderReport); ok && sr.SSRC == uint32(track.SSRC()) {
					onSR(sr)
				}
			}
		}
	}()
}

// newOwnPathCall connects an ownPathCall, negotiated; it returns once the client read.
func newOwnPathCall(t *testing.T, payloadSize int, opts ...func(*Config)) *ownPathCall {
	t.Helper()
	return newOwnPathCallFrom(t, newClientPC, 0, payloadSize, opts...)
}

// newOwnPathCallFrom is newOwnPathCall whose publishing client (made by client on the
// call's Engine) starts after sequence number first.
func newOwnPathCallFrom(t *testing.T, client func(testing.TB) *webrtc.PeerConnection, first uint16, payloadSize int, opts ...func(*Config)) *ownPathCall {
	t.Helper()
	c := &ownPathCall{engine: newTestEngine(t, opts...)}
	c.publisher = client(t)
	c.write, c.track = publishVideoFrom(t, c.engine, c.publisher, "cam", payloadSize, first)
	var readers *sync.WaitGroup
	c.sub, c.client, readers = subscribedClient(t, c.engine)
	c.client.OnTrack(func(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		readClientTrack(readers, track, receiver, func(p *rtp.Packet) {
			if len(p.Payload) != payloadSize {
				t.Errorf("payload of %d bytes, want %d", len(p.Payload), payloadSize)
			}
			c.read.Add(1)
		}, func(sr *rtcp.SenderReport) {
			c.mu.Lock()
			c.srs = append(c.srs, *sr)
			c.mu.Unlock()
		})
	})
	var err error
	if c.down, err = c.sub.AddDownTrack(c.track); err != nil {
		t.Fatal(err)
	}
	negotiate(t, c.sub, c.client)
	waitFor(t, func() bool { c.write(); return c.read.Load() > 0 })
	return c
}

// burst writes n packets and waits until the client read them all and every packet
// forwarded was read; false when that took over 5 s (a packet lost on the way).
func (c *ownPathCall) burst(n uint32) bool {
	before := c.read.Load()
	for range n {
		c.write()
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.read.Load() < before+n || c.sub.sender.forwardedPackets.Load() != uint64(c.read.Load()) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func TestOwnPathSenderReportCounts(t *testing.T) {
	const payloadSize, burst = 300, 20
	c := newOwnPathCall(t, payloadSize)
	sub := c.sub
	// Bursts read whole; boundaries holds the client's count after each.
	var boundaries []uint32
	matched := 0
	waitFor(t, func() bool {
		if !c.burst(burst) {
			return false // a packet lost on the way: no boundary
		}
		boundaries = append(boundaries, c.read.Load())
		c.mu.Lock()
		defer c.mu.Unlock()
		matched = 0
		for _, sr := range c.srs {
			if sr.OctetCount != sr.PacketCount*payloadSize {
				t.Fatalf("sender report: %d octets for %d packets of %d bytes", sr.OctetCount, sr.PacketCount, payloadSize)
			}
			if sr.PacketCount <= boundaries[0] {
				continue // written before the bursts
			}
			// Written after a run of the burst that followed boundary b, before the next.
			ok := false
			for _, b := range boundaries {
				ok = ok || (sr.PacketCount > b && sr.PacketCount <= b+burst)
			}
			if !ok {
				t.Fatalf("a sender report counts %d packets; the client read %v after each burst of %d", sr.PacketCount, boundaries, burst)
			}
			matched++
		}
		return matched >= 2
	})
	if own, fwd := sub.out.own.Load(), sub.sender.forwardedPackets.Load(); own != fwd {
		t.Fatalf("%d of %d packets went the own path", own, fwd)
	}
}

// A DownTrack's outgoing sequence numbers wrap past 65535 on the own path (more than
// 65,536 packets through one DownTrack, whatever its random start) and the client still
// decrypts everything: the SRTP rollover counter goes to 1 on both sides. The first
// arrival of the packets around the wrap is lost, so some are resent after newer ones
// went out with the next rollover counter, and the resends are sealed with the old one.
func TestOwnPathSequenceRollover(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 70,000 packets")
	}
	nearWrap := func(seq uint16) bool { return seq >= 65533 || seq <= 2 }
	c := newLossyLoopbackCall(t, 1, callLoss{subscriber: nearWrap})
	sub := c.subs[0]
	// A busy machine's kernel drops a datagram now and then (the tail of a burst is only
	// resent after the next one, past the gate's second): a few losses are the loopback's,
	// a rollover counter out of step would lose everything after the wrap.
	start, read := c.gate.counts[0].Load(), c.reads.Load()
	const total = 1<<16 + 1000
	for c.gate.counts[0].Load()-start < total {
		c.sendBursts(64)
	}
	if lost := c.gate.lost; lost > total/100 {
		t.Fatalf("the client lost %d of %d packets", lost, total)
	}
	if got := c.reads.Load() - read; got < total*99/100 {
		t.Fatalf("the client decrypted %d of %d packets", got, total)
	}
	if n := c.repaired.Load(); n == 0 {
		t.Fatal("no packet around the wrap was lost and resent")
	}
	if own, fwd := sub.out.own.Load(), sub.sender.forwardedPackets.Load(); own != fwd {
		t.Fatalf("%d of %d packets went the own path", own, fwd)
	}
}

// An ICE restart moves the own path to the client's new address: the client (pion,
// no UDP mux) gathers new sockets for the restart, so its port changes, and it reads
// everything sent after the restart on the same SRTP context (no new DTLS handshake).
func TestOwnPathFollowsICERestart(t *testing.T) {
	c := newOwnPathCall(t, 200)
	if !c.burst(10) {
		t.Fatal("the client did not read a burst before the restart")
	}
	before := *c.sub.remote.Load()
	ctx := c.sub.keys.context()
	c.sub.RestartICE()
	negotiate(t, c.sub, c.client)
	waitFor(t, func() bool {
		now := c.sub.remote.Load()
		return now != nil && *now != before
	})
	waitFor(t, func() bool { return c.burst(10) })
	if c.sub.keys.context() != ctx {
		t.Fatal("the restart changed the SRTP context")
	}
	if own, fwd := c.sub.out.own.Load(), c.sub.sender.forwardedPackets.Load(); own != fwd || c.sub.out.unroutable.Load() != 0 {
		t.Fatalf("%d of %d packets went the own path, %d unroutable", own, fwd, c.sub.out.unroutable.Load())
	}
}

// Subscribers that come and go leave nothing of the own path behind: clients that read
// media and clients that close as soon as ICE connects (in the DTLS handshake) alike,
// once their Subscriber closed, its SRTP context and remote address are gone, the
// batched writer watches no address of theirs, and the Engine holds no Peer of theirs
// (their goroutines: goleak in TestMain); the first subscriber still reads.
func TestOwnPathLeavesNothingBehind(t *testing.T) {
	c := newOwnPathCall(t, 200, func(cfg *Config) { cfg.BatchWrites = true })
	var subs []*Subscriber
	for i := range 8 {
		sub, client, _ := subscribedClient(t, c.engine)
		subs = append(subs, sub)
		var read atomic.Uint32
		if i%2 == 1 {
			client.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
				if s == webrtc.ICEConnectionStateConnected {
					go client.Close() //nolint:errcheck // the test's cleanup closes it again
				}
			})
		} else {
			client.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				for {
					if _, _, err := track.ReadRTP(); err != nil {
						return
					}
					read.Add(1)
				}
			})
		}
		if _, err := sub.AddDownTrack(c.track); err != nil {
			t.Fatal(err)
		}
		negotiate(t, sub, client)
		if i%2 == 1 {
			waitFor(t, func() bool { return client.ConnectionState() == webrtc.PeerConnectionStateClosed })
		} else {
			waitFor(t, func() bool { c.write(); return read.Load() > 0 })
			if sub.out.own.Load() == 0 {
				t.Fatalf("subscriber %d: nothing went the own path", i)
			}
		}
		_ = client.Close()
		if err := sub.Close(); err != nil {
			t.Fatalf("subscriber %d: close: %v", i, err)
		}
	}
	for i, sub := range subs {
		if sub.keys.context() != nil || sub.out.ctx != nil || sub.remote.Load() != nil {
			t.Fatalf("subscriber %d keeps its SRTP context or remote address after Close", i)
		}
	}
	watched := 0
	for i := range c.engine.batch.shards {
		s := &c.engine.batch.shards[i]
		s.mu.Lock()
		watched += len(s.sent)
		s.mu.Unlock()
	}
	c.engine.mu.Lock()
	peers := len(c.engine.peers)
	c.engine.mu.Unlock()
	if watched != 1 || peers != 2 {
		t.Fatalf("%d addresses watched, %d peers, want the first subscriber's 1 and its 2 peers", watched, peers)
	}
	if !c.burst(10) {
		t.Fatal("the first subscriber no longer reads")
	}
}

// Tracks added and removed by renegotiation mid-call go through the PeerConnection's one
// SRTP context: a second track's new SSRC is read next to the first, and after the first
// is removed the second still is, all on the own path.
func TestOwnPathRenegotiatedTracks(t *testing.T) {
	c := newOwnPathCall(t, 200)
	write, second := publishVideo(t, c.engine, "cam2", 200)
	if _, err := c.sub.AddDownTrack(second); err != nil {
		t.Fatal(err)
	}
	negotiate(t, c.sub, c.client)
	// Only the second track is sent now: what the client reads is of its new SSRC.
	before := c.read.Load()
	waitFor(t, func() bool { write(); return c.read.Load() > before+10 })
	if !c.burst(10) {
		t.Fatal("the first track is no longer read")
	}
	if err := c.sub.RemoveDownTrack(c.down); err != nil {
		t.Fatal(err)
	}
	negotiate(t, c.sub, c.client)
	before = c.read.Load()
	waitFor(t, func() bool { write(); return c.read.Load() > before+10 })
	if own, fwd := c.sub.out.own.Load(), c.sub.sender.forwardedPackets.Load(); own != fwd {
		t.Fatalf("%d of %d packets went the own path", own, fwd)
	}
}
