package call

import "errors"

// Sentinel errors. Inputs wrap them with context; test with errors.Is. The session layer
// maps each to a protocol error code.
var (
	// ErrNotRinging: accept, reject or ignore without a ringing invitation.
	ErrNotRinging = errors.New("no ringing invitation")
	// ErrNotInCall: hangup, switchCallMediaType or Disconnect by an idle user, or inviteUser
	// by a user who is not IN_CALL.
	ErrNotInCall = errors.New("not in a call")
	// ErrNoSuchCall: join or joinInGroupCall of an unknown call, a call that is not active,
	// or a 1v1 call.
	ErrNoSuchCall = errors.New("no such call")
	// ErrSelfInvite: the invitee list names the inviter.
	ErrSelfInvite = errors.New("cannot invite yourself")
	// ErrCallerBusy: the caller is already dialing, ringing or in a call.
	ErrCallerBusy = errors.New("caller is already in a call")
	// ErrInvalidTimeout: a timeout other than 0 or MinTimeout..MaxTimeout seconds.
	ErrInvalidTimeout = errors.New("invalid timeout")
	// ErrInvalidMediaType: a media type other than audio (1) or video (2).
	ErrInvalidMediaType = errors.New("invalid media type")
	// ErrGroupMediaSwitch: switchCallMediaType, or an accept with another media type, in a
	// group call (D18).
	ErrGroupMediaSwitch = errors.New("media type cannot change in a group call")
	// ErrAlreadyInCall: join or joinInGroupCall by a user who is in (or ringing for) a call.
	ErrAlreadyInCall = errors.New("already in a call")
	// ErrTooManyInvitees: the call would hold more than Config.MaxMembers users, or call()
	// (1v1) names more than one callee.
	ErrTooManyInvitees = errors.New("too many invitees")
	// ErrNoInvitees: an empty invitee list.
	ErrNoInvitees = errors.New("no invitees")
)
