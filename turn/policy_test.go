package turn

import (
	"net/netip"
	"testing"
)

func TestPeerPolicyAllowIP(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ServerMediaAddresses = []string{"10.1.2.3", "192.168.7.7:7882", "fd00::5"}
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
		{"192.168.7.7", true}, // port-restricted, the permission itself is allowed
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

func TestPeerPolicyAllowAddrPorts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ServerMediaAddresses = []string{"192.168.7.7:7882", "192.168.7.7:7883", "127.0.0.1", "127.0.0.1:9", "1.1.1.1:53"}
	policy, err := newPeerPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr    string
		allowed bool
	}{
		{"192.168.7.7:7882", true},
		{"192.168.7.7:7883", true},
		{"192.168.7.7:7884", false},
		{"[::ffff:192.168.7.7]:7884", false},
		{"127.0.0.1:1234", true}, // an any-port entry wins
		{"1.1.1.1:80", true},     // public anyway: the port entry does not restrict it
		{"8.8.8.8:1", true},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			if got := policy.allowAddr(netip.MustParseAddrPort(tc.addr)); got != tc.allowed {
				t.Errorf("allowAddr(%s) = %v, want %v", tc.addr, got, tc.allowed)
			}
		})
	}

	open, err := newPeerPolicy(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		open.allowAddr(netip.MustParseAddrPort("192.168.7.7:7884"))
		policy.allowAddr(netip.MustParseAddrPort("192.168.7.7:7884"))
	})
	if allocs != 0 {
		t.Errorf("allowAddr allocates %.0f times per call pair, want 0", allocs)
	}
}
