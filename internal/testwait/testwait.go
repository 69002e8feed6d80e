package testwait

import (
	"context"
	"testing"
	"time"
)

// maxPause bounds the pause between two polls; the first pause is 1 ms, doubling.
const maxPause = 20 * time.Millisecond

// For polls cond until it holds; when timeout passes first it fails tb naming what.
func For(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	Until(tb, ctx, what, cond)
}

// Until polls cond until it holds; when ctx ends first it fails tb naming what.
func Until(tb testing.TB, ctx context.Context, what string, cond func() bool) {
	tb.Helper()
	if !Poll(ctx, cond) {
		tb.Fatalf("timed out waiting for %s (%v)", what, context.Cause(ctx))
	}
}

// Poll polls cond until it holds (true) or ctx ends first (false): for a test that, when
// the wait runs out, fails with its own account of what it saw.
func Poll(ctx context.Context, cond func() bool) bool {
	pause := time.Millisecond
	for !cond() {
		select {
		case <-ctx.Done():
			return cond() // the last chance: it may have come during the pause
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
	}
	return true
}
