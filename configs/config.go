package configs

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/parley-rtc/parley/ops/sqlrecords"
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
	Log       LogConfig            `mapstructure:"log"`
	RTC       sfu.Config           `mapstructure:"rtc"`
	Room      room.Config          `mapstructure:"room"`
	Auth      signaling.AuthConfig `mapstructure:"auth"`
	Signaling signaling.Config     `mapstructure:"signaling"`
	TURN      turn.Config          `mapstructure:"turn"`
	Records   sqlrecords.Config    `mapstructure:"records"`
	Admin     AdminConfig          `mapstructure:"admin"`
	Webhooks  webhooks.Config      `mapstructure:"webhooks"`

	Limits signaling.LimitsConfig `mapstructure:"limits"` // rate limits on what clients ask for
}

// AdminConfig protects the admin HTTP API (GET /api/v1/calls).
type AdminConfig struct {
	// APIKey is the bearer key of the admin API; empty disables the API (every request
	// gets 401). At least 16 characters.
	APIKey string `mapstructure:"api_key"`
}

// Validate checks the admin section.
func (c AdminConfig) Validate() error {
	if c.APIKey != "" && len(c.APIKey) < 16 {
		return fmt.Errorf("admin.api_key: must be empty (API disabled) or at least 16 characters, got %d", len(c.APIKey))
	}
	return nil
}

// HTTPConfig is the HTTP listener that serves the WebSocket signaling, health and the SDK.
type HTTPConfig struct {
	// Address is host:port to listen on.
	Address string `mapstructure:"address"`
	// DrainTimeout bounds a graceful shutdown.
	DrainTimeout time.Duration `mapstructure:"drain_timeout"`
}

// LogConfig selects the log level and format.
type LogConfig struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // text or json
}

// Default returns the configuration of a working local server.
func Default() Config {
	return Config{
		HTTP:      HTTPConfig{Address: "127.0.0.1:7880", DrainTimeout: 30 * time.Second},
		Log:       LogConfig{Level: "info", Format: "text"},
		RTC:       sfu.DefaultConfig(),
		Room:      room.DefaultConfig(),
		Auth:      signaling.DefaultAuthConfig(),
		Signaling: signaling.DefaultConfig(),
		Limits:    signaling.DefaultLimitsConfig(),
		TURN:      turn.DefaultConfig(),
		Records:   sqlrecords.DefaultConfig(),
		Webhooks:  webhooks.DefaultConfig(),
	}
}

// Validate checks every section; the error names the offending key.
func (c Config) Validate() error {
	return errors.Join(
		c.HTTP.Validate(),
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
	)
}

// Validate checks the HTTP section.
func (c HTTPConfig) Validate() error {
	host, port, err := net.SplitHostPort(c.Address)
	if err != nil {
		return fmt.Errorf("http.address: %q is not host:port: %v", c.Address, err)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Errorf("http.address: host %q is not an IP address", host)
	}
	if err := validPort(port); err != nil {
		return fmt.Errorf("http.address: %v", err)
	}
	if c.DrainTimeout < 0 {
		return fmt.Errorf("http.drain_timeout: must not be negative, got %s", c.DrainTimeout)
	}
	return nil
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
