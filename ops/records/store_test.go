package records_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"go.uber.org/goleak"

	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/ops/pgrecords"
	"github.com/parley-rtc/parley/ops/records"
	"github.com/parley-rtc/parley/ops/sqlrecords"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// driver is one records.driver for the tests: place makes an empty database (a SQLite
// file, or a database on a PostgreSQL server of the test's own) and open opens a store on
// it. The store tests run over drivers, so both answer alike.
type driver struct {
	name  string
	place func(t *testing.T) string
	open  func(ctx context.Context, place string) (records.Store, error)
}

var drivers = []driver{
	{records.DriverSQLite,
		func(t *testing.T) string { return filepath.Join(t.TempDir(), "calls db.sqlite") },
		func(ctx context.Context, path string) (records.Store, error) { return sqlrecords.Open(ctx, path) }},
	{records.DriverPostgres,
		func(t *testing.T) string { return testservers.StartPostgres(t) },
		func(ctx context.Context, dsn string) (records.Store, error) { return pgrecords.Open(ctx, dsn) }},
}

// forEachDriver runs test once per driver, as a subtest named after it.
func forEachDriver(t *testing.T, test func(t *testing.T, d driver)) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) { test(t, d) })
	}
}

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

func inStrRoom(r protocol.CallRecord) protocol.CallRecord {
	r.RoomID = protocol.StrRoom("123")
	return r
}

// open opens d's store on place; it is closed at the test's end.
func open(t *testing.T, d driver, place string) records.Store {
	t.Helper()
	s, err := d.open(context.Background(), place)
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

// TestQueryMatchesMemoryRecords: each driver's store answers every query like the
// in-memory store of the signaling package (same filters, newest first).
func TestQueryMatchesMemoryRecords(t *testing.T) { forEachDriver(t, testQueryMatchesMemoryRecords) }

func testQueryMatchesMemoryRecords(t *testing.T, d driver) {
	ctx := context.Background()
	recs := []protocol.CallRecord{
		rec("c1", "alice", 1000, protocol.CallResultOutgoing),
		rec("c2", "alice", 2000, protocol.CallResultMissed),
		rec("c3", "alice", 3000, protocol.CallResultIncoming),
		rec("c3", "bob", 3000, protocol.CallResultIncoming),
		rec("c4", "alice", 4000, protocol.CallResultMissed),
		inApp(appB, rec("c5", "alice", 5000, protocol.CallResultMissed)), // another app's alice (D26)
		inStrRoom(rec("c6", "bob", 6000, protocol.CallResultIncoming)),   // room "123", not 123
	}
	store := open(t, d, d.place(t))
	mem := signaling.NewMemoryRecords(0)
	for _, r := range recs { // one call's records arrive together, calls in time order
		if err := store.Add(ctx, []protocol.CallRecord{r}); err != nil {
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
		{"bob", "bob", signaling.RecordQuery{}, []string{"c6", "c3"}},
		{"nobody", "dave", signaling.RecordQuery{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.Query(ctx, appA, tt.user, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), tt.want) {
				t.Fatalf("%s %v, want %v", d.name, ids(got), tt.want)
			}
			memGot, _ := mem.Query(ctx, appA, tt.user, tt.q)
			if !reflect.DeepEqual(got, memGot) {
				t.Fatalf("%s %+v\nmemory %+v", d.name, got, memGot)
			}
		})
	}
	all, err := store.List(ctx, records.Filter{Limit: 2})
	if err != nil || !reflect.DeepEqual(ids(all), []string{"c6", "c5"}) {
		t.Fatalf("List limit 2: %v %v", ids(all), err)
	}
}

func TestRecordsSurviveReopenAndDelete(t *testing.T) {
	forEachDriver(t, testRecordsSurviveReopenAndDelete)
}

func testRecordsSurviveReopenAndDelete(t *testing.T, d driver) {
	ctx := context.Background()
	place := d.place(t)
	first := open(t, d, place)
	want := rec("c1", "alice", 1000, protocol.CallResultOutgoing)
	if err := first.Add(ctx, []protocol.CallRecord{want, rec("c2", "alice", 2000, protocol.CallResultMissed)}); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Query(ctx, appA, "alice", signaling.RecordQuery{}); !errors.Is(err, records.ErrClosed) {
		t.Fatalf("query after close: %v, want ErrClosed", err)
	}

	second := open(t, d, place)
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

// TestTenantsAreSeparate: equal userIds of two apps never read or delete each other's
// records (D26); the operator's List filters by app or sees all.
func TestTenantsAreSeparate(t *testing.T) { forEachDriver(t, testTenantsAreSeparate) }

func testTenantsAreSeparate(t *testing.T, d driver) {
	ctx := context.Background()
	s := open(t, d, d.place(t))
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
	all, _ := s.List(ctx, records.Filter{UserID: "alice"})
	onlyB, _ := s.List(ctx, records.Filter{SDKAppID: appB})
	if !reflect.DeepEqual(ids(all), []string{"b1", "a1"}) || !reflect.DeepEqual(ids(onlyB), []string{"b1"}) {
		t.Fatalf("list: all %v, app B %v", ids(all), ids(onlyB))
	}
	if onlyB[0].SDKAppID != appB {
		t.Fatalf("record lost its app: %+v", onlyB[0])
	}
}
