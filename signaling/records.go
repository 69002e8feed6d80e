package signaling

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// RecordQuery selects a user's call records: BeginTime within [Begin, End] (unix seconds;
// 0 = unbounded) and Result (0 = any).
type RecordQuery struct {
	Begin, End float64
	Result     protocol.CallResult
}

// RecordStore keeps the call history (D22). The session layer adds a record per user when a
// call ends, with its SDKAppID set; queryRecentCalls and deleteRecordCalls read and delete
// a user's own records: a user is (SDKAppID, userId), so equal userIds of two apps never
// see each other's records (D26). Implementations must be safe for concurrent use.
type RecordStore interface {
	Add(ctx context.Context, records []protocol.CallRecord) error
	Query(ctx context.Context, sdkAppID int, userID string, q RecordQuery) ([]protocol.CallRecord, error)
	// Delete removes the user's records of the given calls and returns the callIds deleted.
	Delete(ctx context.Context, sdkAppID int, userID string, callIDs []string) ([]string, error)
}

// recordOwner is the user a record belongs to: (SDKAppID, userId).
type recordOwner struct {
	app  int
	user string
}

// MemoryRecords is a RecordStore in memory, oldest first per user (answers newest first),
// bounded per user.
type MemoryRecords struct {
	mu      sync.Mutex
	perUser int
	byUser  map[recordOwner][]protocol.CallRecord
}

// NewMemoryRecords keeps at most perUser records per user (oldest dropped); 0 means 1000.
func NewMemoryRecords(perUser int) *MemoryRecords {
	if perUser <= 0 {
		perUser = 1000
	}
	return &MemoryRecords{perUser: perUser, byUser: make(map[recordOwner][]protocol.CallRecord)}
}

// Add stores records.
func (m *MemoryRecords) Add(_ context.Context, records []protocol.CallRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range records {
		owner := recordOwner{r.SDKAppID, r.UserID}
		list := append(m.byUser[owner], r) // oldest first: adding is an append
		if len(list) >= 2*m.perUser {      // trimmed now and then, not at every add
			list = append(list[:0], list[len(list)-m.perUser:]...)
		}
		m.byUser[owner] = list
	}
	return nil
}

// Query returns the user's matching records, newest first: by BeginTime, the later added
// first among equal ones (as ops/sqlrecords orders them). A call that began later may have
// ended, and been added, earlier (a missed call while in another one).
func (m *MemoryRecords) Query(_ context.Context, sdkAppID int, userID string, q RecordQuery) ([]protocol.CallRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []protocol.CallRecord{}
	list := m.byUser[recordOwner{sdkAppID, userID}]
	for i := len(list) - 1; i >= max(0, len(list)-m.perUser); i-- {
		if q.Matches(list[i]) {
			out = append(out, list[i])
		}
	}
	slices.SortStableFunc(out, func(a, b protocol.CallRecord) int { return cmp.Compare(b.BeginTime, a.BeginTime) })
	return out, nil
}

// Delete removes the user's records of callIDs.
func (m *MemoryRecords) Delete(_ context.Context, sdkAppID int, userID string, callIDs []string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	owner := recordOwner{sdkAppID, userID}
	deleted := []string{}
	kept := m.byUser[owner][:0]
	for _, r := range m.byUser[owner] {
		if slices.Contains(callIDs, r.CallID) {
			if !slices.Contains(deleted, r.CallID) {
				deleted = append(deleted, r.CallID)
			}
			continue
		}
		kept = append(kept, r)
	}
	m.byUser[owner] = kept
	return deleted, nil
}

// Matches reports whether r falls in the query's window and result type.
func (q RecordQuery) Matches(r protocol.CallRecord) bool {
	t := float64(r.BeginTime)
	if q.Begin > 0 && t < q.Begin {
		return false
	}
	if q.End > 0 && t > q.End {
		return false
	}
	return q.Result == protocol.CallResultUnknown || r.Result == q.Result
}
