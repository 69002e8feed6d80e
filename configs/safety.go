package configs

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/parley-rtc/parley/signaling"
)

// SamplePlaceholderSecret is the auth.apps secret of parley.production.yaml: a server
// that starts with it would accept userSigs anyone who read the sample can mint.
const SamplePlaceholderSecret = "REPLACE-with-32-random-bytes-from-your-secret-store"

// publicSecrets are secrets printed in this repository: the samples' placeholder and the
// development secret. checkSecret refuses them for every key; auth.apps may use
// signaling.DevSecret in dev mode only (signaling.AuthConfig.Validate).
var publicSecrets = []string{SamplePlaceholderSecret, signaling.DevSecret}

// checkSecret applies the rules of a configured secret: at least
// signaling.MinSecretBytes bytes and none of the secrets printed in this repository.
func checkSecret(key, secret string) error {
	if slices.Contains(publicSecrets, secret) {
		return fmt.Errorf("%s: is a placeholder or development secret printed in Parley's samples; set a random one (e.g. openssl rand -base64 32)", key)
	}
	if len(secret) < signaling.MinSecretBytes {
		return fmt.Errorf("%s: must be at least %d bytes, got %d", key, signaling.MinSecretBytes, len(secret))
	}
	return nil
}

// validateAcrossSections checks the rules that tie sections together: development mode
// only on a loopback listener, no sample secret anywhere, /metrics on a listener of its
// own. (Each section's Validate checks its own keys.)
func (c Config) validateAcrossSections() error {
	var errs []error
	if c.Auth.DevMode && !signaling.IsLoopbackHost(c.HTTP.Address) {
		errs = append(errs, fmt.Errorf("auth.dev_mode: true serves POST /dev/usersig and accepts the development secret, "+
			"so it needs a loopback http.address, got %q: set auth.dev_mode: false with your own auth.apps secrets, "+
			"or listen on 127.0.0.1", c.HTTP.Address))
	}
	for i, app := range c.Auth.Apps {
		if app.Secret == SamplePlaceholderSecret {
			errs = append(errs, fmt.Errorf("auth.apps[%d].secret: is the placeholder of parley.production.yaml; "+
				"set the app's real secret (32 random bytes or more)", i))
		}
	}
	if c.TURN.Secret != "" {
		errs = append(errs, checkSecret("turn.secret", c.TURN.Secret))
	}
	if _, port, err := net.SplitHostPort(c.Metrics.Address); err == nil && port != "0" && c.Metrics.Address == c.HTTP.Address {
		errs = append(errs, fmt.Errorf("metrics.address: %q is http.address too; leave it empty to serve /metrics there", c.Metrics.Address))
	}
	return errors.Join(errs...)
}

// Convenience is a development convenience the configuration switches on: the key that
// does it and what it opens.
type Convenience struct {
	Key  string
	What string
}

func (c Convenience) String() string { return c.Key + ": " + c.What }

// Conveniences lists the development conveniences that are on, for the start-up log.
// Validate has checked the configuration, so dev mode implies a loopback listener.
func (c Config) Conveniences() []Convenience {
	var out []Convenience
	if c.Auth.DevMode {
		out = append(out, Convenience{"auth.dev_mode", "POST /dev/usersig hands anyone a userSig for any userId"})
	}
	for i, app := range c.Auth.Apps {
		if app.Secret == signaling.DevSecret {
			out = append(out, Convenience{fmt.Sprintf("auth.apps[%d].secret", i),
				fmt.Sprintf("the public development secret signs app %d's userSigs", app.SDKAppID)})
		}
	}
	var open []int
	for _, app := range c.Auth.Apps {
		if app.OpenRooms {
			open = append(open, app.SDKAppID)
		}
	}
	if cv, ok := openRoomsConvenience(open); ok {
		out = append(out, cv)
	}
	if slices.Contains(c.Signaling.AllowedOrigins, "*") {
		out = append(out, Convenience{"signaling.allowed_origins", `"*": any web page may open a signaling socket`})
	}
	if c.TURN.Enabled && c.TURN.Secret == "" {
		out = append(out, Convenience{"turn.secret", "empty: a random secret per start, TURN credentials do not survive a restart or work on other nodes"})
	}
	if c.TURN.Enabled && c.TURN.TLSPort != 0 && c.TURN.CertFile == "" && c.TURN.DevSelfSigned {
		out = append(out, Convenience{"turn.dev_self_signed", "TURN over TLS presents a self-signed certificate"})
	}
	if len(c.TURN.StaticUsers) > 0 {
		out = append(out, Convenience{"turn.static_users", "fixed TURN passwords (meant for tests)"})
	}
	if c.Metrics.Address == "" && !signaling.IsLoopbackHost(c.HTTP.Address) {
		out = append(out, Convenience{"metrics.address", "empty: /metrics is served on the public http.address"})
	}
	return out
}

// openRoomsConvenience is the entry for the apps whose auth.apps[].open_rooms lets any
// user joinRoom without a room grant; ok is false when there are none.
func openRoomsConvenience(sdkAppIDs []int) (cv Convenience, ok bool) {
	if len(sdkAppIDs) == 0 {
		return Convenience{}, false
	}
	ids := make([]string, len(sdkAppIDs))
	for i, id := range sdkAppIDs {
		ids[i] = strconv.Itoa(id)
	}
	return Convenience{"auth.apps[].open_rooms", "joinRoom needs no room grant in app " + strings.Join(ids, ", ")}, true
}
