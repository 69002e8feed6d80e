package protocol

import (
	"encoding/json"
	"time"
)

// Names of the rate limits, in RateLimitData.Limit (PROTOCOL.md §7, Limits).
const (
	LimitFailedLogins   = "failedLogins"     // failed logins per client IP
	LimitInvitations    = "invitations"      // invitees per user (call, groupCall, calls, inviteUser)
	LimitTrickles       = "trickles"         // trickle requests per session
	LimitMediaSwitches  = "mediaSwitches"    // switchCallMediaType requests per session
	LimitDeviceToggles  = "deviceToggles"    // openCamera/closeCamera/openMicrophone/closeMicrophone per session
	LimitProfileWrites  = "profileWrites"    // setSelfInfo/enableMultiDeviceAbility per user
	LimitRecordRequests = "recordRequests"   // queryRecentCalls/deleteRecordCalls per user
	LimitNegotiations   = "negotiations"     // offer/startRemoteView/stopRemoteView per session
	LimitRoomJoins      = "roomJoins"        // joinRoom/join/joinInGroupCall per session
	LimitLogins         = "logins"           // logins per user, a resume excepted
	LimitConnLogins     = "connectionLogins" // logins per connection, a resume excepted
)

// RateLimitData is the Data of a CodeRateLimited error: which limit was hit and how long
// until a retry can succeed.
type RateLimitData struct {
	Limit        string `json:"limit"`
	RetryAfterMs int64  `json:"retryAfterMs"`
}

// RateLimited is the 6001 error of limit, to be retried after retryAfter (rounded up to
// whole milliseconds, at least 1).
func RateLimited(limit string, retryAfter time.Duration) *Error {
	ms := max(int64((retryAfter+time.Millisecond-1)/time.Millisecond), 1)
	return &Error{
		Code:    CodeRateLimited,
		Message: "rate limited: " + limit + ", retry later",
		Data:    RateLimitData{Limit: limit, RetryAfterMs: ms},
	}
}

// RateLimit returns the RateLimitData of a 6001 error, whether Data holds the struct
// (server side) or its decoded JSON (a client's decoded response).
func (e *Error) RateLimit() (RateLimitData, bool) {
	if e == nil || e.Code != CodeRateLimited || e.Data == nil {
		return RateLimitData{}, false
	}
	if d, ok := e.Data.(RateLimitData); ok {
		return d, true
	}
	raw, err := json.Marshal(e.Data)
	if err != nil {
		return RateLimitData{}, false
	}
	var d RateLimitData
	if json.Unmarshal(raw, &d) != nil || d.Limit == "" {
		return RateLimitData{}, false
	}
	return d, true
}
