package sfu

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// udpPair is a sending socket wrapped in a batchWriter and a receiving socket, both on
// the loopback address of network (udp4 or udp6; the test skips when it has none).
func udpPair(t *testing.T, network string) (*batchWriter, *net.UDPConn, netip.AddrPort) {
	t.Helper()
	loop := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	if network == "udp6" {
		loop = &net.UDPAddr{IP: net.IPv6loopback}
	}
	send, err := net.ListenUDP(network, loop)
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	recv, err := net.ListenUDP(network, loop)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = send.Close(); _ = recv.Close() })
	return newBatchWriter(send, network == "udp4"), recv, recv.LocalAddr().(*net.UDPAddr).AddrPort()
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
		if s.remote.Load() == nil {
			t.Errorf("subscriber %d: the Sender does not know where to flush", i)
		}
	}
}

// Queueing and writing a batch allocates nothing (the hot path's rule).
func TestBatchWriterDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("x/net's sendmmsg headers come from a sync.Pool, which drops items under -race")
	}
	w, _, to := udpPair(t, "udp4")
	p := testDatagram(0)
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
