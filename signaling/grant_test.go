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

var (
	bothRights    = Rights{Publish: true, Subscribe: true}
	publishOnly   = Rights{Publish: true}
	subscribeOnly = Rights{Subscribe: true}
)

// mintTestGrant mints a room grant of the test app for user and room, valid for an hour
// from testNow.
func mintTestGrant(t testing.TB, user string, room protocol.RoomID, rights Rights) string {
	t.Helper()
	g, err := MintRoomGrant(testApp, []byte(testSecret), user, room, rights, time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestVerifyRoomGrant(t *testing.T) {
	v := testVerifier(t)
	intRoom, strRoom := protocol.IntRoom(123), protocol.StrRoom("123")
	valid := mintTestGrant(t, "alice", intRoom, bothRights)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"typ": "room", "sub": "alice", "app": testApp, "room": 123,
			"rights": []string{"publish", "subscribe"}, "iat": testNow.Unix(), "exp": testNow.Add(time.Hour).Unix()}
	}
	with := func(k string, val any) jwt.MapClaims { c := base(); c[k] = val; return c }
	without := func(k string) jwt.MapClaims { c := base(); delete(c, k); return c }
	hs := func(c jwt.MapClaims) string { return signClaims(t, jwt.SigningMethodHS256, []byte(testSecret), c) }
	userSig, err := MintUserSig(testApp, []byte(testSecret), "alice", time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	expiredOtherRoom := hs(with("room", 124))
	past := testNow.Add(time.Hour + time.Second)

	tests := []struct {
		name    string
		app     int
		user    string
		room    protocol.RoomID
		grant   string
		now     time.Time
		want    Rights
		wantErr *protocol.Error
	}{
		{"valid int room", testApp, "alice", intRoom, valid, testNow, bothRights, nil},
		{"valid string room", testApp, "alice", strRoom, mintTestGrant(t, "alice", strRoom, bothRights), testNow, bothRights, nil},
		{"publish only", testApp, "alice", intRoom, mintTestGrant(t, "alice", intRoom, publishOnly), testNow, publishOnly, nil},
		{"subscribe only", testApp, "alice", intRoom, mintTestGrant(t, "alice", intRoom, subscribeOnly), testNow, subscribeOnly, nil},
		{"rights in any order", testApp, "alice", intRoom, hs(with("rights", []string{"subscribe", "publish"})), testNow, bothRights, nil},
		{"hand-made string room", testApp, "alice", protocol.StrRoom("team sync"), hs(with("room", "team sync")), testNow, bothRights, nil},
		{"valid just before exp", testApp, "alice", intRoom, valid, testNow.Add(time.Hour - time.Second), bothRights, nil},
		{"nbf in past", testApp, "alice", intRoom, hs(with("nbf", testNow.Add(-time.Minute).Unix())), testNow, bothRights, nil},
		{"no iat", testApp, "alice", intRoom, hs(without("iat")), testNow, bothRights, nil},

		{"expired", testApp, "alice", intRoom, valid, past, Rights{}, ErrRoomGrantExpired},
		{"expired and for another room", testApp, "alice", intRoom, expiredOtherRoom, past, Rights{}, ErrRoomGrantInvalid},
		{"no exp", testApp, "alice", intRoom, hs(without("exp")), testNow, Rights{}, ErrRoomGrantInvalid},
		{"nbf in future", testApp, "alice", intRoom, hs(with("nbf", testNow.Add(time.Minute).Unix())), testNow, Rights{}, ErrRoomGrantInvalid},

		{"int grant, string room", testApp, "alice", strRoom, valid, testNow, Rights{}, ErrRoomGrantInvalid},
		{"string grant, int room", testApp, "alice", intRoom, mintTestGrant(t, "alice", strRoom, bothRights), testNow, Rights{}, ErrRoomGrantInvalid},
		{"another int room", testApp, "alice", protocol.IntRoom(124), valid, testNow, Rights{}, ErrRoomGrantInvalid},
		{"another string room", testApp, "alice", protocol.StrRoom("1234"), mintTestGrant(t, "alice", strRoom, bothRights), testNow, Rights{}, ErrRoomGrantInvalid},
		{"room as object", testApp, "alice", intRoom, hs(with("room", map[string]any{"intRoomId": 123})), testNow, Rights{}, ErrRoomGrantInvalid},
		{"room null", testApp, "alice", intRoom, hs(with("room", nil)), testNow, Rights{}, ErrRoomGrantInvalid},
		{"no room", testApp, "alice", intRoom, hs(without("room")), testNow, Rights{}, ErrRoomGrantInvalid},
		{"room as float", testApp, "alice", intRoom, hs(with("room", 123.5)), testNow, Rights{}, ErrRoomGrantInvalid},
		{"room as bool", testApp, "alice", intRoom, hs(with("room", true)), testNow, Rights{}, ErrRoomGrantInvalid},
		{"room zero", testApp, "alice", intRoom, hs(with("room", 0)), testNow, Rights{}, ErrRoomGrantInvalid},
		{"room out of range", testApp, "alice", protocol.IntRoom(1 << 31), hs(with("room", int64(1)<<31)), testNow, Rights{}, ErrRoomGrantInvalid},
		{"room bad character", testApp, "alice", protocol.StrRoom("a/b"), hs(with("room", "a/b")), testNow, Rights{}, ErrRoomGrantInvalid},
		{"room empty string", testApp, "alice", intRoom, hs(with("room", "")), testNow, Rights{}, ErrRoomGrantInvalid},

		{"another user", testApp, "bob", intRoom, valid, testNow, Rights{}, ErrRoomGrantInvalid},
		{"no sub", testApp, "alice", intRoom, hs(without("sub")), testNow, Rights{}, ErrRoomGrantInvalid},
		{"another app", otherApp, "alice", intRoom, valid, testNow, Rights{}, ErrRoomGrantInvalid},
		{"unknown app", 99, "alice", intRoom, valid, testNow, Rights{}, ErrRoomGrantInvalid},
		{"other app's claim, our secret", otherApp, "alice", intRoom,
			signClaims(t, jwt.SigningMethodHS256, []byte(testSecret), with("app", otherApp)), testNow, Rights{}, ErrRoomGrantInvalid},
		{"wrong secret", testApp, "alice", intRoom, signClaims(t, jwt.SigningMethodHS256, []byte(otherKey), base()), testNow, Rights{}, ErrRoomGrantInvalid},
		{"no app", testApp, "alice", intRoom, hs(without("app")), testNow, Rights{}, ErrRoomGrantInvalid},

		{"no rights", testApp, "alice", intRoom, hs(without("rights")), testNow, Rights{}, ErrRoomGrantInvalid},
		{"empty rights", testApp, "alice", intRoom, hs(with("rights", []string{})), testNow, Rights{}, ErrRoomGrantInvalid},
		{"unknown right", testApp, "alice", intRoom, hs(with("rights", []string{"publish", "admin"})), testNow, Rights{}, ErrRoomGrantInvalid},
		{"duplicate right", testApp, "alice", intRoom, hs(with("rights", []string{"publish", "publish"})), testNow, Rights{}, ErrRoomGrantInvalid},
		{"rights as string", testApp, "alice", intRoom, hs(with("rights", "publish")), testNow, Rights{}, ErrRoomGrantInvalid},

		{"userSig as grant", testApp, "alice", intRoom, userSig, testNow, Rights{}, ErrRoomGrantInvalid},
		{"no typ", testApp, "alice", intRoom, hs(without("typ")), testNow, Rights{}, ErrRoomGrantInvalid},
		{"other typ", testApp, "alice", intRoom, hs(with("typ", "user")), testNow, Rights{}, ErrRoomGrantInvalid},

		{"alg none", testApp, "alice", intRoom, signClaims(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, base()), testNow, Rights{}, ErrRoomGrantInvalid},
		{"RS256", testApp, "alice", intRoom, signClaims(t, jwt.SigningMethodRS256, rsaKey, base()), testNow, Rights{}, ErrRoomGrantInvalid},
		{"HS384", testApp, "alice", intRoom, signClaims(t, jwt.SigningMethodHS384, []byte(testSecret), base()), testNow, Rights{}, ErrRoomGrantInvalid},
		{"truncated", testApp, "alice", intRoom, valid[:len(valid)-5], testNow, Rights{}, ErrRoomGrantInvalid},
		{"garbage", testApp, "alice", intRoom, "not.a.jwt", testNow, Rights{}, ErrRoomGrantInvalid},
		{"empty", testApp, "alice", intRoom, "", testNow, Rights{}, ErrRoomGrantInvalid},
		{"over 4096 bytes", testApp, "alice", intRoom, hs(with("pad", strings.Repeat("p", protocol.MaxRoomGrantBytes))), testNow, Rights{}, ErrRoomGrantInvalid},
		{"invalid room asked", testApp, "alice", protocol.IntRoom(-1), valid, testNow, Rights{}, ErrRoomGrantInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rights, err := v.VerifyRoomGrant(tt.app, tt.user, tt.room, tt.grant, tt.now)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("VerifyRoomGrant: %v", err)
				}
				if rights != tt.want {
					t.Fatalf("rights = %+v, want %+v", rights, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("VerifyRoomGrant = %+v, %v; want %v", rights, err, tt.wantErr)
			}
			if got := protocol.ErrorCode(err); got != tt.wantErr.Code {
				t.Errorf("ErrorCode = %d, want %d", got, tt.wantErr.Code)
			}
			if rights != (Rights{}) {
				t.Errorf("rights %+v returned with an error", rights)
			}
		})
	}
}

// TestRoomGrantIsNotAUserSig: the same secret signs both kinds of token, so a grant must
// never log a user in, even a hand-made one that carries only one of the markers.
func TestRoomGrantIsNotAUserSig(t *testing.T) {
	v := testVerifier(t)
	sigClaims := func(extra map[string]any) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "alice", "app": testApp, "iat": testNow.Unix(), "exp": testNow.Add(time.Hour).Unix()}
		for k, val := range extra {
			c[k] = val
		}
		return c
	}
	tests := []struct {
		name  string
		token string
	}{
		{"minted grant", mintTestGrant(t, "alice", protocol.IntRoom(7), bothRights)},
		{"typ room only", signClaims(t, jwt.SigningMethodHS256, []byte(testSecret), sigClaims(map[string]any{"typ": "room"}))},
		{"room claim only", signClaims(t, jwt.SigningMethodHS256, []byte(testSecret), sigClaims(map[string]any{"room": "x"}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := v.Verify(testApp, "alice", tt.token, testNow)
			if !errors.Is(err, ErrUserSigInvalid) {
				t.Fatalf("Verify of a room grant = %+v, %v; want ErrUserSigInvalid", claims, err)
			}
		})
	}
	// A userSig with an unrelated typ still logs in.
	other := signClaims(t, jwt.SigningMethodHS256, []byte(testSecret), sigClaims(map[string]any{"typ": "JWT"}))
	if _, err := v.Verify(testApp, "alice", other, testNow); err != nil {
		t.Fatalf("userSig with typ JWT: %v", err)
	}
}

func TestMintRoomGrant(t *testing.T) {
	v := testVerifier(t)
	room := protocol.StrRoom("standup")
	g, err := v.MintRoomGrant(otherApp, "bob_2", room, subscribeOnly, 90*time.Second, testNow)
	if err != nil {
		t.Fatal(err)
	}
	rights, err := v.VerifyRoomGrant(otherApp, "bob_2", room, g, testNow.Add(89*time.Second))
	if err != nil || rights != subscribeOnly {
		t.Fatalf("VerifyRoomGrant = %+v, %v", rights, err)
	}
	if _, err := v.VerifyRoomGrant(otherApp, "bob_2", room, g, testNow.Add(90*time.Second)); !errors.Is(err, ErrRoomGrantExpired) {
		t.Fatalf("at exp: %v, want ErrRoomGrantExpired", err)
	}
	if _, err := v.MintRoomGrant(7, "bob", room, bothRights, time.Minute, testNow); !errors.Is(err, ErrUnknownApp) {
		t.Errorf("MintRoomGrant for an unknown app: %v", err)
	}
	bad := []struct {
		name   string
		app    int
		secret string
		user   string
		room   protocol.RoomID
		rights Rights
		ttl    time.Duration
	}{
		{"zero app", 0, testSecret, "a", room, bothRights, time.Minute},
		{"short secret", 1, "short", "a", room, bothRights, time.Minute},
		{"bad user", 1, testSecret, "a/b", room, bothRights, time.Minute},
		{"no room", 1, testSecret, "a", protocol.RoomID{}, bothRights, time.Minute},
		{"bad int room", 1, testSecret, "a", protocol.IntRoom(1 << 31), bothRights, time.Minute},
		{"bad string room", 1, testSecret, "a", protocol.StrRoom("a'b"), bothRights, time.Minute},
		{"no rights", 1, testSecret, "a", room, Rights{}, time.Minute},
		{"zero ttl", 1, testSecret, "a", room, bothRights, 0},
	}
	for _, tt := range bad {
		if g, err := MintRoomGrant(tt.app, []byte(tt.secret), tt.user, tt.room, tt.rights, tt.ttl, testNow); err == nil {
			t.Errorf("%s: MintRoomGrant succeeded: %s", tt.name, g)
		}
	}
}

func TestVerifierOpenRooms(t *testing.T) {
	v, err := NewVerifier(AuthConfig{Apps: []AppCredential{
		{SDKAppID: testApp, Secret: testSecret, OpenRooms: true},
		{SDKAppID: otherApp, Secret: otherKey},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		app  int
		want bool
	}{{testApp, true}, {otherApp, false}, {99, false}}
	for _, tt := range tests {
		if got := v.OpenRooms(tt.app); got != tt.want {
			t.Errorf("OpenRooms(%d) = %v, want %v", tt.app, got, tt.want)
		}
	}
	if DefaultAuthConfig().Apps[0].OpenRooms {
		t.Error("the development app has open_rooms by default; the default is false")
	}
}

// grantSeeds returns the seeds both room grant fuzz targets start from (FuzzVerifyRoomGrant,
// FuzzVerifyGrantAlone): valid, a grant of alice for integer room 123 with both rights;
// validStr, one for string room "123" to publish; and all: those two, a userSig, an
// unsigned grant, valid cut in half and extended, and three strings that are no grant.
func grantSeeds(f *testing.F) (valid, validStr string, all []string) {
	f.Helper()
	valid = mintTestGrant(f, "alice", protocol.IntRoom(123), bothRights)
	validStr = mintTestGrant(f, "alice", protocol.StrRoom("123"), publishOnly)
	userSig, err := MintUserSig(testApp, []byte(testSecret), "alice", time.Hour, testNow)
	if err != nil {
		f.Fatal(err)
	}
	none := signClaims(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType,
		jwt.MapClaims{"typ": "room", "sub": "alice", "app": testApp, "room": 123, "rights": []string{"publish"}, "exp": testNow.Add(time.Hour).Unix()})
	return valid, validStr, []string{valid, validStr, userSig, none, valid[:len(valid)/2], valid + "x", "", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30."}
}

func FuzzVerifyRoomGrant(f *testing.F) {
	v := testVerifier(f)
	valid, validStr, seeds := grantSeeds(f)
	for _, s := range seeds {
		f.Add(s, "alice", testApp, int64(123), "")
		f.Add(s, "alice", testApp, int64(0), "123")
	}
	f.Fuzz(func(t *testing.T, grant, user string, app int, intRoom int64, strRoom string) {
		room := protocol.RoomID{Int: intRoom, Str: strRoom}
		rights, err := v.VerifyRoomGrant(app, user, room, grant, testNow)
		if err != nil {
			if c := protocol.ErrorCode(err); c != protocol.CodeRoomGrantInvalid && c != protocol.CodeRoomGrantExpired {
				t.Fatalf("VerifyRoomGrant error without a grant code: %v", err)
			}
			if rights != (Rights{}) {
				t.Fatalf("rights %+v with an error", rights)
			}
			return
		}
		// The fuzzer cannot forge a signature: a success is a seed's grant used for its own
		// app, user and room (integer 123 for one, string "123" for the other).
		okRoom := (grant == valid && intRoom == 123) || (grant == validStr && intRoom == 0 && strRoom == "123")
		if app != testApp || user != "alice" || !okRoom || rights.IsZero() {
			t.Fatalf("accepted %q for app %d user %q room %+v: %+v", grant, app, user, room, rights)
		}
	})
}
