package protocol

import (
	"errors"
	"fmt"
	"strings"
)

// MaxRoomGrantBytes bounds a roomGrant (joinRoom params) and what the server verifies.
const MaxRoomGrantBytes = 4096

// Names of the rights a room grant gives (its `rights` claim, PROTOCOL.md §4.3).
const (
	RightPublish   = "publish"   // the user's media is forwarded to the room
	RightSubscribe = "subscribe" // the user receives the room's media
)

// RoomRights are the rights of a room grant: publish, subscribe, or both.
type RoomRights struct {
	Publish   bool
	Subscribe bool
}

// IsZero reports whether no right is given (never the case for a valid grant).
func (r RoomRights) IsZero() bool { return !r.Publish && !r.Subscribe }

// Names lists the rights in the grant's wire form, publish first.
func (r RoomRights) Names() []string {
	names := make([]string, 0, 2)
	if r.Publish {
		names = append(names, RightPublish)
	}
	if r.Subscribe {
		names = append(names, RightSubscribe)
	}
	return names
}

// String is the comma-separated Names ("publish,subscribe"; "" for no right).
func (r RoomRights) String() string { return strings.Join(r.Names(), ",") }

// ErrRoomRights is wrapped by every ParseRoomRights failure.
var ErrRoomRights = errors.New(`rights must be a non-empty list of "publish" and "subscribe", each at most once`)

// ParseRoomRights reads the `rights` claim: at least one name, each "publish" or
// "subscribe", none twice. Names are case-sensitive.
func ParseRoomRights(names []string) (RoomRights, error) {
	if len(names) == 0 {
		return RoomRights{}, fmt.Errorf("no right given: %w", ErrRoomRights)
	}
	var r RoomRights
	for _, n := range names {
		var right *bool
		switch n {
		case RightPublish:
			right = &r.Publish
		case RightSubscribe:
			right = &r.Subscribe
		default:
			return RoomRights{}, fmt.Errorf("unknown right %.32q: %w", n, ErrRoomRights)
		}
		if *right {
			return RoomRights{}, fmt.Errorf("right %q given twice: %w", n, ErrRoomRights)
		}
		*right = true
	}
	return r, nil
}
