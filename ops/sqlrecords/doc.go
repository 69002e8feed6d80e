// Package sqlrecords keeps the call history (signaling.RecordStore) in SQLite through the
// pure-Go github.com/ncruces/go-sqlite3 driver (SQLite translated to Go), so the server
// stays a static CGO_ENABLED=0 binary; docs/decisions.md ("SQLite driver") says why this
// driver.
//
// It sits beside signaling, not inside it: signaling owns the RecordStore interface and an
// in-memory implementation; cmd/parley chooses this store and also serves its List to the
// admin HTTP API.
//
// Ownership: a Store is safe for concurrent use; database/sql's pool owns the connections
// and SQLite serialises writers (WAL mode, a busy timeout). The file's schema is created
// on Open. Add runs on the signaling call path (under the Service lock), so it is a single
// short transaction.
package sqlrecords
