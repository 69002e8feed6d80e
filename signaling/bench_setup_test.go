package signaling_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// BenchmarkCallSetupParallel: many pairs of users at once over real loopback WebSockets,
// signaling only. Each pair logs in once, then every iteration is one call: call →
// onCallReceived → accept → onCallBegin (both) → hangup → onCallEnd (both). Reports
// setups/s over all pairs (-cpu and -test.parallelism choose the number of pairs:
// GOMAXPROCS × parallelism).
func BenchmarkCallSetupParallel(b *testing.B) {
	for _, pairsPerProc := range []int{1, 8, 32} {
		b.Run("pairs-per-cpu-"+strconv.Itoa(pairsPerProc), func(b *testing.B) {
			st := newStack(b, manyInvitations)
			var next atomic.Int64
			b.SetParallelism(pairsPerProc)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				n := strconv.FormatInt(next.Add(1), 10)
				caller, callee := st.loginB(b, "caller"+n), st.loginB(b, "callee"+n)
				for pb.Next() {
					callCycle(b, caller, callee)
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "setups/s")
		})
	}
}

// loginB dials and logs userID in (for benchmarks: no *testing.T).
func (st *stack) loginB(b *testing.B, userID string) *client.Conn {
	c := st.dial(b)
	if _, err := c.Login(context.Background(), signaling.DevSDKAppID, userID, sig(b, userID, time.Hour)); err != nil {
		b.Error(err)
	}
	return c
}

// callCycle is one whole 1v1 call between logged-in users, signaling only.
func callCycle(b *testing.B, caller, callee *client.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	steps := []func() error{
		func() error {
			_, err := caller.Call(ctx, callee.UserID(), protocol.MediaTypeAudio, protocol.CallParams{})
			return err
		},
		func() error { _, err := callee.WaitCallReceived(ctx); return err },
		func() error { return callee.Accept(ctx, 0) },
		func() error { _, err := caller.WaitCallBegin(ctx); return err },
		func() error { _, err := callee.WaitCallBegin(ctx); return err },
		func() error { return caller.Hangup(ctx) },
		func() error { _, err := caller.WaitCallEnd(ctx); return err },
		func() error { _, err := callee.WaitCallEnd(ctx); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			b.Error(err)
			return
		}
	}
}
