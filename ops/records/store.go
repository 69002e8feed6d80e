package records

import (
	"context"
	"errors"

	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// Store is a call-history store: signaling's RecordStore, the operator's List and Close.
// Implementations are safe for concurrent use.
type Store interface {
	signaling.RecordStore
	// List returns the records f selects, newest first (the admin API).
	List(ctx context.Context, f Filter) ([]protocol.CallRecord, error)
	// Close releases the store. Idempotent.
	Close() error
}

// Filter selects records for List: SDKAppID (0 = every app, the operator's view),
// UserID ("" = every user), BeginTime within [Begin, End] (unix seconds; 0 = unbounded),
// Result (0 = any), at most Limit (0 means MaxListLimit; larger values are capped).
type Filter struct {
	SDKAppID   int
	UserID     string
	Begin, End float64
	Result     protocol.CallResult
	Limit      int
}

// MaxListLimit bounds one List.
const MaxListLimit = 1000

// ErrClosed is returned by a store (and a Writer) after Close.
var ErrClosed = errors.New("records: store closed")

// UserFilter is the Filter of signaling's Query for the user (sdkAppID, userID); ok is
// false when the user lacks an app or an id (a user always has both: such a query must
// never list everyone's records).
func UserFilter(sdkAppID int, userID string, q signaling.RecordQuery) (f Filter, ok bool) {
	if sdkAppID == 0 || userID == "" {
		return Filter{}, false
	}
	return Filter{SDKAppID: sdkAppID, UserID: userID, Begin: q.Begin, End: q.End, Result: q.Result}, true
}

// EffectiveLimit is f's Limit with the default and the cap applied.
func (f Filter) EffectiveLimit() int {
	if f.Limit <= 0 || f.Limit > MaxListLimit {
		return MaxListLimit
	}
	return f.Limit
}
