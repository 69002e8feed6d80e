package turn

import (
	"net/netip"
)

// specialPurpose lists the networks a TURN relay must not reach by default: loopback,
// private, link-local, multicast, unspecified, CGNAT, documentation, benchmarking, reserved
// and the IPv6 transition prefixes that embed an IPv4 address (which could smuggle a
// private IPv4 peer through a public-looking IPv6 one). From the IANA special-purpose
// address registries.
var specialPurpose = mustPrefixes(
	// IPv4
	"0.0.0.0/8",       // "this network", unspecified
	"10.0.0.0/8",      // RFC 1918
	"100.64.0.0/10",   // CGNAT shared address space
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local
	"172.16.0.0/12",   // RFC 1918
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // TEST-NET-1
	"192.88.99.0/24",  // 6to4 relay anycast
	"192.168.0.0/16",  // RFC 1918
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // TEST-NET-2
	"203.0.113.0/24",  // TEST-NET-3
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, includes 255.255.255.255
	// IPv6
	"::/128",         // unspecified
	"::1/128",        // loopback
	"::ffff:0:0/96",  // IPv4-mapped (only reached when not unmapped)
	"64:ff9b::/96",   // NAT64 well-known
	"64:ff9b:1::/48", // NAT64 local use
	"100::/64",       // discard-only
	"2001::/23",      // IETF protocol assignments, includes Teredo 2001::/32
	"2001:db8::/32",  // documentation
	"2002::/16",      // 6to4
	"3fff::/20",      // documentation
	"fc00::/7",       // unique local
	"fe80::/10",      // link-local
	"fec0::/10",      // site-local (deprecated)
	"ff00::/8",       // multicast
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// relayTransport is the transport of an allocation's peer side.
type relayTransport uint8

const (
	relayUDP relayTransport = iota // UDP allocations (Send, ChannelData, datagrams from peers)
	relayTCP                       // TCP allocations (RFC 6062 Connect, connections from peers)
)

// ownPorts are the ports of one of the server's own IPs that the relay may reach, per
// transport.
type ownPorts struct {
	udp []uint16
	tcp []uint16
}

func (o ownPorts) allows(tr relayTransport, port uint16) bool {
	ports := o.udp
	if tr == relayTCP {
		ports = o.tcp
	}
	for _, p := range ports {
		if p == port {
			return true
		}
	}
	return false
}

// peerPolicy decides which peers an allocation may relay to. It is built before Start and
// read-only afterwards, so any goroutine may use it without locking.
type peerPolicy struct {
	deny  []netip.Prefix
	allow []netip.Prefix
	// own maps each IP of server_media_addresses (the server's own addresses) to its
	// media ports. These IPs are reachable only on those ports, per transport, whatever
	// allow_cidrs and the special-purpose rule say: the relay is a path to the SFU, not
	// to the HTTP port, /metrics or anything else listening on the host.
	own map[netip.Addr]ownPorts
}

// newPeerPolicy builds the policy from a validated Config.
func newPeerPolicy(cfg Config) (*peerPolicy, error) {
	p := &peerPolicy{own: map[netip.Addr]ownPorts{}}
	for _, s := range cfg.DenyCIDRs {
		pr, err := parsePrefix(s)
		if err != nil {
			return nil, err
		}
		p.deny = append(p.deny, pr)
	}
	for _, s := range cfg.AllowCIDRs {
		pr, err := parsePrefix(s)
		if err != nil {
			return nil, err
		}
		p.allow = append(p.allow, pr)
	}
	for _, s := range cfg.ServerMediaAddresses {
		m, err := parseMediaAddress(s)
		if err != nil {
			return nil, err
		}
		o := p.own[m.IP]
		if m.UDP {
			o.udp = append(o.udp, m.Port)
		}
		if m.TCP {
			o.tcp = append(o.tcp, m.Port)
		}
		p.own[m.IP] = o
	}
	return p, nil
}

// allowIP reports whether a permission towards ip may be installed. For the server's own
// IPs the port is judged later, per packet or connection (allowPort).
func (p *peerPolicy) allowIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || containsAddr(p.deny, ip) {
		return false
	}
	if _, own := p.own[ip]; own {
		return true
	}
	return p.generallyAllowed(ip)
}

// allowPort reports whether one packet (UDP) or connection (TCP) may go to or come from
// addr. Only the server's own IPs need the port check; every other IP was already judged
// when its permission was installed.
func (p *peerPolicy) allowPort(tr relayTransport, addr netip.AddrPort) bool {
	if len(p.own) == 0 {
		return true
	}
	ports, own := p.own[addr.Addr().Unmap()]
	return !own || ports.allows(tr, addr.Port())
}

// generallyAllowed applies allow_cidrs and the special-purpose rule (not deny, not media).
func (p *peerPolicy) generallyAllowed(ip netip.Addr) bool {
	if containsAddr(p.allow, ip) {
		return true
	}
	return !containsAddr(specialPurpose, ip)
}

func containsAddr(prefixes []netip.Prefix, ip netip.Addr) bool {
	for _, pr := range prefixes {
		if pr.Contains(ip) {
			return true
		}
	}
	return false
}
