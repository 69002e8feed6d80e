//go:build linux

package rxstamp

import (
	"encoding/binary"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// Kernel receive timestamps (Linux): with SO_TIMESTAMPNS on, every datagram comes with
// the time the kernel received it (CLOCK_REALTIME, as time.Now). A packet's arrival
// stamp is then the kernel's, not the moment a read goroutine got to it: in a process
// that is stalled (descheduled, a stop-the-world pause) the datagrams wait in the socket
// buffer, and stamping them when the process reads them again would report the stall to
// the sender as a queue on its link.

// OOBSize holds one SCM_TIMESTAMPNS control message (a cmsghdr and a timespec).
const OOBSize = 64

// Enable turns SO_TIMESTAMPNS on for conn; false when the kernel refuses.
func Enable(conn *net.UDPConn) bool {
	raw, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}

// Time is the kernel receive time (UnixNano) in the control messages oob, 0 when there
// is none. Parsed in place (no allocation); only 64-bit layouts (a 16-byte cmsghdr and
// timespec) are read, others give 0.
func Time(oob []byte) int64 {
	const hdr = 16 // cmsghdr: len uint64, level int32, type int32
	if unix.SizeofCmsghdr != hdr {
		return 0
	}
	for len(oob) >= hdr {
		n := int(binary.NativeEndian.Uint64(oob))
		if n < hdr || n > len(oob) {
			return 0
		}
		level := int32(binary.NativeEndian.Uint32(oob[8:]))
		typ := int32(binary.NativeEndian.Uint32(oob[12:]))
		if level == unix.SOL_SOCKET && typ == unix.SCM_TIMESTAMPNS && n >= hdr+16 {
			sec := int64(binary.NativeEndian.Uint64(oob[hdr:]))
			nsec := int64(binary.NativeEndian.Uint64(oob[hdr+8:]))
			return sec*int64(time.Second) + nsec
		}
		oob = oob[min((n+7)&^7, len(oob)):] // CMSG_ALIGN
	}
	return 0
}

// The control message's level and type (for tests that build messages).
const SolSocket, ScmTimestampNS = unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS
