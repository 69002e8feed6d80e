package testwait

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a testing.TB whose Fatalf records the message and stops the goroutine, as
// the real one does.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = format
	for _, a := range args {
		if s, ok := a.(string); ok {
			r.msg += " " + s
		}
	}
	panic(r)
}

// run calls f with a recorder and reports what it failed with ("" when it did not).
func run(f func(tb testing.TB)) (msg string) {
	r := &recorder{}
	defer func() {
		if p := recover(); p != nil && p != any(r) {
			panic(p)
		}
		msg = r.msg
	}()
	f(r)
	return ""
}

func TestForAndUntil(t *testing.T) {
	tests := []struct {
		name     string
		wait     func(tb testing.TB, cond func() bool)
		holdsAt  int32 // the poll from which cond holds; 0 never
		wantFail bool
	}{
		{"holds at once", func(tb testing.TB, c func() bool) { For(tb, time.Second, "x", c) }, 1, false},
		{"holds after a few polls", func(tb testing.TB, c func() bool) { For(tb, 10*time.Second, "x", c) }, 5, false},
		{"never holds", func(tb testing.TB, c func() bool) { For(tb, 50*time.Millisecond, "the thing", c) }, 0, true},
		{"context ends", func(tb testing.TB, c func() bool) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			Until(tb, ctx, "the thing", c)
		}, 0, true},
		{"poll holds after a few polls", func(tb testing.TB, c func() bool) {
			if !Poll(context.Background(), c) {
				tb.Fatalf("Poll false for the thing")
			}
		}, 5, false},
		{"poll runs out without failing", func(tb testing.TB, c func() bool) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if Poll(ctx, c) {
				tb.Fatalf("Poll true for the thing")
			}
		}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var polls atomic.Int32
			cond := func() bool { return tt.holdsAt > 0 && polls.Add(1) >= tt.holdsAt }
			msg := run(func(tb testing.TB) { tt.wait(tb, cond) })
			if got := msg != ""; got != tt.wantFail {
				t.Fatalf("failed %v (%q), want %v", got, msg, tt.wantFail)
			}
			if tt.wantFail && !strings.Contains(msg, "the thing") {
				t.Fatalf("failure %q does not name what it waited for", msg)
			}
		})
	}
}
