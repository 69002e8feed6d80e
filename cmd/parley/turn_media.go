package main

import (
	"net"
	"net/netip"
	"strconv"

	"github.com/parley-rtc/parley/configs"
)

// setTURNMediaAddresses gives the embedded TURN server its default
// turn.server_media_addresses once the SFU has bound its media ports (rtc.udp_port may be
// 0, any free port). A configured turn.server_media_addresses is kept as it is.
func (s *server) setTURNMediaAddresses() error {
	if s.turn == nil || len(s.cfg.TURN.ServerMediaAddresses) > 0 {
		return nil
	}
	udpPort, tcpPort := 0, 0
	if a := s.engine.UDPAddr(); a != nil {
		udpPort = a.Port
	}
	if a := s.engine.TCPAddr(); a != nil { // nil when rtc.tcp_port is -1
		tcpPort = a.Port
	}
	return s.turn.SetServerMediaAddresses(mediaAddresses(s.cfg, udpPort, tcpPort))
}

// mediaAddresses are the peers on this host that TURN may relay to: the SFU's UDP media
// port ("ip:port/udp", for UDP allocations) and its ICE-TCP port ("ip:port/tcp", for RFC
// 6062 TCP allocations; none when tcpPort is 0) on every address of this host the
// configuration names: rtc.node_ip, rtc.nat_1to1_ips, turn.relay_ip and the specific
// (not 0.0.0.0) bind addresses of rtc, turn and http. The TURN server refuses every other
// port of these IPs, so the relay reaches the SFU and not the HTTP port, /metrics or
// anything else listening on the host, whether the IP is private or public.
func mediaAddresses(cfg configs.Config, udpPort, tcpPort int) []string {
	httpHost, _, _ := net.SplitHostPort(cfg.HTTP.Address)
	candidates := append([]string{cfg.RTC.NodeIP}, cfg.RTC.NAT1To1IPs...)
	candidates = append(candidates, cfg.TURN.RelayIP, cfg.RTC.BindAddress, cfg.TURN.BindAddress,
		cfg.TURN.RelayBindAddress, httpHost)
	seen := map[netip.Addr]bool{}
	var out []string
	for _, s := range candidates {
		ip, err := netip.ParseAddr(s)
		if err != nil || ip.IsUnspecified() {
			continue // empty, a host name, or 0.0.0.0/:: (every address: not one of ours to name)
		}
		ip = ip.Unmap()
		if seen[ip] {
			continue
		}
		seen[ip] = true
		out = append(out, mediaAddress(ip, udpPort, "udp"))
		if tcpPort > 0 {
			out = append(out, mediaAddress(ip, tcpPort, "tcp"))
		}
	}
	return out
}

func mediaAddress(ip netip.Addr, port int, transport string) string {
	return net.JoinHostPort(ip.String(), strconv.Itoa(port)) + "/" + transport
}
