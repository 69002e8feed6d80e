package sfu

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// gsoSupported: Linux takes UDP_SEGMENT (generic segmentation offload for UDP, since
// 4.18); a kernel or device that refuses it makes the first such write fail, after which
// the batchWriter stops asking (batchgso.go).
const gsoSupported = true

// gsoControlLen is the size of one UDP_SEGMENT control message.
var gsoControlLen = unix.CmsgSpace(2)

// putGSOControl writes into b (gsoControlLen bytes) the control message that has the
// kernel cut one datagram's payload into segments of size bytes.
func putGSOControl(b []byte, size int) {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(size))
}
