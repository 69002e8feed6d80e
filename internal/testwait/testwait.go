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
	pause := time.Millisecond
	for !cond() {
		select {
		case <-ctx.Done():
			if cond() { // the last chance: it may have come during the pause
				return
			}
			tb.Fatalf("timed out waiting for %s (%v)", what, context.Cause(ctx))
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
	}
}
