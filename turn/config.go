package turn

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// maxPionAllocationLifetime is the longest lifetime pion/turn grants to a client that asks
// for one (LIFETIME attribute); max_allocation_lifetime may not exceed it.
const maxPionAllocationLifetime = time.Hour

// minSecretLength is the shortest accepted REST-API shared secret.
const minSecretLength = 16

// Config is the embedded TURN server's configuration, the `turn` section of the root config.
type Config struct {
	// Enabled starts the TURN server with Parley.
	Enabled bool `mapstructure:"enabled"`
	// Realm is the long-term-credential realm.
	Realm string `mapstructure:"realm"`
	// BindAddress is the IP the TURN listeners (UDP, TCP, TLS) bind to.
	BindAddress string `mapstructure:"bind_address"`
	// UDPPort is the TURN/UDP listening port.
	UDPPort int `mapstructure:"udp_port"`
	// TCPPort is the TURN/TCP listening port.
	TCPPort int `mapstructure:"tcp_port"`
	// TLSPort is the TURN/TLS listening port; 0 disables TURN over TLS.
	TLSPort int `mapstructure:"tls_port"`
	// CertFile and KeyFile are the PEM certificate and key for TURN over TLS.
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	// DevSelfSigned makes a self-signed certificate at start when no cert_file/key_file
	// is given (development only: browsers refuse it for turns: URLs).
	DevSelfSigned bool `mapstructure:"dev_self_signed"`
	// RelayIP is the relay address advertised to clients (XOR-RELAYED-ADDRESS).
	RelayIP string `mapstructure:"relay_ip"`
	// RelayBindAddress is where relay sockets bind; empty means BindAddress.
	RelayBindAddress string `mapstructure:"relay_bind_address"`
	// RelayPortMin and RelayPortMax bound the relay ports (inclusive).
	RelayPortMin int `mapstructure:"relay_port_min"`
	RelayPortMax int `mapstructure:"relay_port_max"`
	// Secret is the TURN REST API shared secret (coturn's static-auth-secret). Empty
	// means a random secret is generated at start (credentials do not survive a restart).
	Secret string `mapstructure:"secret"`
	// CredentialTTL is how long credentials from Credentials stay valid. An expired
	// credential can neither allocate nor refresh, so it also bounds a relayed session.
	CredentialTTL time.Duration `mapstructure:"credential_ttl"`
	// AllocationQuotaPerUser is how many allocations one userId may hold at once.
	AllocationQuotaPerUser int `mapstructure:"allocation_quota_per_user"`
	// AllocationQuotaPerIP is how many allocations the clients of one address (an IPv4
	// address, an IPv6 /64) may hold at once, whatever their userIds; 0 = no per-IP quota.
	AllocationQuotaPerIP int `mapstructure:"allocation_quota_per_ip"`
	// MaxConnsPerIP is how many TCP and TLS connections the clients of one address (an
	// IPv4 address, an IPv6 /64) may hold open to the TURN listeners at once, authenticated
	// or not; 0 = no cap (D272).
	MaxConnsPerIP int `mapstructure:"max_conns_per_ip"`
	// MaxConns is how many TCP and TLS client connections all clients together may hold
	// open to the TURN listeners at once; 0 = no cap (D272).
	MaxConns int `mapstructure:"max_conns"`
	// RequestsPerSecondPerIP and RequestsBurstPerIP bound the STUN requests (Allocate,
	// Refresh, CreatePermission, ChannelBind, Binding; authenticated or not) that the
	// clients of one address (an IPv4 address, an IPv6 /64) send to the UDP listener and
	// over their TCP and TLS connections, together: beyond them a request is dropped
	// unanswered (D316, D332). Relayed data is not counted.
	// RequestsPerSecondPerIP 0 = no limit.
	RequestsPerSecondPerIP int `mapstructure:"requests_per_second_per_ip"`
	RequestsBurstPerIP     int `mapstructure:"requests_burst_per_ip"`
	// MaxAllocationLifetime is the lifetime of an allocation between refreshes
	// (granted when the client asks for none or for more than pion's one-hour cap).
	MaxAllocationLifetime time.Duration `mapstructure:"max_allocation_lifetime"`
	// AllowCIDRs are peer networks (CIDR or single IP) relayed to even when special-purpose.
	AllowCIDRs []string `mapstructure:"allow_cidrs"`
	// DenyCIDRs are peer networks (CIDR or single IP) never relayed to.
	DenyCIDRs []string `mapstructure:"deny_cidrs"`
	// ServerMediaAddresses are the SFU's media ports on the server's own IPs,
	// "ip:port/udp", "ip:port/tcp" or "ip:port" (both); a port is required. These IPs are
	// reachable through the relay only on the listed ports (UDP relaying on the /udp ones,
	// TCP allocations on the /tcp ones), even when loopback or private, and never on any
	// other port, whatever allow_cidrs says; deny_cidrs still refuse them.
	ServerMediaAddresses []string `mapstructure:"server_media_addresses"`
	// StaticUsers maps user → password for fixed long-term credentials (testing only).
	StaticUsers map[string]string `mapstructure:"static_users"`
}

// DefaultConfig returns a working local TURN configuration.
func DefaultConfig() Config {
	return Config{
		Enabled:                true,
		Realm:                  "parley",
		BindAddress:            "127.0.0.1",
		UDPPort:                3478,
		TCPPort:                3478,
		TLSPort:                5349,
		DevSelfSigned:          true,
		RelayIP:                "127.0.0.1",
		RelayPortMin:           49152, // coturn's default range (D245)
		RelayPortMax:           65535,
		CredentialTTL:          12 * time.Hour,
		AllocationQuotaPerUser: 10,
		AllocationQuotaPerIP:   1024,
		MaxConnsPerIP:          2048,
		MaxConns:               16384,
		RequestsPerSecondPerIP: 200,
		RequestsBurstPerIP:     1000,
		MaxAllocationLifetime:  time.Hour,
	}
}

// Validate checks the section; each error names its key (turn.xxx).
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("turn.%s: %s", key, fmt.Sprintf(format, args...)))
	}

	if c.Realm == "" {
		bad("realm", "must not be empty")
	}
	if _, err := netip.ParseAddr(c.BindAddress); err != nil {
		bad("bind_address", "%q is not an IP address", c.BindAddress)
	}
	checkPort := func(key string, p int, zeroOK bool) {
		if (p == 0 && !zeroOK) || p < 0 || p > 65535 {
			bad(key, "port %d out of range 1..65535", p)
		}
	}
	checkPort("udp_port", c.UDPPort, false)
	checkPort("tcp_port", c.TCPPort, false)
	checkPort("tls_port", c.TLSPort, true)
	if c.TLSPort != 0 && c.TLSPort == c.TCPPort {
		bad("tls_port", "must differ from tcp_port (%d)", c.TCPPort)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		bad("cert_file", "cert_file and key_file must be set together")
	}
	if c.TLSPort != 0 && c.CertFile == "" && !c.DevSelfSigned {
		bad("cert_file", "tls_port %d needs cert_file/key_file or dev_self_signed", c.TLSPort)
	}
	if ip, err := netip.ParseAddr(c.RelayIP); err != nil || ip.IsUnspecified() {
		bad("relay_ip", "%q is not a specific IP address", c.RelayIP)
	}
	if c.RelayBindAddress != "" {
		if _, err := netip.ParseAddr(c.RelayBindAddress); err != nil {
			bad("relay_bind_address", "%q is not an IP address", c.RelayBindAddress)
		}
	}
	checkPort("relay_port_min", c.RelayPortMin, false)
	checkPort("relay_port_max", c.RelayPortMax, false)
	if c.RelayPortMin > c.RelayPortMax {
		bad("relay_port_min", "must be <= relay_port_max (%d > %d)", c.RelayPortMin, c.RelayPortMax)
	}
	if c.Secret != "" && len(c.Secret) < minSecretLength {
		bad("secret", "must be at least %d characters (or empty for an ephemeral one)", minSecretLength)
	}
	if c.CredentialTTL <= 0 {
		bad("credential_ttl", "must be positive, got %s", c.CredentialTTL)
	}
	if c.AllocationQuotaPerUser < 1 {
		bad("allocation_quota_per_user", "must be >= 1, got %d", c.AllocationQuotaPerUser)
	}
	if c.AllocationQuotaPerIP < 0 {
		bad("allocation_quota_per_ip", "must be >= 0 (0: no per-IP quota), got %d", c.AllocationQuotaPerIP)
	}
	if c.MaxConnsPerIP < 0 {
		bad("max_conns_per_ip", "must be >= 0 (0: no cap), got %d", c.MaxConnsPerIP)
	}
	if c.MaxConns < 0 {
		bad("max_conns", "must be >= 0 (0: no cap), got %d", c.MaxConns)
	}
	if c.RequestsPerSecondPerIP < 0 || c.RequestsPerSecondPerIP > 1_000_000 {
		bad("requests_per_second_per_ip", "must be 0..1000000 (0: no limit), got %d", c.RequestsPerSecondPerIP)
	}
	if c.RequestsPerSecondPerIP > 0 && (c.RequestsBurstPerIP < 1 || c.RequestsBurstPerIP > 1_000_000) {
		bad("requests_burst_per_ip", "must be 1..1000000, got %d", c.RequestsBurstPerIP)
	}
	if c.MaxAllocationLifetime < time.Minute || c.MaxAllocationLifetime > maxPionAllocationLifetime {
		bad("max_allocation_lifetime", "must be between 1m and %s, got %s", maxPionAllocationLifetime, c.MaxAllocationLifetime)
	}
	for i, s := range c.AllowCIDRs {
		if _, err := parsePrefix(s); err != nil {
			bad(fmt.Sprintf("allow_cidrs[%d]", i), "%v", err)
		}
	}
	for i, s := range c.DenyCIDRs {
		if _, err := parsePrefix(s); err != nil {
			bad(fmt.Sprintf("deny_cidrs[%d]", i), "%v", err)
		}
	}
	errs = append(errs, c.validateMediaAddresses())
	for user, pass := range c.StaticUsers {
		if user == "" || pass == "" {
			bad("static_users", "user names and passwords must not be empty")
			break
		}
	}
	return errors.Join(errs...)
}

// validateMediaAddresses checks server_media_addresses; each error names its entry.
func (c Config) validateMediaAddresses() error {
	var errs []error
	for i, s := range c.ServerMediaAddresses {
		if _, err := parseMediaAddress(s); err != nil {
			errs = append(errs, fmt.Errorf("turn.server_media_addresses[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// relayBindAddress is where relay sockets bind.
func (c Config) relayBindAddress() string {
	if c.RelayBindAddress != "" {
		return c.RelayBindAddress
	}
	return c.BindAddress
}

// parsePrefix accepts a CIDR ("10.0.0.0/8") or a single IP ("10.0.0.1").
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR: %w", s, err)
		}
		return p.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR nor an IP address", s)
	}
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}

// mediaAddress is one server_media_addresses entry: a port of one of the server's own IPs
// and the relay transports that may reach it.
type mediaAddress struct {
	IP   netip.Addr
	Port uint16
	UDP  bool // UDP allocations may send to it (and receive from it)
	TCP  bool // TCP allocations (RFC 6062) may CONNECT to it
}

// parseMediaAddress accepts "ip:port" or "[ipv6]:port", optionally followed by "/udp" or
// "/tcp" (without one the entry serves both transports). A bare IP is refused: it would
// open every port of that host to the relay's users.
func parseMediaAddress(s string) (mediaAddress, error) {
	m := mediaAddress{UDP: true, TCP: true}
	hostPort := s
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		switch strings.ToLower(s[i+1:]) {
		case "udp":
			m.TCP = false
		case "tcp":
			m.UDP = false
		default:
			return mediaAddress{}, fmt.Errorf("%q: transport %q is neither udp nor tcp", s, s[i+1:])
		}
		hostPort = s[:i]
	}
	if ip, err := netip.ParseAddr(hostPort); err == nil {
		return mediaAddress{}, fmt.Errorf("%q has no port: a bare IP would let TURN clients reach every port of that host; "+
			"name the SFU's media port (%q)", s, netip.AddrPortFrom(ip, 7882).String()+"/udp")
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return mediaAddress{}, fmt.Errorf("%q is not ip:port[/udp|/tcp]", s)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return mediaAddress{}, fmt.Errorf("%q: host %q is not an IP address", s, host)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return mediaAddress{}, fmt.Errorf("%q: port %q out of range 1..65535", s, port)
	}
	m.IP, m.Port = ip.Unmap(), uint16(n)
	return m, nil
}
