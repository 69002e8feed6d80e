package room

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ErrInvalidRoomID is wrapped by every error about a malformed room ID; the wrapping
// message names the rule that was broken.
var ErrInvalidRoomID = errors.New("invalid room id")

const (
	// MaxIntID is the largest integer room ID (2^31-1).
	MaxIntID = math.MaxInt32
	// MaxStrIDLen is the longest string room ID in bytes.
	MaxStrIDLen = 64
)

// allowedStrIDChars holds the 89 characters a string room ID may use:
// a-z, A-Z, 0-9 and the 27 punctuation characters below.
var allowedStrIDChars = func() (set [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		set[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		set[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		set[c] = true
	}
	for _, c := range []byte(" !#$%&()+-:;<=.>?@[]^_{}|~,") {
		set[c] = true
	}
	return set
}()

// ID identifies a room: either an integer 1..2147483647 or a string of 1..64 bytes from
// the allowed character set, within one application (tenant). The two kinds never meet:
// integer 123 and string "123" are different rooms, and so are room 123 of app A and room
// 123 of app B (InApp). ID is comparable and usable as a map key; the zero ID means "no
// room". The wire forms (MarshalJSON, the protocol's RoomId) carry no app: the app is the
// one of the session that names the room.
type ID struct {
	app   int64
	intID int64
	strID string
}

// InApp returns id within application app (an SDKAppID; 0 is "no app", for tests and
// tools that run one tenant).
func (id ID) InApp(app int) ID {
	id.app = int64(app)
	return id
}

// App is the application the room belongs to (0 when none was set).
func (id ID) App() int { return int(id.app) }

// NewIntID returns the integer room id, or an error wrapping ErrInvalidRoomID when id is
// outside 1..2147483647.
func NewIntID(id int64) (ID, error) {
	if id < 1 || id > MaxIntID {
		return ID{}, fmt.Errorf("room id: integer %d out of range 1..%d: %w", id, MaxIntID, ErrInvalidRoomID)
	}
	return ID{intID: id}, nil
}

// NewStringID returns the string room id, or an error wrapping ErrInvalidRoomID when s is
// empty, longer than 64 bytes or holds a character outside the allowed set.
func NewStringID(s string) (ID, error) {
	if s == "" {
		return ID{}, fmt.Errorf("room id: empty string: %w", ErrInvalidRoomID)
	}
	if len(s) > MaxStrIDLen {
		return ID{}, fmt.Errorf("room id: %d bytes, at most %d: %w", len(s), MaxStrIDLen, ErrInvalidRoomID)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !allowedStrIDChars[c] {
			return ID{}, fmt.Errorf("room id: %s at byte %d is not allowed: %w", describeByte(c), i, ErrInvalidRoomID)
		}
	}
	return ID{strID: s}, nil
}

// describeByte renders c for an error message: "character '*' (0x2a)" for printable
// ASCII, "byte 0xc3" otherwise.
func describeByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("character '%c' (0x%02x)", c, c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// ParseID picks the room from the wire pair (intRoomId, strRoomId): a non-zero integer wins;
// otherwise the string is used. Both unset is an error.
func ParseID(intID int64, strID string) (ID, error) {
	if intID != 0 {
		return NewIntID(intID)
	}
	if strID == "" {
		return ID{}, fmt.Errorf("room id: neither intRoomId nor strRoomId is set: %w", ErrInvalidRoomID)
	}
	return NewStringID(strID)
}

// WithoutApp is id with no app: the room as the wire names it.
func (id ID) WithoutApp() ID {
	id.app = 0
	return id
}

// IsZero reports whether id is the zero value (no room).
func (id ID) IsZero() bool { return id.intID == 0 && id.strID == "" }

// IsInt reports whether id is an integer room.
func (id ID) IsInt() bool { return id.intID != 0 }

// Int returns the integer room number, 0 for a string room.
func (id ID) Int() int64 { return id.intID }

// Str returns the string room name, "" for an integer room.
func (id ID) Str() string { return id.strID }

// String renders id for logs: 123 for an integer room, "abc" (quoted) for a string room,
// prefixed with "app/" when the room belongs to an app (1400000001/123).
func (id ID) String() string {
	if id.app != 0 && !id.IsZero() {
		return strconv.FormatInt(id.app, 10) + "/" + id.WithoutApp().String()
	}
	switch {
	case id.intID != 0:
		return strconv.FormatInt(id.intID, 10)
	case id.strID != "":
		return strconv.Quote(id.strID)
	default:
		return "<no room>"
	}
}

// MarshalJSON emits a number for an integer room and a string for a string room. The zero
// ID is an error: it is never a valid room on the wire.
func (id ID) MarshalJSON() ([]byte, error) {
	switch {
	case id.intID != 0:
		return strconv.AppendInt(nil, id.intID, 10), nil
	case id.strID != "":
		return json.Marshal(id.strID)
	default:
		return nil, fmt.Errorf("room id: cannot marshal the zero id: %w", ErrInvalidRoomID)
	}
}

// roomIDObject is the object form {"intRoomId": n, "strRoomId": "s"}.
type roomIDObject struct {
	IntRoomID int64  `json:"intRoomId"`
	StrRoomID string `json:"strRoomId"`
}

// UnmarshalJSON accepts a number (integer room), a string (string room) or the object
// {"intRoomId": n, "strRoomId": "s"} (integer wins when non-zero).
func (id *ID) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return fmt.Errorf("room id: empty JSON value: %w", ErrInvalidRoomID)
	}
	var (
		parsed ID
		err    error
	)
	switch data[0] {
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("room id: %v: %w", err, ErrInvalidRoomID)
		}
		parsed, err = NewStringID(s)
	case '{':
		var obj roomIDObject
		if err := json.Unmarshal(data, &obj); err != nil {
			return fmt.Errorf("room id: %v: %w", err, ErrInvalidRoomID)
		}
		parsed, err = ParseID(obj.IntRoomID, obj.StrRoomID)
	default:
		var n int64
		if err := json.Unmarshal(data, &n); err != nil {
			return fmt.Errorf("room id: JSON %s is not an integer, string or {intRoomId, strRoomId}: %w",
				truncate(data, 32), ErrInvalidRoomID)
		}
		parsed, err = NewIntID(n)
	}
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
