package token

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-rtc/parley/signaling/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var secret = []byte(strings.Repeat("s", MinSecretBytes))

// claimsOf decodes a token's body without checking it (the server's verifier checks).
func claimsOf(t *testing.T, tok string, into any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", tok)
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatal(err)
	}
}

func TestMintUserSig(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name   string
		app    int
		secret []byte
		user   string
		ttl    time.Duration
		ok     bool
	}{
		{"valid", 7, secret, "alice", time.Hour, true},
		{"no app", 0, secret, "alice", time.Hour, false},
		{"short secret", 7, secret[:MinSecretBytes-1], "alice", time.Hour, false},
		{"bad user", 7, secret, "al ice", time.Hour, false},
		{"no ttl", 7, secret, "alice", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := MintUserSig(tt.app, tt.secret, tt.user, tt.ttl, now)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok %v", err, tt.ok)
			}
			if tt.name == "bad user" && !errors.Is(err, ErrInvalidUserID) {
				t.Fatalf("bad userId: %v, want ErrInvalidUserID", err)
			}
			if !tt.ok {
				return
			}
			var c UserSigClaims
			claimsOf(t, tok, &c)
			if c.Subject != "alice" || c.App != 7 || c.Type != "" || c.ExpiresAt.Unix() != now.Add(time.Hour).Unix() {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

func TestMintRoomGrant(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	both := protocol.RoomRights{Publish: true, Subscribe: true}
	tests := []struct {
		name     string
		room     protocol.RoomID
		rights   protocol.RoomRights
		wantRoom string // the room claim as JSON; "" = refused
	}{
		{"int room", protocol.IntRoom(123), both, `123`},
		{"string room", protocol.StrRoom("123"), protocol.RoomRights{Subscribe: true}, `"123"`},
		{"no rights", protocol.IntRoom(123), protocol.RoomRights{}, ""},
		{"bad room", protocol.IntRoom(0), both, ""},
		{"room out of range", protocol.IntRoom(1 << 31), both, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := MintRoomGrant(7, secret, "alice", tt.room, tt.rights, time.Hour, now)
			if (err == nil) != (tt.wantRoom != "") {
				t.Fatalf("err %v, want room %q", err, tt.wantRoom)
			}
			if err != nil {
				return
			}
			var c RoomGrantClaims
			claimsOf(t, tok, &c)
			if c.Type != GrantType || c.App != 7 || c.Subject != "alice" || string(c.Room) != tt.wantRoom ||
				strings.Join(c.Rights, ",") != tt.rights.String() {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}
