// Package pgrecords keeps the call history (records.Store) in PostgreSQL through
// github.com/jackc/pgx/v5 (its pgxpool), so every node of a cluster reads and writes the
// same records: queryRecentCalls, GET /api/v1/calls and the webhooks' records give the
// same answers from any node (docs/decisions.md D47).
//
// It answers exactly like ops/sqlrecords (the store tests of ops/records run against
// both): the same table and columns, sdk_app_id as the tenancy column (D26), newest
// first with insertion order breaking ties.
//
// Ownership: a Store is safe for concurrent use; the pgxpool owns the connections. Open
// creates the schema under a transaction-scoped advisory lock, so nodes starting together
// on an empty database do not race. Add is one transaction (one batch of the
// records.Writer that cmd/parley puts in front of it).
package pgrecords
