package sfu

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/internal/twcctest"
)

// sendEvery calls send(n), n = 0, 1, 2, …, every interval on its own goroutine until send
// returns false or stop is called (stop waits for the goroutine).
func sendEvery(interval time.Duration, send func(n uint16) bool) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for n := uint16(0); ; n++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if !send(n) {
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// feedbackArrivals adds the arrival time (µs, on the feedback's reference clock) of
// every packet fb reports as received to arrivals, by transport-wide sequence number.
func feedbackArrivals(fb *rtcp.TransportLayerCC, arrivals map[uint16]int64) {
	walkFeedback(fb, func(seq uint16, received bool, at int64) {
		if received {
			arrivals[seq] = at
		}
	})
}

// walkFeedback calls f with each packet fb reports: its transport-wide sequence number,
// whether it was received and, if so, its arrival time (µs, on the reference clock).
func walkFeedback(fb *rtcp.TransportLayerCC, f func(seq uint16, received bool, at int64)) {
	at := int64(fb.ReferenceTime) * 64000
	seq, deltas := fb.BaseSequenceNumber, fb.RecvDeltas
	n := uint16(0)
	status := func(s uint16) {
		switch {
		case n >= fb.PacketStatusCount: // a status vector's padding
		case s != rtcp.TypeTCCPacketNotReceived && len(deltas) > 0:
			at += deltas[0].Delta
			deltas = deltas[1:]
			f(seq, true, at)
		case s == rtcp.TypeTCCPacketNotReceived:
			f(seq, false, 0)
		}
		seq++
		n++
	}
	for _, c := range fb.PacketChunks {
		switch c := c.(type) {
		case *rtcp.RunLengthChunk:
			for i := uint16(0); i < c.RunLength; i++ {
				status(c.PacketStatusSymbol)
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				status(s)
			}
		}
	}
}

// TestPublisherFeedbackReportsSocketArrival: a publisher sends a packet every 10 ms with
// transport-wide sequence numbers while the server is held up for 400 ms: the read
// goroutine of its track (as on a CPU-starved server), or the socket's read goroutine (as
// when the whole process stalls: the datagrams wait in the kernel's socket buffer). The
// feedback must report the packets as they reached the server's socket (10 ms apart), not
// as the late goroutine read them (a 400 ms gap, then a burst): a browser's delay-based
// estimator reads the latter as a queue building on its link and lowers its bitrate.
func TestPublisherFeedbackReportsSocketArrival(t *testing.T) {
	tests := []struct {
		name string
		hold func(t *testing.T, e *Engine, r *Receiver) (release func())
	}{
		{"track read goroutine", func(t *testing.T, _ *Engine, r *Receiver) func() {
			return holdTrackReadGoroutine(t, r)
		}},
		{"socket read goroutine", func(_ *testing.T, e *Engine, _ *Receiver) func() {
			var gate sync.Mutex
			gate.Lock()
			wait := func() { gate.Lock(); gate.Unlock() } //nolint:staticcheck // an empty critical section: waits for release
			e.stamping.hold.Store(&wait)
			return func() {
				e.stamping.hold.Store(nil)
				gate.Unlock()
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { testFeedbackUnderHold(t, tc.hold) })
	}
}

// holdTrackReadGoroutine holds up r's read goroutine until release is called: a
// subscriber's queue (without its writer) whose lock the goroutine takes for each packet
// it forwards there, from the first keyframe on.
func holdTrackReadGoroutine(t *testing.T, r *Receiver) (release func()) {
	t.Helper()
	queue := newSender(4096)
	bindTestDownTrack(r, queue, &fakeTrackWriter{})
	waitFor(t, func() bool { return queue.queued() > 0 })
	queue.mu.Lock() // the track's next forward to the queue waits
	return queue.mu.Unlock
}

func testFeedbackUnderHold(t *testing.T, hold func(t *testing.T, e *Engine, r *Receiver) (release func())) {
	engine := newTestEngine(t)
	pub, err := engine.NewPublisher("alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	receivers := make(chan *Receiver, 1)
	pub.OnTrack(func(r *Receiver) { receivers <- r })

	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "alice")
	if err != nil {
		t.Fatal(err)
	}
	client, offer := publishingClient(t, video)
	sender := client.GetSenders()[0]
	connectCandidates(t, client, pub)
	answerOffer(t, client, pub, offer)
	var extID uint8
	for _, e := range sender.GetParameters().HeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			extID = uint8(e.ID)
		}
	}
	if extID == 0 {
		t.Fatal("transport-wide-cc not negotiated")
	}

	// The client's feedback: arrival time per transport-wide sequence number.
	var mu sync.Mutex
	arrivals := map[uint16]int64{}
	sent := map[uint16]time.Time{}
	go func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			mu.Lock()
			for _, p := range pkts {
				if fb, ok := p.(*rtcp.TransportLayerCC); ok {
					feedbackArrivals(fb, arrivals)
				}
			}
			mu.Unlock()
		}
	}()
	stop := sendEvery(10*time.Millisecond, func(seq uint16) bool {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 900}, Payload: vp8Payload(seq%30 == 0, seq)}
		if err := pkt.SetExtension(extID, binary.BigEndian.AppendUint16(nil, seq)); err != nil {
			t.Error(err)
			return false
		}
		mu.Lock()
		sent[seq] = time.Now()
		mu.Unlock()
		return video.WriteRTP(pkt) == nil
	})
	defer stop()
	reported := func(seq uint16) bool {
		mu.Lock()
		defer mu.Unlock()
		_, ok := arrivals[seq]
		return ok
	}
	lastSent := func() uint16 {
		mu.Lock()
		defer mu.Unlock()
		return uint16(len(sent) - 1)
	}

	r := <-receivers
	waitFor(t, func() bool { return reported(20) })
	release := hold(t, engine, r)
	from := lastSent()
	time.Sleep(400 * time.Millisecond)
	to := lastSent()
	release()
	waitFor(t, func() bool { return reported(to + 20) })

	// Between consecutive packets, the reported arrival gap follows the send gap.
	mu.Lock()
	defer mu.Unlock()
	var worst time.Duration
	compared := 0
	for seq := from; seq != to+20; seq++ {
		a0, ok0 := arrivals[seq]
		a1, ok1 := arrivals[seq+1]
		if !ok0 || !ok1 {
			continue
		}
		arrivalGap := time.Duration(a1-a0) * time.Microsecond
		sendGap := sent[seq+1].Sub(sent[seq])
		worst = max(worst, arrivalGap-sendGap, sendGap-arrivalGap)
		compared++
	}
	t.Logf("packets %d..%d sent while the goroutine was held 400 ms: worst difference between reported arrival gap and send gap %s (%d pairs)",
		from, to, worst.Round(100*time.Microsecond), compared)
	if compared < int(to-from) {
		t.Fatalf("only %d of %d packet pairs reported", compared, to-from+20)
	}
	if worst > 200*time.Millisecond {
		t.Fatalf("feedback reports an arrival gap %s off the send gap: the read goroutine's delay, not the socket's arrival", worst)
	}
}

// A publisher sending fast gets its feedback before the interval is over, once
// twccFeedbackMaxPackets are waiting, and each feedback fits a datagram (D147): at
// 40 000 packets a second a 100 ms feedback was ≈ 5 KB, and pion drops datagrams over its
// 1460-byte receive MTU.
func TestPublisherFeedbackSentEarlyWhenFull(t *testing.T) {
	f := newFeedbackFixture(t)
	f.sender.ticks.loop.interval = time.Hour // only the early feedback can come
	// The writer's packet is valid during Write (it is the recorder's reused buffer), so
	// it is checked there, as pion's RTCP writer marshals it there.
	var mu sync.Mutex
	var sizes []int
	var bad error
	f.sender.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range pkts {
			raw, err := p.Marshal()
			if err == nil {
				_, _, err = twcctest.PionStatuses(raw)
			}
			if err != nil && bad == nil {
				bad = err
			}
			sizes = append(sizes, len(raw))
		}
		return 0, nil
	}))
	f.sender.mu.Lock()
	f.sender.startLocked() // as its first remote stream does
	f.sender.mu.Unlock()
	defer func() { _ = f.sender.Close() }()
	now := time.Unix(0, f.sender.startNs).Add(time.Second)
	n := 0
	for round := 1; round <= 3; round++ {
		for range twccFeedbackMaxPackets {
			f.record(uint16(n*3/2), now) // every third number lost: mixed status chunks
			n++
			now = now.Add(time.Duration(100+n%7*100) * time.Microsecond)
		}
		waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) >= round })
	}
	mu.Lock()
	defer mu.Unlock()
	if bad != nil {
		t.Fatalf("pion refuses a feedback: %v", bad)
	}
	for i, size := range sizes {
		if size > 1200 || size < 20 {
			t.Errorf("feedback %d: %d bytes, want 20–1200", i, size)
		}
	}
	t.Logf("feedback sizes: %v bytes", sizes)
}

// feedbackFixture is a publisher's feedbackSender with its socket stamps and one RTP
// packet carrying a transport-wide sequence number (extension id 3); record stamps and
// records the packet numbered n (both sequence numbers) at now.
type feedbackFixture struct {
	stamps *arrivalStamps
	sender *feedbackSender
	raw    []byte
}

func newFeedbackFixture(tb testing.TB) *feedbackFixture {
	stamps := &arrivalStamps{}
	i, err := (&feedbackFactory{stamps: stamps, interval: twccFeedbackInterval}).NewInterceptor("")
	if err != nil {
		tb.Fatal(err)
	}
	h := rtp.Header{Version: 2, SSRC: 0x1234}
	if err := h.SetExtension(3, []byte{0, 0}); err != nil {
		tb.Fatal(err)
	}
	raw, err := h.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return &feedbackFixture{stamps: stamps, sender: i.(*feedbackSender), raw: raw}
}

func (f *feedbackFixture) record(n uint16, now time.Time) {
	binary.BigEndian.PutUint16(f.raw[2:], n)
	binary.BigEndian.PutUint16(f.raw[len(f.raw)-3:], n) // the one-byte element: id/len, then the number
	f.stamps.record(f.raw, now.UnixNano())
	f.sender.note(f.raw, 0x1234, 3, now)
}

// BenchmarkPublisherFeedbackRecord: one publisher packet through the socket stamp and the
// feedback recorder (the per-packet work of twcc.go), with a feedback built every 100
// packets as the feedback goroutine does. The arrivals come after the sender's start (its
// recorder's clock), 1 ms apart.
func BenchmarkPublisherFeedbackRecord(b *testing.B) {
	f := newFeedbackFixture(b)
	now := time.Unix(0, f.sender.startNs).Add(time.Second)
	built := 0
	b.ReportAllocs()
	for k := 0; k < b.N; k++ {
		f.record(uint16(k), now)
		if k%100 == 99 {
			f.sender.mu.Lock()
			for f.sender.recorder.Build() != nil {
				built++
			}
			f.sender.mu.Unlock()
		}
		now = now.Add(time.Millisecond)
	}
	if b.N >= 100 && built == 0 {
		b.Fatal("no feedback built")
	}
}

// countingRTCPWriter takes feedback as pion's RTCP writer does (each packet's Marshal) and
// counts its packets and bytes.
type countingRTCPWriter struct{ packets, bytes int }

func (w *countingRTCPWriter) Write(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
	for _, p := range pkts {
		raw, err := p.Marshal()
		if err != nil {
			return 0, err
		}
		w.packets++
		w.bytes += len(raw)
	}
	return 0, nil
}

// BenchmarkPublisherFeedbackBuild: the transport-wide feedback a publisher gets every
// 100 ms, built and handed to an RTCP writer (feedbackSender.send: twccfb.Recorder.Build into
// its buffer, Marshal returning it as pion's rtcp.Marshal calls it) from packets recorded
// 0.2–3 ms apart (no loss, one-byte deltas), at three rates: a camera's packets per
// interval, ten times that, and the end-to-end benchmark's. One op is one send (1, 1 and
// 7 packets of ≤ 1200 bytes); allocs/pkt is per recorded packet. pion's
// DTLSTransport.WriteRTCP, not measured here, then copies the bytes (rtcp.Marshal) and
// encrypts them.
//
//	go test -run '^$' -bench BenchmarkPublisherFeedbackBuild -benchmem ./sfu/
func BenchmarkPublisherFeedbackBuild(b *testing.B) {
	for _, per := range []int{30, 300, 3000} {
		b.Run(fmt.Sprintf("packets=%d", per), func(b *testing.B) {
			f := newFeedbackFixture(b)
			now := time.Unix(0, f.sender.startNs).Add(time.Second)
			rng := rand.New(rand.NewPCG(1, 2))
			n := uint16(0)
			w := &countingRTCPWriter{}
			var mallocs uint64
			var ms runtime.MemStats
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				for range per {
					f.record(n, now)
					n++
					now = now.Add(200*time.Microsecond + time.Duration(rng.IntN(2800))*time.Microsecond)
				}
				runtime.ReadMemStats(&ms)
				before := ms.Mallocs
				b.StartTimer()
				f.sender.send(w)
				b.StopTimer()
				runtime.ReadMemStats(&ms)
				mallocs += ms.Mallocs - before
				b.StartTimer()
			}
			if w.packets < b.N {
				b.Fatalf("%d feedback packets in %d sends", w.packets, b.N)
			}
			b.ReportMetric(float64(mallocs)/float64(b.N*per), "allocs/pkt")
			b.ReportMetric(float64(w.packets)/float64(b.N), "fb-pkts/op")
			b.ReportMetric(float64(w.bytes)/float64(w.packets), "B/fb-pkt")
		})
	}
}

// TestPublisherFeedbackSendDoesNotAllocate: building the feedback and handing it to the
// RTCP writer allocate nothing either (pion's twcc.Recorder made 22–39 objects a feedback;
// D155), with losses and large deltas mixing the status chunks, and the writer gets what
// was recorded.
func TestPublisherFeedbackSendDoesNotAllocate(t *testing.T) {
	f := newFeedbackFixture(t)
	w := &countingRTCPWriter{}
	now := time.Unix(0, f.sender.startNs).Add(time.Second)
	n := uint16(0)
	send := func() {
		for i := range 40 {
			if i%5 != 2 {
				f.record(n, now)
			}
			n++
			now = now.Add(time.Duration(200+i%9*15_000) * time.Microsecond)
		}
		f.sender.send(w)
	}
	send()
	if allocs := testing.AllocsPerRun(100, send); allocs != 0 {
		t.Fatalf("%.1f allocations per feedback", allocs)
	}
	if w.packets < 101 || w.bytes < 101*40 {
		t.Fatalf("%d feedback packets, %d bytes for 101 sends of 40 packets", w.packets, w.bytes)
	}
}

// TestPublisherFeedbackRecordDoesNotAllocate: stamping and recording a packet allocate
// nothing (building the feedback, every 100 ms, does).
func TestPublisherFeedbackRecordDoesNotAllocate(t *testing.T) {
	f := newFeedbackFixture(t)
	now := testNow
	n := uint16(0)
	record := func() {
		f.record(n, now)
		n++
		now = now.Add(time.Millisecond)
	}
	for k := 0; k < 1000; k++ { // the recorder's window grows to its size first
		record()
	}
	if allocs := testing.AllocsPerRun(1000, record); allocs != 0 {
		t.Fatalf("%.2f allocations per packet", allocs)
	}
	if at, ok := f.stamps.arrival(0x1234, n-1, now.UnixNano()); !ok || at != now.Add(-time.Millisecond).UnixNano() {
		t.Fatalf("arrival of the last packet: %d %v", at, ok)
	}
	// With a route the socket records the packet (twccroute.go), and the track skips it.
	route := f.sender.route(0x1234, 3)
	if route == nil {
		t.Fatal("no route")
	}
	routed := func() {
		binary.BigEndian.PutUint16(f.raw[2:], n)
		binary.BigEndian.PutUint16(f.raw[len(f.raw)-3:], n) // the one-byte element: id/len, then the number
		f.stamps.record(f.raw, now.UnixNano())
		f.sender.noteAtTrack(route, f.raw, 0x1234, 3, now)
		n++
		now = now.Add(time.Millisecond)
	}
	if allocs := testing.AllocsPerRun(1000, routed); allocs != 0 {
		t.Fatalf("%.2f allocations per packet recorded at the socket", allocs)
	}
	if !route.recordedAtSocket(n - 1) {
		t.Fatal("the socket did not record the routed packets")
	}
	if err := f.sender.Close(); err != nil {
		t.Fatal(err)
	}
	if f.stamps.routes.lookup(0x1234) != nil {
		t.Fatal("the route outlives its feedbackSender")
	}
}
