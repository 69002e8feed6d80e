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
//   - Service owns the call machine, the user registry (userId → sessions), the resume
//     table and the invitation deadline timer, all under Service.mu. Every machine input
//     runs under that lock and its output (room joins/leaves, events, records, hooks) is
//     carried out before the lock is released, so events keep the machine's order.
//   - session is one logged-in presence of a user; it outlives its socket for
//     signaling.reconnect_grace (resume with the login's resumeToken). Its fields are
//     guarded by session.mu, taken after Service.mu.
//   - Room events arrive on each room's event goroutine (room.Listener) and take
//     Service.mu; nothing that holds Service.mu waits for a room event goroutine.
//
// The wire types live in signaling/protocol (the Go client imports only that package);
// PROTOCOL.md documents every method, event and error code.
package signaling
