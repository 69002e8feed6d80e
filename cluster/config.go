package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config is the cluster section of the configuration (configs/parley.yaml, cluster.*).
type Config struct {
	// RedisURL is the Redis server of the cluster (redis://host:port/db); empty runs a
	// single node with no Redis at all.
	RedisURL string `mapstructure:"redis_url"`
	// NodeID names this node; empty generates one at start-up ("n-" and 12 hex digits).
	NodeID string `mapstructure:"node_id"`
	// Region labels the node; a tenant is placed in the region of its first user's node
	// when a node there takes work (D51).
	Region string `mapstructure:"region"`
	// Heartbeat is how often the node renews its registration and its leases.
	Heartbeat time.Duration `mapstructure:"heartbeat"`
	// NodeTTL is how long a registration and a lease live without renewal: a node that
	// stops heart-beating is dead (and its tenants free) NodeTTL after its last beat.
	NodeTTL time.Duration `mapstructure:"node_ttl"`
	// ProfileTTL is how long a user's stored profile (nickname, avatar, multi-device
	// flag) lives in Redis after the user last logged in or changed it; 0 keeps it forever.
	ProfileTTL time.Duration `mapstructure:"profile_ttl"`
	// RoomPlacement says where an app's rooms live (D95): PlacementLoad ("load", the
	// default; "" is the default too) each on the least loaded live node when it is
	// created, in the region of its first user's node; PlacementOwner ("owner") on the
	// node that owns the app (D97, D126).
	RoomPlacement string `mapstructure:"room_placement"`
	// AdvertiseURL is the http:// or https:// base URL at which clients reach this node
	// directly (its published port); the node registers its ws:// or wss:// form (path
	// /ws) for the redirects other nodes answer (WHIP/WHEP to a placed room, a recording
	// of this node). Empty derives it from the bound http.address (D137, D138).
	AdvertiseURL string `mapstructure:"advertise_url"`
}

// Values of cluster.room_placement.
const (
	PlacementOwner = "owner"
	PlacementLoad  = "load"
)

// DefaultProfileTTL is the default cluster.profile_ttl: 30 days.
const DefaultProfileTTL = 30 * 24 * time.Hour

// DefaultConfig is a single node (no Redis), 1 s heartbeats, 3 s TTL, profiles kept 30
// days after their user's last login or change, rooms placed by load (D126).
func DefaultConfig() Config {
	return Config{Heartbeat: time.Second, NodeTTL: 3 * time.Second, ProfileTTL: DefaultProfileTTL, RoomPlacement: PlacementLoad}
}

// Enabled reports whether a Redis URL is configured.
func (c Config) Enabled() bool { return c.RedisURL != "" }

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Validate checks the keys; each error names its key.
func (c Config) Validate() error {
	var errs []error
	if c.RedisURL != "" {
		if _, err := redis.ParseURL(c.RedisURL); err != nil {
			errs = append(errs, fmt.Errorf("cluster.redis_url: %w", err))
		}
	}
	if c.NodeID != "" && !nodeIDPattern.MatchString(c.NodeID) {
		errs = append(errs, fmt.Errorf("cluster.node_id %q: want 1..64 of [A-Za-z0-9_.-]", c.NodeID))
	}
	if len(c.Region) > 64 {
		errs = append(errs, fmt.Errorf("cluster.region: %d bytes, at most 64", len(c.Region)))
	}
	if c.Heartbeat < 50*time.Millisecond {
		errs = append(errs, fmt.Errorf("cluster.heartbeat %v: at least 50ms", c.Heartbeat))
	}
	if c.NodeTTL < 2*c.Heartbeat {
		errs = append(errs, fmt.Errorf("cluster.node_ttl %v: at least twice cluster.heartbeat (%v)", c.NodeTTL, c.Heartbeat))
	}
	if c.ProfileTTL != 0 && c.ProfileTTL < time.Second {
		errs = append(errs, fmt.Errorf("cluster.profile_ttl %v: 0 (no expiry) or at least 1s", c.ProfileTTL))
	}
	switch c.RoomPlacement {
	case "", PlacementOwner, PlacementLoad:
	default:
		errs = append(errs, fmt.Errorf("cluster.room_placement %q: want %q or %q", c.RoomPlacement, PlacementOwner, PlacementLoad))
	}
	if c.AdvertiseURL != "" {
		if _, err := wsURL(c.AdvertiseURL); err != nil {
			errs = append(errs, fmt.Errorf("cluster.advertise_url %q: %w", c.AdvertiseURL, err))
		}
	}
	return errors.Join(errs...)
}

// SignalingURL is the URL of /ws the node registers: from AdvertiseURL when set (http →
// ws, https → wss, its path with /ws appended), else ws://listen/ws with listen the bound
// HTTP address (host:port). reachable is false when AdvertiseURL is empty and listen's
// host is unspecified (0.0.0.0, ::): no client can use that URL (D137).
func (c Config) SignalingURL(listen string) (u string, reachable bool) {
	if c.AdvertiseURL != "" {
		if u, err := wsURL(c.AdvertiseURL); err == nil {
			return u, true
		}
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	ip, err := netip.ParseAddr(host)
	return "ws://" + listen + "/ws", err != nil || !ip.IsUnspecified()
}

// wsURL is the signaling URL of the advertised base URL raw, or why raw is not one: a
// scheme http or https, a host that names an address (not 0.0.0.0 or ::), no user
// information, query or fragment.
func wsURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", err
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("want an http:// or https:// URL")
	case u.Hostname() == "":
		return "", errors.New("no host")
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", errors.New("no user information, query or fragment allowed")
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil && ip.IsUnspecified() {
		return "", fmt.Errorf("host %s is unspecified: clients cannot reach it", u.Hostname())
	}
	scheme := "ws"
	if u.Scheme == "https" {
		scheme = "wss"
	}
	return scheme + "://" + u.Host + strings.TrimSuffix(u.EscapedPath(), "/") + "/ws", nil
}

// newNodeID is "n-" and 48 random bits in hex.
func newNodeID() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return "n-" + hex.EncodeToString(b)
}
