package sfu

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v4"
)

// tcpConns is the Engine's ICE-TCP mux (pion's TCPMuxDefault, through the public
// ice.TCPMux interface SettingEngine.SetICETCPMux takes) that remembers the packet
// connection it handed each ICE agent, by the agent's local ufrag and local address, so
// a subscriber's own RTP path can write its sealed packets to a TCP pair pion selected
// (rtpout.go, decision D250). The entries are the ones pion's mux holds itself: one per
// gathered passive candidate, gone when the agent closes the candidate or removes its
// ufrag.
type tcpConns struct {
	ice.TCPMux
	mu    sync.Mutex
	byKey map[tcpConnKey]*tcpConn
}

type tcpConnKey struct {
	ufrag string
	local netip.Addr
}

// tcpConn is the packet connection pion's mux returned, forgetting its entry when
// pion closes it. Its WriteTo frames a datagram (RFC 4571) onto the TCP connection of
// the remote address, as pion's own writes.
type tcpConn struct {
	net.PacketConn
	owner *tcpConns
	key   tcpConnKey
}

func newTCPConns(mux ice.TCPMux) *tcpConns {
	return &tcpConns{TCPMux: mux, byKey: make(map[tcpConnKey]*tcpConn)}
}

// GetConnByUfrag is pion's, remembered.
func (m *tcpConns) GetConnByUfrag(ufrag string, isIPv6 bool, local net.IP) (net.PacketConn, error) {
	conn, err := m.TCPMux.GetConnByUfrag(ufrag, isIPv6, local)
	if err != nil {
		return nil, err
	}
	ip, _ := netip.AddrFromSlice(local)
	c := &tcpConn{PacketConn: conn, owner: m, key: tcpConnKey{ufrag: ufrag, local: ip.Unmap()}}
	m.mu.Lock()
	m.byKey[c.key] = c
	m.mu.Unlock()
	return c, nil
}

// RemoveConnByUfrag is pion's, forgotten.
func (m *tcpConns) RemoveConnByUfrag(ufrag string) {
	m.mu.Lock()
	for k := range m.byKey {
		if k.ufrag == ufrag {
			delete(m.byKey, k)
		}
	}
	m.mu.Unlock()
	m.TCPMux.RemoveConnByUfrag(ufrag)
}

// conns are the packet connections pion's mux gave the agent with ufrag: the one of
// the local address first, then the others (a candidate's address may be a NAT 1:1 one,
// not the interface's), or none.
func (m *tcpConns) conns(ufrag string, local netip.Addr) []net.PacketConn {
	m.mu.Lock()
	defer m.mu.Unlock()
	var conns []net.PacketConn
	for k, c := range m.byKey {
		if k.ufrag != ufrag {
			continue
		}
		conns = append(conns, c.PacketConn)
		if k.local == local.Unmap() {
			last := len(conns) - 1
			conns[0], conns[last] = conns[last], conns[0]
		}
	}
	return conns
}

func (m *tcpConns) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byKey)
}

func (c *tcpConn) Close() error {
	c.owner.mu.Lock()
	if c.owner.byKey[c.key] == c {
		delete(c.owner.byKey, c.key)
	}
	c.owner.mu.Unlock()
	return c.PacketConn.Close()
}

// tcpRoute is where the own path writes while the selected pair is over ICE-TCP: the
// local candidate's packet connection and the remote address as a net.Addr whose String
// is computed once (pion's WriteTo looks the TCP connection up by it).
type tcpRoute struct {
	conns []net.PacketConn // the local candidate's first (tcpConns.conns)
	addr  tcpRemote
	cur   atomic.Int32 // the index in conns that last took a write
}

// write frames b onto the TCP connection of addr: on the connection that took the last
// write, or else the first of conns that has it. pion's WriteTo copies b. Sender
// goroutine.
func (r *tcpRoute) write(b []byte) error {
	first := int(r.cur.Load())
	var err error
	for i := range r.conns {
		j := (first + i) % len(r.conns)
		if _, err = r.conns[j].WriteTo(b, r.addr); !errors.Is(err, io.ErrClosedPipe) {
			r.cur.Store(int32(j))
			return err
		}
	}
	return err
}

type tcpRemote struct{ s string }

func (a tcpRemote) Network() string { return "tcp" }
func (a tcpRemote) String() string  { return a.s }
