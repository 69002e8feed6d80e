package sfu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/internal/twccfb"
)

// rtpOut is a subscriber Sender's own RTP write path (decision D235): it numbers a
// packet for transport-wide feedback (what the twccNumbering interceptor does on pion's
// path, with the same counter and send history), seals it with the PeerConnection's
// outbound SRTP context derived by dtlsKeys, and writes it with one syscall from the
// Engine's UDP socket (through the stampingConn, so rtc.batch_writes queues it as it
// queues pion's datagrams) to the remote address of the selected candidate pair. Pion's
// interceptors, SRTP session, mux endpoint and ICE connection are skipped.
//
// Which path a PeerConnection takes is decided once, by its first packet sent after
// the DTLS handshake, and kept: two SRTP contexts sealing the same SSRC with the same
// keys would repeat counters (AES-GCM nonces). The own path is taken when the keys
// were derived and the selected pair is UDP (the Engine's mux socket); otherwise pion's
// path. Before the handshake packets are dropped, as pion drops them until its SRTP
// session is up. On the own path, a later pair over ICE-TCP (an ICE restart onto a
// network that blocks UDP) gets the same sealed packets, framed onto that pair's TCP
// connection through the Engine's TCP mux (tcpConns, decision D250); they are dropped
// (unroutable) only while no pair Parley can write to is selected. rtc.own_srtp off
// takes pion's path for every PeerConnection.
//
// Fields below the atomics belong to the Sender's goroutine.
type rtpOut struct {
	keys    *dtlsKeys
	remote  *atomic.Pointer[netip.AddrPort] // the selected UDP pair's remote address (Subscriber.rememberRemote)
	tcp     atomic.Pointer[tcpRoute]        // the selected ICE-TCP pair's connection, when remote is nil (Subscriber.rememberTCP)
	write   func(b []byte, addr netip.AddrPort) (int, error)
	history *sendHistory
	next    *atomic.Uint32 // transport-wide sequence numbers, shared with the twccNumbering interceptor
	// ready reports whether the DTLS handshake finished; pair whether a candidate pair
	// is selected (known) and is UDP, on the Engine's socket (and then records its
	// remote address in remote when the pair change callback has not yet).
	ready func() bool
	pair  func() (udp, known bool)
	log   *slog.Logger // the fall back to pion's path, once per PeerConnection

	cryptex    atomic.Int32  // srtp.CryptexMode the remote description asks for (setCryptex)
	own        atomic.Uint64 // packets sent on the own path
	ownRTCP    atomic.Uint64 // RTCP compounds sent on the own path
	unroutable atomic.Uint64 // packets dropped on the own path: no pair to write to
	overTCP    atomic.Uint64 // packets and RTCP compounds of own and ownRTCP written on an ICE-TCP pair
	writes     atomic.Uint64 // writes (syscalls: sendto, sendmmsg, or one TCP frame) that carried own's packets

	// batch is where the Sender stages a run's packets for one sendmmsg (rtpoutbatch.go,
	// decision D260): made when the own path is decided, with batchConn; nil without.
	batch     *outBatch
	batchConn batchConn
	batchSize int
	shared    *outBatch // with rtc.writers: the pool writer's batch, which batch becomes (writerpool.go)

	mode    outMode
	ctx     *srtp.Context
	applied srtp.CryptexMode
	ext     [2]byte
	hdr     rtp.Header                       // EncryptRTP's parsed header, reused
	buf     [maxPacketSize + rtpOutRoom]byte // the sealed datagram
	rtcpHdr rtcp.Header                      // EncryptRTCP's parsed header, reused
	rtcpBuf [twccfb.MaxFeedbackBytes + rtpOutRoom]byte
}

// rtpOutRoom is what a packet may gain: the header with its extension, the
// authentication tag, cryptex's empty extension header.
const rtpOutRoom = 128

type outMode uint8

const (
	outUndecided outMode = iota
	outOwn
	outPion
)

var errNoPair = errors.New("no UDP or ICE-TCP candidate pair selected")

// route tells where the next packet goes: own (send), pion's path (neither), or
// nowhere (drop: before the handshake, where pion drops too). Sender goroutine.
func (o *rtpOut) route() (own, drop bool) {
	switch o.mode {
	case outOwn:
		return true, false
	case outPion:
		return false, false
	}
	ctx := o.keys.context()
	if ctx == nil {
		if o.keys.failed.Load() || o.ready() {
			o.fallBack("no SRTP keys from the DTLS handshake") // derived during the handshake or never
			return false, false
		}
		return false, true
	}
	if !o.ready() {
		return false, true
	}
	udp, known := o.pair()
	switch {
	case !known:
		return false, true
	case !udp:
		o.fallBack("the first selected candidate pair is ICE-TCP")
		return false, false
	}
	if o.remote.Load() == nil {
		return false, true // the Subscriber is closing
	}
	o.mode, o.ctx = outOwn, ctx
	switch {
	case o.shared != nil:
		o.batch = o.shared // its pool writer's (writerpool.go)
	case o.batchConn != nil && o.batchSize > 1:
		o.batch = newOutBatch(o.batchConn, o.batchSize) // once per PeerConnection
	}
	return true, false
}

// fallBack decides pion's path for the PeerConnection's life and says why, once.
func (o *rtpOut) fallBack(why string) {
	o.mode = outPion
	if o.log != nil {
		o.log.Info("subscriber RTP goes through pion's SRTP session, not Parley's own write path (D235)", "reason", why)
	}
}

// send numbers, seals and writes one packet (h is the Sender's reused header, payload
// the rewritten payload). No allocation on a UDP pair. Sender goroutine. (A Sender
// with a batch stages its UDP packets instead: stage, rtpoutbatch.go.)
func (o *rtpOut) send(h *rtp.Header, payload []byte) error {
	addr := o.remote.Load()
	var tcp *tcpRoute
	if addr == nil {
		if tcp = o.tcp.Load(); tcp == nil {
			o.unroutable.Add(1)
			return errNoPair
		}
	}
	sealed, twcc, numbered, size, err := o.seal(o.buf[:], h, payload)
	if err != nil {
		return err
	}
	if numbered {
		o.history.record(twcc, size, o.history.clock())
	}
	if err := o.writeSealed(sealed, addr, tcp); err != nil {
		return fmt.Errorf("own rtp path: %w", err)
	}
	o.writes.Add(1)
	o.own.Add(1)
	return nil
}

// seal numbers h with the next transport-wide sequence number (numbered: when the
// extension is negotiated; twcc and size, header and payload before sealing, are what
// the send history notes, which the caller does), marshals it and payload into buf
// (len(buf) ≥ maxPacketSize+rtpOutRoom) and seals that in place. No allocation.
func (o *rtpOut) seal(buf []byte, h *rtp.Header, payload []byte) (sealed []byte, twcc uint16, numbered bool, size int, err error) {
	if want := srtp.CryptexMode(o.cryptex.Load()); want != o.applied {
		if err := o.ctx.UpdateOptions(srtp.Cryptex(want)); err != nil {
			return nil, 0, false, 0, fmt.Errorf("own rtp path: cryptex: %w", err)
		}
		o.applied = want
	}
	if id := uint8(o.history.extID.Load()); id != 0 {
		if err := numberPacket(o.next, id, &o.ext, h, len(payload), nil); err != nil {
			return nil, 0, false, 0, err
		}
		twcc, numbered = binary.BigEndian.Uint16(o.ext[:]), true
	}
	n, err := h.MarshalTo(buf)
	if err != nil {
		return nil, 0, false, 0, fmt.Errorf("own rtp path: %w", err)
	}
	if n+len(payload)+rtpOutRoom/2 > len(buf) {
		return nil, 0, false, 0, fmt.Errorf("own rtp path: packet of %d bytes: %w", n+len(payload), errPacketTooLarge)
	}
	n += copy(buf[n:], payload)
	sealed, err = o.ctx.EncryptRTP(buf[:n], buf[:n], &o.hdr)
	if err != nil {
		return nil, 0, false, 0, fmt.Errorf("own rtp path: seal: %w", err)
	}
	return sealed, twcc, numbered, n, nil
}

// writeSealed writes a sealed datagram to the UDP address, or else on the TCP route.
func (o *rtpOut) writeSealed(b []byte, addr *netip.AddrPort, tcp *tcpRoute) error {
	if addr != nil {
		_, err := o.write(b, *addr)
		return err
	}
	if err := tcp.write(b); err != nil {
		return err
	}
	o.overTCP.Add(1)
	return nil
}

var errPacketTooLarge = errors.New("too large")

// sendRTCP seals and writes the compound RTCP packet b (the sender reports, which the
// Sender writes after a run: rtcpCompound.raw) when the PeerConnection took the own path,
// or drops it while undecided (before the handshake); false: pion's path, which then
// writes it. pion writes no RTCP of its own on a subscriber's PeerConnection (its
// interceptors there write nothing, D174–D176), so its SRTCP context and ours never seal
// under the same SSRC: the own context's SRTCP indices are the only ones for the
// DownTracks' SSRCs. No allocation. Sender goroutine.
func (o *rtpOut) sendRTCP(b []byte) bool {
	switch o.mode {
	case outPion:
		return false
	case outUndecided:
		return true
	}
	addr, tcp := o.remote.Load(), o.tcp.Load()
	if addr == nil && tcp == nil {
		return true
	}
	sealed, err := o.ctx.EncryptRTCP(o.rtcpBuf[:0], b, &o.rtcpHdr)
	if err != nil {
		return true
	}
	if o.writeSealed(sealed, addr, tcp) == nil {
		o.ownRTCP.Add(1)
	}
	return true
}

// newRTPOut is the own RTP path of Subscriber p (its keys, history and selected pair),
// numbering with next (the twccNumbering interceptor's counter of p's PeerConnection).
func (p *Subscriber) newRTPOut(e *Engine, next *atomic.Uint32) *rtpOut {
	dtls := p.pc.SCTP().Transport()
	ice := dtls.ICETransport()
	o := &rtpOut{
		keys: p.keys, remote: &p.remote, write: e.stamping.WriteToAddrPort, history: p.history, next: next, log: p.logger,
		batchConn: e.sendBatch, batchSize: e.cfg.SendBatch,
		ready: func() bool { return dtls.State() == webrtc.DTLSTransportStateConnected },
		pair: func() (udp, known bool) {
			pair, err := ice.GetSelectedCandidatePair()
			if err != nil || pair == nil || pair.Local == nil || pair.Remote == nil {
				return false, false
			}
			udp = pair.Local.Protocol == webrtc.ICEProtocolUDP && pair.Remote.Protocol == webrtc.ICEProtocolUDP
			if udp && p.remote.Load() == nil {
				p.rememberRemote(pair) // before pion's pair change callback, which may come later
			}
			return udp, true
		},
	}
	if !e.cfg.OwnSRTP {
		o.mode = outPion // rtc.own_srtp off: a setting, not a fall back worth a line per PeerConnection
	}
	return o
}

// pairChanged follows pion's selected candidate pair: its UDP address (rememberRemote)
// or its ICE-TCP connection (rememberTCP). pion's ICE goroutine.
func (p *Subscriber) pairChanged(pair *webrtc.ICECandidatePair) {
	p.rememberRemote(pair)
	p.rememberTCP(pair)
}

// rememberTCP points the own path at the connection of an ICE-TCP pair: the packet
// connection the Engine's TCP mux gave the local candidate (by the agent's current
// ufrag, which an ICE restart changes, and the candidate's address), and the remote
// address, which names the TCP connection there. Any other pair clears it.
func (p *Subscriber) rememberTCP(pair *webrtc.ICECandidatePair) {
	var next *tcpRoute
	if mux := p.engine.tcpMux; mux != nil && pair != nil && pair.Local != nil && pair.Remote != nil &&
		pair.Local.Protocol == webrtc.ICEProtocolTCP && pair.Remote.Protocol == webrtc.ICEProtocolTCP {
		remote, errRemote := netip.ParseAddr(pair.Remote.Address)
		local, _ := netip.ParseAddr(pair.Local.Address) // a NAT 1:1 address finds no key: conns tries all
		params, errParams := p.pc.SCTP().Transport().ICETransport().GetLocalParameters()
		if errRemote == nil && errParams == nil {
			if conns := mux.conns(params.UsernameFragment, local); len(conns) > 0 {
				next = &tcpRoute{conns: conns, addr: tcpRemote{netip.AddrPortFrom(remote.Unmap(), pair.Remote.Port).String()}}
			}
		}
		if next == nil {
			p.logger.Warn("own RTP path: no connection of the Engine's TCP mux for the selected ICE-TCP pair; its packets are dropped",
				"local", pair.Local.Address, "remote", pair.Remote.Address)
		}
	}
	p.remoteMu.Lock()
	defer p.remoteMu.Unlock()
	if !p.remoteGone {
		p.out.tcp.Store(next)
	}
}

// setCryptex takes the outbound cryptex mode (RFC 9335) from a remote description
// pion accepted, as pion does for its own context (webrtc's cryptexModeFromSDP with the
// default policy): enabled when the session or an active RTP section declares it.
func (o *rtpOut) setCryptex(description string) {
	var parsed sdp.SessionDescription
	if parsed.UnmarshalString(description) != nil {
		return // pion accepted it, so it parses
	}
	mode := srtp.CryptexModeDisabled
	if cryptexDeclared(&parsed) {
		mode = srtp.CryptexModeEnabled
	}
	o.cryptex.Store(int32(mode))
}

// cryptexDeclared reports whether d declares cryptex for its RTP: at session level, or on
// an active RTP section, which also inherits it from the BUNDLE group's tag section
// (RFC 9143 7.1.3: a transport attribute such as a=cryptex, RFC 9335, is carried only on
// the tag section in answers and later offers, even when that section is m=application).
// pion's cryptexNegotiatedInSDP decides the same for its own context; pion refuses a
// description that declares it on some RTP sections and not others.
func cryptexDeclared(d *sdp.SessionDescription) bool {
	if _, ok := d.Attribute(sdp.AttrKeyCryptex); ok {
		return true
	}
	tagged := bundleTagCryptex(d)
	for _, m := range d.MediaDescriptions {
		_, bundleOnly := m.Attribute("bundle-only")
		if (m.MediaName.Port.Value == 0 && !bundleOnly) || m.MediaName.Media == "application" {
			continue
		}
		if _, ok := m.Attribute(sdp.AttrKeyCryptex); ok {
			return true
		}
		if mid, _ := m.Attribute(sdp.AttrKeyMID); tagged != nil && slices.Contains(tagged, mid) {
			return true
		}
	}
	return false
}

// bundleTagCryptex is the BUNDLE group's mids when its tag section (the first mid)
// declares cryptex, else nil.
func bundleTagCryptex(d *sdp.SessionDescription) []string {
	group, _ := d.Attribute(sdp.AttrKeyGroup)
	mids := strings.Fields(group)
	if len(mids) < 2 || mids[0] != "BUNDLE" {
		return nil
	}
	mids = mids[1:]
	for _, m := range d.MediaDescriptions {
		if mid, _ := m.Attribute(sdp.AttrKeyMID); mid == mids[0] {
			if _, ok := m.Attribute(sdp.AttrKeyCryptex); ok {
				return mids
			}
			return nil
		}
	}
	return nil
}
