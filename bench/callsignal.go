package bench

import (
	"context"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// signalingSlot is one pair of the signaling-only calls mode (Scenario.SignalingOnly):
// it logs the pair in once, without media, and repeats signaling cycles on it until the
// run stops. A failed cycle (counted) closes the pair; the next cycle logs a new pair in
// after a second (not to spin on a failing server).
func (r *runner) signalingSlot(ctx context.Context, slot int, stop <-chan struct{}, firstDone chan<- struct{}) {
	var pair *callPair
	defer func() {
		if pair != nil {
			closeAll([]*participant{pair.caller, pair.callee})
		}
	}()
	for n := 0; ; n++ {
		var err error
		if pair == nil {
			pair, err = r.loginPair(ctx, slot, n)
		}
		if err == nil {
			err = r.signalingCycle(ctx, pair)
			if err != nil {
				closeAll([]*participant{pair.caller, pair.callee})
				pair = nil
			}
		}
		if n == 0 {
			firstDone <- struct{}{}
		}
		if !nextCycle(ctx, stop, err != nil) {
			return
		}
	}
}

// loginPair logs a caller and a callee in, without media; the failure is counted.
func (r *runner) loginPair(ctx context.Context, slot, n int) (*callPair, error) {
	r.mu.Lock()
	r.attempts += 2
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.JoinTimeout)
	defer cancel()
	pair, err := r.connectPair(ctx, slot, n, false)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.joined += 2
	r.mu.Unlock()
	return pair, nil
}

// signalingCycle is one call without media: call → invitation → accept → onCallBegin on
// both (the setup, counted for setups/s) → Hold → the caller hangs up → onCallEnd on
// both (the cycle). The failure is counted.
func (r *runner) signalingCycle(ctx context.Context, pair *callPair) error {
	s := r.cfg.Scenario
	r.mu.Lock()
	r.calls.attempted++
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.JoinTimeout)
	defer cancel()
	start := time.Now()
	stage, err := r.signalingSetup(ctx, pair)
	if err == nil {
		r.calls.setup.Record(time.Since(start))
		r.meter.setups.Add(1)
		r.mu.Lock()
		r.calls.succeeded++
		r.mu.Unlock()
		if s.Hold > 0 && !sleepCtx(ctx, s.Hold) {
			stage, err = "hold", ctx.Err()
		}
	}
	if err == nil {
		stage, err = endCall(ctx, pair)
	}
	if err != nil {
		r.cfg.Logger.Warn("call failed", "caller", pair.caller.id, "stage", stage, "err", err)
		cause := failureCause(stage, err)
		if protocol.ErrorCode(err) == protocol.CodeRateLimited {
			cause = stage + ": rate limited (6001): raise the server's limits.invitations_per_minute and _burst"
		}
		r.fail(cause)
		return err
	}
	r.calls.cycle.Record(time.Since(start))
	return nil
}

func (r *runner) signalingSetup(ctx context.Context, pair *callPair) (stage string, err error) {
	if _, err := pair.caller.conn.Call(ctx, pair.callee.id, callMediaType(r.cfg.Scenario), protocol.CallParams{}); err != nil {
		return "call", err
	}
	if _, err := pair.callee.conn.WaitCallReceived(ctx); err != nil {
		return "invitation", err
	}
	if err := pair.callee.conn.Accept(ctx, 0); err != nil {
		return "accept", err
	}
	for _, p := range []*participant{pair.caller, pair.callee} {
		if _, err := p.conn.WaitCallBegin(ctx); err != nil {
			return "onCallBegin", err
		}
	}
	return "", nil
}
