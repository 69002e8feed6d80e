package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// maxDevRoomGrantRequestBytes bounds the request body of POST /dev/roomgrant.
const maxDevRoomGrantRequestBytes = 1024

// ErrBadRoomGrantRequest wraps every rejection of a /dev/roomgrant request body.
var ErrBadRoomGrantRequest = errors.New("bad room grant request")

// RoomGrantFunc makes a room grant for userID of app sdkAppID to roomID with rights, valid
// from now for ttl (signaling.Verifier.MintRoomGrant has this signature).
type RoomGrantFunc func(sdkAppID int, userID string, roomID protocol.RoomID, rights protocol.RoomRights, ttl time.Duration, now time.Time) (string, error)

// devRoomGrantRequest is the body of POST /dev/roomgrant. Rights absent means both.
type devRoomGrantRequest struct {
	UserID string          `json:"userId"`
	RoomID protocol.RoomID `json:"roomId"`
	Rights []string        `json:"rights"`

	rights protocol.RoomRights // parsed Rights
}

// devRoomGrantResponse is its answer: what the SDK's joinRoom needs.
type devRoomGrantResponse struct {
	SDKAppID  int             `json:"sdkAppId"`
	UserID    string          `json:"userId"`
	RoomID    protocol.RoomID `json:"roomId"`
	Rights    []string        `json:"rights"`
	RoomGrant string          `json:"roomGrant"`
	ExpiresAt int64           `json:"expiresAt"`
}

// parseDevRoomGrantRequest reads and checks a request body (untrusted input).
func parseDevRoomGrantRequest(body []byte) (devRoomGrantRequest, error) {
	if len(body) > maxDevRoomGrantRequestBytes {
		return devRoomGrantRequest{}, fmt.Errorf("body larger than %d bytes: %w", maxDevRoomGrantRequestBytes, ErrBadRoomGrantRequest)
	}
	var req devRoomGrantRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return devRoomGrantRequest{}, fmt.Errorf(`body is not {"userId": string, "roomId": number|string, "rights": [string]}: %w`, ErrBadRoomGrantRequest)
	}
	if !protocol.ValidUserID(req.UserID) {
		return devRoomGrantRequest{}, fmt.Errorf("userId must be 1..64 of [A-Za-z0-9_-]: %w", ErrBadRoomGrantRequest)
	}
	if !protocol.ValidRoomID(req.RoomID) {
		return devRoomGrantRequest{}, fmt.Errorf("roomId must be an integer 1..2147483647 or a string of 1..64 allowed characters: %w", ErrBadRoomGrantRequest)
	}
	req.rights = protocol.RoomRights{Publish: true, Subscribe: true}
	if req.Rights != nil {
		r, err := protocol.ParseRoomRights(req.Rights)
		if err != nil {
			return devRoomGrantRequest{}, fmt.Errorf("%v: %w", err, ErrBadRoomGrantRequest)
		}
		req.rights = r
	}
	return req, nil
}

// newDevRoomGrantHandler answers POST /dev/roomgrant {userId, roomId, rights} with a room
// grant of the development app for that user and room.
func newDevRoomGrantHandler(opts Options, logger *slog.Logger) http.Handler {
	return devTokenHandler(opts, logger, "room grant", maxDevRoomGrantRequestBytes, parseDevRoomGrantRequest,
		func(req devRoomGrantRequest, t time.Time, ttl time.Duration) (any, error) {
			grant, err := opts.MintRoomGrant(opts.DevSDKAppID, req.UserID, req.RoomID, req.rights, ttl, t)
			if err != nil {
				return nil, err
			}
			return devRoomGrantResponse{
				SDKAppID: opts.DevSDKAppID, UserID: req.UserID, RoomID: req.RoomID, Rights: req.rights.Names(),
				RoomGrant: grant, ExpiresAt: t.Add(ttl).Unix(),
			}, nil
		})
}
