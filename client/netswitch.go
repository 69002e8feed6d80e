package client

import "net"

// NetworkSwitch cuts the whole network path of every PeerConnection configured with it
// (PeerConfig.Network), as a network change or an outage would: while cut, every datagram
// in either direction is discarded — ICE connectivity checks and keepalives, DTLS, RTP and
// RTCP alike — so ICE consent expires on both sides and the connections fail. Restoring it
// lets an ICE restart reconnect. Such a PeerConnection runs ICE over its own UDP socket on
// 127.0.0.1 (PeerConfig.Loopback is required). The zero value is a working network; safe
// for concurrent use. Compare LinkSwitch, which cuts only the media and keeps ICE up.
type NetworkSwitch struct {
	cutter
}

// switchedConn is a UDP socket whose traffic a NetworkSwitch can discard.
type switchedConn struct {
	net.PacketConn
	network *NetworkSwitch
}

func (c *switchedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.network.Cut() {
			return n, addr, err
		}
	}
}

func (c *switchedConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.network.Cut() {
		return len(b), nil // lost on the way
	}
	return c.PacketConn.WriteTo(b, addr)
}
