package configs

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/parley-rtc/parley/cluster"
	"github.com/parley-rtc/parley/ops/recording"
	"github.com/parley-rtc/parley/ops/records"
	"github.com/parley-rtc/parley/ops/webhooks"
	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/turn"
)

// Config is Parley's whole configuration: one section per package, each with its own
// defaults and validation. The YAML file, PARLEY_* variables and flags use the same keys.
type Config struct {
	HTTP      HTTPConfig           `mapstructure:"http"`
	Metrics   MetricsConfig        `mapstructure:"metrics"`
	Log       LogConfig            `mapstructure:"log"`
	RTC       sfu.Config           `mapstructure:"rtc"`
	Room      room.Config          `mapstructure:"room"`
	Auth      signaling.AuthConfig `mapstructure:"auth"`
	Signaling signaling.Config     `mapstructure:"signaling"`
	TURN      turn.Config          `mapstructure:"turn"`
	Records   records.Config       `mapstructure:"records"`
	Admin     AdminConfig          `mapstructure:"admin"`
	Webhooks  webhooks.Config      `mapstructure:"webhooks"`
	WHIP      signaling.WHIPConfig `mapstructure:"whip"` // WHIP ingest (docs/whip.md)
	Recording recording.Config     `mapstructure:"recording"`

	Limits signaling.LimitsConfig `mapstructure:"limits"` // rate limits on what clients ask for

	Cluster cluster.Config `mapstructure:"cluster"` // other nodes through Redis; empty redis_url: one node
}

// AdminConfig protects the admin HTTP API (GET /api/v1/calls).
type AdminConfig struct {
	// APIKey is the bearer key of the admin API; empty disables the API (every request
	// gets 401). At least signaling.MinSecretBytes (32) bytes, not a sample placeholder
	// (safety.go).
	APIKey string `mapstructure:"api_key"`
}

// Validate checks the admin section.
func (c AdminConfig) Validate() error {
	if c.APIKey == "" {
		return nil
	}
	return checkSecret("admin.api_key", c.APIKey)
}

// HTTPConfig is the HTTP listener that serves the WebSocket signaling, health and the SDK.
// The timeouts and the header limit apply to every HTTP listener (metrics.address too).
type HTTPConfig struct {
	// Address is host:port to listen on.
	Address string `mapstructure:"address"`
	// DrainTimeout bounds a graceful shutdown.
	DrainTimeout time.Duration `mapstructure:"drain_timeout"`
	// ReadHeaderTimeout bounds reading a request's headers (a slow client is cut off).
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, body included (not a WebSocket after
	// its upgrade).
	ReadTimeout time.Duration `mapstructure:"read_timeout"`
	// WriteTimeout bounds writing a response (not a WebSocket after its upgrade).
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
	// IdleTimeout closes a keep-alive connection that waits this long for its next request.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// MaxHeaderBytes bounds a request's line and headers; a larger request gets 431.
	MaxHeaderBytes int `mapstructure:"max_header_bytes"`
	// MaxConnsPerIP caps the open connections of one remote IP on http.address (WebSocket
	// sessions included); more are closed at accept. 0 = no cap.
	MaxConnsPerIP int `mapstructure:"max_conns_per_ip"`
	// MaxRequestConnsPerIP caps the connections of one client (IPv4 address, IPv6 /64) on
	// http.address that carry HTTP requests: every connection until it is upgraded to a
	// WebSocket, idle keep-alive ones included; more get 503 with Retry-After at accept.
	// 0 = no cap (behind a reverse proxy).
	MaxRequestConnsPerIP int `mapstructure:"max_request_conns_per_ip"`
	// MaxRequestConns caps the same connections of all clients; 0 = no cap.
	MaxRequestConns int `mapstructure:"max_request_conns"`
}

// MetricsConfig places /metrics.
type MetricsConfig struct {
	// Address is host:port of a listener that serves only GET /metrics; empty serves
	// /metrics on http.address instead.
	Address string `mapstructure:"address"`
	// ScrapesPerMinute refills each client's scrape bucket (IPv4 address, IPv6 /64, from
	// the connection; loopback clients exempt) and ScrapesBurst is its size; a scrape
	// beyond gets 429 with Retry-After. 0: no limit (D331).
	ScrapesPerMinute int `mapstructure:"scrapes_per_minute"`
	ScrapesBurst     int `mapstructure:"scrapes_burst"`
	// MaxInFlight caps the scrapes served at once (all clients); one more gets 503. 0: no cap.
	MaxInFlight int `mapstructure:"max_in_flight"`
}

// LogConfig selects the log level and format.
type LogConfig struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // text or json
}

// Default returns the configuration of a working local server.
func Default() Config {
	return Config{
		HTTP: HTTPConfig{
			Address: "127.0.0.1:7880", DrainTimeout: 30 * time.Second,
			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
			IdleTimeout: 30 * time.Second, MaxHeaderBytes: 32 << 10,
			MaxRequestConnsPerIP: 2048, MaxRequestConns: 16384, // D247
		},
		Metrics:   MetricsConfig{ScrapesPerMinute: 120, ScrapesBurst: 10, MaxInFlight: 4}, // D331
		Log:       LogConfig{Level: "info", Format: "text"},
		RTC:       sfu.DefaultConfig(),
		Room:      room.DefaultConfig(),
		Auth:      signaling.DefaultAuthConfig(),
		Signaling: signaling.DefaultConfig(),
		Limits:    signaling.DefaultLimitsConfig(),
		TURN:      turn.DefaultConfig(),
		Records:   records.DefaultConfig(),
		Webhooks:  webhooks.DefaultConfig(),
		WHIP:      signaling.DefaultWHIPConfig(),
		Recording: recording.DefaultConfig(),
		Cluster:   cluster.DefaultConfig(),
	}
}

// Validate checks every section; the error names the offending key.
func (c Config) Validate() error {
	return errors.Join(
		c.HTTP.Validate(),
		c.Metrics.Validate(),
		c.Log.Validate(),
		c.RTC.Validate(),
		c.Room.Validate(),
		c.Auth.Validate(),
		c.Signaling.Validate(),
		c.Limits.Validate(),
		c.TURN.Validate(),
		c.Records.Validate(),
		c.Admin.Validate(),
		c.Webhooks.Validate(),
		c.WHIP.Validate(),
		c.Recording.Validate(),
		c.Cluster.Validate(),
		c.validateAcrossSections(), // safety.go
	)
}

// Validate checks the HTTP section.
func (c HTTPConfig) Validate() error {
	var errs []error
	if err := validListenAddress(c.Address); err != nil {
		errs = append(errs, fmt.Errorf("http.address: %w", err))
	}
	if c.DrainTimeout < 0 {
		errs = append(errs, fmt.Errorf("http.drain_timeout: must not be negative, got %s", c.DrainTimeout))
	}
	timeouts := []struct {
		key string
		v   time.Duration
	}{
		{"http.read_header_timeout", c.ReadHeaderTimeout}, {"http.read_timeout", c.ReadTimeout},
		{"http.write_timeout", c.WriteTimeout}, {"http.idle_timeout", c.IdleTimeout},
	}
	for _, t := range timeouts {
		if t.v < 100*time.Millisecond || t.v > time.Hour {
			errs = append(errs, fmt.Errorf("%s: must be 100ms..1h, got %s", t.key, t.v))
		}
	}
	if c.ReadTimeout < c.ReadHeaderTimeout {
		errs = append(errs, fmt.Errorf("http.read_timeout: %s is shorter than http.read_header_timeout %s", c.ReadTimeout, c.ReadHeaderTimeout))
	}
	if c.MaxHeaderBytes < 4096 || c.MaxHeaderBytes > 1<<20 {
		errs = append(errs, fmt.Errorf("http.max_header_bytes: must be 4096..1048576, got %d", c.MaxHeaderBytes))
	}
	if c.MaxConnsPerIP < 0 || c.MaxConnsPerIP > 1<<20 {
		errs = append(errs, fmt.Errorf("http.max_conns_per_ip: must be 0 (no cap)..1048576, got %d", c.MaxConnsPerIP))
	}
	if c.MaxRequestConnsPerIP < 0 || c.MaxRequestConnsPerIP > 1<<20 {
		errs = append(errs, fmt.Errorf("http.max_request_conns_per_ip: must be 0 (no cap)..1048576, got %d", c.MaxRequestConnsPerIP))
	}
	if c.MaxRequestConns < 0 || c.MaxRequestConns > 1<<20 {
		errs = append(errs, fmt.Errorf("http.max_request_conns: must be 0 (no cap)..1048576, got %d", c.MaxRequestConns))
	}
	return errors.Join(errs...)
}

// Validate checks the metrics section.
func (c MetricsConfig) Validate() error {
	var errs []error
	if c.Address != "" {
		if err := validListenAddress(c.Address); err != nil {
			errs = append(errs, fmt.Errorf("metrics.address: %w (or empty to serve /metrics on http.address)", err))
		}
	}
	if c.ScrapesPerMinute < 0 || c.ScrapesPerMinute > 60000 {
		errs = append(errs, fmt.Errorf("metrics.scrapes_per_minute: must be 0 (no limit)..60000, got %d", c.ScrapesPerMinute))
	}
	if c.ScrapesPerMinute > 0 && (c.ScrapesBurst < 1 || c.ScrapesBurst > 10000) {
		errs = append(errs, fmt.Errorf("metrics.scrapes_burst: must be 1..10000 with metrics.scrapes_per_minute set, got %d", c.ScrapesBurst))
	}
	if c.MaxInFlight < 0 || c.MaxInFlight > 1024 {
		errs = append(errs, fmt.Errorf("metrics.max_in_flight: must be 0 (no cap)..1024, got %d", c.MaxInFlight))
	}
	return errors.Join(errs...)
}

// validListenAddress accepts host:port with an IP or "localhost" (or no host: every
// interface) and a port 0..65535.
func validListenAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", addr, err)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Errorf("host %q is not an IP address", host)
	}
	return validPort(port)
}

// Validate checks the log section.
func (c LogConfig) Validate() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Level)); err != nil {
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Level)
	}
	if c.Format != "text" && c.Format != "json" {
		return fmt.Errorf("log.format: %q is not text or json", c.Format)
	}
	return nil
}

// SlogLevel returns the configured level (info when unparsable; Validate catches that).
func (c LogConfig) SlogLevel() slog.Level {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Level)); err != nil {
		return slog.LevelInfo
	}
	return lvl
}

func validPort(p string) error {
	var n int
	if _, err := fmt.Sscanf(p, "%d", &n); err != nil || fmt.Sprint(n) != p {
		return fmt.Errorf("port %q is not a number", p)
	}
	if n < 0 || n > 65535 {
		return fmt.Errorf("port %d out of range 0..65535", n)
	}
	return nil
}
