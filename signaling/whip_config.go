package signaling

import (
	"errors"
	"fmt"
	"time"
)

// WHIPConfig is the `whip` section: WHIP ingest (RFC 9725) and WHEP playback over HTTP
// (docs/whip.md).
type WHIPConfig struct {
	// Enabled mounts POST /whip/{roomId} and its session resources.
	Enabled bool `mapstructure:"enabled"`
	// MaxSessions caps the WHIP sessions of the server; one more gets 503.
	MaxSessions int `mapstructure:"max_sessions"`
	// MaxSessionsPerUser caps the WHIP sessions of one user (SDKAppID, userId) at once,
	// across rooms; one more gets 429.
	MaxSessionsPerUser int `mapstructure:"max_sessions_per_user"`
	// MaxSessionsPerIP caps the WHIP and WHEP sessions of one client IP (IPv6: its /64,
	// from the TCP connection) at once, whatever the users of its grants; one more gets
	// 429 (D315). 0: no cap (behind a reverse proxy every client has the proxy's IP).
	MaxSessionsPerIP int `mapstructure:"max_sessions_per_ip"`
	// OffersPerMinute and OffersBurst bound the POSTs with a valid grant of one client IP
	// (each builds a PeerConnection, gathers candidates and joins a room or views a
	// user); one more gets 429 with Retry-After (D315). OffersPerMinute 0: no limit.
	OffersPerMinute int `mapstructure:"offers_per_minute"`
	OffersBurst     int `mapstructure:"offers_burst"`
	// MaxBodyBytes bounds the body of a POST (SDP offer) or PATCH (trickle fragment); a
	// larger one gets 413.
	MaxBodyBytes int `mapstructure:"max_body_bytes"`
	// ConnectTimeout ends a session whose PeerConnection is not connected this long after
	// its offer was answered.
	ConnectTimeout time.Duration `mapstructure:"connect_timeout"`
	// GatherTimeout bounds the wait for the server's ICE candidates, which the answer
	// carries (WHIP has no server-side trickle).
	GatherTimeout time.Duration `mapstructure:"gather_timeout"`
}

// DefaultWHIPConfig returns the defaults: enabled, 256 sessions, 4 per user, 32 per
// client IP, 60 offers a minute per client IP (burst 30), 64 KiB bodies, 30 s to connect,
// 5 s to gather.
func DefaultWHIPConfig() WHIPConfig {
	return WHIPConfig{
		Enabled: true, MaxSessions: 256, MaxSessionsPerUser: 4, MaxSessionsPerIP: 32,
		OffersPerMinute: 60, OffersBurst: 30, MaxBodyBytes: 64 << 10,
		ConnectTimeout: 30 * time.Second, GatherTimeout: 5 * time.Second,
	}
}

// Validate checks the section; each error names its key.
func (c WHIPConfig) Validate() error {
	var errs []error
	if c.MaxSessions < 1 || c.MaxSessions > 1<<20 {
		errs = append(errs, fmt.Errorf("whip.max_sessions: must be 1..1048576, got %d", c.MaxSessions))
	}
	if c.MaxSessionsPerUser < 1 || c.MaxSessionsPerUser > 1000 {
		errs = append(errs, fmt.Errorf("whip.max_sessions_per_user: must be 1..1000, got %d", c.MaxSessionsPerUser))
	}
	if c.MaxSessionsPerIP < 0 || c.MaxSessionsPerIP > 1<<20 {
		errs = append(errs, fmt.Errorf("whip.max_sessions_per_ip: must be 0..1048576 (0: no cap), got %d", c.MaxSessionsPerIP))
	}
	if c.OffersPerMinute < 0 || c.OffersPerMinute > 1_000_000 {
		errs = append(errs, fmt.Errorf("whip.offers_per_minute: must be 0..1000000 (0: no limit), got %d", c.OffersPerMinute))
	}
	if c.OffersPerMinute > 0 && (c.OffersBurst < 1 || c.OffersBurst > 1_000_000) {
		errs = append(errs, fmt.Errorf("whip.offers_burst: must be 1..1000000, got %d", c.OffersBurst))
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 1<<20 {
		errs = append(errs, fmt.Errorf("whip.max_body_bytes: must be 1024..1048576, got %d", c.MaxBodyBytes))
	}
	if c.ConnectTimeout < 100*time.Millisecond || c.ConnectTimeout > 10*time.Minute {
		errs = append(errs, fmt.Errorf("whip.connect_timeout: must be 100ms..10m, got %s", c.ConnectTimeout))
	}
	if c.GatherTimeout < 100*time.Millisecond || c.GatherTimeout > time.Minute {
		errs = append(errs, fmt.Errorf("whip.gather_timeout: must be 100ms..1m, got %s", c.GatherTimeout))
	}
	return errors.Join(errs...)
}
