package pgrecords

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-rtc/parley/ops/records"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// openTimeout bounds Open (connecting and creating the schema) when ctx has no deadline.
const openTimeout = 30 * time.Second

// schemaLock is the advisory lock key under which Open creates the schema (an arbitrary
// constant: "parley" in ASCII).
const schemaLock = 0x7061726c6579

// schema is ops/sqlrecords' table in PostgreSQL types: invitees and room_id are JSONB (a
// room id is a number or a string), times are unix seconds.
const schema = `
CREATE TABLE IF NOT EXISTS call_records (
	seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	sdk_app_id BIGINT   NOT NULL,
	call_id    TEXT     NOT NULL,
	user_id    TEXT     NOT NULL,
	caller     TEXT     NOT NULL,
	invitees   JSONB    NOT NULL,
	scene      SMALLINT NOT NULL,
	media_type SMALLINT NOT NULL,
	group_id   TEXT     NOT NULL,
	room_id    JSONB    NOT NULL,
	role       SMALLINT NOT NULL,
	result     SMALLINT NOT NULL,
	begin_time BIGINT   NOT NULL,
	total_time BIGINT   NOT NULL
);
CREATE INDEX IF NOT EXISTS call_records_time ON call_records (begin_time);
CREATE INDEX IF NOT EXISTS call_records_app_user_time ON call_records (sdk_app_id, user_id, begin_time);
`

// Store is a records.Store in PostgreSQL.
type Store struct {
	pool   *pgxpool.Pool
	closed atomic.Bool
}

var _ records.Store = (*Store)(nil)

// Open connects to the database of dsn and creates the schema if it is missing. The
// pool's connections are made on demand; Close it when done.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if err := (records.Config{Driver: records.DriverPostgres, PostgresDSN: dsn, RetryFor: records.DefaultRetryFor}).Validate(); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("open call records: records.postgres_dsn: not a PostgreSQL connection string")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, openTimeout)
		defer cancel()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open call records on %s: %w", where(cfg), err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open call records on %s: %w", where(cfg), err)
	}
	return &Store{pool: pool}, nil
}

// where names the server and database of cfg for errors, without the password.
func where(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}

// migrate creates the schema in one transaction holding an advisory lock, so that nodes
// starting together do not both create the table.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(schemaLock)); err != nil {
			return fmt.Errorf("lock schema: %w", err)
		}
		if _, err := tx.Exec(ctx, schema); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		return nil
	})
}

// Close closes the pool. Idempotent.
func (s *Store) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.pool.Close()
	}
	return nil
}

// Add stores records in one transaction.
func (s *Store) Add(ctx context.Context, recs []protocol.CallRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if s.closed.Load() {
		return fmt.Errorf("add call records: %w", records.ErrClosed)
	}
	batch := &pgx.Batch{}
	for _, r := range recs {
		values, err := records.EncodeColumns(r)
		if err != nil {
			return err
		}
		batch.Queue(`INSERT INTO call_records (`+records.Columns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, values...)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, batch).Close()
	})
	return s.wrap("add call records", err)
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
	if s.closed.Load() {
		return nil, fmt.Errorf("query call records: %w", records.ErrClosed)
	}
	query, args := f.ListQuery(func(n int, v any) string {
		if _, ok := v.(float64); ok {
			return fmt.Sprintf("$%d::float8", n) // begin_time (BIGINT) against unix seconds with a fraction
		}
		return fmt.Sprintf("$%d", n)
	})
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, s.wrap("query call records", err)
	}
	defer rows.Close()
	out, err := records.ScanAll(rows)
	return out, s.wrap("query call records", err)
}

// Delete removes the records of callIDs of the user (sdkAppID, userID) and returns the
// callIds deleted, in the order asked, once each.
func (s *Store) Delete(ctx context.Context, sdkAppID int, userID string, callIDs []string) ([]string, error) {
	if len(callIDs) == 0 {
		return []string{}, nil
	}
	if s.closed.Load() {
		return nil, fmt.Errorf("delete call records: %w", records.ErrClosed)
	}
	rows, err := s.pool.Query(ctx, `DELETE FROM call_records WHERE sdk_app_id = $1 AND user_id = $2 AND call_id = ANY($3)
		RETURNING call_id`, sdkAppID, userID, callIDs)
	if err != nil {
		return nil, s.wrap("delete call records", err)
	}
	gone, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, s.wrap("delete call records", err)
	}
	return records.Deleted(callIDs, gone), nil
}

// wrap adds context to err and names ErrClosed when the store was closed meanwhile.
func (s *Store) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	if s.closed.Load() {
		return fmt.Errorf("%s: %w", what, records.ErrClosed)
	}
	return fmt.Errorf("%s: %w", what, err)
}
