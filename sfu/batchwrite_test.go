package sfu

import (
	"bytes"
	"github.com/parley-rtc/parley/internal/rxstamp"
	"github.com/pion/rtp"
	"net"
	"net/netip"
	"testing"
	"time"
)

// udpPair is a sending socket wrapped in a batchWriter and a receiving socket, both on
// the loopback address of network (udp4 or udp6; the test skips when it has none).
func udpPair(t *testing.T, network string) (*batchWriter, *net.UDPConn, netip.AddrPort) {
	t.Helper()
	send, recv := udpSockets(t, network)
	return newBatchWriter(send, network == "udp4"), recv, recv.LocalAddr().(*net.UDPAddr).AddrPort()
}

// udpSockets is a sending and a receiving socket on the loopback address of network,
// closed at the test's end.
func udpSockets(t *testing.T, network string) (send, recv *net.UDPConn) {
	t.Helper()
	var err error
	loop := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	if network == "udp6" {
		loop = &net.UDPAddr{IP: net.IPv6loopback}
	}
	send, err = net.ListenUDP(network, loop)
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	if recv, err = net.ListenUDP(network, loop); err != nil {
		_ = send.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = send.Close(); _ = recv.Close() })
	return send, recv
}

// readDatagrams reads n datagrams from conn and checks that datagram i is payload(i).
func readDatagrams(t *testing.T, conn *net.UDPConn, n int, payload func(int) []byte) {
	t.Helper()
	buf := make([]byte, 2048)
	for i := 0; i < n; i++ {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		m, _, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d: %v", i, n, err)
		}
		if !bytes.Equal(buf[:m], payload(i)) {
			t.Fatalf("datagram %d: got %d bytes %x…, want %x…", i, m, buf[:min(m, 4)], payload(i)[:4])
		}
	}
}

func testDatagram(i int) []byte { return bytes.Repeat([]byte{byte(i + 1)}, 1000+i) }

// Several datagrams leave in one syscall: a full queue at once, a partial one on flush.
func TestBatchWriterWritesSeveralDatagramsPerSyscall(t *testing.T) {
	for _, tc := range []struct {
		name    string
		network string
		packets int
		flush   bool
	}{
		{"full queue", "udp4", batchSize, false},
		{"flushed after a run of writes", "udp4", 3, true},
		{"full queue, IPv6", "udp6", batchSize, false},
		{"flushed after a run of writes, IPv6", "udp6", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, recv, to := udpPair(t, tc.network) // no flush goroutine: nothing is written by a timer
			for i := 0; i < tc.packets; i++ {
				if !w.queues(len(testDatagram(i)), to) {
					t.Fatalf("datagram %d to %s is not queued", i, to)
				}
				w.write(testDatagram(i), to)
			}
			if tc.flush {
				if got := w.batches.Load(); got != 0 {
					t.Fatalf("%d syscalls before the flush, want 0", got)
				}
				w.flush(to)
			}
			readDatagrams(t, recv, tc.packets, testDatagram)
			if b, p := w.batches.Load(), w.packets.Load(); b != 1 || p != uint64(tc.packets) {
				t.Fatalf("%d syscalls wrote %d datagrams, want 1 syscall writing %d", b, p, tc.packets)
			}
		})
	}
}

// A datagram nobody flushes is written by the flush goroutine, batchFlushInterval after
// it was queued (≤ 1 ms, decision D58); close writes what is still queued.
func TestBatchWriterBoundsTheDelay(t *testing.T) {
	if batchFlushInterval > time.Millisecond {
		t.Fatalf("batchFlushInterval %s: the added delay must stay ≤ 1 ms", batchFlushInterval)
	}
	w, recv, to := udpPair(t, "udp4")
	go w.run()
	defer w.close(true)
	for round := 0; round < 3; round++ { // the goroutine re-arms after each flush
		w.write(testDatagram(round), to)
		readDatagrams(t, recv, 1, func(int) []byte { return testDatagram(round) })
	}
	w.close(true)
	if got := w.packets.Load(); got != 3 {
		t.Fatalf("%d datagrams written, want 3", got)
	}
}

// What a batch cannot carry is written at once by the caller: another address family
// than the socket's, datagrams longer than a queue slot, anything after close.
func TestBatchWriterQueuesOnlyWhatItCanWrite(t *testing.T) {
	w, _, to := udpPair(t, "udp4")
	v6 := netip.MustParseAddrPort("[::1]:5000")
	for _, tc := range []struct {
		name string
		n    int
		addr netip.AddrPort
		want bool
	}{
		{"IPv4 destination", 1200, to, true},
		{"IPv6 destination on an IPv4 socket", 1200, v6, false},
		{"longer than a slot", batchBufSize + 1, to, false},
	} {
		if got := w.queues(tc.n, tc.addr); got != tc.want {
			t.Errorf("%s: queues = %v, want %v", tc.name, got, tc.want)
		}
	}
	w.close(false)
	if w.queues(1200, to) {
		t.Error("a closed batchWriter still queues")
	}
}

// With rtc.batch_writes the Engine's subscribers receive everything through the queues,
// and each subscriber's Sender flushes its own destination (the selected pair's remote
// address is known).
func TestEngineBatchWritesDeliverMedia(t *testing.T) {
	const subscribers = 2
	c := newLoopbackCall(t, subscribers, func(cfg *Config) { cfg.BatchWrites = true })
	w := c.engine.batch
	if w == nil {
		t.Fatal("rtc.batch_writes is on but the Engine has no batchWriter")
	}
	before := w.packets.Load()
	var sent uint64
	for i := 0; i < 4*benchBurst; i++ {
		c.write(false)
		if sent++; sent%benchBurst == 0 {
			c.gate.wait(sent)
		}
	}
	if c.gate.lost != 0 {
		t.Fatalf("%d packets lost", c.gate.lost)
	}
	// The counter moves after the syscall, which may return after a client read.
	waitFor(t, func() bool { return w.packets.Load()-before >= sent*subscribers })
	for i, s := range c.subs {
		a := s.remote.Load()
		if a == nil {
			t.Errorf("subscriber %d: the Sender does not know where to flush", i)
			continue
		}
		sh := w.shard(*a)
		sh.mu.Lock()
		watched := sh.sent[*a] == s.history
		sh.mu.Unlock()
		if !watched {
			t.Errorf("subscriber %d: the flushes do not restamp its send times", i)
		}
	}
}

// Queueing and writing a batch allocates nothing (the hot path's rule).
func TestBatchWriterDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("x/net's sendmmsg headers come from a sync.Pool, which drops items under -race")
	}
	w, _, to := udpPair(t, "udp4")
	watchedHistory(w, to, 5) // restamping included
	p := twccDatagram(t, 5, 1)
	w.write(p, to) // warm x/net's pooled sendmmsg headers
	w.flush(to)
	if n := testing.AllocsPerRun(100, func() {
		for i := 0; i < 4; i++ {
			w.write(p, to)
		}
		w.flush(to)
	}); n != 0 {
		t.Fatalf("%.1f allocations per batch, want 0", n)
	}
}

// twccDatagram is an RTP packet numbered seq in the transport-wide-cc extension id, as
// the numbering interceptor writes it (the SRTP payload does not matter here).
func twccDatagram(t *testing.T, id uint8, seq uint16) []byte {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, SSRC: 1}, Payload: make([]byte, 1000)}
	if err := p.Header.SetExtension(id, []byte{byte(seq >> 8), byte(seq)}); err != nil {
		t.Fatal(err)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The congestion controller compares each packet's send time with its arrival time. A
// Sender's run of packets is noted by the numbering interceptor as pion writes them, but
// with batching they leave together at the flush; restamped at the flush (D140), the
// one-way delay the estimator sees is the same for every packet of the batch. With the
// interceptor's times it would vary by as long as the run took (here 4 ms a packet, as on
// a starved process), noise the delay-based estimate reads as a queue.
func TestBatchWriterStampsTheActualSendTime(t *testing.T) {
	const (
		id      = 5
		packets = 8
		apart   = 4 * time.Millisecond // between the interceptor's notes of two packets
		noise   = 2 * time.Millisecond // allowed spread of the one-way delay (loopback)
	)
	for _, tc := range []struct {
		name   string
		full   bool // the queue fills (batchSize packets) instead of the Sender flushing
		watch  bool
		stamps bool // want the send times moved to the write
	}{
		{"flushed after the Sender's run", false, true, true},
		{"written by a full queue", true, true, true},
		{"an address no Subscriber watches", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, recv, to := udpPair(t, "udp4")
			kernel := rxstamp.Enable(recv)
			h := watchedHistory(w, to, id)
			if !tc.watch {
				w.unwatch(to, h)
			}
			n := packets
			if tc.full {
				n = batchSize
			}
			start := h.clock() - int64(n)*int64(apart)
			for k := 0; k < n; k++ {
				seq := uint16(65530 + k) // across the wrap
				b := twccDatagram(t, id, seq)
				h.record(seq, len(b), start+int64(k)*int64(apart))
				w.write(b, to)
			}
			if !tc.full {
				w.flush(to)
			}
			buf := make([]byte, 2048)
			var lo, hi time.Duration
			for k := 0; k < n; k++ {
				_ = recv.SetReadDeadline(time.Now().Add(10 * time.Second))
				m, _, at, err := rxstamp.Read(recv, kernel, buf)
				if err != nil {
					t.Fatalf("datagram %d: %v", k, err)
				}
				seq, ok := transportSequence(buf[:m], id)
				if !ok {
					t.Fatalf("datagram %d has no transport-wide sequence number", k)
				}
				sent, _, ok := h.lookup(seq)
				if !ok {
					t.Fatalf("packet %d is not in the send history", seq)
				}
				// Arrival on the wall clock, send time on the history's: the offset is
				// the same for every packet, only the spread matters.
				d := time.Duration(at - h.base.UnixNano() - sent)
				if k == 0 || d < lo {
					lo = d
				}
				if k == 0 || d > hi {
					hi = d
				}
			}
			spread := hi - lo
			if tc.stamps && spread > noise {
				t.Fatalf("the one-way delay of one batch varies by %s (kernel receive times: %v), want ≤ %s: send times are not those of the write", spread, kernel, noise)
			}
			if !tc.stamps && spread < time.Duration(n-1)*apart-noise {
				t.Fatalf("the one-way delay varies by %s, want the interceptor's times kept (≈ %s)", spread, time.Duration(n-1)*apart)
			}
		})
	}
}

// Only RTP packets numbered for the watched history are restamped: not RTCP to the same
// address, nothing after unwatch, again after a new watch.
func TestBatchWriterRestampsOnlyWatchedRTP(t *testing.T) {
	w, _, to := udpPair(t, "udp4")
	h := watchedHistory(w, to, 5)
	for seq, tc := range []struct {
		name    string
		rtcp    bool
		watched bool
		want    bool
	}{
		{"RTCP to a watched address", true, true, false},
		{"RTP after unwatch", false, false, false},
		{"RTP after a new watch", false, true, true},
	} {
		if tc.watched {
			w.watch(to, h)
		} else {
			w.unwatch(to, h)
		}
		b := twccDatagram(t, 5, uint16(seq))
		if tc.rtcp {
			b[1] = 200 // a sender report's packet type
		}
		h.record(uint16(seq), len(b), 1)
		w.write(b, to)
		w.flush(to)
		if sent, _, _ := h.lookup(uint16(seq)); (sent != 1) != tc.want {
			t.Errorf("%s: send time %d, restamped = %v, want %v", tc.name, sent, sent != 1, tc.want)
		}
	}
}

// watchedHistory is a send history numbering with extension id, whose packets to addr
// w restamps.
func watchedHistory(w *batchWriter, addr netip.AddrPort, id uint8) *sendHistory {
	h := newSendHistory()
	h.allocate()
	h.extID.Store(uint32(id))
	w.watch(addr, h)
	return h
}

// Runs of datagrams to one destination, all of one size but a shorter last one, leave
// as one message with UDP segmentation offload (D141); the receiver still gets every
// datagram, in order and intact. A different size or destination ends a run.
func TestBatchWriterCoalescesRunsToOneDestination(t *testing.T) {
	if !gsoSupported {
		t.Skip("UDP segmentation offload is Linux's")
	}
	w, recv, to := udpPair(t, "udp4")
	other, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otherTo := other.LocalAddr().(*net.UDPAddr).AddrPort()
	for w.shard(to) != w.shard(otherTo) { // both in one queue, so that one flush meets both
		_ = other.Close()
		if other, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
		otherTo = other.LocalAddr().(*net.UDPAddr).AddrPort()
	}
	sized := func(i, n int) []byte { return bytes.Repeat([]byte{byte(i + 1)}, n) }
	type datagram struct {
		to   netip.AddrPort
		data []byte
	}
	queued := []datagram{
		{to, sized(0, 1100)}, {to, sized(1, 1100)}, {to, sized(2, 1100)}, {to, sized(3, 700)}, // a run of 4
		{to, sized(4, 1100)}, {to, sized(5, 1100)}, // a run of 2
		{otherTo, sized(6, 1100)},                // another destination: alone
		{to, sized(7, 300)}, {to, sized(8, 900)}, // a longer one after a shorter: two runs of 1
	}
	for _, d := range queued {
		w.write(d.data, d.to)
	}
	w.flush(to)
	var mine [][]byte
	for _, d := range queued {
		if d.to == to {
			mine = append(mine, d.data)
		}
	}
	readDatagrams(t, recv, len(mine), func(i int) []byte { return mine[i] })
	readDatagrams(t, other, 1, func(int) []byte { return queued[6].data })
	if w.gsoOff.Load() {
		t.Skip("this kernel refuses UDP_SEGMENT: everything went one by one")
	}
	if b, p, s := w.batches.Load(), w.packets.Load(), w.segmented.Load(); b != 1 || p != uint64(len(queued)) || s != 6 {
		t.Fatalf("%d syscalls wrote %d datagrams, %d of them coalesced; want 1 syscall, %d datagrams, 6 coalesced (runs of 4 and 2)", b, p, s, len(queued))
	}
}

// A Subscriber's RTP packet to its watched address waits for its Sender's flush and does
// not wake the flush goroutine; anything else (here RTCP to the same address) does.
func TestBatchWriterWakesTheFlushGoroutineOnlyWhenNeeded(t *testing.T) {
	for _, tc := range []struct {
		name string
		rtcp bool
		want bool
	}{
		{"RTP of the watched Subscriber", false, false},
		{"RTCP to the same address", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, recv, to := udpPair(t, "udp4") // no flush goroutine: armed stays as write left it
			watchedHistory(w, to, 5)
			b := twccDatagram(t, 5, 1)
			if tc.rtcp {
				b[1] = 200
			}
			w.write(b, to)
			if got := w.armed.Load(); got != tc.want {
				t.Fatalf("flush goroutine woken = %v, want %v", got, tc.want)
			}
			w.flush(to)
			readDatagrams(t, recv, 1, func(int) []byte { return b })
		})
	}
}
