//go:build !linux

package sfu

import "net"

// rxOOBSize is 0: kernel receive timestamps are read on Linux only (rxstamp_linux.go).
const rxOOBSize = 0

func enableRxTimestamps(*net.UDPConn) bool { return false }

func rxTimestamp([]byte) int64 { return 0 }

// Placeholders for the tests' messages (rxTimestamp reads none here).
const solSocket, scmTimestampNS = 1, 35
