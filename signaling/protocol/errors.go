package protocol

import (
	"errors"
	"fmt"
)

// Error codes. The numbers are part of the wire protocol: never renumber one, only add.
// Every constant appears in the error table of signaling/PROTOCOL.md (a test checks it).
const (
	// JSON-RPC 2.0 standard codes.
	CodeParseError     = -32700 // the message is not valid JSON
	CodeInvalidRequest = -32600 // not a JSON-RPC 2.0 request object (batches are refused with it too)
	CodeMethodNotFound = -32601 // no such method
	CodeInvalidParams  = -32602 // params do not decode or miss a required field; the message names the field
	CodeInternalError  = -32603 // the server failed; the detail is in the server log, not on the wire

	// Session and authentication (1xxx).
	CodeNotLoggedIn     = 1001 // a method other than login before a successful login
	CodeUserSigInvalid  = 1002 // bad signature, malformed token, wrong user, not yet valid
	CodeUserSigExpired  = 1003 // the userSig's exp is in the past
	CodeUnknownApp      = 1004 // unknown SDKAppID, or the token was signed for another app
	CodeInvalidUserID   = 1005 // a userId outside [A-Za-z0-9_-]{1,64}
	CodeAlreadyLoggedIn = 1006 // login on a session that is logged in as another user
	CodeKicked          = 1007 // the session was replaced by a newer login of the same user
	CodeTooManySessions = 1008 // the user already has auth.max_sessions_per_user sessions
	CodeAppSessionQuota = 1009 // the app already has auth.apps[].max_sessions sessions on this node

	// Profile (2xxx).
	CodeNicknameTooLong = 2001 // nickname longer than 500 bytes (or not valid UTF-8)
	CodeAvatarNotURL    = 2002 // avatar is neither empty nor an absolute http(s) URL

	// Calls (3xxx).
	CodeInvalidTimeout        = 3001 // params.timeout outside 0 and 10..600 seconds
	CodeNoCallRinging         = 3002 // accept/reject/ignore without a ringing invitation
	CodeNotInCall             = 3003 // a call method that needs a current call
	CodeNoSuchCall            = 3004 // unknown or not active callId / group call
	CodeCannotInviteSelf      = 3005 // the invitee list names the caller
	CodeAlreadyInCall         = 3006 // the caller is already ringing or in a call
	CodeMediaSwitchNotAllowed = 3007 // switchCallMediaType (or an audio accept) in a group call
	CodeInvalidMediaType      = 3008 // mediaType other than 1 (audio) or 2 (video)
	CodeTooManyInvitees       = 3009 // more than MaxInvitees user IDs in one request
	CodeNoInvitees            = 3010 // an empty invitee list
	CodeRoomInUse             = 3011 // the caller's roomId is used by another call or by a room outside calls

	// Rooms and media (4xxx).
	CodeInvalidRoomID      = 4001 // roomId outside 1..2147483647 / 1..64 bytes of the allowed set
	CodeNotInRoom          = 4002 // a media method without being in a room
	CodeAlreadyInRoom      = 4003 // joinRoom while in a room
	CodeNegotiationFailed  = 4004 // the SDP was rejected
	CodeUnknownUser        = 4005 // startRemoteView/stopRemoteView of a user who is not in the room
	CodeRoomForbidden      = 4006 // no right to enter the room (a call's room, or no grant for it)
	CodeRoomGrantInvalid   = 4007 // roomGrant malformed, bad signature, or for another app, user or room
	CodeRoomGrantExpired   = 4008 // roomGrant exp is in the past
	CodeTooManyRemoteViews = 4009 // more remote-view wishes than the room allows
	CodeTooManyCandidates  = 4010 // more ICE candidates queued or trickled than a PeerConnection takes
	CodeAppRoomQuota       = 4011 // a new room beyond the app's auth.apps[].max_rooms open rooms on this node
	CodeRoomFull           = 4012 // the room already has room.max_participants participants

	// Server (5xxx).
	CodeServerDraining = 5001 // the server is shutting down and takes no new calls or rooms
	// CodeClusterUnavailable: the node cannot reach the cluster (Redis) or the node that
	// owns the app; the session keeps what it has, new cross-node work is refused (D53).
	CodeClusterUnavailable = 5002

	// Limits (6xxx).
	CodeRateLimited = 6001 // a rate limit (failed logins per IP, invitations per user, trickles per second)
)

// codeMessages is the default message of each code; NewError without a message uses it.
var codeMessages = map[int]string{
	CodeParseError:            "parse error",
	CodeInvalidRequest:        "invalid request",
	CodeMethodNotFound:        "method not found",
	CodeInvalidParams:         "invalid params",
	CodeInternalError:         "internal error",
	CodeClusterUnavailable:    "cluster unavailable",
	CodeNotLoggedIn:           "not logged in",
	CodeUserSigInvalid:        "userSig invalid",
	CodeUserSigExpired:        "userSig expired",
	CodeUnknownApp:            "unknown SDKAppID",
	CodeInvalidUserID:         "invalid userId",
	CodeAlreadyLoggedIn:       "already logged in as another user",
	CodeKicked:                "kicked offline",
	CodeNicknameTooLong:       "nickname too long",
	CodeAvatarNotURL:          "avatar is not an http(s) URL",
	CodeInvalidTimeout:        "invalid timeout",
	CodeNoCallRinging:         "no call ringing",
	CodeNotInCall:             "not in a call",
	CodeNoSuchCall:            "no such call",
	CodeCannotInviteSelf:      "cannot invite yourself",
	CodeAlreadyInCall:         "already in a call",
	CodeMediaSwitchNotAllowed: "media type switch not allowed in group calls",
	CodeInvalidMediaType:      "invalid media type",
	CodeTooManyInvitees:       "too many invitees",
	CodeNoInvitees:            "no invitees",
	CodeInvalidRoomID:         "invalid room id",
	CodeNotInRoom:             "not in room",
	CodeAlreadyInRoom:         "already in room",
	CodeNegotiationFailed:     "negotiation failed",
	CodeUnknownUser:           "unknown user",
	CodeServerDraining:        "server draining",
	CodeTooManySessions:       "too many sessions",
	CodeAppSessionQuota:       "app session quota reached",
	CodeAppRoomQuota:          "app room quota reached",
	CodeRoomFull:              "room full",
	CodeRoomInUse:             "room in use",
	CodeRoomForbidden:         "room forbidden",
	CodeRoomGrantInvalid:      "room grant invalid",
	CodeRoomGrantExpired:      "room grant expired",
	CodeTooManyRemoteViews:    "too many remote views",
	CodeTooManyCandidates:     "too many ICE candidates",
	CodeRateLimited:           "rate limited",
}

// Codes returns every error code the protocol defines, in no particular order.
func Codes() []int {
	codes := make([]int, 0, len(codeMessages))
	for c := range codeMessages {
		codes = append(codes, c)
	}
	return codes
}

// CodeMessage returns the default message of a code ("" for an unknown code).
func CodeMessage(code int) string { return codeMessages[code] }

// Error is a JSON-RPC 2.0 error object. It is also a Go error, so handlers return it and
// clients get it back from a call.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// NewError makes an error with a code; an empty msg takes the code's default message.
func NewError(code int, msg string) *Error {
	if msg == "" {
		msg = codeMessages[code]
	}
	return &Error{Code: code, Message: msg}
}

// Errorf makes an error with a code and a formatted message.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidParams is the -32602 error for one field: the message names it and Data carries
// {"field": name} so programs need not parse the message.
func InvalidParams(field, problem string) *Error {
	return FieldError(CodeInvalidParams, field, problem)
}

// FieldError is an error with any code that concerns one params field (e.g. 1005 for
// "userIdList[2]"). The message reads "<field>: <problem>".
func FieldError(code int, field, problem string) *Error {
	return &Error{Code: code, Message: field + ": " + problem, Data: FieldErrorData{Field: field}}
}

// FieldErrorData is the Data of an error about one params field.
type FieldErrorData struct {
	Field string `json:"field"`
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("parley error %d: %s", e.Code, e.Message)
}

// Is reports whether target is an *Error with the same code, so
// errors.Is(err, protocol.NewError(protocol.CodeUserSigExpired, "")) works on any wrapping.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

// ErrorCode returns the code of the *Error inside err, or 0 when err carries none.
func ErrorCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}
