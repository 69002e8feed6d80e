package webhooks

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Config is the `webhooks` section of the root configuration.
type Config struct {
	// URLs receive every event (http or https); empty disables webhooks.
	URLs []string `mapstructure:"urls"`
	// Secret keys the HMAC-SHA256 signature; required (>= 16 bytes) when URLs is set.
	Secret string `mapstructure:"secret"`
	// QueueSize bounds the events waiting per URL; more are dropped (and counted).
	QueueSize int `mapstructure:"queue_size"`
	// Timeout bounds one POST.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxAttempts is how many times one event is tried before it is given up.
	MaxAttempts int `mapstructure:"max_attempts"`
	// BackoffInitial is the wait after the first failure; it doubles up to BackoffMax.
	BackoffInitial time.Duration `mapstructure:"backoff_initial"`
	BackoffMax     time.Duration `mapstructure:"backoff_max"`
}

// DefaultConfig: no URLs; 1024 queued events per URL, 5 s timeout, 6 attempts, backoff
// 500 ms doubling to 30 s.
func DefaultConfig() Config {
	return Config{
		QueueSize:      1024,
		Timeout:        5 * time.Second,
		MaxAttempts:    6,
		BackoffInitial: 500 * time.Millisecond,
		BackoffMax:     30 * time.Second,
	}
}

// Validate checks the section; each error names its key.
func (c Config) Validate() error {
	var errs []error
	for i, raw := range c.URLs {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("webhooks.urls[%d]: %q is not an http(s) URL", i, redactURL(raw)))
		}
	}
	if len(c.URLs) > 0 && len(c.Secret) < 16 {
		errs = append(errs, fmt.Errorf("webhooks.secret: must be at least 16 bytes when webhooks.urls is set, got %d", len(c.Secret)))
	}
	if c.QueueSize < 1 || c.QueueSize > 1<<20 {
		errs = append(errs, fmt.Errorf("webhooks.queue_size: must be 1..1048576, got %d", c.QueueSize))
	}
	if c.Timeout < 10*time.Millisecond || c.Timeout > 5*time.Minute {
		errs = append(errs, fmt.Errorf("webhooks.timeout: must be 10ms..5m, got %s", c.Timeout))
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 100 {
		errs = append(errs, fmt.Errorf("webhooks.max_attempts: must be 1..100, got %d", c.MaxAttempts))
	}
	if c.BackoffInitial < time.Millisecond || c.BackoffInitial > time.Hour {
		errs = append(errs, fmt.Errorf("webhooks.backoff_initial: must be 1ms..1h, got %s", c.BackoffInitial))
	}
	if c.BackoffMax < c.BackoffInitial || c.BackoffMax > time.Hour {
		errs = append(errs, fmt.Errorf("webhooks.backoff_max: must be backoff_initial..1h, got %s", c.BackoffMax))
	}
	return errors.Join(errs...)
}

// redactURL is raw for logs and errors: without userinfo (user:password@), query and
// fragment, which may carry the receiver's credentials. url.URL.Redacted hides only the
// password. A URL that does not parse is not shown at all.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}
