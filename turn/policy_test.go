package turn

import (
	"net/netip"
	"testing"
)

func TestPeerPolicyAllowIP(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ServerMediaAddresses = []string{"10.1.2.3:7882", "192.168.7.7:7882/udp", "[fd00::5]:7882/tcp"}
	cfg.AllowCIDRs = []string{"172.20.0.0/16", "fe80::1"}
	cfg.DenyCIDRs = []string{"8.8.8.0/24", "172.20.9.0/24", "10.1.2.3"}
	policy, err := newPeerPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ip      string
		allowed bool
	}{
		// public
		{"1.1.1.1", true},
		{"2606:4700::1111", true},
		{"::ffff:1.1.1.1", true},
		// special-purpose IPv4
		{"0.0.0.0", false},
		{"10.0.0.1", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"127.0.0.1", false},
		{"127.255.0.1", false},
		{"169.254.169.254", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.0.0.8", false},
		{"192.0.2.1", false},
		{"192.168.1.1", false},
		{"198.18.0.1", false},
		{"198.51.100.1", false},
		{"203.0.113.1", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},
		{"::ffff:127.0.0.1", false}, // v4-mapped loopback
		{"::ffff:10.0.0.1", false},
		// special-purpose IPv6
		{"::", false},
		{"::1", false},
		{"64:ff9b::a00:1", false}, // NAT64 of 10.0.0.1
		{"2001:db8::1", false},
		{"2001:0:4136:e378::1", false}, // Teredo
		{"2002:a00:1::1", false},       // 6to4 of 10.0.0.1
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"fe80::2", false},
		{"ff02::1", false},
		// neighbours of the ranges stay allowed
		{"100.63.255.255", true},
		{"100.128.0.0", true},
		{"172.15.255.255", true},
		{"172.32.0.0", true},
		{"11.0.0.1", true},
		// server media addresses
		{"192.168.7.7", true}, // the permission is allowed, the port is checked per packet
		{"fd00::5", true},
		// allow_cidrs
		{"172.20.1.1", true},
		{"fe80::1", true},
		// deny_cidrs beat everything
		{"8.8.8.8", false},
		{"172.20.9.9", false},
		{"10.1.2.3", false},
	}
	for _, tc := range tests {
		t.Run(tc.ip, func(t *testing.T) {
			if got := policy.allowIP(netip.MustParseAddr(tc.ip)); got != tc.allowed {
				t.Errorf("allowIP(%s) = %v, want %v", tc.ip, got, tc.allowed)
			}
		})
	}
	if policy.allowIP(netip.Addr{}) {
		t.Error("the zero address is allowed")
	}
}

// TestPeerPolicyAllowPort: the server's own IPs (server_media_addresses) are reachable
// only on their media ports, UDP relaying on the /udp ones and TCP allocations on the /tcp
// ones, whether they are private, loopback, public or in allow_cidrs.
func TestPeerPolicyAllowPort(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ServerMediaAddresses = []string{
		"192.168.7.7:7882/udp", "192.168.7.7:7883/tcp", // private node_ip
		"1.1.1.1:7882/udp", "1.1.1.1:7882/tcp", // public (1:1 NAT) address
		"127.0.0.1:9", // loopback, both transports
		"[2606:4700::1111]:7882/UDP",
		"11.0.0.1:7882/udp", // also in allow_cidrs
	}
	cfg.AllowCIDRs = []string{"11.0.0.0/8"}
	policy, err := newPeerPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		udp  bool
		tcp  bool
	}{
		{"192.168.7.7:7882", true, false},
		{"192.168.7.7:7883", false, true},
		{"192.168.7.7:7880", false, false}, // the HTTP port
		{"[::ffff:192.168.7.7]:7880", false, false},
		{"1.1.1.1:7882", true, true},
		{"1.1.1.1:7880", false, false}, // public, but the server's own: media ports only
		{"1.1.1.1:3478", false, false}, // TURN itself
		{"1.1.1.1:49160", false, false},
		{"127.0.0.1:9", true, true},
		{"127.0.0.1:7880", false, false},
		{"[2606:4700::1111]:7882", true, false},
		{"[2606:4700::1111]:443", false, false},
		{"11.0.0.1:7882", true, false},
		{"11.0.0.1:80", false, false}, // allow_cidrs does not open the other ports
		{"11.0.0.2:80", true, true},   // not the server's: judged by its permission alone
		{"8.8.8.8:1", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			ap := netip.MustParseAddrPort(tc.addr)
			if got := policy.allowPort(relayUDP, ap); got != tc.udp {
				t.Errorf("allowPort(udp, %s) = %v, want %v", tc.addr, got, tc.udp)
			}
			if got := policy.allowPort(relayTCP, ap); got != tc.tcp {
				t.Errorf("allowPort(tcp, %s) = %v, want %v", tc.addr, got, tc.tcp)
			}
			if !policy.allowIP(ap.Addr()) {
				t.Errorf("allowIP(%s) = false: the permission must be allowed, the port decides", ap.Addr())
			}
		})
	}

	open, err := newPeerPolicy(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		open.allowPort(relayUDP, netip.MustParseAddrPort("192.168.7.7:7884"))
		policy.allowPort(relayUDP, netip.MustParseAddrPort("192.168.7.7:7884"))
		policy.allowPort(relayTCP, netip.MustParseAddrPort("1.1.1.1:7882"))
	})
	if allocs != 0 {
		t.Errorf("allowPort allocates %.0f times per call triple, want 0", allocs)
	}
}
