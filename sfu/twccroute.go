package sfu

import (
	"encoding/binary"
	"sync/atomic"
	"time"
)

// Feedback recorded at the socket: the transport-wide sequence number of a publisher's
// packet is recorded by the socket's read goroutine (stampingConn), in the order the
// packets arrived, with their arrival stamp — not by the tracks' read goroutines. Those
// run in any order on a busy server: when one track's goroutine runs late, the packets
// of the others (later transport-wide numbers) were recorded first, the feedback built
// meanwhile reported the late track's packets as lost, and a browser lowers its rate on
// reported loss (docs/decisions.md, D61). The RTP header and its extensions are in the
// clear under SRTP, so the socket can read the number before SRTP is removed — unless
// the publisher negotiated RFC 9335 cryptex (pion clients do, Chromium 156 does not):
// then the extension cannot be read there and the stream is recorded at its track.
//
// A route maps a stream's SSRC to the feedbackSender of its PeerConnection and the
// transport-wide extension's ID; it is added when pion binds the stream
// (BindRemoteStream), so a stream's first packets, which arrive before that, are
// recorded at the track as before, and so are packets over ICE-TCP and streams whose
// route slot another SSRC holds. A packet the socket recorded is not recorded again at
// the track (the recorder would report its range a second time).
//
// The route is taken on the SSRC alone, before SRTP authenticates the packet: a third
// party that can send from the publisher's address with its SSRC can add numbers to its
// feedback, which only misinforms that publisher's estimate (the media is still
// authenticated).

// routeSlotBits sizes the route table: 4096 publisher streams on one Engine.
const routeSlotBits = 12

// feedbackRoutes is the Engine's table of routes, lock-free for the socket's read
// goroutine; added and removed by the feedbackSenders.
type feedbackRoutes struct {
	slots [1 << routeSlotBits]atomic.Pointer[feedbackRoute]
}

// feedbackRoute is one stream's route. first is the RTP sequence number of the first
// packet the socket recorded (+1<<16 once set); the track records only those before it.
type feedbackRoute struct {
	ssrc   uint32
	extID  uint8
	sender *feedbackSender
	first  atomic.Uint32
}

func (t *feedbackRoutes) slot(ssrc uint32) *atomic.Pointer[feedbackRoute] {
	return &t.slots[routeSlot(ssrc)]
}

// routeSlot is the slot of ssrc in a table of 1<<routeSlotBits routes (Fibonacci hashing),
// shared by the socket goroutine's tables: feedback routes here, inbound routes (rtpin.go).
func routeSlot(ssrc uint32) uint64 {
	return (uint64(ssrc) * 0x9E3779B97F4A7C15) >> (64 - routeSlotBits)
}

// add installs r; false when its slot is taken (the stream is then recorded at its track).
func (t *feedbackRoutes) add(r *feedbackRoute) bool { return t.slot(r.ssrc).CompareAndSwap(nil, r) }

// remove uninstalls r when it is installed.
func (t *feedbackRoutes) remove(r *feedbackRoute) { t.slot(r.ssrc).CompareAndSwap(r, nil) }

// lookup is the route of ssrc, or nil.
func (t *feedbackRoutes) lookup(ssrc uint32) *feedbackRoute {
	if r := t.slot(ssrc).Load(); r != nil && r.ssrc == ssrc {
		return r
	}
	return nil
}

// recordAtSocket records RTP packet b, read by the socket at nowNs, with the feedback of
// its stream when it has a route. Socket read goroutine; no allocation.
func (t *feedbackRoutes) recordAtSocket(b []byte, ssrc uint32, seq uint16, nowNs int64) {
	r := t.lookup(ssrc)
	if r == nil {
		return
	}
	tseq, ok := transportSequence(b, r.extID)
	if !ok {
		return
	}
	r.first.CompareAndSwap(0, 1<<16|uint32(seq))
	r.sender.record(r.ssrc, tseq, nowNs)
}

// recordedAtSocket reports whether packet seq of r's stream was recorded by the socket:
// it came at or after the first one the socket recorded.
func (r *feedbackRoute) recordedAtSocket(seq uint16) bool {
	first := r.first.Load()
	return first != 0 && int16(seq-uint16(first)) >= 0
}

// route adds a route for a stream of s; nil when its slot is taken.
func (s *feedbackSender) route(ssrc uint32, extID uint8) *feedbackRoute {
	r := &feedbackRoute{ssrc: ssrc, extID: extID, sender: s}
	if !s.stamps.routes.add(r) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.stamps.routes.remove(r)
		return nil
	}
	s.routes = append(s.routes, r)
	return r
}

// record records transport-wide number tseq of stream ssrc, arrived at atNs, and has the
// feedback sent early once twccFeedbackMaxPackets are waiting. Any goroutine; no
// allocation.
func (s *feedbackSender) record(ssrc uint32, tseq uint16, atNs int64) {
	s.mu.Lock()
	s.recorder.Record(ssrc, tseq, (atNs-s.startNs)/int64(time.Microsecond))
	s.pending++
	full := s.pending == twccFeedbackMaxPackets
	s.mu.Unlock()
	if full {
		s.ticks.poke()
	}
}

// noteAtTrack records a packet that its track read at now and the socket did not record
// (route nil, or a packet before the route's first). No allocation.
func (s *feedbackSender) noteAtTrack(r *feedbackRoute, pkt []byte, ssrc uint32, extID uint8, now time.Time) {
	if r != nil && len(pkt) >= 4 && r.recordedAtSocket(binary.BigEndian.Uint16(pkt[2:4])) {
		return
	}
	s.note(pkt, ssrc, extID, now)
}
