package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// callPair is one running 1v1 call.
type callPair struct {
	caller, callee *participant
}

// callMeter holds the call figures: the counts are guarded by the runner's mu, the
// histograms are lock-free.
type callMeter struct {
	setup Histogram // call request → media both ways (signaling only: → onCallBegin on both)
	cycle Histogram // signaling only: call request → onCallEnd on both
	// accept sent → first packet of the other party's audio, video, keyframe, that
	// keyframe complete (decodable), and its first packet of either kind; per side
	acceptAudio, acceptVideo, acceptKeyframe, acceptDecodable, acceptFirstRTP Histogram
	// accept sent → onCallBegin, → the first subscriber offer after it; per side
	acceptBegin, acceptOffer Histogram
	attempted                int
	succeeded                int
	mediaBeforeAccept        int
	prepared                 int // early media: sides that prepared before the accept
	notPreConnected          int // early media: sides whose subscriber was not connected at the accept
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
			if s.SignalingOnly {
				r.signalingSlot(ctx, slot, stop, firstDone)
			} else {
				r.callSlot(ctx, slot, stop, firstDone)
			}
		}()
	}
	for range s.Calls {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-firstDone:
		}
	}
	if err := r.settleAndMeasure(ctx, rc); err != nil {
		return err
	}
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
		if !nextCycle(ctx, stop, err != nil) {
			return
		}
	}
}

// nextCycle reports whether a slot goes on: not once the run stops or ends, and after a
// failure only after a second (not to spin on a failing server).
func nextCycle(ctx context.Context, stop <-chan struct{}, failed bool) bool {
	select {
	case <-stop:
		return false
	case <-ctx.Done():
		return false
	default:
	}
	return !failed || sleepCtx(ctx, time.Second)
}

// setupCall runs one call up to media flowing both ways; the failure is counted.
func (r *runner) setupCall(ctx context.Context, slot, n int) (*callPair, error) {
	r.mu.Lock()
	r.calls.attempted++
	r.attempts += 2
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 2*r.cfg.JoinTimeout)
	defer cancel()
	pair, err := r.connectPair(ctx, slot, n, true)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if stage, err := r.establish(ctx, pair); err != nil {
		r.cfg.Logger.Warn("call failed", "slot", slot, "stage", stage, "err", err)
		r.fail(failureCause(stage, err))
		closeAll([]*participant{pair.caller, pair.callee})
		return nil, err
	}
	r.calls.setup.Record(time.Since(start))
	r.meter.setups.Add(1)
	r.mu.Lock()
	r.calls.succeeded++
	r.joined += 2
	r.mu.Unlock()
	return pair, nil
}

// connectPair connects and logs in a caller and a callee (with their receivers when
// media); the failure is counted.
func (r *runner) connectPair(ctx context.Context, slot, n int, media bool) (*callPair, error) {
	caller, err := connect(ctx, r.node(r.memberNode(slot, 0)), r.userID("caller", slot, n), media)
	if err != nil {
		r.fail(failureCause("connect", err))
		return nil, err
	}
	callee, err := connect(ctx, r.node(r.memberNode(slot, 1)), r.userID("callee", slot, n), media)
	if err != nil {
		caller.close()
		r.fail(failureCause("connect", err))
		return nil, err
	}
	return &callPair{caller: caller, callee: callee}, nil
}

// establish: call → invitation → (early media: both prepareCall, view and publish) →
// accept → onCallBegin on both → (otherwise: both publish and view each other's video) →
// the other party's media reaches each side, timed from the accept.
func (r *runner) establish(ctx context.Context, pair *callPair) (stage string, err error) {
	s := r.cfg.Scenario
	what := Publishing{
		Audio: true, Video: s.CallVideo, VideoBitrate: s.VideoBitrate, Codec: client.VideoCodec(s.Codec),
		VideoFile: r.videoFile, AudioFile: r.audioFile,
	}
	call, err := pair.caller.conn.Call(ctx, pair.callee.id, callMediaType(s), protocol.CallParams{})
	if err != nil {
		return "call", err
	}
	if stage, err := r.ring(ctx, pair, call.CallID, what); err != nil {
		return stage, err
	}
	acceptAt := time.Now()
	if err := pair.callee.conn.Accept(ctx, 0); err != nil {
		return "accept", err
	}
	for _, p := range []*participant{pair.caller, pair.callee} {
		if _, err := p.conn.WaitCallBegin(ctx); err != nil {
			return "onCallBegin", err
		}
	}
	if !s.EarlyMedia {
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
	}
	if err := r.firstMedia(ctx, pair, acceptAt); err != nil {
		return "media", err
	}
	return "", nil
}

// ring waits for the callee's invitation to callID. With early media, the caller (from
// the call on) and the callee (from the invitation on) each prepare the call, view the
// other's video and publish, at once; ring returns when both publishers are connected.
func (r *runner) ring(ctx context.Context, pair *callPair, callID string, what Publishing) (stage string, err error) {
	early := r.cfg.Scenario.EarlyMedia
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		stage string
		err   error
	}
	callerDone := make(chan result, 1)
	if early {
		go func() {
			stage, err := r.prepare(ctx, pair.caller, callID, pair.callee.id, what)
			callerDone <- result{stage, err}
		}()
	} else {
		callerDone <- result{}
	}
	callee := func() (string, error) {
		inv, err := pair.callee.conn.WaitCallReceived(ctx)
		if err != nil {
			return "invitation", err
		}
		if inv.CallID != callID {
			return "invitation", fmt.Errorf("bench: %s invited to call %q, not %q", pair.callee.id, inv.CallID, callID)
		}
		if !early {
			return "", nil
		}
		return r.prepare(ctx, pair.callee, callID, pair.caller.id, what)
	}
	stage, err = callee()
	if err != nil {
		cancel() // the caller's preparation is moot
	}
	res := <-callerDone
	if err == nil && res.err != nil {
		stage, err = res.stage, res.err
	}
	return stage, err
}

// ringLimit bounds how long an early-media call rings, after both publishers are
// connected, for each side's subscriber PeerConnection to connect (the server offers a
// pre-connected one while the call rings): a ringing phone gives it seconds.
const ringLimit = 2 * time.Second

// prepare is one side's early media: prepareCall, startRemoteView of the other party's
// video (a video call), publish (until the publisher PeerConnection is connected), then
// up to ringLimit for the subscriber PeerConnection to connect; when it does not, the
// call is counted in notPreConnected and goes on.
func (r *runner) prepare(ctx context.Context, p *participant, callID, other string, what Publishing) (stage string, err error) {
	if _, err := p.conn.PrepareCall(ctx, callID); err != nil {
		return "prepareCall", err
	}
	if what.Video {
		if err := p.view(ctx, other, 0, 0); err != nil {
			return "startRemoteView", err
		}
	}
	if err := p.publish(ctx, what); err != nil {
		return "publish", err
	}
	ring := time.NewTimer(ringLimit)
	defer ring.Stop()
	preConnected := true
	select {
	case <-p.recv.connected:
	case <-ring.C:
		preConnected = false
	case <-ctx.Done():
		return "ring", ctx.Err()
	}
	r.mu.Lock()
	r.calls.prepared++
	if !preConnected {
		r.calls.notPreConnected++
	}
	r.mu.Unlock()
	return "", nil
}

// firstMedia waits until each side has received the other party's first audio packet
// and, in a video call, its first video packet and first keyframe, and records each
// time from acceptAt (a packet before the accept is counted, and recorded as 0).
func (r *runner) firstMedia(ctx context.Context, pair *callPair, acceptAt time.Time) error {
	type awaited struct {
		kind arrivalKind
		hist *Histogram
	}
	kinds := []awaited{{arrivedAudio, &r.calls.acceptAudio}}
	if r.cfg.Scenario.CallVideo {
		kinds = append(kinds, awaited{arrivedVideo, &r.calls.acceptVideo}, awaited{arrivedKeyframe, &r.calls.acceptKeyframe},
			awaited{arrivedDecodable, &r.calls.acceptDecodable})
	}
	type sample struct {
		hist *Histogram
		d    time.Duration
	}
	var samples []sample
	early := 0
	for _, side := range [][2]*participant{{pair.caller, pair.callee}, {pair.callee, pair.caller}} {
		var first time.Time // the first packet of the other party's, audio or video
		for _, k := range kinds {
			at, err := side[0].arrivals.wait(ctx, side[1].id, k.kind)
			if err != nil {
				return fmt.Errorf("bench: %s: %w", side[0].id, err)
			}
			d := at.Sub(acceptAt)
			if d < 0 && k.kind != arrivedDecodable {
				early++
			}
			samples = append(samples, sample{k.hist, d})
			if (k.kind == arrivedAudio || k.kind == arrivedVideo) && (first.IsZero() || at.Before(first)) {
				first = at
			}
		}
		samples = append(samples, sample{&r.calls.acceptFirstRTP, first.Sub(acceptAt)})
		// Where the time went: the signaling that came before the media.
		for _, sig := range []struct {
			name string
			hist *Histogram
		}{{protocol.EventCallBegin, &r.calls.acceptBegin}, {protocol.MethodOffer, &r.calls.acceptOffer}} {
			if at, ok := firstEventAfter(side[0].conn.Events(), sig.name, acceptAt); ok {
				samples = append(samples, sample{sig.hist, at.Sub(acceptAt)})
			}
		}
	}
	for _, s := range samples {
		s.hist.Record(s.d)
	}
	r.mu.Lock()
	r.calls.mediaBeforeAccept += early
	r.mu.Unlock()
	return nil
}

// firstEventAfter is when the first notification named name at or after t arrived.
func firstEventAfter(events []client.Event, name string, t time.Time) (time.Time, bool) {
	for _, ev := range events {
		if ev.Name == name && !ev.Received.Before(t) {
			return ev.Received, true
		}
	}
	return time.Time{}, false
}

// hangup ends the call from the caller's side, waits for onCallEnd on both and closes
// both participants.
func (r *runner) hangup(pair *callPair) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.JoinTimeout)
	defer cancel()
	if stage, err := endCall(ctx, pair); err != nil {
		r.fail(failureCause(stage, err))
	}
	closeAll([]*participant{pair.caller, pair.callee})
}

// endCall: the caller hangs up; onCallEnd reaches both.
func endCall(ctx context.Context, pair *callPair) (stage string, err error) {
	if err := pair.caller.conn.Hangup(ctx); err != nil {
		return "hangup", err
	}
	for _, p := range []*participant{pair.caller, pair.callee} {
		if _, err := p.conn.WaitCallEnd(ctx); err != nil {
			return "onCallEnd", err
		}
	}
	return "", nil
}

// callMediaType is the media type the scenario's calls are made with.
func callMediaType(s Scenario) protocol.MediaType {
	if s.CallVideo {
		return protocol.MediaTypeVideo
	}
	return protocol.MediaTypeAudio
}
