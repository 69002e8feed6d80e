package bench

import (
	"context"
	"sync"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// callPair is one running 1v1 call.
type callPair struct {
	caller, callee *participant
}

// callMeter holds the call figures; guarded by the runner's mu except the histogram.
type callMeter struct {
	setup     Histogram
	attempted int
	succeeded int
}

// runCalls keeps s.Calls call slots busy: each slot sets up a call (call → accept →
// media both ways), holds it (Hold, or until the measurement ends), hangs up, and starts
// again while the run lasts. Slots start at CallRate per second; the window starts once
// every slot's first call is set up (or failed) and the settle time passed.
func (r *runner) runCalls(ctx context.Context, rc *recorder) error {
	s := r.cfg.Scenario
	stop := make(chan struct{})
	firstDone := make(chan struct{}, s.Calls)
	var wg sync.WaitGroup
	defer wg.Wait()
	stopOnce := sync.OnceFunc(func() { close(stop) })
	defer stopOnce()
	rc.setPhase("calling")
	pace := time.NewTicker(time.Duration(float64(time.Second) / s.CallRate))
	defer pace.Stop()
	for slot := range s.Calls {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-pace.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.callSlot(ctx, slot, stop, firstDone)
		}()
	}
	for range s.Calls {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-firstDone:
		}
	}
	if r.noneJoined() {
		return errNoneJoined(r)
	}
	rc.setPhase("settling")
	if !sleepCtx(ctx, s.Settle) {
		return ctx.Err()
	}
	rc.measure(ctx)
	stopOnce()
	rc.setPhase("hanging up")
	return ctx.Err()
}

func (r *runner) callSlot(ctx context.Context, slot int, stop <-chan struct{}, firstDone chan<- struct{}) {
	s := r.cfg.Scenario
	for n := 0; ; n++ {
		pair, err := r.setupCall(ctx, slot, n)
		if n == 0 {
			firstDone <- struct{}{}
		}
		if err == nil {
			var hold <-chan time.Time // nil: hold until stop
			var timer *time.Timer
			if s.Hold > 0 {
				timer = time.NewTimer(s.Hold)
				hold = timer.C
			}
			select {
			case <-stop:
			case <-ctx.Done():
			case <-hold:
			}
			if timer != nil {
				timer.Stop()
			}
			r.hangup(pair)
		}
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		if err != nil && !sleepCtx(ctx, time.Second) { // do not spin on a failing server
			return
		}
	}
}

// setupCall runs one call up to media flowing both ways; the failure is counted.
func (r *runner) setupCall(ctx context.Context, slot, n int) (*callPair, error) {
	r.mu.Lock()
	r.calls.attempted++
	r.attempts += 2
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 2*r.cfg.JoinTimeout)
	defer cancel()
	caller, err := connect(ctx, r.target, r.userID("caller", slot, n))
	if err != nil {
		r.fail(failureCause("connect", err))
		return nil, err
	}
	callee, err := connect(ctx, r.target, r.userID("callee", slot, n))
	if err != nil {
		caller.close()
		r.fail(failureCause("connect", err))
		return nil, err
	}
	pair := &callPair{caller: caller, callee: callee}
	start := time.Now()
	if stage, err := r.establish(ctx, pair); err != nil {
		r.cfg.Logger.Warn("call failed", "slot", slot, "stage", stage, "err", err)
		r.fail(failureCause(stage, err))
		closeAll([]*participant{caller, callee})
		return nil, err
	}
	r.calls.setup.Record(time.Since(start))
	r.mu.Lock()
	r.calls.succeeded++
	r.joined += 2
	r.mu.Unlock()
	return pair, nil
}

// establish: call → invitation → accept → onCallBegin on both → both publish (and view
// each other's video) → media arrives on both sides.
func (r *runner) establish(ctx context.Context, pair *callPair) (stage string, err error) {
	s := r.cfg.Scenario
	mediaType := protocol.MediaTypeAudio
	if s.CallVideo {
		mediaType = protocol.MediaTypeVideo
	}
	if _, err := pair.caller.conn.Call(ctx, pair.callee.id, mediaType, protocol.CallParams{}); err != nil {
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
	what := Publishing{
		Audio: true, Video: s.CallVideo, VideoBitrate: s.VideoBitrate, Codec: client.VideoCodec(s.Codec),
		VideoFile: r.videoFile, AudioFile: r.audioFile,
	}
	errs := make(chan error, 2)
	for _, p := range []*participant{pair.caller, pair.callee} {
		go func() { errs <- p.publish(ctx, what) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			return "publish", err
		}
	}
	if s.CallVideo {
		if err := pair.caller.view(ctx, pair.callee.id, 0, 0); err != nil {
			return "startRemoteView", err
		}
		if err := pair.callee.view(ctx, pair.caller.id, 0, 0); err != nil {
			return "startRemoteView", err
		}
	}
	for _, p := range []*participant{pair.caller, pair.callee} {
		if err := p.waitMedia(ctx); err != nil {
			return "media", err
		}
	}
	return "", nil
}

// hangup ends the call from the caller's side and waits for onCallEnd on both.
func (r *runner) hangup(pair *callPair) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.JoinTimeout)
	defer cancel()
	if err := pair.caller.conn.Hangup(ctx); err != nil {
		r.fail(failureCause("hangup", err))
	} else {
		for _, p := range []*participant{pair.caller, pair.callee} {
			if _, err := p.conn.WaitCallEnd(ctx); err != nil {
				r.fail(failureCause("onCallEnd", err))
			}
		}
	}
	closeAll([]*participant{pair.caller, pair.callee})
}
