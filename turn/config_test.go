package turn

import (
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	if !cfg.Enabled || cfg.Realm != "parley" || cfg.UDPPort != 3478 || cfg.TCPPort != 3478 || cfg.TLSPort != 5349 ||
		cfg.RelayPortMin != 49152 || cfg.RelayPortMax != 65535 || cfg.CredentialTTL != 12*time.Hour ||
		cfg.AllocationQuotaPerUser != 10 || cfg.AllocationQuotaPerIP != 1024 || cfg.MaxAllocationLifetime != time.Hour || !cfg.DevSelfSigned ||
		cfg.BindAddress != "127.0.0.1" || cfg.RelayIP != "127.0.0.1" || cfg.Secret != "" || len(cfg.StaticUsers) != 0 {
		t.Errorf("unexpected defaults: %+v", cfg)
	}
	if got := cfg.relayBindAddress(); got != "127.0.0.1" {
		t.Errorf("relay bind address defaults to %q, want bind_address", got)
	}
}

func TestConfigValidateNamesTheKey(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" means valid
	}{
		{"empty realm", func(c *Config) { c.Realm = "" }, "turn.realm"},
		{"bad bind address", func(c *Config) { c.BindAddress = "localhost" }, "turn.bind_address"},
		{"udp port zero", func(c *Config) { c.UDPPort = 0 }, "turn.udp_port"},
		{"tcp port too big", func(c *Config) { c.TCPPort = 70000 }, "turn.tcp_port"},
		{"tls port negative", func(c *Config) { c.TLSPort = -1 }, "turn.tls_port"},
		{"tls disabled", func(c *Config) { c.TLSPort = 0 }, ""},
		{"tls same as tcp", func(c *Config) { c.TLSPort = c.TCPPort }, "turn.tls_port: must differ"},
		{"cert without key", func(c *Config) { c.CertFile = "/x.pem" }, "turn.cert_file"},
		{"tls without any cert", func(c *Config) { c.DevSelfSigned = false }, "turn.cert_file"},
		{"no self-signed, no tls", func(c *Config) { c.DevSelfSigned = false; c.TLSPort = 0 }, ""},
		{"relay ip unspecified", func(c *Config) { c.RelayIP = "0.0.0.0" }, "turn.relay_ip"},
		{"relay ip garbage", func(c *Config) { c.RelayIP = "relay" }, "turn.relay_ip"},
		{"relay bind address", func(c *Config) { c.RelayBindAddress = "x" }, "turn.relay_bind_address"},
		{"relay bind any", func(c *Config) { c.RelayBindAddress = "0.0.0.0" }, ""},
		{"relay min > max", func(c *Config) { c.RelayPortMax = 49000 }, "turn.relay_port_min: must be <= relay_port_max"},
		{"relay max zero", func(c *Config) { c.RelayPortMax = 0 }, "turn.relay_port_max"},
		{"short secret", func(c *Config) { c.Secret = "short" }, "turn.secret"},
		{"good secret", func(c *Config) { c.Secret = strings.Repeat("s", 16) }, ""},
		{"ttl zero", func(c *Config) { c.CredentialTTL = 0 }, "turn.credential_ttl"},
		{"quota zero", func(c *Config) { c.AllocationQuotaPerUser = 0 }, "turn.allocation_quota_per_user"},
		{"ip quota negative", func(c *Config) { c.AllocationQuotaPerIP = -1 }, "turn.allocation_quota_per_ip"},
		{"ip quota off", func(c *Config) { c.AllocationQuotaPerIP = 0 }, ""},
		{"lifetime too long", func(c *Config) { c.MaxAllocationLifetime = 2 * time.Hour }, "turn.max_allocation_lifetime"},
		{"lifetime too short", func(c *Config) { c.MaxAllocationLifetime = time.Second }, "turn.max_allocation_lifetime"},
		{"allow cidr", func(c *Config) { c.AllowCIDRs = []string{"10.0.0.0/8", "10.0.0.300/8"} }, "turn.allow_cidrs[1]"},
		{"allow single ip", func(c *Config) { c.AllowCIDRs = []string{"127.0.0.1", "fd00::/8"} }, ""},
		{"deny cidr", func(c *Config) { c.DenyCIDRs = []string{"nope"} }, "turn.deny_cidrs[0]"},
		{"media addresses", func(c *Config) {
			c.ServerMediaAddresses = []string{"10.0.0.5:7882", "10.0.0.5:7882/udp", "10.0.0.5:7883/tcp", "[::1]:7882/UDP"}
		}, ""},
		{"media bare ip", func(c *Config) { c.ServerMediaAddresses = []string{"10.0.0.5:7882", "10.0.0.5"} }, "turn.server_media_addresses[1]: \"10.0.0.5\" has no port"},
		{"media bare public ip", func(c *Config) { c.ServerMediaAddresses = []string{"1.1.1.1"} }, "turn.server_media_addresses[0]: \"1.1.1.1\" has no port"},
		{"media bare ip udp", func(c *Config) { c.ServerMediaAddresses = []string{"fd00::5/udp"} }, "turn.server_media_addresses[0]: \"fd00::5/udp\" has no port"},
		{"media transport", func(c *Config) { c.ServerMediaAddresses = []string{"10.0.0.5:7882/sctp"} }, "turn.server_media_addresses[0]"},
		{"media cidr", func(c *Config) { c.ServerMediaAddresses = []string{"10.0.0.0/8"} }, "turn.server_media_addresses[0]"},
		{"media port zero", func(c *Config) { c.ServerMediaAddresses = []string{"10.0.0.5:0"} }, "turn.server_media_addresses[0]"},
		{"media host name", func(c *Config) { c.ServerMediaAddresses = []string{"sfu:7882"} }, "turn.server_media_addresses[0]"},
		{"static user empty password", func(c *Config) { c.StaticUsers = map[string]string{"u": ""} }, "turn.static_users"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want valid", err)
			case tc.want != "" && err == nil:
				t.Fatalf("Validate() = nil, want error naming %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("Validate() = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
