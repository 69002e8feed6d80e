package sfu

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// The media plane's whole path, measured against the floor it cannot go below:
//
//	go test -run '^$' -bench 'BenchmarkSRTPFloor|BenchmarkForwardEndToEnd' -benchmem -count 5 ./sfu/
//
// Both send packets of benchPayloadSize bytes in bursts of benchBurst and wait until
// every receiver has the burst before the next one, so neither overflows a socket
// buffer. Besides ns/op (wall time per published packet) they report, per packet
// delivered to one receiver: wall time (ns/fwd-pkt), the process's CPU time, user and
// system (cpu-ns/fwd-pkt), heap allocations (allocs/fwd-pkt) and lost packets.

const (
	benchPayloadSize = 1100
	benchBurst       = 32
)

// processCPU is the CPU time (user + system) the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// deliveryGate lets the sending goroutine wait until every receiver counted target
// packets. Receivers count on their own goroutines; the last one to reach the target
// wakes the sender. A burst whose packets stay missing for a second counts as lost.
type deliveryGate struct {
	counts []atomic.Uint64
	target atomic.Uint64
	done   chan struct{}
	timer  *time.Timer
	lost   uint64
}

func newDeliveryGate(receivers int) *deliveryGate {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &deliveryGate{counts: make([]atomic.Uint64, receivers), done: make(chan struct{}, 1), timer: t}
}

// received counts one packet of receiver i.
func (g *deliveryGate) received(i int) {
	if g.counts[i].Add(1) >= g.target.Load() && g.all() {
		select {
		case g.done <- struct{}{}:
		default:
		}
	}
}

func (g *deliveryGate) all() bool {
	t := g.target.Load()
	for i := range g.counts {
		if g.counts[i].Load() < t {
			return false
		}
	}
	return true
}

// wait returns when every receiver has target packets, or after a second without them
// (the missing ones count as lost and the counts move up to target).
func (g *deliveryGate) wait(target uint64) {
	g.target.Store(target)
	g.timer.Reset(time.Second)
	defer g.timer.Stop()
	for !g.all() {
		select {
		case <-g.done: // may be left over from an earlier burst: check again
		case <-g.timer.C:
			for i := range g.counts {
				if c := g.counts[i].Load(); c < target {
					g.lost += target - c
					g.counts[i].Add(target - c)
				}
			}
			return
		}
	}
}

// reset zeroes the counts (nothing may be in flight).
func (g *deliveryGate) reset() {
	for i := range g.counts {
		g.counts[i].Store(0)
	}
	g.target.Store(0)
	g.lost = 0
}

// settle waits until the counts stop moving (what was in flight arrived), then resets.
func (g *deliveryGate) settle() {
	sum := func() (s uint64) {
		for i := range g.counts {
			s += g.counts[i].Load()
		}
		return s
	}
	for prev := sum() + 1; prev != sum(); {
		prev = sum()
		time.Sleep(300 * time.Millisecond)
	}
	g.reset()
}

// benchMeter takes the CPU and allocation readings around the timed loop.
type benchMeter struct {
	cpu     time.Duration
	mallocs uint64
	start   time.Time
}

func (m *benchMeter) begin() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.mallocs, m.cpu, m.start = ms.Mallocs, processCPU(), time.Now()
}

// end reports per delivered packet (packets published × receivers).
func (m *benchMeter) end(b *testing.B, delivered uint64, lost uint64) {
	elapsed, cpu := time.Since(m.start), processCPU()-m.cpu
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if delivered == 0 {
		return
	}
	d := float64(delivered)
	b.ReportMetric(float64(elapsed.Nanoseconds())/d, "ns/fwd-pkt")
	b.ReportMetric(float64(cpu.Nanoseconds())/d, "cpu-ns/fwd-pkt")
	b.ReportMetric(float64(ms.Mallocs-m.mallocs)/d, "allocs/fwd-pkt")
	b.ReportMetric(float64(lost), "lost")
}

// BenchmarkSRTPFloor: one goroutine seals RTP packets with AES-128-GCM SRTP (pion/srtp)
// and writes them to a loopback UDP socket, a second one reads and decrypts them.
// Nothing forwards anything: no media server can do less per packet.
func BenchmarkSRTPFloor(b *testing.B) {
	key, salt := make([]byte, 16), make([]byte, 12)
	_, _ = rand.Read(key)
	_, _ = rand.Read(salt)
	enc, dec := srtpPair(b, key, salt)
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	gate := newDeliveryGate(1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var buf, plain [maxPacketSize]byte
		var h rtp.Header
		for {
			n, err := rx.Read(buf[:])
			if err != nil {
				return
			}
			if _, err := dec.DecryptRTP(plain[:0], buf[:n], &h); err == nil {
				gate.received(0)
			}
		}
	}()
	defer func() {
		_ = tx.Close()
		_ = rx.Close()
		wg.Wait()
	}()

	h := rtp.Header{Version: 2, PayloadType: 96, SSRC: 0x1234}
	var raw, sealed [maxPacketSize]byte
	hn, err := h.MarshalTo(raw[:])
	if err != nil {
		b.Fatal(err)
	}
	n := hn + benchPayloadSize
	var m benchMeter
	var sent uint64
	b.ReportAllocs()
	m.begin()
	for b.Loop() {
		h.SequenceNumber++
		h.Timestamp += 3000
		if _, err := h.MarshalTo(raw[:]); err != nil {
			b.Fatal(err)
		}
		out, err := enc.EncryptRTP(sealed[:0], raw[:n], &h)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Write(out); err != nil {
			b.Fatal(err)
		}
		if sent++; sent%benchBurst == 0 {
			gate.wait(sent)
		}
	}
	gate.wait(sent)
	m.end(b, sent, gate.lost)
}

// loopbackCall is a real Engine with one publisher Peer sending one VP8 track and
// subscriber Peers receiving it, each Peer with a lean pion client PeerConnection
// (leanclient_test.go) over loopback DTLS-SRTP. The clients read their RTCP, so the
// subscribing ones see the server's sender reports and the publishing one its NACKs.
type loopbackCall struct {
	engine    *Engine
	pub       *Publisher
	video     *webrtc.TrackLocalStaticRTP
	receiver  *Receiver
	subs      []*Subscriber
	clients   []*webrtc.PeerConnection // the subscribers' clients, as subs
	reads     atomic.Uint64            // packets the subscribers' clients read from their tracks (decrypted)
	gate      *deliveryGate
	seq       uint16
	pkt       rtp.Packet // reused by write (room for the transport-wide extension)
	payloads  [2][]byte  // delta, keyframe
	readers   sync.WaitGroup
	loss      callLoss
	stamps    *arrivalStamps // the clients' feedback, which finds no socket stamps in it
	responder *ringNACKResponderFactory
	repaired  atomic.Uint64 // packets subscribing clients lost (loss.subscriber) and got again
}

// callLoss makes a loopbackCall lose packets (tests): publisher picks published packets
// whose first transmission the publishing client drops (ringNACKResponderFactory),
// subscriber the packets whose first arrival at its socket each subscribing client drops
// (lossyConn). nil picks none. udpBlocked, when not nil, gives each subscribing client
// ICE over TCP besides UDP and a UDP socket that drops everything while it is true
// (blockedConn). settings, when set, changes each subscribing client's SettingEngine (its
// SRTP profiles, DTLS suites or role) before it is used.
type callLoss struct {
	publisher, subscriber func(seq uint16) bool
	udpBlocked            *atomic.Bool
	settings              func(*webrtc.SettingEngine)
}

// newLoopbackCall connects a publisher and subscribers clients; every subscriber has
// received packets when it returns, and nothing is in flight. opts change the Engine's
// configuration after benchBatchWrites.
func newLoopbackCall(tb testing.TB, subscribers int, opts ...func(*Config)) *loopbackCall {
	tb.Helper()
	return newLossyLoopbackCall(tb, subscribers, callLoss{}, opts...)
}

// newLossyLoopbackCall is newLoopbackCall whose clients lose what loss picks.
func newLossyLoopbackCall(tb testing.TB, subscribers int, loss callLoss, opts ...func(*Config)) *loopbackCall {
	tb.Helper()
	c := &loopbackCall{engine: newTestEngine(tb, append([]func(*Config){benchBatchWrites}, opts...)...), gate: newDeliveryGate(subscribers),
		loss: loss, stamps: &arrivalStamps{}, responder: &ringNACKResponderFactory{size: 1024, drop: loss.publisher}}
	c.pkt.Extensions = make([]rtp.Extension, 0, 1)
	var err error
	for i, key := range []bool{false, true} {
		c.payloads[i] = make([]byte, benchPayloadSize)
		copy(c.payloads[i], vp8Payload(key, 0))
	}
	tb.Cleanup(c.readers.Wait) // after the clients closed (cleanups run last first)
	c.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "alice-media")
	if err != nil {
		tb.Fatal(err)
	}
	var receivers <-chan *Receiver
	client := newClientPCWithInterceptors(tb, webrtc.Configuration{}, leanClientInterceptors(c.stamps, c.responder))
	c.pub, receivers = publishFrom(tb, c.engine, client, c.video)
	c.readUntilClosed(client.GetSenders()[0].Read, func() {}) // RTCP: the server's NACKs, reports, feedback

	// Keyframes until every subscriber has some (the Receiver appears with the first).
	stop := repeat(20*time.Millisecond, func() { c.write(true) })
	defer stop()
	select {
	case c.receiver = <-receivers:
	case <-time.After(20 * time.Second):
		tb.Fatal("the published track did not arrive")
	}
	for i := 0; i < subscribers; i++ {
		c.addSubscriber(tb, i)
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := range c.gate.counts {
		for c.gate.counts[i].Load() == 0 {
			if time.Now().After(deadline) {
				tb.Fatalf("subscriber %d received nothing", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	stop()
	c.gate.settle()
	return c
}

// publish connects a publisher Peer "alice" of engine with a pion client sending tracks;
// its Receivers arrive on the channel with their first packets.
func publish(tb testing.TB, engine *Engine, tracks ...webrtc.TrackLocal) (*Publisher, <-chan *Receiver) {
	tb.Helper()
	return publishFrom(tb, engine, newClientPC(tb), tracks...)
}

// publishFrom is publish from the given client PeerConnection.
func publishFrom(tb testing.TB, engine *Engine, client *webrtc.PeerConnection, tracks ...webrtc.TrackLocal) (*Publisher, <-chan *Receiver) {
	tb.Helper()
	pub, err := engine.NewPublisher("alice")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = pub.Close() })
	receivers := make(chan *Receiver, len(tracks))
	pub.OnTrack(func(r *Receiver) { receivers <- r })
	client, offer := offerTracks(tb, client, tracks...)
	connectCandidates(tb, client, pub)
	answerOffer(tb, client, pub, offer)
	return pub, receivers
}

// repeat runs f every interval on a goroutine until the returned stop (idempotent) is
// called.
func repeat(interval time.Duration, f func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				f()
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// negotiate lets subscriber Peer sub offer its DownTracks to its client and applies the
// client's answer.
func negotiate(tb testing.TB, sub *Subscriber, client *webrtc.PeerConnection) {
	tb.Helper()
	offer, err := sub.CreateOffer()
	if err != nil {
		tb.Fatal(err)
	}
	answer := clientAnswer(tb, client, offer)
	sub.MarkLocalDescriptionSent()
	if err := sub.HandleAnswer(answer); err != nil {
		tb.Fatal(err)
	}
}

// addSubscriber makes subscriber i: a Peer with one DownTrack, negotiated at once, and a
// client that counts what it reads.
func (c *loopbackCall) addSubscriber(tb testing.TB, i int) {
	tb.Helper()
	sub, err := c.engine.NewSubscriber(SubscriberOptions{ID: fmt.Sprintf("sub%d", i)})
	if err != nil {
		tb.Fatal(err)
	}
	c.subs = append(c.subs, sub)
	tb.Cleanup(func() { _ = sub.Close() })
	setup := leanClientInterceptors(c.stamps, c.responder)
	if c.loss.subscriber != nil {
		mux, lean := lossyUDPMux(tb, c.loss.subscriber, &c.repaired), setup
		setup = func(media *webrtc.MediaEngine, settings *webrtc.SettingEngine) (*interceptor.Registry, error) {
			settings.SetICEUDPMux(mux)
			return lean(media, settings)
		}
	}
	if blocked := c.loss.udpBlocked; blocked != nil {
		mux, lean := blockableUDPMux(tb, blocked), setup
		setup = func(media *webrtc.MediaEngine, settings *webrtc.SettingEngine) (*interceptor.Registry, error) {
			settings.SetICEUDPMux(mux)
			settings.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
			return lean(media, settings)
		}
	}
	if change := c.loss.settings; change != nil {
		inner := setup
		setup = func(media *webrtc.MediaEngine, settings *webrtc.SettingEngine) (*interceptor.Registry, error) {
			change(settings)
			return inner(media, settings)
		}
	}
	client := newClientPCWithInterceptors(tb, webrtc.Configuration{}, setup)
	c.clients = append(c.clients, client)
	connectCandidates(tb, client, sub)
	client.OnTrack(func(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		c.readUntilClosed(receiver.Read, func() {}) // RTCP: the server's sender reports
		c.readUntilClosed(track.Read, func() { c.reads.Add(1); c.gate.received(i) })
	})
	if _, err := sub.AddDownTrack(c.receiver); err != nil {
		tb.Fatal(err)
	}
	negotiate(tb, sub, client)
}

// readUntilClosed calls read (a client's track or its RTCP, through its interceptors) on
// a goroutine until it fails (the client closed), and each after every packet read.
func (c *loopbackCall) readUntilClosed(read func([]byte) (int, interceptor.Attributes, error), each func()) {
	c.readers.Add(1)
	go func() {
		defer c.readers.Done()
		var buf [maxPacketSize]byte
		for {
			if _, _, err := read(buf[:]); err != nil {
				return
			}
			each()
		}
	}()
}

// write publishes one packet; every 16th (and every priming one) is a keyframe, so a
// subscriber whose queue dropped a packet resumes soon. The packet is reused, as a lean
// client reuses its packets (pion copies it, and its Extensions, per write).
func (c *loopbackCall) write(keyframe bool) {
	c.seq++
	p := c.payloads[0]
	if keyframe || c.seq%16 == 0 {
		p = c.payloads[1]
	}
	c.pkt.Header = rtp.Header{
		Version: 2, SequenceNumber: c.seq, Timestamp: uint32(c.seq/4) * 3000, Marker: c.seq%4 == 3,
		Extensions: c.pkt.Extensions[:0],
	}
	c.pkt.Payload = p
	_ = c.video.WriteRTP(&c.pkt)
}

// benchBatchWrites sets rtc.batch_writes for the end-to-end benchmarks from
// SFU_BENCH_BATCH_WRITES (1 on, 0 off; unset: the default), to compare both in one
// binary (docs/performance.md, batched writes).
// SFU_BENCH_SEND_BATCH sets rtc.send_batch likewise (1: one write per packet on the own
// path; unset: the default), SFU_BENCH_WRITERS rtc.writers (0: a goroutine per
// subscriber), SFU_BENCH_OWN_INBOUND rtc.own_srtp_inbound (1 on, 0 off),
// SFU_BENCH_READER_TURNS rtc.reader_turns (0: the read goroutine always wakes the writers).
func benchBatchWrites(c *Config) {
	if v, err := strconv.Atoi(os.Getenv("SFU_BENCH_WRITERS")); err == nil {
		c.Writers = v
	}
	if v := os.Getenv("SFU_BENCH_BATCH_WRITES"); v != "" {
		c.BatchWrites = v == "1"
	}
	if v, err := strconv.Atoi(os.Getenv("SFU_BENCH_SEND_BATCH")); err == nil {
		c.SendBatch = v
	}
	if v := os.Getenv("SFU_BENCH_OWN_INBOUND"); v != "" {
		c.OwnSRTPInbound = v == "1"
	}
	if v, err := strconv.Atoi(os.Getenv("SFU_BENCH_READER_TURNS")); err == nil {
		c.ReaderTurns = v
	}
}

// BenchmarkForwardEndToEnd: packets written by a publishing client until every
// subscribing client has read them, through a real Engine over loopback DTLS-SRTP —
// pion on both sides included, the clients lean ones (leanclient_test.go, D145). One op is
// one published packet.
func BenchmarkForwardEndToEnd(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			c := newLoopbackCall(b, n)
			var m benchMeter
			var sent uint64
			b.ReportAllocs()
			m.begin()
			for b.Loop() {
				c.write(false)
				if sent++; sent%benchBurst == 0 {
					c.gate.wait(sent)
				}
			}
			c.gate.wait(sent)
			m.end(b, sent*uint64(n), c.gate.lost)
			var own, writes uint64
			for _, p := range c.subs {
				own, writes = own+p.out.own.Load(), writes+p.out.writes.Load()
			}
			if writes > 0 {
				b.ReportMetric(float64(own)/float64(writes), "own-pkts/write")
			}
			if w := c.engine.batch; w != nil && w.batches.Load() > 0 {
				b.ReportMetric(float64(w.packets.Load())/float64(w.batches.Load()), "pkts/write")
				b.ReportMetric(float64(w.segmented.Load())/float64(max(w.packets.Load(), 1)), "coalesced/pkt")
			}
		})
	}
}
