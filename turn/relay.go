package turn

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	pionturn "github.com/pion/turn/v5"
)

// Relay errors returned to pion (which answers the client with an error response).
var (
	// ErrQuotaExceeded: the userId or its address already holds its allocation quota.
	ErrQuotaExceeded = errors.New("TURN allocation quota exceeded")
	// ErrNoRelayPort: no port of the relay range could be bound (pion answers 508).
	ErrNoRelayPort = errors.New("TURN relay port range exhausted")
	// ErrPeerNotAllowed: the peer address is refused by the relay policy.
	ErrPeerNotAllowed = errors.New("TURN peer address not allowed")
	// ErrPeerConnLimit: the TCP allocation or its client's address holds its peer
	// connections already (peerconns.go; pion answers a Connect 447).
	ErrPeerConnLimit = errors.New("TURN peer connection limit reached")
)

// relayGenerator is the pion RelayAddressGenerator of every listener. It wraps pion's port
// range generator so that each allocation's relay socket holds a quota slot of its userId
// and one of its client's address (conf.UserID is an allocationKey, quota.go) until pion
// closes it, counts the relayed bytes, and checks the ports of the server's own IPs per
// packet (UDP) and per connection (TCP). pion calls it from its request goroutines.
type relayGenerator struct {
	inner   *pionturn.RelayAddressGeneratorPortRange
	policy  *peerPolicy
	quota   *allocationQuota
	conns   *allocationQuota // peer connections of TCP allocations (peerconns.go)
	stats   *counters
	tracker *closeTracker
	refuse  func(reason RefusalReason, client net.Addr, detail string)
}

func (g *relayGenerator) Validate() error { return g.inner.Validate() }

// AllocatePacketConn opens a UDP relay socket. pion also calls it with an empty UserID to
// probe for a free even port (EVEN-PORT); such probes are closed at once and not counted.
func (g *relayGenerator) AllocatePacketConn(conf pionturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	if conf.UserID == "" {
		return g.inner.AllocatePacketConn(conf)
	}
	if err := g.acquire(conf.UserID); err != nil {
		return nil, nil, err
	}
	conn, addr, err := g.inner.AllocatePacketConn(conf)
	if err != nil {
		return nil, nil, g.noPort(conf.UserID, err)
	}
	g.opened()
	return &relayPacketConn{PacketConn: conn, gen: g, key: conf.UserID}, addr, nil
}

// AllocateListener opens a TCP relay listener (RFC 6062 allocations).
func (g *relayGenerator) AllocateListener(conf pionturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	if err := g.acquire(conf.UserID); err != nil {
		return nil, nil, err
	}
	ln, addr, err := g.inner.AllocateListener(conf)
	if err != nil {
		return nil, nil, g.noPort(conf.UserID, err)
	}
	g.opened()
	return &relayListener{Listener: ln, gen: g, key: conf.UserID, relay: addr}, addr, nil
}

// AllocateConn dials a TCP peer for an RFC 6062 Connect request; pion has already checked
// the permission, the policy is checked again here with the port: on the server's own IPs
// only the TCP media ports (pion answers the refusal with 447 Connection Timeout or Failure).
func (g *relayGenerator) AllocateConn(conf pionturn.AllocateConnConfig) (net.Conn, error) {
	if ap, ok := addrPortOf(conf.RemoteAddr); !ok || !g.policy.allowIP(ap.Addr()) || !g.policy.allowPort(relayTCP, ap) {
		g.refuse(RefusedPeer, nil, fmt.Sprintf("user %s connect to %v", conf.UserID, conf.RemoteAddr))
		return nil, fmt.Errorf("connect to %v: %w", conf.RemoteAddr, ErrPeerNotAllowed)
	}
	key := peerConnKey(conf.LocalAddr, conf.UserID)
	if !g.takeConn(key, conf.RemoteAddr) {
		return nil, fmt.Errorf("connect to %v: %w", conf.RemoteAddr, ErrPeerConnLimit)
	}
	conn, err := g.inner.AllocateConn(conf)
	if err != nil {
		g.conns.release(key)
		return nil, err
	}
	return g.counted(conn, key), nil
}

// takeConn takes a peer connection slot of key (peerConnKey), or counts and logs the
// refusal.
func (g *relayGenerator) takeConn(key string, peer net.Addr) bool {
	if _, ok := g.conns.acquire(key); ok {
		return true
	}
	g.refuse(RefusedPeerConns, nil, fmt.Sprintf("allocation %s: peer %v beyond %d connections per allocation or %d per address",
		key, peer, MaxPeerConnsPerAllocation, MaxPeerConnsPerIP))
	return false
}

// counted wraps a peer connection holding key's slot, given back when pion closes it.
func (g *relayGenerator) counted(conn net.Conn, key string) net.Conn {
	return &countedConn{relayedConn: relayedConn{Conn: conn, stats: g.stats}, release: func() { g.conns.release(key) }}
}

// acquire takes the quota slots of an allocation key (user and address bucket).
func (g *relayGenerator) acquire(key string) error {
	if reason, ok := g.quota.acquire(key); !ok {
		g.refuse(reason, nil, "allocation "+key)
		return fmt.Errorf("allocation %q: %w", key, ErrQuotaExceeded)
	}
	return nil
}

// noPort gives back the slots of an allocation whose relay socket could not be bound and
// counts the refusal: pion answers 508 Insufficient Capacity.
func (g *relayGenerator) noPort(key string, err error) error {
	g.quota.release(key)
	g.refuse(RefusedCapacity, nil, "allocation "+key+": "+err.Error())
	return fmt.Errorf("%w: %w", ErrNoRelayPort, err)
}

func (g *relayGenerator) opened() {
	g.stats.allocationsTotal.Add(1)
	g.stats.allocationsActive.Add(1)
	g.tracker.add()
}

// closed runs once per relay socket, when pion closes it (allocation deleted or expired).
func (g *relayGenerator) closed(key string) {
	g.quota.release(key)
	g.stats.allocationsActive.Add(-1)
	g.tracker.done()
}

// relayPacketConn is one UDP allocation's relay socket. pion's relay goroutine of the
// allocation calls ReadFrom; request goroutines call WriteTo.
type relayPacketConn struct {
	net.PacketConn
	gen       *relayGenerator
	key       string
	closeOnce sync.Once
}

func (c *relayPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		if !c.allowed(addr) {
			continue
		}
		c.gen.stats.bytesFromPeers.Add(uint64(n))
		return n, addr, nil
	}
}

func (c *relayPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if !c.allowed(addr) {
		return 0, fmt.Errorf("relay to %v: %w", addr, ErrPeerNotAllowed)
	}
	n, err := c.PacketConn.WriteTo(p, addr)
	c.gen.stats.bytesToPeers.Add(uint64(n))
	return n, err
}

// allowed applies the per-packet port check: on the server's own IPs only the UDP media
// ports (a map lookup per packet, none when server_media_addresses is empty).
func (c *relayPacketConn) allowed(addr net.Addr) bool {
	if len(c.gen.policy.own) == 0 {
		return true
	}
	ap, ok := addrPortOf(addr)
	if ok && c.gen.policy.allowPort(relayUDP, ap) {
		return true
	}
	c.gen.stats.refusals[RefusedRelayPacket].Add(1)
	return false
}

func (c *relayPacketConn) Close() error {
	err := c.PacketConn.Close()
	c.closeOnce.Do(func() { c.gen.closed(c.key) })
	return err
}

// relayListener is one TCP allocation's relay listener; pion's allocation goroutine
// accepts on it.
type relayListener struct {
	net.Listener
	gen       *relayGenerator
	key       string
	relay     net.Addr // the allocation's relay address
	closeOnce sync.Once
}

// Accept returns the next peer connection the policy allows and the allocation has a slot
// for (peerconns.go); others are closed at once.
func (l *relayListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if ap, ok := addrPortOf(conn.RemoteAddr()); !ok || !l.gen.policy.allowPort(relayTCP, ap) {
			l.gen.stats.refusals[RefusedRelayPacket].Add(1)
			_ = conn.Close()
			continue
		}
		key := peerConnKey(l.relay, l.key)
		if !l.gen.takeConn(key, conn.RemoteAddr()) {
			_ = conn.Close()
			continue
		}
		return l.gen.counted(conn, key), nil
	}
}

func (l *relayListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { l.gen.closed(l.key) })
	return err
}

// relayedConn is one TCP connection with a peer; it counts the relayed bytes.
type relayedConn struct {
	net.Conn
	stats *counters
}

func (c *relayedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.stats.bytesFromPeers.Add(uint64(n))
	return n, err
}

func (c *relayedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.stats.bytesToPeers.Add(uint64(n))
	return n, err
}

// addrPortOf converts a UDP or TCP address without allocating.
func addrPortOf(a net.Addr) (netip.AddrPort, bool) {
	switch v := a.(type) {
	case *net.UDPAddr:
		return v.AddrPort(), true
	case *net.TCPAddr:
		return v.AddrPort(), true
	}
	return netip.AddrPort{}, false
}
