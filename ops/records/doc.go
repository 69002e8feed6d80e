// Package records holds what Parley's call-history stores share: the `records` config
// section (records.driver chooses SQLite or PostgreSQL), the Store interface that
// cmd/parley serves to signaling (queryRecentCalls, deleteRecordCalls) and to the admin
// API (GET /api/v1/calls), the Filter of that API, and the Writer that takes record
// writes off the signaling path.
//
// The drivers live beside it: ops/sqlrecords (SQLite, one node) and ops/pgrecords
// (PostgreSQL, shared by every node of a cluster); cmd/parley opens the one the config
// names and wraps it in a Writer. The store tests in this package run against both
// drivers (docs/decisions.md D47, D48).
//
// Ownership: a Writer's queue is guarded by its mutex; one goroutine, started when the
// queue gets work and ended when it runs dry, writes it to the store in order. Close
// waits for that goroutine, so nothing queued before Close is lost.
package records
