package sfu

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"golang.org/x/net/ipv4"

	"github.com/parley-rtc/parley/internal/rxstamp"
)

// ownBatchPath is an own RTP path on the own path already, with a batch of size (1:
// none), writing from a loopback socket to recv; open decrypts what it writes. The
// batch's sendmmsg calls are counted in batches.
type ownBatchPath struct {
	out     *rtpOut
	recv    *net.UDPConn
	open    *srtp.Context
	batches *countingBatchConn
}

// countingBatchConn counts the sendmmsg calls of the batchConn it wraps.
type countingBatchConn struct {
	batchConn
	calls int
}

func (c *countingBatchConn) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	c.calls++
	return c.batchConn.WriteBatch(ms, flags)
}

const ownBatchExtID = 3

func newOwnBatchPath(t *testing.T, size int) *ownBatchPath {
	t.Helper()
	seal, open := srtpPair(t, make([]byte, 16), make([]byte, 12))
	send, recv := udpSockets(t, "udp4")
	to := recv.LocalAddr().(*net.UDPAddr).AddrPort()
	remote := new(atomic.Pointer[netip.AddrPort])
	remote.Store(&to)
	history := newSendHistory()
	history.allocate()
	history.extID.Store(ownBatchExtID)
	p := &ownBatchPath{recv: recv, open: open, batches: &countingBatchConn{batchConn: newBatchConn(send, true)}}
	p.out = &rtpOut{remote: remote, history: history, next: new(atomic.Uint32), mode: outOwn, ctx: seal,
		write: send.WriteToUDPAddrPort}
	if size > 1 {
		p.out.batch = newOutBatch(p.batches, size)
	}
	return p
}

// read reads n datagrams and returns their RTP sequence numbers and transport-wide
// sequence numbers, decrypted in the order they came.
func (p *ownBatchPath) read(t *testing.T, n int) (seqs, twcc []uint16) {
	t.Helper()
	buf, clear := make([]byte, 2048), make([]byte, 2048)
	var h rtp.Header
	for k := 0; k < n; k++ {
		_ = p.recv.SetReadDeadline(time.Now().Add(10 * time.Second))
		m, _, err := p.recv.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d: %v", k, n, err)
		}
		if _, err := p.open.DecryptRTP(clear, buf[:m], &h); err != nil {
			t.Fatalf("datagram %d: %v", k, err)
		}
		seq, _ := transportSequence(buf[:m], ownBatchExtID)
		seqs, twcc = append(seqs, h.SequenceNumber), append(twcc, seq)
	}
	return seqs, twcc
}

// srtpPair is a sealing and an opening AES-128-GCM SRTP context of key and salt.
func srtpPair(tb testing.TB, key, salt []byte) (seal, open *srtp.Context) {
	tb.Helper()
	seal, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		tb.Fatal(err)
	}
	if open, err = srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm); err != nil {
		tb.Fatal(err)
	}
	return seal, open
}

// A Sender on the own path writes what its run has ready with one sendmmsg per batch
// (a run of one with the plain write), in order, each packet numbered, sealed, counted
// and noted in the send history once.
func TestSenderWritesItsRunWithOneSendmmsg(t *testing.T) {
	for _, tc := range []struct {
		name          string
		batch, run    int
		sendmmsg, all int // sendmmsg calls, writes of any kind
	}{
		{"one packet: the plain write", 16, 1, 0, 1},
		{"a run of five", 16, 5, 1, 1},
		{"a run of nine, batches of four", 4, 9, 2, 3},
		{"batching off", 1, 5, 0, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newForwardFixture(1, 64)
			s := f.senders[0]
			p := newOwnBatchPath(t, tc.batch)
			s.out = p.out
			for i := 0; i < tc.run; i++ {
				f.writeAt(i)
			}
			drainSender(s)
			seqs, twcc := p.read(t, tc.run)
			for i := range seqs {
				if seqs[i] != seqs[0]+uint16(i) || twcc[i] != uint16(i) {
					t.Fatalf("datagram %d: RTP sequence number %d (first %d), transport-wide %d", i, seqs[i], seqs[0], twcc[i])
				}
				if _, _, ok := p.out.history.lookup(uint16(i)); !ok {
					t.Fatalf("transport-wide %d is not in the send history", i)
				}
			}
			if p.batches.calls != tc.sendmmsg || p.out.writes.Load() != uint64(tc.all) {
				t.Fatalf("%d sendmmsg, %d writes; want %d and %d", p.batches.calls, p.out.writes.Load(), tc.sendmmsg, tc.all)
			}
			if st := s.forwardedPackets.Load(); st != uint64(tc.run) || p.out.own.Load() != uint64(tc.run) {
				t.Fatalf("forwarded %d, own %d, want %d", st, p.out.own.Load(), tc.run)
			}
			if d := (*f.receiver.downTracks.Load())[0]; d.sr.packets != uint32(tc.run) {
				t.Fatalf("the sender report counts %d packets, want %d", d.sr.packets, tc.run)
			}
			if p.out.batch != nil && p.out.batch.n != 0 {
				t.Fatalf("%d datagrams left in the batch after the run", p.out.batch.n)
			}
		})
	}
}

// A batch holds datagrams to several addresses (a pool writer's, D290): each leaves
// for its own, in one sendmmsg; only a full batch needs a flush first.
func TestOutBatchMixesDestinations(t *testing.T) {
	p := newOwnBatchPath(t, 3)
	_, other := udpSockets(t, "udp4")
	a, b := p.recv.LocalAddr().(*net.UDPAddr).AddrPort(), other.LocalAddr().(*net.UDPAddr).AddrPort()
	h := rtp.Header{Version: 2, SSRC: 1}
	for k, to := range []netip.AddrPort{a, b, a} {
		if p.out.batch.full() {
			t.Fatalf("full before datagram %d of 3", k)
		}
		h.SequenceNumber = uint16(k)
		if _, err := p.out.stage(&h, []byte{1}, to); err != nil {
			t.Fatal(err)
		}
	}
	if !p.out.batch.full() {
		t.Fatal("three datagrams in a batch of three: not full")
	}
	p.out.batch.flush(time.Now())
	p.out.batch.reset()
	if seqs, _ := p.read(t, 2); seqs[0] != 0 || seqs[1] != 2 {
		t.Fatalf("%s got %v, want [0 2]", a, seqs)
	}
	p.recv = other
	if seqs, _ := p.read(t, 1); seqs[0] != 1 {
		t.Fatalf("%s got %v, want [1]", b, seqs)
	}
	if p.batches.calls != 1 || p.out.own.Load() != 3 {
		t.Fatalf("%d sendmmsg for %d datagrams, want 1 for 3", p.batches.calls, p.out.own.Load())
	}
}

// The congestion controller compares each packet's send time with its arrival time. The
// packets of a batch are sealed one after another but leave with one sendmmsg; noted in
// the send history at the flush (the time of the write), the one-way delay the estimator
// sees is the same for every packet of the batch, however long the sealing took (here 4
// ms a packet, as on a starved process). Noted when numbered, it would vary by as much.
func TestOwnBatchStampsTheActualSendTime(t *testing.T) {
	const (
		packets = 8
		apart   = 4 * time.Millisecond
		noise   = 2 * time.Millisecond // allowed spread of the one-way delay (loopback)
	)
	p := newOwnBatchPath(t, 16)
	kernel := rxstamp.Enable(p.recv)
	to := p.recv.LocalAddr().(*net.UDPAddr).AddrPort()
	payload := make([]byte, 1000)
	var h rtp.Header
	for k := 0; k < packets; k++ {
		h = rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(k), SSRC: 1, Extensions: h.Extensions[:0]}
		if _, err := p.out.stage(&h, payload, to); err != nil {
			t.Fatal(err)
		}
		time.Sleep(apart)
	}
	p.out.batch.flush(time.Now())
	p.out.batch.reset()
	buf := make([]byte, 2048)
	var lo, hi time.Duration
	for k := 0; k < packets; k++ {
		_ = p.recv.SetReadDeadline(time.Now().Add(10 * time.Second))
		m, _, at, err := rxstamp.Read(p.recv, kernel, buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", k, err)
		}
		seq, ok := transportSequence(buf[:m], ownBatchExtID)
		if !ok {
			t.Fatalf("datagram %d has no transport-wide sequence number", k)
		}
		sent, _, ok := p.out.history.lookup(seq)
		if !ok {
			t.Fatalf("packet %d is not in the send history", seq)
		}
		d := time.Duration(at - p.out.history.base.UnixNano() - sent)
		if k == 0 || d < lo {
			lo = d
		}
		if k == 0 || d > hi {
			hi = d
		}
	}
	if spread := hi - lo; spread > noise {
		t.Fatalf("the one-way delay of one batch varies by %s (kernel receive times: %v), want ≤ %s: send times are not those of the write", spread, kernel, noise)
	}
}

// Staging, the flush and the Sender's accounting allocate nothing.
func TestSenderOwnBatchDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("x/net's sendmmsg headers come from a sync.Pool, which drops items under -race")
	}
	f := newForwardFixture(1, 64)
	s := f.senders[0]
	p := newOwnBatchPath(t, 16)
	s.out = p.out
	i := 0
	run := func() {
		for k := 0; k < 4; k++ {
			f.writeAt(i)
			i++
		}
		drainSender(s)
	}
	run() // the SSRC's SRTP state, x/net's pooled headers
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("%.1f allocations per run of 4", n)
	}
	if p.batches.calls == 0 {
		t.Fatal("no sendmmsg")
	}
}

// The Engine's socket is dual-stack when rtc.bind_address is a wildcard ("udp" on [::]):
// a batch to an IPv4 client leaves from it too, coalesced.
func TestOwnBatchFromADualStackSocket(t *testing.T) {
	send, err := net.ListenUDP("udp", &net.UDPAddr{})
	if err != nil {
		t.Skipf("no dual-stack socket: %v", err)
	}
	defer send.Close()
	_, recv := udpSockets(t, "udp4")
	p := newOwnBatchPath(t, 8)
	p.recv = recv
	to := recv.LocalAddr().(*net.UDPAddr).AddrPort()
	p.out.remote.Store(&to)
	p.out.write = send.WriteToUDPAddrPort
	p.out.batch = newOutBatch(newBatchConn(send, false), 8)
	payload := make([]byte, 1000)
	var h rtp.Header
	for k := 0; k < 4; k++ {
		h = rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(k), SSRC: 1, Extensions: h.Extensions[:0]}
		if _, err := p.out.stage(&h, payload, to); err != nil {
			t.Fatal(err)
		}
	}
	p.out.batch.flush(time.Now())
	p.out.batch.reset()
	seqs, _ := p.read(t, 4)
	if seqs[3] != 3 || p.out.own.Load() != 4 {
		t.Fatalf("read %v, %d written", seqs, p.out.own.Load())
	}
	if gsoSupported && p.out.batch.sink.segmented.Load() != 4 {
		t.Fatalf("%d of 4 datagrams coalesced (GSO off: %v)", p.out.batch.sink.segmented.Load(), p.out.batch.sink.gsoOff.Load())
	}
}
