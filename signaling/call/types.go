package call

import (
	"encoding/json"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// Config bounds the invitation timeout and the size of a call.
type Config struct {
	// DefaultTimeout is the ringing time when a request gives 0 (D8).
	DefaultTimeout time.Duration
	// MinTimeout and MaxTimeout bound a non-zero requested timeout (D8).
	MinTimeout, MaxTimeout time.Duration
	// MaxMembers caps the users in one call at once, ringing or in call, caller included.
	// The default, 33, is the caller plus protocol.MaxInvitees (32) invitees.
	MaxMembers int
}

// DefaultConfig is 30 s default ringing, 10..600 s allowed, 33 members per call.
func DefaultConfig() Config {
	return Config{
		DefaultTimeout: 30 * time.Second,
		MinTimeout:     10 * time.Second,
		MaxTimeout:     600 * time.Second,
		MaxMembers:     33,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.DefaultTimeout <= 0 {
		c.DefaultTimeout = d.DefaultTimeout
	}
	if c.MinTimeout <= 0 {
		c.MinTimeout = d.MinTimeout
	}
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = d.MaxTimeout
	}
	if c.MaxMembers < 2 {
		c.MaxMembers = d.MaxMembers
	}
	return c
}

// IDSource makes call IDs and free integer rooms. Implementations must return a callId that
// no current call uses; the machine calls it only from Call, after validation.
type IDSource interface {
	NewCallID() string
	AllocateRoomID() protocol.RoomID
}

// Profile is a user as invitations show it (D5).
type Profile struct {
	UserID   string
	Nickname string
	Avatar   string
}

// Kind is the entry point of a call request (D7).
type Kind int

// Entry points.
const (
	// KindSingle is call(userId): 1v1, exactly one invitee.
	KindSingle Kind = iota
	// KindGroup is groupCall(groupId, userIdList): a group call.
	KindGroup
	// KindCalls is calls(userIdList): 1v1 with one invitee and no ChatGroupID, else group.
	KindCalls
)

// CallRequest is the input of Machine.Call.
type CallRequest struct {
	Caller   Profile
	Invitees []string
	// GroupID is the group of a groupCall; ChatGroupID the params.chatGroupId of calls
	// (which becomes the call's groupId).
	GroupID, ChatGroupID string
	MediaType            protocol.MediaType
	// RoomID zero → the IDSource allocates one (D6).
	RoomID protocol.RoomID
	// Timeout in seconds: 0 → Config.DefaultTimeout, else MinTimeout..MaxTimeout (D8).
	Timeout         int
	UserData        string
	OfflinePushInfo json.RawMessage
	Kind            Kind
	// Session is the caller's session that places the call: the caller's call events go
	// to it only (D4: a user's other sessions are not in the call). Empty → every session.
	Session string
}

// Event is one notification to send. It goes to user To: to all of its sessions, or only
// to OnlySession when set, or to all but ExceptSession when that is set. RingsUntil is set
// on an onCallReceived: the invitation's deadline, from which a replay of the event on a
// resume states the seconds left (RemainingSeconds).
type Event struct {
	To            string
	OnlySession   string
	ExceptSession string
	Name          string
	Payload       any
	RingsUntil    time.Time
}

// ActionKind says whether a RoomAction joins or leaves the room.
type ActionKind int

// Room actions.
const (
	JoinRoom ActionKind = iota + 1
	LeaveRoom
)

// String names the action for logs and test failures.
func (k ActionKind) String() string {
	switch k {
	case JoinRoom:
		return "JoinRoom"
	case LeaveRoom:
		return "LeaveRoom"
	default:
		return "ActionKind(?)"
	}
}

// RoomAction is a room join or leave for the session layer to perform. Session is the
// session that called, accepted or joined (empty when the machine was not told it).
type RoomAction struct {
	Kind      ActionKind
	UserID    string
	Session   string
	RoomID    protocol.RoomID
	CallID    string
	MediaType protocol.MediaType
}

// Outcome is how a call ended.
type Outcome string

// Outcomes.
const (
	// OutcomeAnswered: someone accepted; the call was active.
	OutcomeAnswered Outcome = "answered"
	// OutcomeCancelled: the caller hung up or went away before anyone accepted.
	OutcomeCancelled Outcome = "cancelled"
	// OutcomeUnanswered: every invitee rejected, ignored, timed out or was busy.
	OutcomeUnanswered Outcome = "unanswered"
)

// CallSummary describes a call that began (Outcome empty, EndedAt zero) or ended.
type CallSummary struct {
	// SDKAppID is the app of the call: the machine leaves it 0, the session layer (one
	// machine per app) sets it before hooks see the summary.
	SDKAppID  int
	CallID    string
	RoomID    protocol.RoomID
	Scene     protocol.Scene
	MediaType protocol.MediaType
	GroupID   string
	Caller    string
	Invitees  []string
	Outcome   Outcome
	CreatedAt time.Time
	BeganAt   time.Time // zero if never active
	EndedAt   time.Time // zero in Began
	// Records are the ended call's records, one per user (the same as Output.Records;
	// nil in Began), for hooks that deliver them (D22 webhooks).
	Records []protocol.CallRecord
}

// Output is what an input asks the session layer to do, in order.
type Output struct {
	// CallID and RoomID name the call the input acted on (the new call for Call, the joined
	// call for Join and JoinInGroupCall); empty for Tick.
	CallID string
	RoomID protocol.RoomID
	// Invited lists the users InviteUser invited (busy and already present users excluded).
	Invited []string
	Events  []Event
	Actions []RoomAction
	// Records holds one record per user of each call that ended (D22).
	Records []protocol.CallRecord
	// Began and Ended summarise calls that became active or ended.
	Began, Ended []CallSummary
}

// State is a user's call state.
type State int

// User states.
const (
	Idle    State = iota // in no call
	Dialing              // caller of a call nobody accepted yet
	Ringing              // invitee with a ringing invitation
	InCall               // participant of an active call
)

// String names the state.
func (s State) String() string {
	switch s {
	case Idle:
		return "Idle"
	case Dialing:
		return "Dialing"
	case Ringing:
		return "Ringing"
	case InCall:
		return "InCall"
	default:
		return "State(?)"
	}
}

// UserStatus is a user's state, its call (empty when Idle) and the session that called,
// accepted or joined (empty while ringing or when not told).
type UserStatus struct {
	State   State
	CallID  string
	Session string
}

// CallState is the call-level state (§5.2).
type CallState int

// Call states. Ended calls are forgotten, so a snapshot is always Inviting or Active.
const (
	Inviting CallState = iota // nobody accepted yet
	Active                    // someone accepted
)

// MemberSnapshot is one user currently in a call.
type MemberSnapshot struct {
	UserID   string
	State    State
	Role     protocol.Role
	Inviter  string    // who invited a ringing user (empty for the caller and joiners)
	Deadline time.Time // ringing deadline (zero unless Ringing)
	Session  string
	Began    time.Time // zero unless InCall
}

// Snapshot is a copy of a call's state.
type Snapshot struct {
	CallID    string
	RoomID    protocol.RoomID
	Scene     protocol.Scene
	MediaType protocol.MediaType
	GroupID   string
	Caller    string
	State     CallState
	CreatedAt time.Time
	BeganAt   time.Time
	Members   []MemberSnapshot
	// Invited is everyone ever invited to the call, in invitation order.
	Invited []string
}
