package signaling

import (
	"context"
	"strconv"
	"testing"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestMemoryRecordsBoundedNewestFirst: a user's records come newest first and only the
// newest perUser are kept, however many were added.
func TestMemoryRecordsBoundedNewestFirst(t *testing.T) {
	for _, added := range []int{1, 3, 5, 9, 10, 11, 25} {
		m := NewMemoryRecords(5)
		for i := range added {
			rec := protocol.CallRecord{SDKAppID: 1, UserID: "alice", CallID: strconv.Itoa(i), BeginTime: int64(i)}
			if err := m.Add(context.Background(), []protocol.CallRecord{rec}); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := m.Query(context.Background(), 1, "alice", RecordQuery{})
		want := min(added, 5)
		if len(got) != want {
			t.Fatalf("%d added: %d records, want %d", added, len(got), want)
		}
		for i, r := range got {
			if r.CallID != strconv.Itoa(added-1-i) {
				t.Fatalf("%d added: record %d is call %s, want %d (newest first)", added, i, r.CallID, added-1-i)
			}
		}
		if len(m.byUser[recordOwner{1, "alice"}]) >= 10 {
			t.Fatalf("%d added: %d kept in memory, bound 2×5", added, len(m.byUser[recordOwner{1, "alice"}]))
		}
	}
}
