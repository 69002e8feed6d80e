package sqlrecords

import (
	"context"
	"database/sql"
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
		SDKAppID: appA, CallID: callID, UserID: user, Caller: "alice", Invitees: []string{"bob", "carol"},
		Scene: protocol.SceneGroup, MediaType: protocol.MediaTypeVideo, GroupID: "g1",
		RoomID: protocol.IntRoom(123456789), Role: protocol.Role(1), Result: result, BeginTime: begin, TotalTime: 42,
	}
}

// Two apps with users of the same names.
const (
	appA = 1400000001
	appB = 1400000002
)

func inApp(app int, r protocol.CallRecord) protocol.CallRecord {
	r.SDKAppID = app
	return r
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
		inApp(appB, rec("c5", "alice", 5000, protocol.CallResultMissed)), // another app's alice (D26)
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
			got, err := sqlStore.Query(ctx, appA, tt.user, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), tt.want) {
				t.Fatalf("sqlite %v, want %v", ids(got), tt.want)
			}
			memGot, _ := mem.Query(ctx, appA, tt.user, tt.q)
			if !reflect.DeepEqual(got, memGot) {
				t.Fatalf("sqlite %+v\nmemory %+v", got, memGot)
			}
		})
	}
	all, err := sqlStore.List(ctx, Filter{Limit: 2})
	if err != nil || !reflect.DeepEqual(ids(all), []string{"c5", "c4"}) {
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
	if _, err := first.Query(ctx, appA, "alice", signaling.RecordQuery{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("query after close: %v, want ErrClosed", err)
	}

	second := open(t, path)
	got, err := second.Query(ctx, appA, "alice", signaling.RecordQuery{End: 1500})
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("after reopen: %+v %v, want %+v", got, err, want)
	}
	deleted, err := second.Delete(ctx, appA, "alice", []string{"c1", "c9", "c1"})
	if err != nil || !reflect.DeepEqual(deleted, []string{"c1"}) {
		t.Fatalf("delete: %v %v", deleted, err)
	}
	if deleted, _ := second.Delete(ctx, appA, "bob", []string{"c2"}); len(deleted) != 0 {
		t.Fatalf("bob deleted alice's record: %v", deleted)
	}
	left, _ := second.Query(ctx, appA, "alice", signaling.RecordQuery{})
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
	got, err := s.Query(ctx, appA, "alice", signaling.RecordQuery{})
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

// TestTenantsAreSeparate: equal userIds of two apps never read or delete each other's
// records (D26); the operator's List filters by app or sees all.
func TestTenantsAreSeparate(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "calls.db"))
	if err := s.Add(ctx, []protocol.CallRecord{
		rec("a1", "alice", 1000, protocol.CallResultOutgoing),
		inApp(appB, rec("b1", "alice", 2000, protocol.CallResultIncoming)),
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		app  int
		want []string
	}{
		{"app A", appA, []string{"a1"}},
		{"app B", appB, []string{"b1"}},
		{"unknown app", 7, []string{}},
		{"no app is never everything", 0, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Query(ctx, tt.app, "alice", signaling.RecordQuery{})
			if err != nil || !reflect.DeepEqual(ids(got), tt.want) {
				t.Fatalf("got %v %v, want %v", ids(got), err, tt.want)
			}
		})
	}
	if deleted, _ := s.Delete(ctx, appB, "alice", []string{"a1"}); len(deleted) != 0 {
		t.Fatalf("app B's alice deleted app A's record: %v", deleted)
	}
	all, _ := s.List(ctx, Filter{UserID: "alice"})
	onlyB, _ := s.List(ctx, Filter{SDKAppID: appB})
	if !reflect.DeepEqual(ids(all), []string{"b1", "a1"}) || !reflect.DeepEqual(ids(onlyB), []string{"b1"}) {
		t.Fatalf("list: all %v, app B %v", ids(all), ids(onlyB))
	}
	if onlyB[0].SDKAppID != appB {
		t.Fatalf("record lost its app: %+v", onlyB[0])
	}
}

// TestMigratesRecordsFromBeforeTenancy: a database made without sdk_app_id opens, gains
// the column (old records get app 0, invisible to users of configured apps) and takes new
// records.
func TestMigratesRecordsFromBeforeTenancy(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(ctx, `CREATE TABLE call_records (
		seq INTEGER PRIMARY KEY AUTOINCREMENT, call_id TEXT NOT NULL, user_id TEXT NOT NULL, caller TEXT NOT NULL,
		invitees TEXT NOT NULL, scene INTEGER NOT NULL, media_type INTEGER NOT NULL, group_id TEXT NOT NULL,
		room_id TEXT NOT NULL, role INTEGER NOT NULL, result INTEGER NOT NULL, begin_time INTEGER NOT NULL,
		total_time INTEGER NOT NULL);
		CREATE INDEX call_records_user_time ON call_records (user_id, begin_time);
		INSERT INTO call_records (call_id, user_id, caller, invitees, scene, media_type, group_id, room_id, role, result, begin_time, total_time)
		VALUES ('old', 'alice', 'alice', '[]', 2, 1, '', '7', 1, 3, 500, 1);`); err != nil {
		t.Fatal(err)
	}
	_ = old.Close()
	s := open(t, path)
	if err := s.Add(ctx, []protocol.CallRecord{rec("new", "alice", 1000, protocol.CallResultOutgoing)}); err != nil {
		t.Fatal(err)
	}
	mine, _ := s.Query(ctx, appA, "alice", signaling.RecordQuery{})
	legacy, _ := s.List(ctx, Filter{UserID: "alice"})
	if !reflect.DeepEqual(ids(mine), []string{"new"}) || !reflect.DeepEqual(ids(legacy), []string{"new", "old"}) || legacy[1].SDKAppID != 0 {
		t.Fatalf("after migration: app A %v, all %+v", ids(mine), legacy)
	}
}
