package records_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/parley-rtc/parley/ops/records"
	"github.com/parley-rtc/parley/ops/sqlrecords"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// What only the sqlite driver has: paths, the in-memory database, the migration of files
// made before tenancy.

var sqlite = drivers[0]

func TestSQLiteRefusesBadPaths(t *testing.T) {
	ctx := context.Background()
	for _, path := range []string{
		filepath.Join(t.TempDir(), "dir with space", "calls.db"), // a missing directory
		filepath.Join(t.TempDir(), "calls?.db"),
	} {
		if s, err := sqlrecords.Open(ctx, path); err == nil {
			_ = s.Close()
			t.Errorf("opened %s", path)
		}
	}
}

func TestMemoryDatabase(t *testing.T) {
	ctx := context.Background()
	s := open(t, sqlite, ":memory:")
	if err := s.Add(ctx, []protocol.CallRecord{rec("c1", "alice", 1, protocol.CallResultOutgoing)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Query(ctx, appA, "alice", signaling.RecordQuery{})
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
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
	s := open(t, sqlite, path)
	if err := s.Add(ctx, []protocol.CallRecord{rec("new", "alice", 1000, protocol.CallResultOutgoing)}); err != nil {
		t.Fatal(err)
	}
	mine, _ := s.Query(ctx, appA, "alice", signaling.RecordQuery{})
	legacy, _ := s.List(ctx, records.Filter{UserID: "alice"})
	if !reflect.DeepEqual(ids(mine), []string{"new"}) || !reflect.DeepEqual(ids(legacy), []string{"new", "old"}) || legacy[1].SDKAppID != 0 {
		t.Fatalf("after migration: app A %v, all %+v", ids(mine), legacy)
	}
}
