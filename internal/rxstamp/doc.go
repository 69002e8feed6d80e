// Package rxstamp reads kernel receive timestamps of UDP datagrams (SO_TIMESTAMPNS on
// Linux) and keeps the arrival time of each RTP packet by SSRC and sequence number, so
// that transport-wide congestion control feedback reports when a packet reached the
// host, not when a (possibly starved) goroutine got to read it (docs/decisions.md, D60
// for the server, D116 for the Go client SDK). Used by sfu (the Engine's socket) and
// client (a PeerConnection's own socket).
//
// Goroutines: Conn's reads run on the socket's read goroutine and write a Table; a
// Table is read lock-free by any goroutine.
package rxstamp
