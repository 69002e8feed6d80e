package sfu

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// rtcpInFixture is a subscriber's own SRTCP route with known keys and the client's
// sealing context.
type rtcpInFixture struct {
	in   *rtcpInbound
	seal *srtp.Context
	key  []byte
	salt []byte
}

func newRTCPInFixture(tb testing.TB) *rtcpInFixture {
	tb.Helper()
	key, salt := bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{9}, 12)
	seal, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		tb.Fatal(err)
	}
	keys := &dtlsKeys{inbound: true}
	keys.in.Store(&inboundKeys{key: key, salt: salt, profile: srtp.ProtectionProfileAeadAes128Gcm})
	return &rtcpInFixture{in: &rtcpInbound{keys: keys, queue: newPeerRTCP()}, seal: seal, key: key, salt: salt}
}

// sealed is the client's SRTCP of the compound pkts.
func (f *rtcpInFixture) sealed(tb testing.TB, pkts ...rtcp.Packet) []byte {
	tb.Helper()
	plain, err := rtcp.Marshal(pkts)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := f.seal.EncryptRTCP(nil, plain, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// queued reads what the queue holds now: the SSRC tag and the packet of each entry.
func queued(tb testing.TB, q *peerRTCP) (ssrcs []uint32, pkts [][]byte) {
	tb.Helper()
	buf := make([]byte, 4+maxPacketSize)
	for q.queue.Count() > 0 {
		n, _, err := q.queue.Read(buf, nil)
		if err != nil {
			tb.Fatal(err)
		}
		ssrcs = append(ssrcs, binary.BigEndian.Uint32(buf[:4]))
		pkts = append(pkts, slices.Clone(buf[4:n]))
	}
	return ssrcs, pkts
}

// testCompound is a compound of a receiver report about two streams, a NACK, a PLI and
// a packet of a type pion does not know (211), which is addressed to no SSRC.
func testCompound() []rtcp.Packet {
	return []rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 0xB0B}, {SSRC: 0xA11CE}}},
		&rtcp.TransportLayerNack{SenderSSRC: 1, MediaSSRC: 0xB0B, Nacks: []rtcp.NackPair{{PacketID: 7}}},
		&rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 0xA11CE},
		&rtcp.RawPacket{0x80, 0xD3, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0},
	}
}

// The route queues a compound exactly as pion's SRTCP session does for the same
// packet: each RTCP packet once per SSRC it is addressed to, in the same order.
func TestRTCPInQueuesAsPionDoes(t *testing.T) {
	f := newRTCPInFixture(t)
	b := f.sealed(t, testCompound()...)
	if !f.in.take(slices.Clone(b)) {
		t.Fatal("not taken")
	}
	gotSSRCs, gotPkts := queued(t, f.in.queue)

	// pion's session, keyed the same way, writing into another Peer's queue.
	pionQueue := newPeerRTCP()
	local, remote := net.Pipe()
	defer func() { _ = remote.Close() }()
	session, err := srtp.NewSessionSRTCP(local, &srtp.Config{
		Profile: srtp.ProtectionProfileAeadAes128Gcm,
		Keys: srtp.SessionKeys{LocalMasterKey: f.key, LocalMasterSalt: f.salt,
			RemoteMasterKey: f.key, RemoteMasterSalt: f.salt},
		BufferFactory: pionQueue.bufferFactory,
		LoggerFactory: quietLoggers(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = session.Close() }()
	go func() { // pion waits for each new stream to be accepted
		for {
			if _, _, err := session.AcceptStream(); err != nil {
				return
			}
		}
	}()
	if _, err := remote.Write(b); err != nil {
		t.Fatal(err)
	}
	var wantSSRCs []uint32
	var wantPkts [][]byte
	for deadline := time.Now().Add(10 * time.Second); len(wantSSRCs) < len(gotSSRCs) && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s, p := queued(t, pionQueue)
		wantSSRCs, wantPkts = append(wantSSRCs, s...), append(wantPkts, p...)
	}
	if !slices.Equal(gotSSRCs, wantSSRCs) || !slices.EqualFunc(gotPkts, wantPkts, bytes.Equal) {
		t.Fatalf("own route queued %x %x; pion's session %x %x", gotSSRCs, gotPkts, wantSSRCs, wantPkts)
	}
	if len(gotSSRCs) != 6 { // report ×2, NACK, PLI, the unknown packet ×2 (with the compound's SSRCs)
		t.Fatalf("%d entries queued: %x", len(gotSSRCs), gotSSRCs)
	}
}

// What the route refuses: not RTCP or no keys yet goes to pion (false); a replay, a
// packet failing authentication and one that does not split are taken and dropped,
// counted, never handed to pion, whose context would not know the replay; after close
// pion takes everything.
func TestRTCPInRefuses(t *testing.T) {
	f := newRTCPInFixture(t)
	routes := &rtcpRoutes{}
	addr := netip.MustParseAddrPort("127.0.0.1:5000")
	routes.move(f.in, netip.AddrPort{}, addr)
	pli := f.sealed(t, &rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2})
	tampered := slices.Clone(pli)
	tampered[10] ^= 1
	unsplit, err := f.seal.EncryptRTCP(nil, []byte{0x80, 0xC9, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0}, nil) // length past its end
	if err != nil {
		t.Fatal(err)
	}
	rtp := []byte{0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xAA}
	for _, tc := range []struct {
		name     string
		b        []byte
		from     netip.AddrPort
		taken    bool
		rejected uint64
	}{
		{"RTP", rtp, addr, false, 0},
		{"STUN", []byte{0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4}, addr, false, 0},
		{"another address", pli, netip.MustParseAddrPort("127.0.0.1:5001"), false, 0},
		{"first", pli, addr, true, 0},
		{"replayed", pli, addr, true, 1},
		{"tampered", tampered, addr, true, 2},
		{"does not split", unsplit, addr, true, 3},
	} {
		if got := routes.take(slices.Clone(tc.b), tc.from); got != tc.taken || f.in.rejected.Load() != tc.rejected {
			t.Fatalf("%s: taken %v with %d rejected, want %v with %d", tc.name, got, f.in.rejected.Load(), tc.taken, tc.rejected)
		}
	}
	if ssrcs, _ := queued(t, f.in.queue); !slices.Equal(ssrcs, []uint32{2}) {
		t.Fatalf("queued for %x, want the first PLI's 2 only", ssrcs)
	}
	f.in.close()
	if routes.take(f.sealed(t, &rtcp.PictureLossIndication{MediaSSRC: 2}), addr) {
		t.Fatal("taken after close")
	}

	g := newRTCPInFixture(t)
	g.in.keys = &dtlsKeys{inbound: true} // the handshake has not given them yet
	if g.in.take(g.sealed(t, &rtcp.PictureLossIndication{MediaSSRC: 2})) {
		t.Fatal("taken without keys")
	}
}

// The table finds each route by its address: routes in one slot, a later claim of an
// address (it holds; the earlier Subscriber's later move leaves it), a move and a
// removal.
func TestRTCPRoutesMove(t *testing.T) {
	routes := &rtcpRoutes{}
	a := netip.MustParseAddrPort("10.0.0.1:4000")
	var b netip.AddrPort // another address in a's slot
	for port := uint16(1); ; port++ {
		if b = netip.AddrPortFrom(a.Addr(), port); b != a && rtcpSlot(b) == rtcpSlot(a) {
			break
		}
	}
	x, y, z := &rtcpInbound{}, &rtcpInbound{}, &rtcpInbound{}
	find := func(addr netip.AddrPort) *rtcpInbound {
		if l := routes.slots[rtcpSlot(addr)].Load(); l != nil {
			for _, r := range *l {
				if r.addr == addr {
					return r.in
				}
			}
		}
		return nil
	}
	var none netip.AddrPort
	for _, step := range []struct {
		name     string
		do       func()
		wantA    *rtcpInbound
		wantB    *rtcpInbound
		slotSize int
	}{
		{"x at a", func() { routes.move(x, none, a) }, x, nil, 1},
		{"y at b, same slot", func() { routes.move(y, none, b) }, x, y, 2},
		{"z claims a", func() { routes.move(z, none, a) }, z, y, 2},
		{"x leaves a", func() { routes.move(x, a, none) }, z, y, 2},
		{"y moves to a", func() { routes.move(y, b, a) }, y, nil, 1},
		{"y leaves", func() { routes.move(y, a, none) }, nil, nil, 0},
	} {
		step.do()
		n := 0
		if l := routes.slots[rtcpSlot(a)].Load(); l != nil {
			n = len(*l)
		}
		if find(a) != step.wantA || find(b) != step.wantB || n != step.slotSize {
			t.Fatalf("%s: a → %p, b → %p, %d in the slot; want %p, %p, %d", step.name, find(a), find(b), n, step.wantA, step.wantB, step.slotSize)
		}
	}
	// An IPv4-mapped IPv6 source finds the IPv4 route.
	routes.move(x, none, a)
	f := newRTCPInFixture(t)
	routes.move(f.in, none, b)
	mapped := netip.AddrPortFrom(netip.AddrFrom16(b.Addr().As16()), b.Port())
	if !routes.take(f.sealed(t, &rtcp.PictureLossIndication{MediaSSRC: 2}), mapped) {
		t.Fatal("a packet from the IPv4-mapped address was not taken")
	}
}

// Taking a subscriber's SRTCP allocates nothing once the route's slices have grown.
func TestRTCPInDoesNotAllocate(t *testing.T) {
	f := newRTCPInFixture(t)
	packets := make([][]byte, 201)
	for i := range packets {
		packets[i] = f.sealed(t, testCompound()...)
	}
	if allocs := takeAllocs(t, f.in, packets); allocs != 0 {
		t.Fatalf("%.2f allocations per packet", allocs)
	}
}

// takeAllocs is the allocations per take of each of packets but the last (AllocsPerRun
// runs once more), each taken once.
func takeAllocs(t *testing.T, in *rtcpInbound, packets [][]byte) float64 {
	t.Helper()
	i := 0
	return testing.AllocsPerRun(len(packets)-1, func() {
		if !in.take(packets[i]) {
			t.Fatal("not taken")
		}
		i++
	})
}

// transportFeedback is the subscriber's transport-wide feedback on packets from..from+9
// of history (recorded as sent 5 ms apart, received 20 ms later), as pion's recorder
// builds it.
func transportFeedback(tb testing.TB, history *sendHistory, rec *twcc.Recorder, from uint16) rtcp.Packet {
	tb.Helper()
	for seq := from; seq < from+10; seq++ {
		history.record(seq, 1200, int64(seq)*int64(5*time.Millisecond))
		rec.Record(1, seq, int64(seq)*5000+20_000)
	}
	pkts := rec.BuildFeedbackPacket()
	if len(pkts) != 1 {
		tb.Fatalf("%d feedback packets, want 1", len(pkts))
	}
	return pkts[0]
}

// The route feeds transport-wide feedback to the subscriber's congestion controller on
// the socket's goroutine and queues only the rest (D336): a feedback alone wakes no RTCP
// goroutine, unless that goroutine holds the controller at the moment. Neither allocates.
func TestRTCPInFeedsTransportFeedback(t *testing.T) {
	f := newRTCPInFixture(t)
	history := newSendHistory()
	history.allocate()
	cc := newCongestionController(history)
	f.in.bw = newBandwidthController(cc, allocatorConfig{})
	rec := twcc.NewRecorder(1)

	pli := &rtcp.PictureLossIndication{SenderSSRC: 1, MediaSSRC: 2}
	if !f.in.take(f.sealed(t, transportFeedback(t, history, rec, 0), pli)) {
		t.Fatal("not taken")
	}
	if ssrcs, pkts := queued(t, f.in.queue); !slices.Equal(ssrcs, []uint32{2}) || len(pkts) != 1 || isTWCC(pkts[0]) {
		t.Fatalf("queued %x %x, want the PLI only", ssrcs, pkts)
	}
	if cc.highest != 9 || f.in.bw.lastTWCCNs.Load() == 0 {
		t.Fatalf("controller acknowledged up to %d, feedback noted at %d; want 9 and a time", cc.highest, f.in.bw.lastTWCCNs.Load())
	}
	if !f.in.take(f.sealed(t, transportFeedback(t, history, rec, 10))) {
		t.Fatal("not taken")
	}
	if n := f.in.queue.queue.Count(); n != 0 || cc.highest != 19 {
		t.Fatalf("%d entries queued for a feedback alone, controller up to %d; want none, 19", n, cc.highest)
	}

	const n = 100
	packets := make([][]byte, n+1)
	for i := range packets {
		packets[i] = f.sealed(t, transportFeedback(t, history, rec, uint16(20+10*i)))
	}
	if allocs := takeAllocs(t, f.in, packets); allocs != 0 {
		t.Fatalf("%.2f allocations per transport-wide feedback", allocs)
	}
	if want := uint16(20 + 10*n + 9); cc.highest != want {
		t.Fatalf("controller acknowledged up to %d, want %d", cc.highest, want)
	}

	// While the RTCP goroutine feeds the controller, the socket's goroutine does not
	// wait for it: the feedback goes to the RTCP goroutine's queue.
	cc.mu.Lock()
	taken := f.in.take(f.sealed(t, transportFeedback(t, history, rec, 2000)))
	cc.mu.Unlock()
	if ssrcs, pkts := queued(t, f.in.queue); !taken || len(pkts) != 1 || !isTWCC(pkts[0]) || ssrcs[0] != 1 {
		t.Fatalf("taken %v, queued %x %x while the controller was busy; want the feedback queued", taken, ssrcs, pkts)
	}
}

// The controller takes feedback from the socket's goroutine and the RTCP goroutine at
// once (pion's path before the route has keys, or what the socket's goroutine queued):
// its own mutex (the race detector checks).
func TestCongestionControllerTwoFeeders(t *testing.T) {
	history := newSendHistory()
	history.allocate()
	b := newBandwidthController(newCongestionController(history), allocatorConfig{})
	rec := twcc.NewRecorder(1)
	var raws [][]byte
	for i := range 40 {
		raw, err := transportFeedback(t, history, rec, uint16(10*i)).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(raws); i += 2 {
				if g == 1 && b.tryTransportFeedback(raws[i], time.Now()) { // as the socket's goroutine
					continue
				}
				b.onTransportFeedback(raws[i], time.Now()) // as the RTCP goroutine
			}
		}()
	}
	wg.Wait()
	if b.lastTWCCNs.Load() == 0 || b.cc.rejected.Load() != 0 {
		t.Fatalf("feedback noted at %d, %d rejected; want a time and none", b.lastTWCCNs.Load(), b.cc.rejected.Load())
	}
}

// End to end: with rtc.own_srtp_inbound a subscribing client's RTCP is taken by the
// socket's goroutine and reaches its DownTrack (a PLI and a NACK counted there); off,
// pion's path carries it the same way and no route exists.
func TestOwnRTCPPathDelivers(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[on], func(t *testing.T) {
			c := newOwnPathCall(t, 200, withOwnInbound(on))
			if (c.sub.rtcpIn != nil) != on {
				t.Fatalf("route %v with own_srtp_inbound %v", c.sub.rtcpIn != nil, on)
			}
			ssrc := uint32(c.client.GetReceivers()[0].Track().SSRC())
			plis, nacks := c.down.downlink.plis.Load(), c.down.downlink.nacks.Load()
			waitFor(t, func() bool {
				_ = c.client.WriteRTCP([]rtcp.Packet{
					&rtcp.PictureLossIndication{MediaSSRC: ssrc},
					&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: 1}}},
				})
				return c.down.downlink.plis.Load() > plis && c.down.downlink.nacks.Load() > nacks
			})
			if on {
				if c.sub.rtcpIn.taken.Load() == 0 || c.sub.rtcpIn.rejected.Load() != 0 {
					t.Fatalf("own path took %d, rejected %d", c.sub.rtcpIn.taken.Load(), c.sub.rtcpIn.rejected.Load())
				}
			}
			if s := c.sub.ConnectionState(); s != webrtc.PeerConnectionStateConnected {
				t.Fatalf("subscriber %v", s)
			}
		})
	}
}

// FuzzSubscriberSRTCP feeds a subscriber's route arbitrary datagrams as they come from
// its address: unauthenticated ones are never queued, and the client's authenticated
// SRTCP of arbitrary content is taken (when it looks like RTCP) and queued only as whole
// RTCP packets of it, never panicking.
func FuzzSubscriberSRTCP(f *testing.F) {
	for _, pkts := range [][]rtcp.Packet{testCompound(), {&rtcp.PictureLossIndication{MediaSSRC: 2}},
		{&rtcp.Goodbye{Sources: []uint32{1, 2, 3}}}, {&rtcp.ExtendedReport{SenderSSRC: 1}}} {
		b, err := rtcp.Marshal(pkts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x81, 0xCD, 0x00, 0x01, 0, 0, 0, 1})
	f.Add([]byte{0x80, 0xC9, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		fx := newRTCPInFixture(t)
		routes, from := &rtcpRoutes{}, netip.MustParseAddrPort("127.0.0.1:5000")
		routes.move(fx.in, netip.AddrPort{}, from)
		routes.take(slices.Clone(data), from)
		if ssrcs, _ := queued(t, fx.in.queue); len(ssrcs) != 0 {
			t.Fatalf("unauthenticated datagram queued for %x", ssrcs)
		}
		if len(data) < 8 || len(data) > 1400 {
			return
		}
		sealed, err := fx.seal.EncryptRTCP(nil, data, nil)
		if err != nil {
			return
		}
		rtcpLike := data[0]&0xc0 == 0x80 && data[1] >= 192 && data[1] <= 223
		if got := routes.take(sealed, from); got != rtcpLike {
			t.Fatalf("taken %v for a datagram that looks like RTCP: %v", got, rtcpLike)
		}
		_, pkts := queued(t, fx.in.queue)
		for _, p := range pkts {
			if len(p) < 4 || (int(binary.BigEndian.Uint16(p[2:4]))+1)*4 != len(p) || !bytes.Contains(data, p) {
				t.Fatalf("queued %x, not a whole RTCP packet of %x", p, data)
			}
		}
	})
}
