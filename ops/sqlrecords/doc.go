// Package sqlrecords keeps the call history (records.Store) in SQLite through the
// pure-Go github.com/ncruces/go-sqlite3 driver (SQLite translated to Go), so the server
// stays a static CGO_ENABLED=0 binary; docs/decisions.md ("SQLite driver") says why this
// driver.
//
// It sits beside signaling, not inside it: signaling owns the RecordStore interface and an
// in-memory implementation, ops/records the Store interface this store and ops/pgrecords
// share (with their SQL helpers and the tests that run against both); cmd/parley chooses
// this store for records.driver sqlite and also serves its List to the admin HTTP API.
//
// Ownership: a Store is safe for concurrent use; database/sql's pool owns the connections
// and SQLite serialises writers (WAL mode, a busy timeout). The file's schema is created
// on Open. Add is a single short transaction (one batch of the records.Writer that
// cmd/parley puts in front of it).
package sqlrecords
