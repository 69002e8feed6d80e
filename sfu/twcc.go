package sfu

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"

	"github.com/parley-rtc/parley/internal/rxstamp"
	"github.com/parley-rtc/parley/internal/transportcc"
	"github.com/parley-rtc/parley/internal/twccfb"
)

// Transport-wide congestion control feedback toward publishers
// (draft-holmer-rmcat-transport-wide-cc-extensions-01). A browser's send-side estimate
// (and so the simulcast layers it sends) follows the arrival times this feedback
// reports: delays that grow read as congestion. The arrival time of a packet is when
// the kernel received it on the Engine's UDP socket (SO_TIMESTAMPNS, Linux), else when
// the socket read it (arrivalStamps, written by the ICE UDP mux's read goroutine), not when the track's read goroutine got it after ICE, DTLS/SRTP and the
// other interceptors: on a busy server those goroutines run late, and stamps taken
// there report the server's own scheduling delays to the publisher as a queue on its
// link (docs/decisions.md, "Publisher bandwidth feedback under load"). Packets without
// a socket stamp (ICE over TCP) are stamped when read, as before. The feedback is built
// and sent every twccFeedbackInterval (or once twccFeedbackMaxPackets wait) by one
// goroutine per PeerConnection, the one that sends its NACKs too (tickloop.go, D334); packets are recorded under a mutex by the goroutine that
// reads them (no hand-off to that goroutine, which would hold up the reader when it runs
// late).

const (
	// twccFeedbackInterval is how often feedback goes to each publisher (pion's and
	// libwebrtc's default).
	twccFeedbackInterval = 100 * time.Millisecond
	// twccFeedbackMaxPackets: feedback goes early, before the interval is over, once this
	// many packets were recorded since the last one (D147). A feedback takes one or two
	// bytes per packet and two per status chunk of 7–14 (internal/twccfb), so 500 keep it
	// around 1 200 bytes, within pion's 1460-byte receive MTU, whatever the rate (the
	// writer splits at twccfb.MaxFeedbackBytes); a camera's 100 ms are 10–30 packets.
	twccFeedbackMaxPackets = 500
)

// arrivalStamps remembers when the socket read each RTP packet, by SSRC and sequence
// number (rxstamp.Table, shared with the Go client SDK), and hands the packets of the
// streams whose feedback the socket records to their routes.
type arrivalStamps struct {
	table   rxstamp.Table
	routes  feedbackRoutes // streams whose feedback the socket records (twccroute.go)
	inbound inboundRoutes  // streams the socket's goroutine decrypts and forwards (rtpin.go)
	rtcpIn  rtcpRoutes     // subscribers whose SRTCP the socket's goroutine decrypts and queues (rtcpin.go)
}

// take processes datagram b from addr on the socket's goroutine when it is a bound
// publisher stream's SRTP (rtpin.go) or a routed subscriber's SRTCP (rtcpin.go).
func (a *arrivalStamps) take(b []byte, addr netip.AddrPort) bool {
	return a.inbound.take(b, addr) || a.rtcpIn.take(b, addr)
}

// record notes that datagram b arrived at now (UnixNano) when it is an RTP packet. No
// allocation.
func (a *arrivalStamps) record(b []byte, now int64) {
	if ssrc, seq, ok := a.table.Record(b, now); ok {
		a.routes.recordAtSocket(b, ssrc, seq, now)
	}
}

// arrival is when the socket read packet ssrc/seq; false when that is unknown or not
// within rxstamp.MaxAge before now.
func (a *arrivalStamps) arrival(ssrc uint32, seq uint16, now int64) (int64, bool) {
	return a.table.Arrival(ssrc, seq, now)
}

// stampingConn is the Engine's UDP socket as the ICE UDP mux sees it: every datagram
// read is stamped (arrivalStamps) before the mux hands it on, with the kernel's receive
// time where the socket gives it (internal/rxstamp), else the time of the read. It
// offers the mux the allocation-free netip reads and writes of *net.UDPConn.
type stampingConn struct {
	*net.UDPConn
	stamps *arrivalStamps
	kernel bool                   // SO_TIMESTAMPNS is on: datagrams carry the kernel's receive time
	hold   atomic.Pointer[func()] // tests: runs before each read (holds the read goroutine)
	batch  *batchWriter           // nil unless rtc.batch_writes (batchwrite.go)

	// rx reads with raw recvmsg calls (Linux; nil elsewhere: rxstamp.Read); reading is
	// held by the goroutine reading through it. wakes, with rtc.reader_turns, is the
	// pool writers' wake-ups the read goroutine may owe (readerwrites.go); owed is what
	// an idle read took of them, for the reading goroutine.
	rx      *rxstamp.Reader
	reading sync.Mutex
	wakes   atomic.Pointer[readerWakes]
	owed    *writer
}

func newStampingConn(conn *net.UDPConn, stamps *arrivalStamps) *stampingConn {
	c := &stampingConn{UDPConn: conn, stamps: stamps, kernel: rxstamp.Enable(conn)}
	if c.rx = rxstamp.NewReader(conn, c.kernel); c.rx != nil {
		c.rx.Idle = c.idle
	}
	return c
}

// ReadFromAddrPort reads one datagram and stamps it (ice.AddrPortReaderWriter). A
// publisher's packet of a bound stream is forwarded here (rtpin.go) and the next one read;
// with rtc.reader_turns the writers that forwarding made ready are woken when the next
// datagram is already waiting, and written for here when none is (readerwrites.go).
func (c *stampingConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	if c.rx == nil || !c.reading.TryLock() {
		return c.readNet(b)
	}
	defer c.reading.Unlock()
	for {
		wakes := c.wakes.Load() // set once, after the mux started reading
		if h := c.hold.Load(); h != nil {
			wakes.wake(wakes.shut())
			(*h)()
		}
		n, addr, at, err := c.rx.Read(b)
		if err == rxstamp.ErrIdle { //nolint:errorlint // a sentinel, never wrapped
			owed := c.owed
			c.owed = nil
			wakes.write(owed)
			continue
		}
		wakes.wake(wakes.shut()) // another datagram, or the end: the writers run themselves
		if err != nil {
			return n, addr, err
		}
		c.stamps.record(b[:n], at)
		opened := wakes.open()
		if !c.stamps.take(b[:n], addr) {
			if opened {
				wakes.wake(wakes.shut())
			}
			return n, addr, nil
		}
	}
}

// idle is rx's Idle: true when the read goroutine owes writers their wake-ups (owed);
// it then writes for them (ReadFromAddrPort) before it waits.
func (c *stampingConn) idle() bool {
	c.owed = c.wakes.Load().shut()
	return c.owed != nil
}

// readNet reads through the net package (no raw reads here, or another goroutine reads
// through rx): ReadFromAddrPort without the writers' wake-ups.
func (c *stampingConn) readNet(b []byte) (int, netip.AddrPort, error) {
	for {
		if h := c.hold.Load(); h != nil {
			(*h)()
		}
		n, addr, at, err := rxstamp.Read(c.UDPConn, c.kernel, b)
		if err != nil {
			return n, addr, err
		}
		c.stamps.record(b[:n], at)
		if !c.stamps.take(b[:n], addr) {
			return n, addr, nil
		}
		// A bound publisher stream's packet, forwarded here (rtpin.go): read the next one.
	}
}

// WriteToAddrPort writes one datagram (ice.AddrPortReaderWriter).
// With rtc.batch_writes it queues a copy of b for a batched write (batchwrite.go).
func (c *stampingConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if c.batch != nil && c.batch.queues(len(b), addr) {
		c.batch.write(b, addr)
		return len(b), nil
	}
	return c.UDPConn.WriteToUDPAddrPort(b, addr)
}

// ReadFrom reads one datagram and stamps it (net.PacketConn).
func (c *stampingConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.UDPConn.ReadFrom(b)
	if err == nil {
		c.stamps.record(b[:n], time.Now().UnixNano())
	}
	return n, addr, err
}

// feedbackFactory makes one feedbackSender per PeerConnection (interceptor.Factory).
type feedbackFactory struct {
	stamps   *arrivalStamps
	interval time.Duration
}

func (f *feedbackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return f.newSender(newTickLoop(f.interval)), nil
}

// newSender makes a feedbackSender that ticks on loop (publisherFeedbackFactory shares
// it with the PeerConnection's NACK reporter).
func (f *feedbackFactory) newSender(loop *tickLoop) *feedbackSender {
	return &feedbackSender{
		stamps:   f.stamps,
		startNs:  time.Now().UnixNano(),
		recorder: twccfb.NewRecorder(rand.Uint32()),
		ticks:    loop.join(),
	}
}

// feedbackSender records the transport-wide sequence number and arrival time of every
// packet a publisher sends and returns them as TransportLayerCC feedback.
type feedbackSender struct {
	interceptor.NoOp
	stamps  *arrivalStamps
	startNs int64
	ticks   *tickMember // the feedback goroutine's (tickloop.go)

	mu         sync.Mutex             // guards the recorder's arrivals, pending, routes, rtcpWriter, started and closed
	recorder   *twccfb.Recorder       // its packet buffer: the feedback goroutine's
	streams    map[uint32]struct{}    // SSRCs of the streams with transport-wide numbers (wantsFeedback)
	pending    int                    // packets recorded since the last feedback was built
	routes     []*feedbackRoute       // installed in stamps.routes (twccroute.go)
	rtcpWriter interceptor.RTCPWriter // the PeerConnection's, kept for the feedback goroutine
	started    bool                   // the feedback goroutine ticks this sender
	closed     bool

	// The feedback goroutine's: hands each feedback to pion's RTCP writer (no rtcp.Packet
	// built per feedback).
	writer twccfb.Writer
}

// BindRTCPWriter keeps the PeerConnection's RTCP writer for the feedback goroutine, which
// the first remote stream with transport-wide sequence numbers starts (a subscriber's
// PeerConnection, which receives no media, runs none).
func (s *feedbackSender) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rtcpWriter = w
	return w
}

// startLocked has the feedback goroutine tick the sender, once. Caller holds s.mu.
func (s *feedbackSender) startLocked() {
	if s.started || s.rtcpWriter == nil {
		return
	}
	s.started = true
	w := s.rtcpWriter
	s.ticks.start(func() { s.send(w) })
}

// BindRemoteStream records each packet of a stream that carries transport-wide
// sequence numbers as it is read.
func (s *feedbackSender) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	id := transportcc.ExtensionID(info)
	if id == 0 {
		return reader
	}
	ssrc := info.SSRC
	route := s.route(ssrc, id) // from now on the socket records this stream (twccroute.go)
	s.mu.Lock()
	if s.streams == nil {
		s.streams = make(map[uint32]struct{})
	}
	s.streams[ssrc] = struct{}{}
	s.startLocked()
	s.mu.Unlock()
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := reader.Read(b, a)
		if err == nil {
			s.noteAtTrack(route, b[:n], ssrc, id, time.Now())
		}
		return n, a, err
	})
}

// wantsFeedback reports whether stream ssrc carries transport-wide sequence numbers.
func (s *feedbackSender) wantsFeedback(ssrc uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.streams[ssrc]
	return ok
}

// note records one packet read at now: at its socket arrival when known. No allocation.
func (s *feedbackSender) note(pkt []byte, ssrc uint32, extID uint8, now time.Time) {
	tseq, ok := transportSequence(pkt, extID)
	if !ok {
		return
	}
	at := now.UnixNano()
	if ns, ok := s.stamps.arrival(binary.BigEndian.Uint32(pkt[8:12]), binary.BigEndian.Uint16(pkt[2:4]), at); ok {
		at = ns
	}
	s.record(ssrc, tseq, at)
}

// twccMaxFeedbacksPerSend bounds the feedback packets one send writes (each ≤
// twccfb.MaxFeedbackBytes); what is left goes at once on the next tick, which a full send
// pokes.
const twccMaxFeedbacksPerSend = 16

// send writes the feedback gathered since the last one: one RTCP packet per datagram, as
// many as the arrivals take (twccfb.Recorder.Build). The arrivals are recorded meanwhile;
// the lock is not held while pion writes. No allocation here (pion's RTCP write path
// copies and encrypts the packet).
func (s *feedbackSender) send(w interceptor.RTCPWriter) {
	for range twccMaxFeedbacksPerSend {
		if !s.writer.WriteNext(w, &s.mu, s.recorder, s.builtLocked) {
			return // all sent, or the PeerConnection is closing
		}
	}
	s.ticks.poke()
}

// builtLocked notes that a feedback was built: the packets recorded since are counted
// anew. Under mu.
func (s *feedbackSender) builtLocked() { s.pending = 0 }

// Close stops the sender's feedback ticks. Idempotent.
func (s *feedbackSender) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		for _, r := range s.routes {
			s.stamps.routes.remove(r)
		}
		s.routes = nil
	}
	s.mu.Unlock()
	s.ticks.stop()
	return nil
}

// transportSequence finds the transport-wide sequence number (header extension id, one-
// or two-byte form, RFC 8285, parsed as pion's rtp.Header does) in RTP packet pkt; false
// when the packet is malformed or has none. No allocation.
func transportSequence(pkt []byte, id uint8) (uint16, bool) {
	if len(pkt) < 12 || pkt[0]>>6 != 2 || pkt[0]&0x10 == 0 {
		return 0, false
	}
	off := 12 + 4*int(pkt[0]&0x0f)
	if len(pkt) < off+4 {
		return 0, false
	}
	profile := binary.BigEndian.Uint16(pkt[off:])
	end := off + 4 + 4*int(binary.BigEndian.Uint16(pkt[off+2:]))
	if end > len(pkt) {
		return 0, false
	}
	ext := pkt[off+4 : end]
	if profile != 0xBEDE && profile != 0x1000 {
		return 0, false
	}
	for i := 0; i < len(ext); {
		if ext[i] == 0 { // padding
			i++
			continue
		}
		var eid uint8
		var n int
		if profile == 0xBEDE {
			eid, n = ext[i]>>4, int(ext[i]&0x0f)+1
			if eid == 15 || eid == 0 {
				return 0, false // reserved, or padding with a length: no more extensions
			}
			i++
		} else {
			if i+1 >= len(ext) {
				return 0, false
			}
			eid, n = ext[i], int(ext[i+1])
			i += 2
		}
		if i+n > len(ext) {
			return 0, false
		}
		if eid == id { // the first element with the id counts
			if n < 2 {
				return 0, false
			}
			return binary.BigEndian.Uint16(ext[i:]), true
		}
		i += n
	}
	return 0, false
}
