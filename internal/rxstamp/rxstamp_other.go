//go:build !linux

package rxstamp

import (
	"errors"
	"net"
	"net/netip"
)

// OOBSize is 0: kernel receive timestamps are read on Linux only (rxstamp_linux.go).
const OOBSize = 0

// Enable is false: no kernel receive timestamps here.
func Enable(*net.UDPConn) bool { return false }

// Time is 0: no kernel receive timestamps here.
func Time([]byte) int64 { return 0 }

// Placeholders for tests that build messages (Time reads none here).
const SolSocket, ScmTimestampNS = 1, 35

// Reader is Linux's raw reader (rawread_linux.go); elsewhere NewReader gives none and the
// caller reads with Read.
type Reader struct{ Idle func() bool }

// ErrIdle is never returned here.
var ErrIdle = errors.New("rxstamp: no datagram waiting")

// NewReader is nil: reads go through the net package here.
func NewReader(*net.UDPConn, bool) *Reader { return nil }

// Read is never called on a nil Reader.
func (r *Reader) Read(b []byte) (int, netip.AddrPort, int64, error) {
	return 0, netip.AddrPort{}, 0, ErrIdle
}
