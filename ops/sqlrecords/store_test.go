package sqlrecords

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func rec(callID, user string, begin int64, result protocol.CallResult) protocol.CallRecord {
	return protocol.CallRecord{
		CallID: callID, UserID: user, Caller: "alice", Invitees: []string{"bob", "carol"},
		Scene: protocol.SceneGroup, MediaType: protocol.MediaTypeVideo, GroupID: "g1",
		RoomID: protocol.IntRoom(123456789), Role: protocol.Role(1), Result: result, BeginTime: begin, TotalTime: 42,
	}
}

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ids(recs []protocol.CallRecord) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.CallID)
	}
	return out
}

// TestQueryMatchesMemoryRecords: the SQLite store answers every query like the in-memory
// store of the signaling package (same filters, newest first).
func TestQueryMatchesMemoryRecords(t *testing.T) {
	ctx := context.Background()
	records := []protocol.CallRecord{
		rec("c1", "alice", 1000, protocol.CallResultOutgoing),
		rec("c2", "alice", 2000, protocol.CallResultMissed),
		rec("c3", "alice", 3000, protocol.CallResultIncoming),
		rec("c3", "bob", 3000, protocol.CallResultIncoming),
		rec("c4", "alice", 4000, protocol.CallResultMissed),
	}
	sqlStore := open(t, filepath.Join(t.TempDir(), "calls.db"))
	mem := signaling.NewMemoryRecords(0)
	for _, r := range records { // one call's records arrive together, calls in time order
		if err := sqlStore.Add(ctx, []protocol.CallRecord{r}); err != nil {
			t.Fatal(err)
		}
		_ = mem.Add(ctx, []protocol.CallRecord{r})
	}
	tests := []struct {
		name string
		user string
		q    signaling.RecordQuery
		want []string
	}{
		{"all of alice", "alice", signaling.RecordQuery{}, []string{"c4", "c3", "c2", "c1"}},
		{"window", "alice", signaling.RecordQuery{Begin: 2000, End: 3000}, []string{"c3", "c2"}},
		{"from", "alice", signaling.RecordQuery{Begin: 3500}, []string{"c4"}},
		{"missed", "alice", signaling.RecordQuery{Result: protocol.CallResultMissed}, []string{"c4", "c2"}},
		{"bob", "bob", signaling.RecordQuery{}, []string{"c3"}},
		{"nobody", "dave", signaling.RecordQuery{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sqlStore.Query(ctx, tt.user, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), tt.want) {
				t.Fatalf("sqlite %v, want %v", ids(got), tt.want)
			}
			memGot, _ := mem.Query(ctx, tt.user, tt.q)
			if !reflect.DeepEqual(got, memGot) {
				t.Fatalf("sqlite %+v\nmemory %+v", got, memGot)
			}
		})
	}
	all, err := sqlStore.List(ctx, Filter{Limit: 2})
	if err != nil || !reflect.DeepEqual(ids(all), []string{"c4", "c3"}) {
		t.Fatalf("List limit 2: %v %v", ids(all), err)
	}
}

func TestRecordsSurviveReopenAndDelete(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dir with space", "calls.db")
	if _, err := Open(ctx, path); err == nil {
		t.Fatal("opened a database in a missing directory")
	}
	path = filepath.Join(t.TempDir(), "calls?.db")
	if _, err := Open(ctx, path); err == nil {
		t.Fatal("accepted a path with '?'")
	}
	path = filepath.Join(t.TempDir(), "calls db.sqlite")
	first := open(t, path)
	want := rec("c1", "alice", 1000, protocol.CallResultOutgoing)
	if err := first.Add(ctx, []protocol.CallRecord{want, rec("c2", "alice", 2000, protocol.CallResultMissed)}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Query(ctx, "alice", signaling.RecordQuery{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("query after close: %v, want ErrClosed", err)
	}

	second := open(t, path)
	got, err := second.Query(ctx, "alice", signaling.RecordQuery{End: 1500})
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("after reopen: %+v %v, want %+v", got, err, want)
	}
	deleted, err := second.Delete(ctx, "alice", []string{"c1", "c9", "c1"})
	if err != nil || !reflect.DeepEqual(deleted, []string{"c1"}) {
		t.Fatalf("delete: %v %v", deleted, err)
	}
	if deleted, _ := second.Delete(ctx, "bob", []string{"c2"}); len(deleted) != 0 {
		t.Fatalf("bob deleted alice's record: %v", deleted)
	}
	left, _ := second.Query(ctx, "alice", signaling.RecordQuery{})
	if !reflect.DeepEqual(ids(left), []string{"c2"}) {
		t.Fatalf("left %v", ids(left))
	}
}

func TestMemoryDatabase(t *testing.T) {
	ctx := context.Background()
	s := open(t, ":memory:")
	if err := s.Add(ctx, []protocol.CallRecord{rec("c1", "alice", 1, protocol.CallResultOutgoing)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Query(ctx, "alice", signaling.RecordQuery{})
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
}

func TestConfigValidateNamesTheKey(t *testing.T) {
	for _, bad := range []string{"", "  ", "a.db?mode=ro"} {
		err := Config{SQLitePath: bad}.Validate()
		if err == nil || !strings.Contains(err.Error(), "records.sqlite_path") {
			t.Errorf("path %q: %v", bad, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}
