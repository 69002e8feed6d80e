package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// RoomID is a room identifier on the wire: an integer room (Int != 0) or a string room
// (Int == 0, Str != ""). The two kinds never meet: 123 and "123" are different rooms.
//
// JSON: an integer room is a number, a string room is a string. Decoding also accepts the
// object {"intRoomId": n, "strRoomId": "s"}, where a non-zero intRoomId wins. Nothing else is
// checked here but int64 overflow (a *Error with CodeInvalidRoomID); the validators check
// ranges and characters.
type RoomID struct {
	Int int64
	Str string
}

// IntRoom is the integer room n.
func IntRoom(n int64) RoomID { return RoomID{Int: n} }

// StrRoom is the string room s.
func StrRoom(s string) RoomID { return RoomID{Str: s} }

// IsZero reports whether no room is named (the server then allocates one, D6).
func (r RoomID) IsZero() bool { return r.Int == 0 && r.Str == "" }

// String is the decimal number of an integer room and the quoted string of a string room,
// so that 123 and "123" print differently.
func (r RoomID) String() string {
	if r.Int != 0 || r.Str == "" {
		return strconv.FormatInt(r.Int, 10)
	}
	return strconv.Quote(r.Str)
}

// MarshalJSON writes a number for an integer room (and for the zero RoomID) and a string
// for a string room.
func (r RoomID) MarshalJSON() ([]byte, error) {
	if r.Int != 0 || r.Str == "" {
		return strconv.AppendInt(nil, r.Int, 10), nil
	}
	return json.Marshal(r.Str)
}

// errRoomIDSyntax is wrapped by every RoomID decoding failure.
var errRoomIDSyntax = errors.New("roomId must be an integer, a string or {intRoomId, strRoomId}")

// UnmarshalJSON reads a number, a string or the {intRoomId, strRoomId} object. null leaves
// the value unchanged, as encoding/json does for other types.
func (r *RoomID) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return errRoomIDSyntax
	}
	switch data[0] {
	case 'n':
		if string(data) != "null" {
			return errRoomIDSyntax
		}
		return nil
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("%w: %v", errRoomIDSyntax, err)
		}
		*r = RoomID{Str: s}
		return nil
	case '{':
		var obj struct {
			IntRoomID json.RawMessage `json:"intRoomId"`
			StrRoomID string          `json:"strRoomId"`
		}
		if err := json.Unmarshal(data, &obj); err != nil {
			return fmt.Errorf("%w: %v", errRoomIDSyntax, err)
		}
		var n int64
		if len(obj.IntRoomID) > 0 && string(obj.IntRoomID) != "null" {
			v, err := parseIntRoom(obj.IntRoomID)
			var perr *Error
			if errors.As(err, &perr) {
				return perr
			}
			if err != nil {
				return fmt.Errorf("%w: intRoomId %s", errRoomIDSyntax, truncateForError(obj.IntRoomID))
			}
			n = v
		}
		if n != 0 {
			*r = RoomID{Int: n}
		} else {
			*r = RoomID{Str: obj.StrRoomID}
		}
		return nil
	default:
		n, err := parseIntRoom(data)
		var perr *Error
		if errors.As(err, &perr) {
			return perr
		}
		if err != nil {
			return fmt.Errorf("%w: %s", errRoomIDSyntax, truncateForError(data))
		}
		*r = RoomID{Int: n}
		return nil
	}
}

// parseIntRoom reads an integer room. An integer beyond int64 is a room number out of
// range (a *Error with CodeInvalidRoomID), not a value of the wrong JSON type.
func parseIntRoom(data []byte) (int64, error) {
	n, err := strconv.ParseInt(string(data), 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 0, NewError(CodeInvalidRoomID, roomIDRangeMessage)
	}
	return n, err
}

// roomIDRangeMessage says what a valid RoomId is (4001).
const roomIDRangeMessage = "must be an integer 1..2147483647 or a string of 1..64 allowed characters"

// truncateForError keeps error messages short when the input is large.
func truncateForError(b []byte) string {
	const max = 32
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// MediaType is the call's media: 1 audio, 2 video (0 = unknown / not given).
type MediaType int

// Media types.
const (
	MediaTypeUnknown MediaType = 0
	MediaTypeAudio   MediaType = 1
	MediaTypeVideo   MediaType = 2
)

// Valid reports whether m is audio or video.
func (m MediaType) Valid() bool { return m == MediaTypeAudio || m == MediaTypeVideo }

// Role is a user's role in a call: 1 caller (inviter), 2 called (invitee or joiner).
type Role int

// Roles.
const (
	RoleNone   Role = 0
	RoleCaller Role = 1
	RoleCalled Role = 2
)

// Scene is the kind of call: 0 group, 1 multi (not used by Parley), 2 single (1v1).
type Scene int

// Scenes.
const (
	SceneGroup  Scene = 0
	SceneMulti  Scene = 1
	SceneSingle Scene = 2
)

// CallResult is a user's outcome of a call in the call history (D22).
type CallResult int

// Call results.
const (
	CallResultUnknown  CallResult = 0
	CallResultMissed   CallResult = 1
	CallResultIncoming CallResult = 2
	CallResultOutgoing CallResult = 3
)

// Call event names (server→client notifications).
const (
	EventCallReceived               = "onCallReceived"
	EventCallCancelled              = "onCallCancelled"
	EventCallBegin                  = "onCallBegin"
	EventCallEnd                    = "onCallEnd"
	EventCallMediaTypeChanged       = "onCallMediaTypeChanged"
	EventUserAccept                 = "onUserAccept"
	EventUserReject                 = "onUserReject"
	EventUserNoResponse             = "onUserNoResponse"
	EventUserLineBusy               = "onUserLineBusy"
	EventGroupCallInviteeListUpdate = "onGroupCallInviteeListUpdate"
)

// Reasons carried by onCallCancelled.
const (
	CancelReasonCancel            = "cancel"            // the caller hung up before anyone accepted (D12)
	CancelReasonReject            = "reject"            // an invitee rejected (D13)
	CancelReasonTimeout           = "timeout"           // an invitee did not answer in time (D8, D13)
	CancelReasonBusy              = "busy"              // the invitee was busy or ignored the call (D10, D11)
	CancelReasonIgnore            = "ignore"            // to the invitee that ignored the call (D11)
	CancelReasonAnsweredElsewhere = "answeredElsewhere" // another session of the same user accepted (D4)
	CancelReasonRejectedElsewhere = "rejectedElsewhere" // another session of the same user rejected or ignored (D4)
	CancelReasonDisconnect        = "disconnect"        // the user's session went away (logout, kick, socket loss)
)

// CallReceivedEvent invites the receiving user (onCallReceived). CallerID is the inviter:
// the caller, or the participant who called inviteUser (D17). Timeout is the remaining
// ringing time in seconds.
type CallReceivedEvent struct {
	CallID          string          `json:"callId"`
	CallerID        string          `json:"callerId"`
	CalleeIDList    []string        `json:"calleeIdList"`
	GroupID         string          `json:"groupId"`
	MediaType       MediaType       `json:"mediaType"`
	UserData        string          `json:"userData"`
	RoomID          RoomID          `json:"roomId"`
	Scene           Scene           `json:"scene"`
	Role            Role            `json:"role"`
	CallerNickname  string          `json:"callerNickname"`
	CallerAvatar    string          `json:"callerAvatar"`
	Timeout         int             `json:"timeout"`
	OfflinePushInfo json.RawMessage `json:"offlinePushInfo,omitempty"`
}

// CallCancelledEvent ends a call that never began for the receiver (onCallCancelled).
// UserID is the user whose action caused it (the caller on cancel, the receiver itself on
// reject/timeout/ignore).
type CallCancelledEvent struct {
	CallID    string    `json:"callId"`
	UserID    string    `json:"userId"`
	Reason    string    `json:"reason"`
	RoomID    RoomID    `json:"roomId"`
	MediaType MediaType `json:"mediaType"`
	Role      Role      `json:"role"`
}

// CallBeginEvent: the call began for the receiver (onCallBegin, D14).
type CallBeginEvent struct {
	CallID    string    `json:"callId"`
	RoomID    RoomID    `json:"roomId"`
	MediaType MediaType `json:"mediaType"`
	Role      Role      `json:"role"`
}

// CallEndEvent: the call ended for the receiver (onCallEnd, D16). TotalTime is whole
// seconds from the receiver's begin; UserID is the user whose action ended it.
type CallEndEvent struct {
	CallID    string    `json:"callId"`
	RoomID    RoomID    `json:"roomId"`
	MediaType MediaType `json:"mediaType"`
	Role      Role      `json:"role"`
	TotalTime int64     `json:"totalTime"`
	UserID    string    `json:"userId,omitempty"`
}

// CallMediaTypeChangedEvent: the 1v1 call switched media (onCallMediaTypeChanged, D18).
type CallMediaTypeChangedEvent struct {
	CallID       string    `json:"callId"`
	OldMediaType MediaType `json:"oldMediaType"`
	NewMediaType MediaType `json:"newMediaType"`
}

// UserEvent names the user of onUserAccept, onUserReject, onUserNoResponse and
// onUserLineBusy.
type UserEvent struct {
	CallID string `json:"callId"`
	UserID string `json:"userId"`
}

// InviteeListUpdateEvent lists the call's pending (ringing) invitees
// (onGroupCallInviteeListUpdate, D17).
type InviteeListUpdateEvent struct {
	CallID     string   `json:"callId"`
	UserIDList []string `json:"userIdList"`
}

// CallRecord is one user's entry in the call history (D22). BeginTime is unix seconds (the
// user's begin, or the invitation time when the user never talked); TotalTime is seconds.
type CallRecord struct {
	// SDKAppID is the app the call belongs to (D26); the server sets it when it stores the
	// record. Omitted when 0 (a record made outside a server).
	SDKAppID  int        `json:"sdkAppId,omitempty"`
	CallID    string     `json:"callId"`
	UserID    string     `json:"userId"`
	Caller    string     `json:"caller"`
	Invitees  []string   `json:"invitees"`
	Scene     Scene      `json:"scene"`
	MediaType MediaType  `json:"mediaType"`
	GroupID   string     `json:"groupId"`
	RoomID    RoomID     `json:"roomId"`
	Role      Role       `json:"role"`
	Result    CallResult `json:"result"`
	BeginTime int64      `json:"beginTime"`
	TotalTime int64      `json:"totalTime"`
}
