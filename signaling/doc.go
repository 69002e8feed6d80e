// Package signaling is Parley's signaling plane: JSON-RPC 2.0 over WebSocket (GET /ws),
// login with a signed userSig, and the session layer that maps the call service
// (package signaling/call, a pure state machine) onto rooms (package room).
//
// Ownership:
//   - Server and Conn own the sockets: per connection a reader goroutine, a dispatch
//     goroutine that runs requests one at a time in arrival order, and a writer goroutine
//     draining a bounded queue. Answers take at most replyWindow places of that queue:
//     when they are all taken the dispatcher waits, then the reader (back-pressure on a
//     pipelining client). A connection must log in within signaling.login_timeout.
//   - limits.go holds the rate limits (token buckets per client IP, per user, per
//     session) and maps the media plane's limit errors to 4009/4010.
//   - Service owns one tenant per configured app (SDKAppID): its call machine, its user
//     registry (userId → sessions) and its invitation deadline timer; plus the resume
//     table and room presence, all under Service.mu. A user is (SDKAppID, userId) and a
//     room is room.ID in its app (D26). Every machine input runs under that lock; its
//     output is queued on the sessions' effects (effects.go: room joins/leaves, events,
//     record writes) and carried out after the lock is released, in each session's order.
//   - profiles.go: the ProfileStore keeps each user's nickname, avatar and multi-device
//     flag beyond its sessions (D54): MemoryProfiles (its own mutex) on one node, a Redis
//     hash per user in a cluster. It is read by a login before Service.mu and written
//     from the session's effects queue, never under Service.mu.
//   - presence.go: in a cluster the node holding a logged-in WebSocket records it in Redis
//     (D100). connSession.present is touched only by the connection's dispatch goroutine
//     and then by HandleClose, which runs after it ended; the writes never hold Service.mu.
//   - rights.go decides who may enter which room (D27): a call's users only, or a room
//     grant, or any user of an app with open_rooms.
//   - session is one logged-in presence of a user; it outlives its socket for
//     signaling.reconnect_grace (resume with the login's resumeToken). Its fields are
//     guarded by session.mu, taken after Service.mu.
//   - Room events arrive on each room's event goroutine (room.Listener) and take
//     Service.mu; nothing that holds Service.mu waits for a room event goroutine.
//   - In a cluster (relay*.go, D50–D53) a connection whose app another node owns is
//     relayed there; the owner's sessions hold a participant (rooms.go): a
//     *room.Participant of this node's room.Manager, or with cluster.room_placement
//     "load" a remoteParticipant whose room runs on another node (placement.go, D95;
//     its requests wait for the media node's answer on the caller's goroutine), or a
//     deferredParticipant of a call's room placed at its first media request
//     (placement_defer.go, D187; that request joins the waiting members first). The
//     media node hosts them (media_host.go): each hosted participant's requests run on
//     its own serial queue, and its messages to an owner (answers, negotiation, room
//     events) on one serial queue per owner, in order. placement.mu guards the maps of
//     both sides; it is taken after Service.mu, never before. A WHIP or WHEP POST that
//     reaches a node which does not hold the room is redirected (307) to the one that
//     does (whip_route.go, D119), on the request's goroutine.
//   - recordings_cluster.go: the cluster's side of recording (D124, D125). The owner's
//     requests to a media node (record, unrecord) go on one serial queue per node
//     (placement.toNode); the media node hands them to Deps.Recorder on the inbox
//     goroutine (it only queues). A list asks every live node in parallel on the
//     caller's goroutine and waits for their answers, bounded by its context.
//   - Verifier (auth.go, grant.go) is immutable after NewVerifier: it checks userSigs and
//     room grants (HS256 JWTs signed with the app's secret; a grant carries typ "room",
//     so neither is accepted as the other) and knows which apps have open_rooms.
//
// The wire types live in signaling/protocol (the Go client imports only that package);
// PROTOCOL.md documents every method, event and error code.
package signaling
