package sqlrecords

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	_ "github.com/ncruces/go-sqlite3/driver" // registers the "sqlite3" driver

	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// Config is the `records` section of the root configuration.
type Config struct {
	// SQLitePath is the database file; ":memory:" keeps the history in memory (lost at
	// exit). The directory must exist and be writable.
	SQLitePath string `mapstructure:"sqlite_path"`
}

// DefaultConfig keeps the history in ./parley.db.
func DefaultConfig() Config { return Config{SQLitePath: "parley.db"} }

// Validate checks the section; each error names its key.
func (c Config) Validate() error {
	if strings.TrimSpace(c.SQLitePath) == "" {
		return errors.New("records.sqlite_path: must not be empty (use :memory: for no file)")
	}
	if strings.ContainsAny(c.SQLitePath, "?#") {
		return fmt.Errorf("records.sqlite_path: %q must be a plain path without ? or #", c.SQLitePath)
	}
	return nil
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("sqlrecords: store closed")

// MaxListLimit bounds one List.
const MaxListLimit = 1000

// Store is a signaling.RecordStore in SQLite.
type Store struct {
	db *sql.DB
}

var _ signaling.RecordStore = (*Store)(nil)

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
	if err := (Config{SQLitePath: path}).Validate(); err != nil {
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
	return &Store{db: db}, nil
}

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
func (s *Store) Close() error { return s.db.Close() }

// Add stores records in one transaction.
func (s *Store) Add(ctx context.Context, records []protocol.CallRecord) error {
	if len(records) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("add call records", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO call_records
		(sdk_app_id, call_id, user_id, caller, invitees, scene, media_type, group_id, room_id, role, result, begin_time, total_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return s.wrap("add call records", err)
	}
	defer stmt.Close()
	for _, r := range records {
		invitees := r.Invitees
		if invitees == nil {
			invitees = []string{}
		}
		inv, err := json.Marshal(invitees)
		if err != nil {
			return fmt.Errorf("add call record %s: %w", r.CallID, err)
		}
		room, err := json.Marshal(r.RoomID)
		if err != nil {
			return fmt.Errorf("add call record %s: %w", r.CallID, err)
		}
		if _, err := stmt.ExecContext(ctx, r.SDKAppID, r.CallID, r.UserID, r.Caller, string(inv), int(r.Scene), int(r.MediaType),
			r.GroupID, string(room), int(r.Role), int(r.Result), r.BeginTime, r.TotalTime); err != nil {
			return s.wrap("add call record "+r.CallID, err)
		}
	}
	return s.wrap("add call records", tx.Commit())
}

// Query returns the matching records of the user (sdkAppID, userID), newest first
// (signaling.RecordStore).
func (s *Store) Query(ctx context.Context, sdkAppID int, userID string, q signaling.RecordQuery) ([]protocol.CallRecord, error) {
	if sdkAppID == 0 || userID == "" {
		return []protocol.CallRecord{}, nil // a user always has both; never an unfiltered list
	}
	return s.List(ctx, Filter{SDKAppID: sdkAppID, UserID: userID, Begin: q.Begin, End: q.End, Result: q.Result})
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

// List returns the matching records, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]protocol.CallRecord, error) {
	var where []string
	var args []any
	if f.SDKAppID != 0 {
		where, args = append(where, "sdk_app_id = ?"), append(args, f.SDKAppID)
	}
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if f.Begin > 0 {
		where, args = append(where, "begin_time >= ?"), append(args, f.Begin)
	}
	if f.End > 0 {
		where, args = append(where, "begin_time <= ?"), append(args, f.End)
	}
	if f.Result != protocol.CallResultUnknown {
		where, args = append(where, "result = ?"), append(args, int(f.Result))
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxListLimit {
		limit = MaxListLimit
	}
	query := `SELECT sdk_app_id, call_id, user_id, caller, invitees, scene, media_type, group_id, room_id, role, result,
		begin_time, total_time FROM call_records`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY begin_time DESC, seq DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap("query call records", err)
	}
	defer rows.Close()
	out := []protocol.CallRecord{}
	for rows.Next() {
		var r protocol.CallRecord
		var inv, room string
		var scene, media, role, result int
		if err := rows.Scan(&r.SDKAppID, &r.CallID, &r.UserID, &r.Caller, &inv, &scene, &media, &r.GroupID, &room, &role, &result,
			&r.BeginTime, &r.TotalTime); err != nil {
			return nil, s.wrap("read call record", err)
		}
		r.Scene, r.MediaType, r.Role, r.Result = protocol.Scene(scene), protocol.MediaType(media), protocol.Role(role), protocol.CallResult(result)
		if err := json.Unmarshal([]byte(inv), &r.Invitees); err != nil {
			return nil, fmt.Errorf("read call record %s: invitees: %w", r.CallID, err)
		}
		if err := json.Unmarshal([]byte(room), &r.RoomID); err != nil {
			return nil, fmt.Errorf("read call record %s: room id: %w", r.CallID, err)
		}
		out = append(out, r)
	}
	return out, s.wrap("query call records", rows.Err())
}

// Delete removes the records of callIDs of the user (sdkAppID, userID) and returns the
// callIds deleted.
func (s *Store) Delete(ctx context.Context, sdkAppID int, userID string, callIDs []string) ([]string, error) {
	deleted := []string{}
	if len(callIDs) == 0 {
		return deleted, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.wrap("delete call records", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, id := range callIDs {
		res, err := tx.ExecContext(ctx, `DELETE FROM call_records WHERE sdk_app_id = ? AND user_id = ? AND call_id = ?`, sdkAppID, userID, id)
		if err != nil {
			return nil, s.wrap("delete call record "+id, err)
		}
		if n, _ := res.RowsAffected(); n > 0 && !slices.Contains(deleted, id) {
			deleted = append(deleted, id)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, s.wrap("delete call records", err)
	}
	return deleted, nil
}

// wrap adds context to err and names ErrClosed after Close.
func (s *Store) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed") {
		return fmt.Errorf("%s: %w", what, ErrClosed)
	}
	return fmt.Errorf("%s: %w", what, err)
}
