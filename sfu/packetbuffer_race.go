//go:build race

package sfu

import (
	"sync/atomic"
	"unsafe"
)

// seqlockCopy copies a packetBuffer slot's payload (see packetBuffer) without telling
// the race detector: the copy may overlap a rewrite of the slot, which the seqlock's gen
// check detects and throws away, so the race is by design. Everything else about the
// slot (gen, the packed metadata) is atomic and still checked.
func seqlockCopy(dst, src []byte) {
	if len(dst) > 0 {
		memmove(unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0]), uintptr(len(dst)))
	}
	var fence atomic.Uint32 // as in packetbuffer_norace.go
	fence.Add(0)
}

//go:linkname memmove runtime.memmove
//go:noescape
func memmove(to, from unsafe.Pointer, n uintptr)
