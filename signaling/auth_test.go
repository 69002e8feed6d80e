package signaling

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-rtc/parley/signaling/protocol"
)

const (
	testApp    = 1400000042
	testSecret = "0123456789abcdef-test-secret-0123456789"
	otherApp   = 1400000043
	otherKey   = "fedcba9876543210-other-secret-9876543210"
)

var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func testVerifier(t testing.TB) *Verifier {
	t.Helper()
	v, err := NewVerifier(AuthConfig{
		Apps:           []AppCredential{{SDKAppID: testApp, Secret: testSecret}, {SDKAppID: otherApp, Secret: otherKey}},
		SigExpiryGrace: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func signClaims(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerify(t *testing.T) {
	v := testVerifier(t)
	valid, err := MintUserSig(testApp, []byte(testSecret), "alice", time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "alice", "app": testApp, "iat": testNow.Unix(), "exp": testNow.Add(time.Hour).Unix()}
	}
	with := func(k string, val any) jwt.MapClaims { c := base(); c[k] = val; return c }
	without := func(k string) jwt.MapClaims { c := base(); delete(c, k); return c }
	hs := func(c jwt.MapClaims) string { return signClaims(t, jwt.SigningMethodHS256, []byte(testSecret), c) }
	noneTok := signClaims(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, base())

	tests := []struct {
		name    string
		app     int
		user    string
		sig     string
		now     time.Time
		wantErr *protocol.Error
	}{
		{"valid", testApp, "alice", valid, testNow, nil},
		{"valid until just before exp", testApp, "alice", valid, testNow.Add(time.Hour - time.Second), nil},
		{"expired", testApp, "alice", valid, testNow.Add(time.Hour + time.Second), ErrUserSigExpired},
		{"nbf in future", testApp, "alice", hs(with("nbf", testNow.Add(time.Minute).Unix())), testNow, ErrUserSigInvalid},
		{"nbf in past", testApp, "alice", hs(with("nbf", testNow.Add(-time.Minute).Unix())), testNow, nil},
		{"wrong secret", testApp, "alice", signClaims(t, jwt.SigningMethodHS256, []byte(otherKey), base()), testNow, ErrUserSigInvalid},
		{"other user", testApp, "bob", valid, testNow, ErrUserSigInvalid},
		{"invalid userId", testApp, "al ice", valid, testNow, ErrInvalidUserID},
		{"empty userId", testApp, "", valid, testNow, ErrInvalidUserID},
		{"unknown app", 99, "alice", valid, testNow, ErrUnknownApp},
		{"token for other app", otherApp, "alice", valid, testNow, ErrUnknownApp},
		{"token signed by other app's secret claiming it", otherApp, "alice",
			signClaims(t, jwt.SigningMethodHS256, []byte(testSecret), with("app", otherApp)), testNow, ErrUserSigInvalid},
		{"app as string", testApp, "alice", hs(with("app", "1400000042")), testNow, ErrUserSigInvalid},
		{"no app", testApp, "alice", hs(without("app")), testNow, ErrUserSigInvalid},
		{"no exp", testApp, "alice", hs(without("exp")), testNow, ErrUserSigInvalid},
		{"no sub", testApp, "alice", hs(without("sub")), testNow, ErrUserSigInvalid},
		{"alg none", testApp, "alice", noneTok, testNow, ErrUserSigInvalid},
		{"RS256", testApp, "alice", signClaims(t, jwt.SigningMethodRS256, rsaKey, base()), testNow, ErrUserSigInvalid},
		{"HS384", testApp, "alice", signClaims(t, jwt.SigningMethodHS384, []byte(testSecret), base()), testNow, ErrUserSigInvalid},
		{"truncated", testApp, "alice", valid[:len(valid)-5], testNow, ErrUserSigInvalid},
		{"garbage", testApp, "alice", "not.a.jwt", testNow, ErrUserSigInvalid},
		{"empty", testApp, "alice", "", testNow, ErrUserSigInvalid},
		{"huge", testApp, "alice", strings.Repeat("a", 5000), testNow, ErrUserSigInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := v.Verify(tt.app, tt.user, tt.sig, tt.now)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if claims.UserID != tt.user || claims.SDKAppID != tt.app || claims.ExpiresAt.IsZero() {
					t.Errorf("claims = %+v", claims)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, tt.wantErr)
			}
			if got := protocol.ErrorCode(err); got != tt.wantErr.Code {
				t.Errorf("ErrorCode = %d, want %d", got, tt.wantErr.Code)
			}
		})
	}
}

func TestMintUserSigRoundTrip(t *testing.T) {
	v := testVerifier(t)
	sig, err := v.Mint(otherApp, "bob_2", 90*time.Second, testNow)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(otherApp, "bob_2", sig, testNow.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !claims.ExpiresAt.Equal(testNow.Add(90*time.Second)) || !claims.IssuedAt.Equal(testNow) || !claims.NotBefore.IsZero() {
		t.Errorf("claims = %+v", claims)
	}
	if _, err := v.Mint(7, "bob", time.Minute, testNow); !errors.Is(err, ErrUnknownApp) {
		t.Errorf("Mint for unknown app: %v", err)
	}
	bad := []struct {
		name   string
		app    int
		secret string
		user   string
		ttl    time.Duration
	}{
		{"zero app", 0, testSecret, "a", time.Minute},
		{"short secret", 1, "short", "a", time.Minute},
		{"bad user", 1, testSecret, "a/b", time.Minute},
		{"zero ttl", 1, testSecret, "a", 0},
	}
	for _, tt := range bad {
		if _, err := MintUserSig(tt.app, []byte(tt.secret), tt.user, tt.ttl, testNow); err == nil {
			t.Errorf("%s: MintUserSig succeeded", tt.name)
		}
	}
}

func TestAuthConfigValidate(t *testing.T) {
	if err := DefaultAuthConfig().Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	quotas := DefaultAuthConfig()
	quotas.Apps[0].MaxSessions, quotas.Apps[0].MaxRooms = 1, 1
	if err := quotas.Validate(); err != nil {
		t.Fatalf("quotas of 1 invalid: %v", err)
	}
	tests := []struct {
		name    string
		mutate  func(*AuthConfig)
		wantKey string
	}{
		{"no apps", func(c *AuthConfig) { c.Apps = nil }, "auth.apps:"},
		{"short secret", func(c *AuthConfig) { c.Apps = append(c.Apps, AppCredential{SDKAppID: 5, Secret: "short"}) }, "auth.apps[1].secret"},
		{"31-byte secret", func(c *AuthConfig) {
			c.Apps = append(c.Apps, AppCredential{SDKAppID: 5, Secret: strings.Repeat("s", 31)})
		}, "auth.apps[1].secret"},
		{"zero id", func(c *AuthConfig) { c.Apps[0].SDKAppID = 0 }, "auth.apps[0].sdk_app_id"},
		{"negative max_sessions", func(c *AuthConfig) { c.Apps[0].MaxSessions = -1 }, "auth.apps[0].max_sessions: must be >= 0"},
		{"negative max_rooms", func(c *AuthConfig) { c.Apps[0].MaxRooms = -1 }, "auth.apps[0].max_rooms: must be >= 0"},
		{"duplicate id", func(c *AuthConfig) { c.Apps = append(c.Apps, AppCredential{SDKAppID: DevSDKAppID, Secret: testSecret}) }, "auth.apps[1].sdk_app_id"},
		{"dev secret outside dev mode", func(c *AuthConfig) { c.DevMode = false }, "auth.apps[0].secret"},
		{"negative grace", func(c *AuthConfig) { c.SigExpiryGrace = -time.Second }, "auth.sig_expiry_grace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultAuthConfig()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.wantKey) {
				t.Fatalf("Validate() = %v, want an error naming %s", err, tt.wantKey)
			}
			if _, err := NewVerifier(c); err == nil {
				t.Fatal("NewVerifier accepted an invalid config")
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	v := testVerifier(f)
	valid, err := MintUserSig(testApp, []byte(testSecret), "alice", time.Hour, testNow)
	if err != nil {
		f.Fatal(err)
	}
	none := signClaims(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType,
		jwt.MapClaims{"sub": "alice", "app": testApp, "exp": testNow.Add(time.Hour).Unix()})
	for _, s := range []string{valid, valid[:len(valid)/2], none, "garbage", "", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", valid + "x"} {
		f.Add(s, "alice", testApp)
	}
	f.Fuzz(func(t *testing.T, sig, user string, app int) {
		claims, err := v.Verify(app, user, sig, testNow)
		if err != nil {
			switch protocol.ErrorCode(err) {
			case protocol.CodeUserSigInvalid, protocol.CodeUserSigExpired, protocol.CodeUnknownApp, protocol.CodeInvalidUserID:
			default:
				t.Fatalf("Verify error without an auth code: %v", err)
			}
			return
		}
		// Only a token made with a configured secret may pass: the fuzzer cannot forge one,
		// so any success must be a seed's valid token used for its own user and app.
		if claims.UserID != user || claims.SDKAppID != app || app != testApp || user != "alice" {
			t.Fatalf("accepted %q for user %q app %d: %+v", sig, user, app, claims)
		}
	})
}
