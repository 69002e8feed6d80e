package client

import (
	"fmt"
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

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

// switchedUDPMux opens the PeerConnection's own UDP socket on 127.0.0.1 behind network and
// installs it as the ICE UDP mux of settings. The returned function closes the socket;
// call it after the PeerConnection closed.
func switchedUDPMux(settings *webrtc.SettingEngine, network *NetworkSwitch) (func() error, error) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("client: network switch socket: %w", err)
	}
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{
		Logger:  quiet.NewLogger("netswitch"),
		UDPConn: &switchedConn{PacketConn: conn, network: network},
	})
	settings.SetICEUDPMux(mux)
	return mux.Close, nil
}
