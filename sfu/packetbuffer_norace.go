//go:build !race

package sfu

import "sync/atomic"

// seqlockCopy copies a packetBuffer slot's payload (see packetBuffer), then orders the
// copy before the caller's second gen load: Go's atomic operations are sequentially
// consistent among themselves, but a plain load may pass a later atomic load on weakly
// ordered CPUs (arm64), while no load passes a read-modify-write. The fence word is the
// caller's own (on its stack), so it costs no contention.
func seqlockCopy(dst, src []byte) {
	copy(dst, src)
	var fence atomic.Uint32
	fence.Add(0)
}
