package signaling

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-rtc/parley/signaling/protocol"
	"github.com/parley-rtc/parley/signaling/token"
)

// Development credentials: DefaultConfig registers this app so a local server works
// without configuration. Validate refuses DevSecret unless auth.dev_mode is true.
const (
	DevSDKAppID = token.DevSDKAppID
	DevSecret   = token.DevSecret
)

// Limits of userSig handling. MinSecretBytes is the shortest app secret (HS256 key): 32
// bytes, the size of the SHA-256 output, so the key is not what an attacker guesses.
const (
	MinSecretBytes  = token.MinSecretBytes
	maxUserSigBytes = 4096
	maxSigGrace     = 24 * time.Hour
)

// Sentinel errors of Verify. They are protocol errors, so a handler may return them
// wrapped (fmt.Errorf("login: %w", err)) and the client gets the code.
var (
	ErrUserSigInvalid = protocol.NewError(protocol.CodeUserSigInvalid, "")
	ErrUserSigExpired = protocol.NewError(protocol.CodeUserSigExpired, "")
	ErrUnknownApp     = protocol.NewError(protocol.CodeUnknownApp, "")
	ErrInvalidUserID  = token.ErrInvalidUserID
)

// AppCredential is one application allowed to log users in.
type AppCredential struct {
	SDKAppID int    `mapstructure:"sdk_app_id"`
	Secret   string `mapstructure:"secret"`
	// OpenRooms lets any logged-in user of the app join any of its rooms with joinRoom,
	// without a room grant (development only; default false).
	OpenRooms bool `mapstructure:"open_rooms"`
	// MaxSessions caps the app's logged-in sessions on this node (a session waiting for
	// its resume included); a login beyond is refused with 1009, a resume never (D326).
	// 0 (the default) is no cap.
	MaxSessions int `mapstructure:"max_sessions"`
	// MaxRooms caps the app's open rooms on this node; a joinRoom, WHIP publish or call
	// that would open one more is refused with 4011, joining an open room never (D327).
	// 0 (the default) is no cap.
	MaxRooms int `mapstructure:"max_rooms"`
}

// AuthConfig is the `auth` section of the root configuration.
type AuthConfig struct {
	// Apps lists the SDKAppIDs and their HS256 secrets (at least MinSecretBytes each).
	Apps []AppCredential `mapstructure:"apps"`
	// DevMode allows DevSecret and lets the demo page obtain userSigs from the server.
	DevMode bool `mapstructure:"dev_mode"`
	// SigExpiryGrace is how long a session may stay after its userSig expired before it must
	// log in again (D2).
	SigExpiryGrace time.Duration `mapstructure:"sig_expiry_grace"`
}

// DefaultAuthConfig is a local development setup: dev mode on, the development app, a
// 60 s grace.
func DefaultAuthConfig() AuthConfig {
	return AuthConfig{
		Apps:           []AppCredential{{SDKAppID: DevSDKAppID, Secret: DevSecret}},
		DevMode:        true,
		SigExpiryGrace: 60 * time.Second,
	}
}

// Validate checks the section; each error names its key (auth.apps[1].secret, …).
func (c AuthConfig) Validate() error {
	var errs []error
	if len(c.Apps) == 0 {
		errs = append(errs, errors.New("auth.apps: at least one app is required"))
	}
	seen := make(map[int]int, len(c.Apps))
	for i, app := range c.Apps {
		key := "auth.apps[" + strconv.Itoa(i) + "]"
		if app.SDKAppID <= 0 {
			errs = append(errs, fmt.Errorf("%s.sdk_app_id: must be a positive integer, got %d", key, app.SDKAppID))
		}
		if j, dup := seen[app.SDKAppID]; dup {
			errs = append(errs, fmt.Errorf("%s.sdk_app_id: %d is also auth.apps[%d]", key, app.SDKAppID, j))
		}
		seen[app.SDKAppID] = i
		if len(app.Secret) < MinSecretBytes {
			errs = append(errs, fmt.Errorf("%s.secret: must be at least %d bytes, got %d", key, MinSecretBytes, len(app.Secret)))
		}
		if app.MaxSessions < 0 {
			errs = append(errs, fmt.Errorf("%s.max_sessions: must be >= 0 (0: no cap), got %d", key, app.MaxSessions))
		}
		if app.MaxRooms < 0 {
			errs = append(errs, fmt.Errorf("%s.max_rooms: must be >= 0 (0: no cap), got %d", key, app.MaxRooms))
		}
		if app.Secret == DevSecret && !c.DevMode {
			errs = append(errs, fmt.Errorf("%s.secret: the built-in development secret needs auth.dev_mode: true", key))
		}
	}
	if c.SigExpiryGrace < 0 || c.SigExpiryGrace > maxSigGrace {
		errs = append(errs, fmt.Errorf("auth.sig_expiry_grace: must be 0..%s, got %s", maxSigGrace, c.SigExpiryGrace))
	}
	return errors.Join(errs...)
}

// Claims are the verified contents of a userSig.
type Claims struct {
	UserID    string
	SDKAppID  int
	IssuedAt  time.Time // zero when the token has no iat
	NotBefore time.Time // zero when the token has no nbf
	ExpiresAt time.Time
}

// userSigClaims is the JWT body of a userSig (package token writes it).
type userSigClaims = token.UserSigClaims

// Verifier checks userSigs against the configured app secrets. It is immutable after
// NewVerifier and safe for concurrent use.
type Verifier struct {
	secrets   map[int][]byte
	openRooms map[int]bool
}

// NewVerifier validates cfg and indexes its secrets.
func NewVerifier(cfg AuthConfig) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{secrets: make(map[int][]byte, len(cfg.Apps)), openRooms: make(map[int]bool)}
	for _, app := range cfg.Apps {
		v.secrets[app.SDKAppID] = []byte(app.Secret)
		if app.OpenRooms {
			v.openRooms[app.SDKAppID] = true
		}
	}
	return v, nil
}

// OpenRooms reports whether sdkAppID is configured with open_rooms: its users may join
// any of its rooms without a room grant. False for an unknown app.
func (v *Verifier) OpenRooms(sdkAppID int) bool { return v.openRooms[sdkAppID] }

// Verify checks that userSig is an HS256 JWT signed with the secret of sdkAppID, whose
// app claim is sdkAppID, whose sub is userID, and that is valid at now. The error wraps
// ErrInvalidUserID (1005), ErrUnknownApp (1004), ErrUserSigExpired (1003) or
// ErrUserSigInvalid (1002). Only HS256 is accepted: alg none and asymmetric algorithms
// are refused. The signature comparison is constant-time (crypto/hmac.Equal in jwt).
func (v *Verifier) Verify(sdkAppID int, userID, userSig string, now time.Time) (Claims, error) {
	if !protocol.ValidUserID(userID) {
		return Claims{}, fmt.Errorf("userId %q: %w", userID, ErrInvalidUserID)
	}
	if _, ok := v.secrets[sdkAppID]; !ok {
		return Claims{}, fmt.Errorf("SDKAppID %d is not configured: %w", sdkAppID, ErrUnknownApp)
	}
	if len(userSig) > maxUserSigBytes {
		return Claims{}, fmt.Errorf("userSig longer than %d bytes: %w", maxUserSigBytes, ErrUserSigInvalid)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	var claims userSigClaims
	_, err := parser.ParseWithClaims(userSig, &claims, func(t *jwt.Token) (any, error) {
		if claims.App == 0 {
			return nil, fmt.Errorf("no app claim: %w", ErrUserSigInvalid)
		}
		if claims.App != sdkAppID {
			return nil, fmt.Errorf("userSig is for SDKAppID %d, not %d: %w", claims.App, sdkAppID, ErrUnknownApp)
		}
		return v.secrets[sdkAppID], nil
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrUnknownApp):
		return Claims{}, fmt.Errorf("verify userSig: %w", ErrUnknownApp)
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, fmt.Errorf("verify userSig: expired at %s: %w", expiry(claims), ErrUserSigExpired)
	default:
		return Claims{}, fmt.Errorf("verify userSig: %v: %w", err, ErrUserSigInvalid)
	}
	if claims.Subject != userID {
		return Claims{}, fmt.Errorf("verify userSig: issued for another userId: %w", ErrUserSigInvalid)
	}
	if claims.Type == token.GrantType || (claims.Room != nil && string(claims.Room) != "null") {
		return Claims{}, fmt.Errorf("verify userSig: a room grant is not a userSig: %w", ErrUserSigInvalid)
	}
	out := Claims{UserID: claims.Subject, SDKAppID: claims.App, ExpiresAt: claims.ExpiresAt.Time}
	if claims.IssuedAt != nil {
		out.IssuedAt = claims.IssuedAt.Time
	}
	if claims.NotBefore != nil {
		out.NotBefore = claims.NotBefore.Time
	}
	return out, nil
}

// Mint makes a userSig for a configured app (dev tooling: the demo page in dev mode).
func (v *Verifier) Mint(sdkAppID int, userID string, ttl time.Duration, now time.Time) (string, error) {
	secret, ok := v.secrets[sdkAppID]
	if !ok {
		return "", fmt.Errorf("mint userSig: SDKAppID %d is not configured: %w", sdkAppID, ErrUnknownApp)
	}
	return MintUserSig(sdkAppID, secret, userID, ttl, now)
}

func expiry(c userSigClaims) string {
	if c.ExpiresAt == nil {
		return "?"
	}
	return c.ExpiresAt.UTC().Format(time.RFC3339)
}

// MintUserSig makes an HS256 userSig for userID in app appID, valid from now for ttl
// (token.MintUserSig).
func MintUserSig(appID int, secret []byte, userID string, ttl time.Duration, now time.Time) (string, error) {
	return token.MintUserSig(appID, secret, userID, ttl, now)
}
