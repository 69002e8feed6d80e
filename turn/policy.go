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

// peerPolicy decides which peers an allocation may relay to. It is built once from the
// Config and read-only afterwards, so any goroutine may use it without locking.
type peerPolicy struct {
	deny  []netip.Prefix
	allow []netip.Prefix
	// mediaAnyPort holds the server media IPs allowed on every port.
	mediaAnyPort map[netip.Addr]bool
	// mediaPorts holds the server media IPs allowed only on listed ports.
	mediaPorts map[netip.Addr][]uint16
	// portRestricted are the IPs the general rules refuse but a port-specific media
	// address allows: traffic to and from them is checked per packet (port included).
	portRestricted map[netip.Addr][]uint16
}

// newPeerPolicy builds the policy from a validated Config.
func newPeerPolicy(cfg Config) (*peerPolicy, error) {
	p := &peerPolicy{
		mediaAnyPort:   map[netip.Addr]bool{},
		mediaPorts:     map[netip.Addr][]uint16{},
		portRestricted: map[netip.Addr][]uint16{},
	}
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
		if m.Port == 0 {
			p.mediaAnyPort[m.IP] = true
		} else {
			p.mediaPorts[m.IP] = append(p.mediaPorts[m.IP], m.Port)
		}
	}
	for ip, ports := range p.mediaPorts {
		if !p.mediaAnyPort[ip] && !p.generallyAllowed(ip) {
			p.portRestricted[ip] = ports
		}
	}
	return p, nil
}

// allowIP reports whether a permission towards ip may be installed (any port).
func (p *peerPolicy) allowIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || containsAddr(p.deny, ip) {
		return false
	}
	if p.mediaAnyPort[ip] || len(p.mediaPorts[ip]) > 0 {
		return true
	}
	return p.generallyAllowed(ip)
}

// allowAddr reports whether one packet may go to or come from addr. Only the IPs that
// are allowed solely through a port-specific media address need the port check; every
// other IP was already judged when its permission was installed.
func (p *peerPolicy) allowAddr(addr netip.AddrPort) bool {
	if len(p.portRestricted) == 0 {
		return true
	}
	ports, restricted := p.portRestricted[addr.Addr().Unmap()]
	if !restricted {
		return true
	}
	for _, port := range ports {
		if port == addr.Port() {
			return true
		}
	}
	return false
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
