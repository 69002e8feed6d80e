package signaling

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-rtc/parley/signaling/protocol"
	"github.com/parley-rtc/parley/signaling/token"
)

// Sentinel errors of VerifyRoomGrant (PROTOCOL.md §7): a handler may return them wrapped
// and the client gets the code.
var (
	ErrRoomGrantInvalid = protocol.NewError(protocol.CodeRoomGrantInvalid, "")
	ErrRoomGrantExpired = protocol.NewError(protocol.CodeRoomGrantExpired, "")
)

// Rights are the rights a room grant gives: publish (the user's media is forwarded),
// subscribe (the user receives the room's media), or both. The type lives in package
// protocol so the web package can name it without importing signaling.
type Rights = protocol.RoomRights

// roomGrantClaims is the JWT body of a room grant (package token writes it).
type roomGrantClaims = token.RoomGrantClaims

// grantRoom reads the room claim: a JSON number is an integer room, a JSON string a
// string room (123 and "123" differ); the id must be valid (protocol.ValidRoomID, the same
// rule as room.ParseID). Any other JSON value is refused.
func grantRoom(raw json.RawMessage) (protocol.RoomID, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == '{' || raw[0] == 'n' {
		return protocol.RoomID{}, errors.New("room claim missing, or neither a number nor a string")
	}
	var id protocol.RoomID
	if err := id.UnmarshalJSON(raw); err != nil {
		return protocol.RoomID{}, fmt.Errorf("room claim: %v", err)
	}
	if _, err := roomIDFromWire(id); err != nil {
		return protocol.RoomID{}, fmt.Errorf("room claim: %v", err)
	}
	return id, nil
}

// VerifyRoomGrant checks that grant is an HS256 JWT signed with the secret of sdkAppID,
// with typ "room", app sdkAppID, sub userID, room exactly roomID (an integer room never
// matches a string room) and valid rights, valid at now; it returns the rights. The error
// wraps ErrRoomGrantExpired (4008) when exp is past, else ErrRoomGrantInvalid (4007): bad
// signature, malformed, another algorithm (none included), no exp, not yet valid (nbf),
// longer than protocol.MaxRoomGrantBytes, or made for another app, user or room.
func (v *Verifier) VerifyRoomGrant(sdkAppID int, userID string, roomID protocol.RoomID, grant string, now time.Time) (Rights, error) {
	secret, ok := v.secrets[sdkAppID]
	if !ok {
		return Rights{}, fmt.Errorf("room grant: SDKAppID %d is not configured: %w", sdkAppID, ErrRoomGrantInvalid)
	}
	want, err := roomIDFromWire(roomID)
	if err != nil {
		return Rights{}, fmt.Errorf("room grant: %v: %w", err, ErrRoomGrantInvalid)
	}
	if len(grant) > protocol.MaxRoomGrantBytes {
		return Rights{}, fmt.Errorf("room grant longer than %d bytes: %w", protocol.MaxRoomGrantBytes, ErrRoomGrantInvalid)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	var claims roomGrantClaims
	_, err = parser.ParseWithClaims(grant, &claims, func(*jwt.Token) (any, error) {
		if claims.App != sdkAppID {
			return nil, fmt.Errorf("made for SDKAppID %d, not %d", claims.App, sdkAppID)
		}
		return secret, nil
	})
	// The signature is checked before the times, so an expired grant's claims are genuine:
	// one made for another user or room is invalid (4007) whether or not it expired.
	expired := err != nil && errors.Is(err, jwt.ErrTokenExpired) && claims.ExpiresAt != nil
	if err != nil && !expired {
		return Rights{}, fmt.Errorf("room grant: %v: %w", err, ErrRoomGrantInvalid)
	}
	if claims.Type != token.GrantType {
		return Rights{}, fmt.Errorf("room grant: typ %.16q is not %q: %w", claims.Type, token.GrantType, ErrRoomGrantInvalid)
	}
	if claims.Subject != userID {
		return Rights{}, fmt.Errorf("room grant: made for another userId: %w", ErrRoomGrantInvalid)
	}
	room, err := grantRoom(claims.Room)
	if err != nil {
		return Rights{}, fmt.Errorf("room grant: %v: %w", err, ErrRoomGrantInvalid)
	}
	if got, _ := roomIDFromWire(room); got != want {
		return Rights{}, fmt.Errorf("room grant: made for room %s, not %s: %w", room, roomID, ErrRoomGrantInvalid)
	}
	rights, err := protocol.ParseRoomRights(claims.Rights)
	if err != nil {
		return Rights{}, fmt.Errorf("room grant: %v: %w", err, ErrRoomGrantInvalid)
	}
	if expired {
		return Rights{}, fmt.Errorf("room grant expired at %s: %w", claims.ExpiresAt.UTC().Format(time.RFC3339), ErrRoomGrantExpired)
	}
	return rights, nil
}

// MintRoomGrant makes a room grant for a configured app (dev tooling: `parley token
// --room`, the demo page's POST /dev/roomgrant in dev mode).
func (v *Verifier) MintRoomGrant(sdkAppID int, userID string, roomID protocol.RoomID, rights Rights, ttl time.Duration, now time.Time) (string, error) {
	secret, ok := v.secrets[sdkAppID]
	if !ok {
		return "", fmt.Errorf("mint room grant: SDKAppID %d is not configured: %w", sdkAppID, ErrUnknownApp)
	}
	return MintRoomGrant(sdkAppID, secret, userID, roomID, rights, ttl, now)
}

// MintRoomGrant makes an HS256 room grant that lets userID of app appID join roomID with
// rights, valid from now for ttl (token.MintRoomGrant; App servers do the same with their
// JWT library, PROTOCOL.md §4.3).
func MintRoomGrant(appID int, secret []byte, userID string, roomID protocol.RoomID, rights Rights, ttl time.Duration, now time.Time) (string, error) {
	return token.MintRoomGrant(appID, secret, userID, roomID, rights, ttl, now)
}
