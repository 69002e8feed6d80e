package protocol

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// CallParams are the options of a call invitation (CallParams / TUICallParams).
type CallParams struct {
	// RoomID picks the room; absent or 0 → the server allocates an integer room (D6).
	// Ignored by inviteUser.
	RoomID RoomID `json:"roomId,omitzero"`
	// Timeout is the per-invitee ringing time in seconds: 0/absent → 30, else 10..600 (D8).
	Timeout int `json:"timeout,omitempty"`
	// UserData is delivered to invitees in onCallReceived.
	UserData string `json:"userData,omitempty"`
	// OfflinePushInfo is carried opaquely to the invitee-offline webhook (D9).
	OfflinePushInfo json.RawMessage `json:"offlinePushInfo,omitempty"`
	// ChatGroupID makes a "calls" request a group call (D7).
	ChatGroupID string `json:"chatGroupId,omitempty"`
}

// Validate checks the room id (4001), the timeout range (3001) and sizes.
func (p CallParams) Validate() error {
	if !p.RoomID.IsZero() {
		if err := checkRoomID("params.roomId", p.RoomID); err != nil {
			return err
		}
	}
	if p.Timeout != 0 && (p.Timeout < MinCallTimeout || p.Timeout > MaxCallTimeout) {
		return FieldError(CodeInvalidTimeout, "params.timeout",
			"must be 0 (default 30) or "+strconv.Itoa(MinCallTimeout)+".."+strconv.Itoa(MaxCallTimeout)+" seconds")
	}
	if len(p.UserData) > MaxUserDataBytes {
		return InvalidParams("params.userData", "at most "+strconv.Itoa(MaxUserDataBytes)+" bytes")
	}
	if len(p.OfflinePushInfo) > MaxUserDataBytes {
		return InvalidParams("params.offlinePushInfo", "at most "+strconv.Itoa(MaxUserDataBytes)+" bytes")
	}
	if push := bytes.TrimSpace(p.OfflinePushInfo); len(push) > 0 && push[0] != '{' && string(push) != "null" {
		// Carried opaquely, but to app servers that read its members (title, desc, …).
		return InvalidParams("params.offlinePushInfo", "must be an object")
	}
	if len(p.ChatGroupID) > MaxGroupIDLength {
		return InvalidParams("params.chatGroupId", "at most "+strconv.Itoa(MaxGroupIDLength)+" bytes")
	}
	return nil
}

// TimeoutSeconds is the effective ringing timeout (30 when unset).
func (p CallParams) TimeoutSeconds() int {
	if p.Timeout == 0 {
		return DefaultTimeout
	}
	return p.Timeout
}

// checkMediaType: absent (0) → -32602, anything but 1 or 2 → 3008.
func checkMediaType(field string, m MediaType) error {
	if m == MediaTypeUnknown {
		return InvalidParams(field, "required (1 audio, 2 video)")
	}
	if !m.Valid() {
		return FieldError(CodeInvalidMediaType, field, "must be 1 (audio) or 2 (video)")
	}
	return nil
}

// CallMethodParams are the params of "call" (1v1, D7).
type CallMethodParams struct {
	UserID    string     `json:"userId"`
	MediaType MediaType  `json:"mediaType"`
	Params    CallParams `json:"params"`
}

// Validate checks the callee, media type and call params.
func (p CallMethodParams) Validate() error {
	if err := checkUserID("userId", p.UserID); err != nil {
		return err
	}
	if err := checkMediaType("mediaType", p.MediaType); err != nil {
		return err
	}
	return p.Params.Validate()
}

// CallStartResult is the result of "call", "groupCall", "calls", "joinInGroupCall" and "join".
type CallStartResult struct {
	CallID string `json:"callId"`
	RoomID RoomID `json:"roomId"`
}

// GroupCallParams are the params of "groupCall" (group scene, D7).
type GroupCallParams struct {
	GroupID    string     `json:"groupId"`
	UserIDList []string   `json:"userIdList"`
	MediaType  MediaType  `json:"mediaType"`
	Params     CallParams `json:"params"`
}

// Validate checks the group, the invitees and the call params.
func (p GroupCallParams) Validate() error {
	if err := checkOpaqueID("groupId", p.GroupID, MaxGroupIDLength); err != nil {
		return err
	}
	if err := checkInvitees("userIdList", p.UserIDList); err != nil {
		return err
	}
	if err := checkMediaType("mediaType", p.MediaType); err != nil {
		return err
	}
	return p.Params.Validate()
}

// CallsParams are the params of "calls": 1v1 with one invitee and no params.chatGroupId,
// group otherwise (D7).
type CallsParams struct {
	UserIDList []string  `json:"userIdList"`
	MediaType  MediaType `json:"mediaType"`
	// ChatGroupID may also be given here, next to userIdList, as the Web/mini-program calls()
	// does; params.chatGroupId wins when both are set.
	ChatGroupID string     `json:"chatGroupId,omitempty"`
	Params      CallParams `json:"params"`
}

// GroupID is the chat group that makes the request a group call (D7), "" for none.
func (p CallsParams) GroupID() string {
	if p.Params.ChatGroupID != "" {
		return p.Params.ChatGroupID
	}
	return p.ChatGroupID
}

// Validate checks the invitees, the media type and the call params.
func (p CallsParams) Validate() error {
	if err := checkInvitees("userIdList", p.UserIDList); err != nil {
		return err
	}
	if err := checkMediaType("mediaType", p.MediaType); err != nil {
		return err
	}
	if len(p.ChatGroupID) > MaxGroupIDLength {
		return InvalidParams("chatGroupId", "at most "+strconv.Itoa(MaxGroupIDLength)+" bytes")
	}
	return p.Params.Validate()
}

// AcceptParams are the params of "accept". MediaType 1 on a video call answers with voice
// (D18); 0/absent keeps the call's type.
type AcceptParams struct {
	MediaType MediaType `json:"mediaType,omitempty"`
	// CallID, when set, names the invitation answered: another call (one that ended while
	// the answer was on its way, and another rings now) is refused (D338).
	CallID string `json:"callId,omitempty"`
}

// Validate checks the optional media type and callId.
func (p AcceptParams) Validate() error {
	if err := checkOptionalCallID(p.CallID); err != nil {
		return err
	}
	if p.MediaType == 0 {
		return nil
	}
	return checkMediaType("mediaType", p.MediaType)
}

// CallIDParams are the params of "reject", "ignore" and "hangup": an optional callId that
// names the call the request is for; a request naming another call than the user's
// current one is refused and acts on nothing (D338). Without it the request acts on the
// current call.
type CallIDParams struct {
	CallID string `json:"callId,omitempty"`
}

// Validate checks the optional callId.
func (p CallIDParams) Validate() error { return checkOptionalCallID(p.CallID) }

// checkOptionalCallID checks a callId that may be absent.
func checkOptionalCallID(id string) error {
	if id == "" {
		return nil
	}
	return checkOpaqueID("callId", id, MaxCallIDLength)
}

// InviteUserParams are the params of "inviteUser" (D17). Params.RoomID is ignored.
type InviteUserParams struct {
	UserIDList []string   `json:"userIdList"`
	Params     CallParams `json:"params"`
	// CallID, when set, names the inviter's call (D338).
	CallID string `json:"callId,omitempty"`
}

// Validate checks the invitees and the call params but not params.roomId, which inviteUser
// ignores (D6: invitees join the inviter's room).
func (p InviteUserParams) Validate() error {
	if err := checkOptionalCallID(p.CallID); err != nil {
		return err
	}
	if err := checkInvitees("userIdList", p.UserIDList); err != nil {
		return err
	}
	params := p.Params
	params.RoomID = RoomID{}
	return params.Validate()
}

// InviteUserResult lists the user IDs that were invited.
type InviteUserResult struct {
	UserIDList []string `json:"userIdList"`
}

// JoinInGroupCallParams are the params of "joinInGroupCall" (D17).
type JoinInGroupCallParams struct {
	RoomID    RoomID    `json:"roomId"`
	GroupID   string    `json:"groupId"`
	MediaType MediaType `json:"mediaType"`
}

// Validate checks presence of the room and group and the media type.
func (p JoinInGroupCallParams) Validate() error {
	if err := checkRoomID("roomId", p.RoomID); err != nil {
		return err
	}
	if err := checkOpaqueID("groupId", p.GroupID, MaxGroupIDLength); err != nil {
		return err
	}
	return checkMediaType("mediaType", p.MediaType)
}

// JoinParams are the params of "join" (enter an active call by callId, D17).
type JoinParams struct {
	CallID string `json:"callId"`
}

// Validate checks the callId.
func (p JoinParams) Validate() error {
	return checkOpaqueID("callId", p.CallID, MaxCallIDLength)
}

// PrepareCallParams are the params of "prepareCall": the ringing or dialing call whose room
// the session enters early, to have its media connected before the answer.
type PrepareCallParams struct {
	CallID string `json:"callId"`
}

// Validate checks the callId.
func (p PrepareCallParams) Validate() error {
	return checkOpaqueID("callId", p.CallID, MaxCallIDLength)
}

// SwitchCallMediaTypeParams are the params of "switchCallMediaType" (D18).
type SwitchCallMediaTypeParams struct {
	MediaType MediaType `json:"mediaType"`
	// CallID, when set, names the call to switch (D338).
	CallID string `json:"callId,omitempty"`
}

// Validate checks the media type and the optional callId.
func (p SwitchCallMediaTypeParams) Validate() error {
	if err := checkOptionalCallID(p.CallID); err != nil {
		return err
	}
	return checkMediaType("mediaType", p.MediaType)
}

// QueryRecentCallsParams are the params of "queryRecentCalls" (D22). Begin and End are unix
// seconds (fractions allowed); 0 means unbounded. ResultType 0 (unknown) matches every record.
type QueryRecentCallsParams struct {
	Begin      float64    `json:"begin"`
	End        float64    `json:"end"`
	ResultType CallResult `json:"resultType"`
}

// Validate checks the time window.
func (p QueryRecentCallsParams) Validate() error {
	if p.Begin < 0 {
		return InvalidParams("begin", "must not be negative")
	}
	if p.End < 0 {
		return InvalidParams("end", "must not be negative")
	}
	if p.End != 0 && p.End < p.Begin {
		return InvalidParams("end", "must not be before begin")
	}
	if p.ResultType < 0 || p.ResultType > 3 {
		return InvalidParams("resultType", "must be 0 (all), 1 (missed), 2 (incoming) or 3 (outgoing)")
	}
	return nil
}

// QueryRecentCallsResult is the result of "queryRecentCalls".
type QueryRecentCallsResult struct {
	Records []CallRecord `json:"records"`
}

// DeleteRecordCallsParams are the params of "deleteRecordCalls".
type DeleteRecordCallsParams struct {
	CallIDList []string `json:"callIdList"`
}

// MaxDeleteRecords bounds one deleteRecordCalls request.
const MaxDeleteRecords = 1000

// Validate checks the list.
func (p DeleteRecordCallsParams) Validate() error {
	if len(p.CallIDList) == 0 {
		return InvalidParams("callIdList", "at least one callId is required")
	}
	if len(p.CallIDList) > MaxDeleteRecords {
		return InvalidParams("callIdList", "at most "+strconv.Itoa(MaxDeleteRecords)+" entries")
	}
	for i, id := range p.CallIDList {
		if err := checkOpaqueID("callIdList["+strconv.Itoa(i)+"]", id, MaxCallIDLength); err != nil {
			return err
		}
	}
	return nil
}

// DeleteRecordCallsResult lists the callIds whose records were deleted.
type DeleteRecordCallsResult struct {
	Deleted []string `json:"deleted"`
}
