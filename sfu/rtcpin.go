package sfu

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
)

// A subscriber's own SRTCP read path (decision D325). What a subscriber sends is RTCP
// (receiver reports, NACKs, PLI/FIR, transport-wide feedback), and on pion's path each of
// its packets passes four goroutines before the Subscriber's RTCP goroutine reads it: the
// ICE UDP mux's read goroutine hands it to the agent's, which hands it to the DTLS/SRTP
// mux's, which hands it to the SRTCP session's, which decrypts it and writes it into the
// stream buffers (rtcpreader.go: the Peer's one queue). With rtc.own_srtp_inbound the
// socket's read goroutine (stampingConn) does that last step itself: an SRTCP packet
// (RFC 7983: first byte 128–191, packet type 192–223) from the remote address of a
// subscriber's selected UDP pair is decrypted with a context of the Subscriber's own,
// made from the client's write key that dtlsKeys derived, split and queued exactly as
// pion's SRTCP session queues it (each packet of the compound tagged with each SSRC it is
// addressed to; a packet addressed to none goes with the compound's SSRCs). One wake-up,
// the RTCP goroutine's, instead of four. Everything else — STUN, DTLS, SRTP, addresses
// no subscriber selected, RTCP before the keys are known, ICE-TCP — stays on pion's path.
//
// From its first packet on (the context is made then), every SRTCP packet from the
// address is the route's: one that fails authentication or replays an earlier one is
// dropped and counted (rejected), never handed to pion, whose own context would not know
// it was replayed. A compound that does not split into RTCP packets is dropped as pion
// drops it. The packets pion took before the hand-over are unknown to the route's replay
// window, as the publisher streams' packets are at theirs (rtpin.go).
//
// The table is keyed by the remote address: pion's UDP mux sends everything from one
// remote address to one PeerConnection as well, so two Subscribers never rightly share
// one; if they claim one, the later claim holds (as the mux's later binding does).
//
// On the socket goroutine, per packet: the table lookup (an atomic load and a short scan),
// the route's mutex (TryLock; Close holds it to end the route), decryption into the
// route's buffer, the split (pion's allocation-free raw parsing), the queue's writes. No
// allocation once the route's slices have grown to the largest compound.

// rtcpRouteBits sizes the Engine's table of subscribers' SRTCP routes.
const rtcpRouteBits = 12

// rtcpRoutes is the Engine's table of subscribers' SRTCP routes by remote address:
// lock-free for the socket's read goroutine, each slot a short copy-on-write list that
// the Subscribers' pair changes and Close replace under mu.
type rtcpRoutes struct {
	mu    sync.Mutex
	slots [1 << rtcpRouteBits]atomic.Pointer[[]rtcpRoute]
}

type rtcpRoute struct {
	addr netip.AddrPort
	in   *rtcpInbound
}

func rtcpSlot(addr netip.AddrPort) uint64 {
	a := addr.Addr().As16()
	h := binary.BigEndian.Uint64(a[:8]) ^ binary.BigEndian.Uint64(a[8:])*0x9E3779B97F4A7C15 ^ uint64(addr.Port())
	return (h * 0x9E3779B97F4A7C15) >> (64 - rtcpRouteBits)
}

// move routes in's SRTCP from old (if it held it) to next; either may be invalid (none).
func (t *rtcpRoutes) move(in *rtcpInbound, old, next netip.AddrPort) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old.IsValid() {
		s := &t.slots[rtcpSlot(old)]
		if l := s.Load(); l != nil {
			kept := slices.DeleteFunc(slices.Clone(*l), func(r rtcpRoute) bool { return r.in == in && r.addr == old })
			if len(kept) == 0 {
				s.Store(nil)
			} else {
				s.Store(&kept)
			}
		}
	}
	if next.IsValid() {
		s := &t.slots[rtcpSlot(next)]
		var l []rtcpRoute
		if cur := s.Load(); cur != nil {
			l = slices.DeleteFunc(slices.Clone(*cur), func(r rtcpRoute) bool { return r.addr == next })
		}
		l = append(l, rtcpRoute{addr: next, in: in})
		s.Store(&l)
	}
}

// take processes datagram b read from addr when it is SRTCP of a routed subscriber, and
// reports whether it did (the caller then reads the next one). Socket read goroutine.
func (t *rtcpRoutes) take(b []byte, addr netip.AddrPort) bool {
	if len(b) < 8 || b[0]&0xc0 != 0x80 || b[1] < 192 || b[1] > 223 {
		return false
	}
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	l := t.slots[rtcpSlot(addr)].Load()
	if l == nil {
		return false
	}
	for _, r := range *l {
		if r.addr == addr {
			return r.in.take(b)
		}
	}
	return false
}

// rtcpInbound is one Subscriber's own SRTCP read path.
type rtcpInbound struct {
	keys  *dtlsKeys
	queue *peerRTCP

	mu     sync.Mutex // held by the socket goroutine while it processes a packet; Close ends the route under it
	closed bool
	ctx    *srtp.Context // made at the first packet once the keys are known
	hdr    rtcp.Header
	plain  [maxPacketSize]byte
	raws   []rtcp.RawPacket
	dests  []uint32 // one packet's destination SSRCs
	all    []uint32 // the compound's, for packets addressed to none

	taken    atomic.Uint64 // packets decrypted and queued
	rejected atomic.Uint64 // packets that failed authentication, replayed, or did not split
}

// take decrypts and queues one SRTCP packet; false hands it to pion (no keys yet, or
// the route ended).
func (in *rtcpInbound) take(b []byte) bool {
	if len(b) > len(in.plain) || !in.mu.TryLock() {
		return false
	}
	defer in.mu.Unlock()
	if in.closed {
		return false
	}
	if in.ctx == nil {
		keys := in.keys.inKeys()
		if keys == nil {
			return false // before the handshake's keys, or the server was the DTLS client
		}
		ctx, err := keys.newRTCPContext()
		if err != nil {
			return false
		}
		in.ctx = ctx
	}
	dec, err := in.ctx.DecryptRTCP(in.plain[:0], b, &in.hdr)
	if err != nil {
		in.rejected.Add(1)
		return true
	}
	if in.raws, err = rtcp.AppendRawPackets(in.raws[:0], dec); err != nil {
		in.rejected.Add(1)
		return true
	}
	in.taken.Add(1)
	allKnown := false
	for _, pkt := range in.raws {
		if in.dests, err = pkt.ParseDestinationSSRC(in.dests[:0]); err != nil {
			continue // as pion's session: the compound's other packets still go
		}
		dests := sortedSSRCs(in.dests)
		if len(dests) == 0 { // e.g. an unknown packet type: with the compound's
			if !allKnown {
				in.all, allKnown = in.compoundSSRCs(in.all[:0]), true
			}
			dests = in.all
		}
		for _, ssrc := range dests {
			in.queue.push(ssrc, pkt)
		}
	}
	return true
}

// compoundSSRCs appends to dst the destination SSRCs of the packets of in.raws that
// parse, sorted, each once.
func (in *rtcpInbound) compoundSSRCs(dst []uint32) []uint32 {
	for _, pkt := range in.raws {
		n := len(dst)
		var err error
		if dst, err = pkt.ParseDestinationSSRC(dst); err != nil {
			dst = dst[:n] // a failed parse may have appended some
		}
	}
	return sortedSSRCs(dst)
}

// close ends the route: the socket goroutine takes none of its packets after it.
func (in *rtcpInbound) close() {
	in.mu.Lock()
	in.closed = true
	in.ctx = nil
	in.mu.Unlock()
}

// sortedSSRCs sorts s in place and drops repeats, as pion's SRTCP session orders the
// streams a packet goes to.
func sortedSSRCs(s []uint32) []uint32 {
	if len(s) < 2 {
		return s
	}
	slices.Sort(s)
	return slices.Compact(s)
}
