// Package cluster joins Parley nodes through Redis (docs/architecture.md, "Cluster";
// docs/decisions.md D50–D53): the node registry (each node's signaling URL, media address,
// region, load and draining flag under a key with a TTL that a heartbeat renews), the
// tenant ownership leases (which node runs an app's call machine and, unless rooms
// are placed by load, its rooms: PlaceRoom picks a room's node, D95, and counts what it
// placed on each node until that node's registration includes it, pending.go, D158), each
// node's inbox (a Redis Stream other nodes append messages to, read in order), the
// users' profile hashes (profile.go: read and written by the caller's goroutine) and the
// users' presence hashes (presence.go, D100: which node holds each logged-in WebSocket;
// the node's own entries are kept in memory under presenceTable.mu, and every write of
// them to Redis — the caller's, or the heartbeat's renewal — runs under presenceTable.flush).
//
// It knows nothing of signaling: package signaling imports it, never the other way.
//
// Concurrency: a Cluster is safe for concurrent use. Start starts two goroutines: the
// heartbeat (registers the node, renews its leases, notices nodes that died and calls
// the gone callbacks) and the inbox reader (hands messages to the handler one at a time,
// in stream order). Close stops both and waits for them. mu guards the fields it names.
package cluster
