package sfu

import (
	"encoding/binary"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// The publisher's own read path (decision D255): a publisher's SRTP packet is decrypted
// and forwarded by the ICE UDP mux's read goroutine, the one that read it from the socket
// (stampingConn.ReadFromAddrPort), instead of being handed to pion's muxed connection,
// ICE connection, DTLS/SRTP mux and SRTP session goroutine, then read by the track's
// goroutine. It takes a datagram only when all of these hold: it is RTP (RFC 7983: first
// byte 128–191, not an RTCP packet type 192–223), its SSRC is bound to a running
// Receiver layer (an inboundRoute in the Engine's table), and it came from the remote
// address of the publisher's selected UDP pair. Everything else — STUN, DTLS, SRTCP,
// unknown SSRCs, packets before the bind, ICE-TCP — goes on pion's path as before.
//
// Hand-over, and the single writer of a layer: a layer's packets are processed by its
// track goroutine (reading pion's track) until, after it processed one, it binds the
// stream (inboundRoute added to the table with an SRTP context of its own, made from the
// client's write key that dtlsKeys derived, with the rollover counter the track goroutine
// counted); from then on the socket goroutine processes them and the track goroutine
// processes what pion still delivers (packets that were inside pion at the bind, came
// from another address, or met the socket goroutine inside the route) under the route's
// mutex, so that one goroutine at a time writes the layer. The track goroutine keeps reading until
// pion ends the track, then unbinds: removes the route and takes its mutex, which the
// socket goroutine holds while it processes a packet of the route (TryLock: it never
// waits; a packet it cannot take goes to pion), so after the unbind the socket goroutine
// no longer touches the layer and the Receiver's wait covers it.
//
// On the socket goroutine, per packet: the route lookup (an atomic load), the remote
// address (an atomic load), the route's mutex (uncontended), decryption in place,
// the stream's NACK log and reception statistics (its mutex, shared with the publisher's
// feedback goroutine as before), the transport-wide arrival of a stream the socket could
// not read it from (cryptex), then the layer's writePacket: buffer, statistics, fan-out.
// Keyframe requests of such a Receiver go through the Publisher's RTCP goroutine
// (asyncRTCP), so nothing there writes to a socket; the Senders' enqueue never blocks.
// No allocation per packet.
//
// A packet that fails authentication or replays an earlier one is dropped and counted
// (rejected). rtc.own_srtp_inbound off takes pion's path for every publisher; a
// publisher whose keys are unknown (the server was the DTLS client) does too, logged once.

// inboundRoutes is the Engine's table of bound streams, lock-free for the socket's read
// goroutine; added and removed by track goroutines.
type inboundRoutes struct {
	slots [1 << routeSlotBits]atomic.Pointer[inboundRoute]
}

func (t *inboundRoutes) slot(ssrc uint32) *atomic.Pointer[inboundRoute] {
	return &t.slots[routeSlot(ssrc)]
}

// take processes datagram b read from addr when it belongs to a bound stream, and
// reports whether it did (the caller then reads the next one). Socket read goroutine.
func (t *inboundRoutes) take(b []byte, addr netip.AddrPort) bool {
	if len(b) < 12 || b[0]&0xc0 != 0x80 || (b[1] >= 192 && b[1] <= 223) {
		return false
	}
	ssrc := binary.BigEndian.Uint32(b[8:12])
	r := t.slot(ssrc).Load()
	if r == nil || r.ssrc != ssrc {
		return false
	}
	return r.take(b, addr)
}

// inboundRoute is one bound stream.
type inboundRoute struct {
	ssrc uint32
	pub  *publisherIn
	// stream is the stream's NACK log and reception statistics (nackreporter.go); fb
	// its transport-wide route at the socket, nil without transport-wide feedback.
	stream *receivedStream
	fb     *feedbackRoute
	write  func(raw []byte, now time.Time) error // the layer's writePacket

	mu     sync.Mutex // held by the socket goroutine while it processes a packet
	closed bool       // unbound; under mu
	ctx    *srtp.Context
	hdr    rtp.Header
}

// take decrypts and processes one packet of the route; false hands it to pion.
func (r *inboundRoute) take(b []byte, addr netip.AddrPort) bool {
	if a := r.pub.remote.Load(); a == nil || a.Port() != addr.Port() || a.Addr() != addr.Addr().Unmap() {
		return false
	}
	if !r.mu.TryLock() {
		return false
	}
	if r.closed {
		r.mu.Unlock()
		return false
	}
	dec, err := r.ctx.DecryptRTP(b[:0], b, &r.hdr)
	if err != nil {
		r.mu.Unlock()
		r.pub.rejected.Add(1)
		return true
	}
	r.pub.taken.Add(1) // before the fan-out: a woken writer may deliver it before this returns
	now := time.Now()
	r.stream.onRTP(dec, now.UnixNano())
	if r.fb != nil {
		r.fb.sender.noteAtTrack(r.fb, dec, r.ssrc, r.fb.extID, now)
	}
	_ = r.write(dec, now)
	r.mu.Unlock()
	return true
}

// publisherIn is a Publisher's own read path: its keys, its selected pair's remote
// address, its streams' interceptor state and counters.
type publisherIn struct {
	keys   *dtlsKeys
	routes *inboundRoutes
	fbs    *feedbackRoutes
	log    *slog.Logger
	// pair reads pion's selected pair (before its change callback came); cryptex the
	// remote description's cryptex mode.
	pair    func() *webrtc.ICECandidatePair
	cryptex func() srtp.CryptexMode

	remote atomic.Pointer[netip.AddrPort] // the selected UDP pair's remote address; nil on ICE-TCP or none

	// The PeerConnection's interceptors, recorded when pion made them (publisherAPI).
	nack atomic.Pointer[nackReporter]
	twcc atomic.Pointer[feedbackSender]

	rtcp asyncRTCP // keyframe requests, written off the socket goroutine

	taken    atomic.Uint64 // packets processed on the own path
	rejected atomic.Uint64 // packets that failed authentication or replayed
	viaPion  atomic.Uint64 // packets of bound streams pion delivered (processed by the track goroutine)

	fellBack sync.Once
}

// rememberRemote follows the publisher's selected candidate pair (pion's ICE goroutine):
// its UDP remote address, nil for any other pair or none.
func (p *publisherIn) rememberRemote(pair *webrtc.ICECandidatePair) {
	var next *netip.AddrPort
	if pair != nil && pair.Remote != nil && pair.Remote.Protocol == webrtc.ICEProtocolUDP &&
		pair.Local != nil && pair.Local.Protocol == webrtc.ICEProtocolUDP {
		if ip, err := netip.ParseAddr(pair.Remote.Address); err == nil {
			a := netip.AddrPortFrom(ip.Unmap(), pair.Remote.Port)
			next = &a
		}
	}
	p.remote.Store(next)
}

// fallBack says once why the publisher's streams stay on pion's path.
func (p *publisherIn) fallBack(reason string) {
	p.fellBack.Do(func() { p.log.Info("publisher's RTP read on pion's path", "reason", reason) })
}

// bind hands stream ssrc over to the socket goroutine: write processes its packets from
// now on, the first with rollover counter roc. It returns the route, or nil with final
// when the stream stays on pion's path for good (nil without final: try again with a
// later packet). The track goroutine of the stream, right after it processed a packet.
func (p *publisherIn) bind(ssrc, roc uint32, write func([]byte, time.Time) error) (r *inboundRoute, final bool) {
	keys := p.keys.inKeys()
	if keys == nil {
		if p.keys.failed.Load() {
			p.fallBack("no SRTP keys from the DTLS handshake (the server is not the DTLS server)")
			return nil, true
		}
		return nil, false
	}
	if p.remote.Load() == nil {
		p.rememberRemote(p.pair()) // before pion's pair change callback, which may come later
		if p.remote.Load() == nil {
			return nil, false // no UDP pair (ICE-TCP): pion's path meanwhile
		}
	}
	nack, twcc := p.nack.Load(), p.twcc.Load()
	if nack == nil || twcc == nil {
		return nil, true
	}
	stream := nack.stream(ssrc)
	if stream == nil {
		return nil, true // pion has not bound the stream to the interceptors
	}
	var fb *feedbackRoute
	if twcc.wantsFeedback(ssrc) {
		if fb = p.fbs.lookup(ssrc); fb == nil || fb.sender != twcc {
			return nil, true // its feedback route's slot is another stream's: recorded at the track
		}
	}
	ctx, err := keys.newContext(p.cryptex())
	if err != nil {
		p.fallBack("inbound SRTP context: " + err.Error())
		return nil, true
	}
	ctx.SetROC(ssrc, roc)
	r = &inboundRoute{ssrc: ssrc, pub: p, stream: stream, fb: fb, write: write, ctx: ctx}
	if !p.routes.slot(ssrc).CompareAndSwap(nil, r) {
		return nil, true // another stream of the Engine holds the slot
	}
	p.rtcp.start()
	return r, true
}

// unbind takes the stream back from the socket goroutine for good; it returns once the
// socket goroutine is not inside the route. Track goroutine, when its track ended.
func (r *inboundRoute) unbind() {
	r.pub.routes.slot(r.ssrc).CompareAndSwap(r, nil)
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

// inboundHandover is a layer's side of the hand-over; its track goroutine's.
type inboundHandover struct {
	route   *inboundRoute // bound: the socket goroutine processes the stream
	done    bool          // bound, or staying on pion's path
	started bool
	lastSeq uint16
	roc     uint32 // sequence number rollovers the track goroutine saw
}

// rolloverMargin: no bind while the sequence number is this close to a rollover (the
// first packets the socket goroutine decrypts must have the rollover counter it is given).
const rolloverMargin = 1024

// handle processes a packet pion delivered: with write at once, then tries the bind;
// once bound, under the route's mutex (process). Track goroutine.
func (h *inboundHandover) handle(in *publisherIn, pkt []byte, write func([]byte, time.Time) error) {
	if h.process(pkt, write) {
		return
	}
	_ = write(pkt, time.Now())
	if h.ready(in, pkt) {
		h.bind(in, pkt, write)
	}
}

// ready follows the stream's sequence numbers through pkt, a packet the track goroutine
// processed, and reports whether to try binding the stream now. Track goroutine.
func (h *inboundHandover) ready(in *publisherIn, pkt []byte) bool {
	if len(pkt) < 12 {
		return false
	}
	seq := binary.BigEndian.Uint16(pkt[2:4])
	switch {
	case !h.started:
		h.started = true
	case int16(seq-h.lastSeq) > 0 && seq < h.lastSeq:
		h.roc++
	case int16(seq-h.lastSeq) <= 0:
		return false // a late packet: the newest decides
	}
	h.lastSeq = seq
	return !h.done && in != nil && seq <= 0xffff-rolloverMargin
}

// bind tries the hand-over with pkt's stream (ready said so). Track goroutine.
func (h *inboundHandover) bind(in *publisherIn, pkt []byte, write func([]byte, time.Time) error) {
	h.route, h.done = in.bind(binary.BigEndian.Uint32(pkt[8:12]), h.roc, write)
}

// process runs write on a packet pion delivered after the bind (it was inside pion at
// the bind, came from another address, or met the socket goroutine inside the route)
// under the route's mutex, so the layer still has one writer at a time; false when the
// stream is not bound (the caller processes the packet itself). Track goroutine.
func (h *inboundHandover) process(pkt []byte, write func([]byte, time.Time) error) bool {
	r := h.route
	if r == nil {
		return false
	}
	r.mu.Lock()
	if !r.closed {
		_ = write(pkt, time.Now())
	}
	r.mu.Unlock()
	r.pub.viaPion.Add(1)
	return true
}

// end unbinds the stream (its track ended). Track goroutine.
func (h *inboundHandover) end() {
	if h.route != nil {
		h.route.unbind()
	}
}

// asyncRTCP writes RTCP (keyframe requests) on a goroutine of its own, so that the
// socket goroutine, which forwards bound streams' packets, never writes to a socket.
// Started with the first bound stream; a full queue drops (requests are repeated).
type asyncRTCP struct {
	write func([]rtcp.Packet) error
	log   *slog.Logger

	mu      sync.Mutex
	queue   chan []rtcp.Packet
	started bool
	closed  bool
	wg      sync.WaitGroup
}

const asyncRTCPQueue = 64

func (a *asyncRTCP) start() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started || a.closed {
		return
	}
	a.started = true
	a.queue = make(chan []rtcp.Packet, asyncRTCPQueue)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for pkts := range a.queue {
			if err := a.write(pkts); err != nil {
				a.log.Debug("send RTCP", "err", err)
			}
		}
	}()
}

// send queues pkts, or writes them at once before the goroutine started. Never blocks
// once started.
func (a *asyncRTCP) send(pkts []rtcp.Packet) error {
	a.mu.Lock()
	if !a.started {
		a.mu.Unlock()
		return a.write(pkts)
	}
	if !a.closed {
		select {
		case a.queue <- pkts:
		default:
		}
	}
	a.mu.Unlock()
	return nil
}

// close stops the goroutine after it wrote what is queued. Idempotent.
func (a *asyncRTCP) close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		if a.started {
			close(a.queue)
		}
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// cryptexOf is the cryptex mode of remote description desc (nil: disabled), as pion
// takes it for its own contexts (rtpout.go's cryptexDeclared).
func cryptexOf(desc *webrtc.SessionDescription) srtp.CryptexMode {
	if desc == nil {
		return srtp.CryptexModeDisabled
	}
	var parsed sdp.SessionDescription
	if parsed.UnmarshalString(desc.SDP) != nil || !cryptexDeclared(&parsed) {
		return srtp.CryptexModeDisabled
	}
	return srtp.CryptexModeEnabled
}
