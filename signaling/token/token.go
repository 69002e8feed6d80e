package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// Development credentials: the server's default configuration registers this app so a
// local server works without configuration (only with auth.dev_mode).
const (
	DevSDKAppID = 1400000001
	DevSecret   = "parley-development-secret-do-not-deploy"
)

// MinSecretBytes is the shortest app secret the server accepts.
const MinSecretBytes = 32

// GrantType is the typ claim of every room grant. A userSig never has it, so neither token
// is accepted as the other.
const GrantType = "room"

// ErrInvalidUserID is wrapped by a mint for a userId outside [A-Za-z0-9_-]{1,64}; it is
// the protocol error 1005, so the server returns it as is.
var ErrInvalidUserID = protocol.NewError(protocol.CodeInvalidUserID, "")

// UserSigClaims is the JWT body of a userSig: sub, app, iat, exp, optional nbf. Type and
// Room are read only to refuse a room grant presented as a userSig.
type UserSigClaims struct {
	jwt.RegisteredClaims
	App  int             `json:"app"`
	Type string          `json:"typ,omitempty"`
	Room json.RawMessage `json:"room,omitempty"`
}

// RoomGrantClaims is the JWT body of a room grant: typ "room", app, sub, room, rights,
// iat, exp, optional nbf. Room stays raw so the JSON type (number or string) decides the
// kind of room id.
type RoomGrantClaims struct {
	jwt.RegisteredClaims
	Type   string          `json:"typ"`
	App    int             `json:"app"`
	Room   json.RawMessage `json:"room"`
	Rights []string        `json:"rights"`
}

// MintUserSig makes an HS256 userSig for userID in app appID, valid from now for ttl
// (claims sub, app, iat, exp).
func MintUserSig(appID int, secret []byte, userID string, ttl time.Duration, now time.Time) (string, error) {
	if err := checkMintArgs(appID, secret, userID, ttl); err != nil {
		return "", fmt.Errorf("mint userSig: %w", err)
	}
	return signHS256("userSig", secret, UserSigClaims{RegisteredClaims: mintedClaims(userID, ttl, now), App: appID})
}

// MintRoomGrant makes an HS256 room grant (claims typ "room", app, sub, room, rights, iat,
// exp) that lets userID of app appID join roomID with rights, valid from now for ttl.
func MintRoomGrant(appID int, secret []byte, userID string, roomID protocol.RoomID, rights protocol.RoomRights, ttl time.Duration, now time.Time) (string, error) {
	if err := checkMintArgs(appID, secret, userID, ttl); err != nil {
		return "", fmt.Errorf("mint room grant: %w", err)
	}
	if !protocol.ValidRoomID(roomID) {
		return "", fmt.Errorf("mint room grant: room %s is not a valid room id", roomID.String())
	}
	if rights.IsZero() {
		return "", errors.New("mint room grant: at least one right (publish, subscribe) is needed")
	}
	room, err := roomID.MarshalJSON()
	if err != nil {
		return "", fmt.Errorf("mint room grant: %w", err)
	}
	return signHS256("room grant", secret, RoomGrantClaims{
		RegisteredClaims: mintedClaims(userID, ttl, now),
		Type:             GrantType,
		App:              appID,
		Room:             room,
		Rights:           rights.Names(),
	})
}

// checkMintArgs checks what every minted token needs.
func checkMintArgs(appID int, secret []byte, userID string, ttl time.Duration) error {
	if appID <= 0 {
		return fmt.Errorf("SDKAppID must be positive, got %d", appID)
	}
	if len(secret) < MinSecretBytes {
		return fmt.Errorf("secret must be at least %d bytes", MinSecretBytes)
	}
	if !protocol.ValidUserID(userID) {
		return fmt.Errorf("userId %q: %w", userID, ErrInvalidUserID)
	}
	if ttl <= 0 {
		return fmt.Errorf("ttl must be positive, got %s", ttl)
	}
	return nil
}

// mintedClaims are the sub, iat and exp of a token minted at now for ttl.
func mintedClaims(userID string, ttl time.Duration, now time.Time) jwt.RegisteredClaims {
	return jwt.RegisteredClaims{
		Subject:   userID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
}

// signHS256 signs claims with secret; what names the token in the error.
func signHS256(what string, secret []byte, claims jwt.Claims) (string, error) {
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("mint %s: %w", what, err)
	}
	return s, nil
}
