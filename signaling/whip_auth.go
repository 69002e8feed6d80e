package signaling

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley-rtc/parley/room"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// errNoBearer is a request without "Authorization: Bearer <room grant>".
var errNoBearer = errors.New("no Authorization: Bearer <room grant>")

// bearerGrant is the room grant of an HTTP request's Authorization header.
func bearerGrant(r *http.Request) (string, error) {
	grant, ok := BearerToken(r)
	if !ok {
		return "", errNoBearer
	}
	return grant, nil
}

// BearerToken is the token of r's "Authorization: Bearer <token>" header; ok is false
// without one. The scheme is matched without regard to case (RFC 7235 §2.1) and blanks
// around the token are dropped, for the WHIP/WHEP endpoints and the admin API alike.
func BearerToken(r *http.Request) (token string, ok bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// grantHolder is who a verified room grant admits, to which room, with which rights.
type grantHolder struct {
	app    int
	userID string
	room   protocol.RoomID
	rights Rights
}

// roomID is the grant's room in its app.
func (h grantHolder) roomID() room.ID {
	id, _ := roomIDFromWire(h.room)
	return id.InApp(h.app)
}

// verifyGrantAlone checks a room grant that comes without a login (WHIP, WHEP): the app,
// user and room it names are read from it unverified, then VerifyRoomGrant checks it
// against exactly those (signature with that app's secret, typ, expiry, rights). The user
// must be a valid userId, as a login's. The caller compares the room with the one it
// serves.
func (v *Verifier) verifyGrantAlone(grant string, now time.Time) (grantHolder, error) {
	if len(grant) > protocol.MaxRoomGrantBytes {
		return grantHolder{}, fmt.Errorf("room grant longer than %d bytes: %w", protocol.MaxRoomGrantBytes, ErrRoomGrantInvalid)
	}
	var claims roomGrantClaims
	if _, _, err := jwt.NewParser().ParseUnverified(grant, &claims); err != nil {
		return grantHolder{}, fmt.Errorf("room grant: %v: %w", err, ErrRoomGrantInvalid)
	}
	// No login checked the user: the grant's sub is the userId, held to a login's rule
	// (it names the publisher to the room, in recordings' file names, in TURN usernames).
	if !protocol.ValidUserID(claims.Subject) {
		return grantHolder{}, fmt.Errorf("room grant: sub %.70q is not a userId ([A-Za-z0-9_-]{1,%d}): %w",
			claims.Subject, protocol.MaxUserIDLength, ErrRoomGrantInvalid)
	}
	room, err := grantRoom(claims.Room)
	if err != nil {
		return grantHolder{}, fmt.Errorf("room grant: %v: %w", err, ErrRoomGrantInvalid)
	}
	rights, err := v.VerifyRoomGrant(claims.App, claims.Subject, room, grant, now)
	if err != nil {
		return grantHolder{}, err
	}
	return grantHolder{app: claims.App, userID: claims.Subject, room: room, rights: rights}, nil
}
