package protocol

import (
	"net/url"
	"strconv"
	"unicode/utf8"
)

// Limits of the values the validators check.
const (
	MaxUserIDLength   = 64  // bytes of a userId
	MaxNicknameBytes  = 500 // UTF-8 bytes of a nickname
	MaxAvatarBytes    = 2048
	MaxInvitees       = 32 // user IDs in one call/groupCall/calls/inviteUser request
	MinCallTimeout    = 10 // seconds; 0 means DefaultCallTimeout
	MaxCallTimeout    = 600
	DefaultTimeout    = 30 // seconds, used when params.timeout is absent or 0
	MaxGroupIDLength  = 128
	MaxCallIDLength   = 128
	MaxUserDataBytes  = 16 * 1024
	MaxSDPBytes       = 60 * 1024 // below the default max_message_bytes of 64 KiB
	MaxCandidateBytes = 1024
	MaxVideoDimension = 8192
)

// ValidUserID reports whether id is 1..64 characters of [A-Za-z0-9_-].
func ValidUserID(id string) bool {
	if len(id) == 0 || len(id) > MaxUserIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// ValidNickname reports whether s is valid UTF-8 of at most 500 bytes.
func ValidNickname(s string) bool {
	return len(s) <= MaxNicknameBytes && utf8.ValidString(s)
}

// ValidAvatar reports whether s is empty or an absolute http(s) URL with a host.
func ValidAvatar(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > MaxAvatarBytes {
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// checkUserID is the params check of a userId field: missing → -32602, malformed → 1005.
func checkUserID(field, id string) error {
	if id == "" {
		return InvalidParams(field, "required")
	}
	if !ValidUserID(id) {
		return FieldError(CodeInvalidUserID, field, "must be 1..64 characters of A-Z a-z 0-9 _ -")
	}
	return nil
}

// checkInvitees checks a userIdList: not empty (3010), at most MaxInvitees entries (3009),
// every entry a valid userId (1005). Duplicates are allowed: the call layer counts them once.
func checkInvitees(field string, ids []string) error {
	if len(ids) == 0 {
		return FieldError(CodeNoInvitees, field, "at least one userId is required")
	}
	if len(ids) > MaxInvitees {
		return FieldError(CodeTooManyInvitees, field, "at most "+strconv.Itoa(MaxInvitees)+" user IDs")
	}
	for i, id := range ids {
		if err := checkUserID(field+"["+strconv.Itoa(i)+"]", id); err != nil {
			return err
		}
	}
	return nil
}

// checkOpaqueID checks a required opaque identifier (callId, groupId): non-empty, bounded,
// valid UTF-8.
func checkOpaqueID(field, id string, maxLen int) error {
	if id == "" {
		return InvalidParams(field, "required")
	}
	if len(id) > maxLen || !utf8.ValidString(id) {
		return InvalidParams(field, "must be valid UTF-8 of at most "+strconv.Itoa(maxLen)+" bytes")
	}
	return nil
}

// Room id limits (section 4 of the call spec).
const (
	MaxIntRoomID     = 2147483647
	MaxStrRoomIDSize = 64
)

// ValidRoomID reports whether r names a room: an integer room 1..2147483647, or a string
// room of 1..64 bytes from the 89 allowed characters (letters, digits, space and
// !#$%&()+-:;<=.>?@[]^_{}|~,).
func ValidRoomID(r RoomID) bool {
	if r.Int != 0 {
		return r.Int >= 1 && r.Int <= MaxIntRoomID
	}
	if len(r.Str) == 0 || len(r.Str) > MaxStrRoomIDSize {
		return false
	}
	for i := 0; i < len(r.Str); i++ {
		if !strRoomIDChar(r.Str[i]) {
			return false
		}
	}
	return true
}

func strRoomIDChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case ' ', '!', '#', '$', '%', '&', '(', ')', '+', '-', ':', ';', '<', '=', '.', '>', '?',
		'@', '[', ']', '^', '_', '{', '}', '|', '~', ',':
		return true
	}
	return false
}

// checkRoomID: absent (zero) → -32602, out of range or charset → 4001.
func checkRoomID(field string, r RoomID) error {
	if r.IsZero() {
		return InvalidParams(field, "required")
	}
	if !ValidRoomID(r) {
		return FieldError(CodeInvalidRoomID, field, roomIDRangeMessage)
	}
	return nil
}
