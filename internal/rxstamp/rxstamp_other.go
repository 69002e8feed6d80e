//go:build !linux

package rxstamp

import "net"

// OOBSize is 0: kernel receive timestamps are read on Linux only (rxstamp_linux.go).
const OOBSize = 0

// Enable is false: no kernel receive timestamps here.
func Enable(*net.UDPConn) bool { return false }

// Time is 0: no kernel receive timestamps here.
func Time([]byte) int64 { return 0 }

// Placeholders for tests that build messages (Time reads none here).
const SolSocket, ScmTimestampNS = 1, 35
