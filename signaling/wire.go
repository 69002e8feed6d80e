package signaling

import "log/slog"

// wire is what a session needs of its connection: a WebSocket (*Conn), or on the node
// that owns the session's tenant a connection another node relays (relay_owner.go).
type wire interface {
	// enqueue queues an encoded message without blocking (a full queue closes the wire).
	enqueue(frame []byte) error
	// Close closes the connection gracefully with a WebSocket close code.
	Close(code int, reason string)
	Logger() *slog.Logger
	// RemoteAddr is the client's address (ip:port).
	RemoteAddr() string
	// SetLoggedIn tells the connection whether its session is logged in (login deadline).
	SetLoggedIn(loggedIn bool)
}

var _ wire = (*Conn)(nil)
