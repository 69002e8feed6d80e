// Package cluster joins Parley nodes through Redis (docs/architecture.md, "Cluster";
// docs/decisions.md D50–D53): the node registry (each node's signaling URL, media address,
// region, load and draining flag under a key with a TTL that a heartbeat renews), the
// tenant ownership leases (which node runs an app's call machine and, unless rooms
// are placed by load, its rooms: PlaceRoom picks a room's node, D95), each
// node's inbox (a Redis Stream other nodes append messages to, read in order) and the
// users' profile hashes (profile.go: read and written by the caller's goroutine).
//
// It knows nothing of signaling: package signaling imports it, never the other way.
//
// Concurrency: a Cluster is safe for concurrent use. Start starts two goroutines: the
// heartbeat (registers the node, renews its leases, notices nodes that died and calls
// the gone callbacks) and the inbox reader (hands messages to the handler one at a time,
// in stream order). Close stops both and waits for them. mu guards the fields it names.
package cluster
