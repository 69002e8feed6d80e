package sqlrecords

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	_ "github.com/ncruces/go-sqlite3/driver" // registers the "sqlite3" driver

	"github.com/parley-rtc/parley/ops/records"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// Store is a records.Store in SQLite.
type Store struct {
	db     *sql.DB
	insert *sql.Stmt // the INSERT of one record, prepared once per connection (D198)
}

var _ records.Store = (*Store)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS call_records (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	sdk_app_id INTEGER NOT NULL DEFAULT 0, -- the app (tenant) of the user; 0 in databases made before tenancy
	call_id    TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	caller     TEXT    NOT NULL,
	invitees   TEXT    NOT NULL, -- JSON array
	scene      INTEGER NOT NULL,
	media_type INTEGER NOT NULL,
	group_id   TEXT    NOT NULL,
	room_id    TEXT    NOT NULL, -- JSON: a number or a string
	role       INTEGER NOT NULL,
	result     INTEGER NOT NULL,
	begin_time INTEGER NOT NULL,
	total_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS call_records_time ON call_records (begin_time);
`

// migrations bring a database made by an earlier version up to the schema: each runs when
// its column is missing. Records made before tenancy get sdk_app_id 0 (the admin API lists
// them with sdkAppId=0; no user of a configured app sees them).
var migrations = []struct{ column, stmt string }{
	{"sdk_app_id", `ALTER TABLE call_records ADD COLUMN sdk_app_id INTEGER NOT NULL DEFAULT 0`},
}

// indexes are made after the migrations (they may name migrated columns).
const indexes = `
DROP INDEX IF EXISTS call_records_user_time;
CREATE INDEX IF NOT EXISTS call_records_app_user_time ON call_records (sdk_app_id, user_id, begin_time);
`

// Open opens (creating if needed) the database at path and its schema. It starts no
// goroutine; Close it when done.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := (records.Config{Driver: records.DriverSQLite, SQLitePath: path, RetryFor: records.DefaultRetryFor}).Validate(); err != nil {
		return nil, err
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open call records %s: %w", path, err)
	}
	if path == ":memory:" {
		db.SetMaxOpenConns(1) // every connection would be its own empty database
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open call records %s: create schema: %w", path, err)
	}
	if err := migrate(ctx, db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open call records %s: %w", path, err)
	}
	insert, err := db.PrepareContext(ctx, insertRecord)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open call records %s: prepare insert: %w", path, err)
	}
	return &Store{db: db, insert: insert}, nil
}

// insertRecord is the INSERT of one record's Columns.
const insertRecord = `INSERT INTO call_records (` + records.Columns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// migrate adds the columns an older database lacks, then the indexes.
func migrate(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT name FROM pragma_table_info('call_records')`)
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("read schema: %w", err)
		}
		have[name] = true
	}
	rows.Close()
	for _, m := range migrations {
		if !have[m.column] {
			if _, err := db.ExecContext(ctx, m.stmt); err != nil {
				return fmt.Errorf("add column %s: %w", m.column, err)
			}
		}
	}
	if _, err := db.ExecContext(ctx, indexes); err != nil {
		return fmt.Errorf("create indexes: %w", err)
	}
	return nil
}

// Close closes the database. Idempotent.
func (s *Store) Close() error {
	_ = s.insert.Close()
	return s.db.Close()
}

// Add stores records in one transaction.
func (s *Store) Add(ctx context.Context, recs []protocol.CallRecord) error {
	if len(recs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("add call records", err)
	}
	defer func() { _ = tx.Rollback() }()
	// The statement prepared at Open, on the transaction's connection: prepared there
	// once, not once per transaction.
	stmt := tx.StmtContext(ctx, s.insert)
	defer stmt.Close()
	for _, r := range recs {
		values, err := records.EncodeColumns(r)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, values...); err != nil {
			return s.wrap("add call record "+r.CallID, err)
		}
	}
	return s.wrap("add call records", tx.Commit())
}

// Query returns the matching records of the user (sdkAppID, userID), newest first
// (signaling.RecordStore).
func (s *Store) Query(ctx context.Context, sdkAppID int, userID string, q signaling.RecordQuery) ([]protocol.CallRecord, error) {
	f, ok := records.UserFilter(sdkAppID, userID, q)
	if !ok {
		return []protocol.CallRecord{}, nil
	}
	return s.List(ctx, f)
}

// List returns the matching records, newest first.
func (s *Store) List(ctx context.Context, f records.Filter) ([]protocol.CallRecord, error) {
	query, args := f.ListQuery(func(int, any) string { return "?" })
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap("query call records", err)
	}
	defer rows.Close()
	out, err := records.ScanAll(rows)
	return out, s.wrap("query call records", err)
}

// Delete removes the records of callIDs of the user (sdkAppID, userID) and returns the
// callIds deleted.
func (s *Store) Delete(ctx context.Context, sdkAppID int, userID string, callIDs []string) ([]string, error) {
	if len(callIDs) == 0 {
		return []string{}, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.wrap("delete call records", err)
	}
	defer func() { _ = tx.Rollback() }()
	var gone []string
	for _, id := range callIDs {
		res, err := tx.ExecContext(ctx, `DELETE FROM call_records WHERE sdk_app_id = ? AND user_id = ? AND call_id = ?`, sdkAppID, userID, id)
		if err != nil {
			return nil, s.wrap("delete call record "+id, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			gone = append(gone, id)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, s.wrap("delete call records", err)
	}
	return records.Deleted(callIDs, gone), nil
}

// wrap adds context to err and names ErrClosed after Close.
func (s *Store) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed") {
		return fmt.Errorf("%s: %w", what, records.ErrClosed)
	}
	return fmt.Errorf("%s: %w", what, err)
}
