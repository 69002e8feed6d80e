package sfu

import (
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// fakeTCPMux stands for pion's TCP mux: each GetConnByUfrag gives a new fakePacketConn
// that knows the remote addresses in has.
type fakeTCPMux struct {
	has     map[string]bool
	removed []string
}

func (m *fakeTCPMux) GetConnByUfrag(string, bool, net.IP) (net.PacketConn, error) {
	return &fakePacketConn{has: m.has}, nil
}
func (m *fakeTCPMux) RemoveConnByUfrag(ufrag string) { m.removed = append(m.removed, ufrag) }
func (m *fakeTCPMux) Close() error                   { return nil }

// fakePacketConn takes writes to the remote addresses in has (counted), and answers
// any other with pion's io.ErrClosedPipe.
type fakePacketConn struct {
	net.PacketConn // nil: only WriteTo and Close are called
	has            map[string]bool
	wrote          int
	closed         bool
}

func (c *fakePacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if !c.has[addr.String()] {
		return 0, io.ErrClosedPipe
	}
	c.wrote++
	return len(b), nil
}
func (c *fakePacketConn) Close() error { c.closed = true; return nil }

// The Engine's TCP mux remembers the connection pion's mux gave each local ufrag and
// address, the local address's first; it forgets one pion closes and every one of a
// ufrag pion removes.
func TestTCPConnsRemembersPionsConnections(t *testing.T) {
	inner := &fakeTCPMux{}
	m := newTCPConns(inner)
	lo, other := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.1")
	a, _ := m.GetConnByUfrag("a", false, lo.AsSlice())
	a2, _ := m.GetConnByUfrag("a", false, net.ParseIP("10.0.0.1")) // 16-byte form: unmapped
	if _, err := m.GetConnByUfrag("b", false, lo.AsSlice()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ufrag string
		local netip.Addr
		first net.PacketConn
		n     int
	}{
		{"a", lo, a.(*tcpConn).PacketConn, 2},
		{"a", other, a2.(*tcpConn).PacketConn, 2},
		{"a", netip.MustParseAddr("203.0.113.7"), nil, 2}, // a NAT 1:1 address: all, any order
		{"c", lo, nil, 0},
	} {
		got := m.conns(tc.ufrag, tc.local)
		if len(got) != tc.n || (tc.first != nil && got[0] != tc.first) {
			t.Fatalf("conns(%s, %s) = %v, want %d with %v first", tc.ufrag, tc.local, got, tc.n, tc.first)
		}
	}
	if err := a.Close(); err != nil || !a.(*tcpConn).PacketConn.(*fakePacketConn).closed {
		t.Fatalf("Close did not reach pion's connection: %v", err)
	}
	if m.len() != 2 || len(m.conns("a", lo)) != 1 {
		t.Fatalf("%d remembered after a Close, want 2", m.len())
	}
	m.RemoveConnByUfrag("a")
	if m.len() != 1 || len(inner.removed) != 1 {
		t.Fatalf("%d remembered after RemoveConnByUfrag (pion told %v), want 1", m.len(), inner.removed)
	}
}

// On the own path, a pair over ICE-TCP gets the packets and sender reports sealed by
// the same context, written on the connection that has the remote address (another of
// the ufrag's connections answers io.ErrClosedPipe and is passed over); without a TCP
// route they are unroutable.
func TestRTPOutWritesOnTheTCPRoute(t *testing.T) {
	ctx, err := srtp.CreateContext(make([]byte, 16), make([]byte, 12), srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		t.Fatal(err)
	}
	var remote atomic.Pointer[netip.AddrPort]
	udpWrites := 0
	o := &rtpOut{remote: &remote, history: newSendHistory(), next: new(atomic.Uint32), mode: outOwn, ctx: ctx,
		write: func(b []byte, _ netip.AddrPort) (int, error) { udpWrites++; return len(b), nil }}
	send := func(seq uint16) error {
		h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, SSRC: 1}
		return o.send(&h, []byte{1, 2, 3})
	}
	if err := send(1); err == nil || o.unroutable.Load() != 1 {
		t.Fatalf("send without a pair: %v, %d unroutable", err, o.unroutable.Load())
	}
	peer := "127.0.0.1:40000"
	elsewhere, there := &fakePacketConn{}, &fakePacketConn{has: map[string]bool{peer: true}}
	o.tcp.Store(&tcpRoute{conns: []net.PacketConn{elsewhere, there}, addr: tcpRemote{peer}})
	for seq := uint16(2); seq < 5; seq++ {
		if err := send(seq); err != nil {
			t.Fatal(err)
		}
	}
	if !o.sendRTCP(appendReceiverReport(nil, 1, nil)) {
		t.Fatal("sendRTCP handed the report to pion on the own path")
	}
	if there.wrote != 4 || elsewhere.wrote != 0 || udpWrites != 0 || o.overTCP.Load() != 4 || o.own.Load() != 3 || o.ownRTCP.Load() != 1 {
		t.Fatalf("wrote %d on the TCP connection, %d elsewhere, %d on UDP; counted %d over TCP, %d own, %d RTCP",
			there.wrote, elsewhere.wrote, udpWrites, o.overTCP.Load(), o.own.Load(), o.ownRTCP.Load())
	}
}
