package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// recorder samples the server and the meter every second for the report's series and
// the progress line, and takes the snapshots that bound the measurement window. Its
// sampling goroutine (start..stop) owns series and last; mu guards what the scenario
// goroutine sets (phase, window snapshots) and the series handed to the report.
type recorder struct {
	r    *runner
	rep  *Report
	stop func()

	mu          sync.Mutex
	phase       string
	series      []Sample
	windowStart *windowEdge
	windowEnd   *windowEdge
	first       ServerSample
	lastServer  ServerSample
	// final is a look at the server after the run (stop): the calls' timeline is the
	// server's histogram from first to final.
	final ServerSample
}

// windowEdge is the state at the start or end of the measurement window.
type windowEdge struct {
	counters counters
	server   ServerSample   // the nodes' sum
	nodes    []ServerSample // each node's
	selfCPU  float64
	// busy and total jiffies of the whole machine (0 when unknown)
	machineBusy, machineTotal uint64
}

func newRecorder(r *runner, rep *Report) *recorder {
	return &recorder{r: r, rep: rep, phase: "starting"}
}

func (rc *recorder) start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	rc.first, _ = rc.r.probe.sample(ctx)
	go func() {
		defer close(done)
		ticker := time.NewTicker(sampleInterval)
		defer ticker.Stop()
		prev := rc.r.meter.snapshot(time.Now())
		prevServer := rc.first
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			now := rc.r.meter.snapshot(time.Now())
			srv, _ := rc.r.probe.sample(ctx)
			s := makeSample(prev, now, prevServer, srv, rc.first.At)
			rc.mu.Lock()
			rc.series = append(rc.series, s)
			rc.lastServer = srv
			phase := rc.phase
			rc.mu.Unlock()
			rc.progress(phase, s)
			prev, prevServer = now, srv
		}
	}()
	rc.stop = func() {
		cancel()
		<-done
		if rc.r.cfg.Scenario.Kind == KindCalls {
			final, _ := rc.r.probe.sample(context.WithoutCancel(ctx))
			rc.mu.Lock()
			rc.final = final
			rc.mu.Unlock()
		}
		if rc.r.cfg.Progress != nil {
			fmt.Fprintln(rc.r.cfg.Progress)
		}
	}
}

func makeSample(prev, now counters, prevServer, srv ServerSample, t0 time.Time) Sample {
	dt := now.at.Sub(prev.at).Seconds()
	s := Sample{T: now.at.Sub(t0).Seconds(), RSSMB: -1, Goroutines: srv.Goroutines, ServerCPU: -1}
	if dt > 0 {
		s.RxPacketsPerSec = float64(now.packets-prev.packets) / dt
		s.RxMbps = float64(now.bytes-prev.bytes) * 8 / dt / 1e6
		if srv.CPUSeconds >= 0 && prevServer.CPUSeconds >= 0 {
			s.ServerCPU = (srv.CPUSeconds - prevServer.CPUSeconds) / dt * 100
		}
	}
	s.LossPercent = lossPercent(prev, now)
	if srv.RSSBytes >= 0 {
		s.RSSMB = float64(srv.RSSBytes) / (1 << 20)
	}
	return s
}

// lossPercent is the share of the packets expected between a and b that did not arrive.
func lossPercent(a, b counters) float64 {
	expected := b.expected - a.expected
	received := b.packets - b.padding - (a.packets - a.padding)
	if expected == 0 || received >= expected {
		return 0
	}
	return float64(expected-received) / float64(expected) * 100
}

func (rc *recorder) progress(phase string, s Sample) {
	w := rc.r.cfg.Progress
	if w == nil {
		return
	}
	rc.r.mu.Lock()
	joined, target := rc.r.joined, rc.r.cfg.Scenario.participants()
	rc.r.mu.Unlock()
	cpu := "n/a"
	if s.ServerCPU >= 0 {
		cpu = fmt.Sprintf("%.0f%%", s.ServerCPU)
	}
	fmt.Fprintf(w, "\r\x1b[K[%s %5.0fs] joined %d/%d  rx %.1f Mb/s %.0f pkt/s  loss %.2f%%  server cpu %s",
		phase, s.T, joined, target, s.RxMbps, s.RxPacketsPerSec, s.LossPercent, cpu)
}

func (rc *recorder) setPhase(p string) {
	rc.mu.Lock()
	rc.phase = p
	rc.mu.Unlock()
}

func (rc *recorder) edge(ctx context.Context) *windowEdge {
	self, _ := procCPUSeconds(os.Getpid())
	busy, total, _ := machineCPU()
	server, nodes := rc.r.probe.sample(ctx)
	return &windowEdge{
		counters: rc.r.meter.snapshot(time.Now()), server: server, nodes: nodes, selfCPU: self,
		machineBusy: busy, machineTotal: total,
	}
}

// beginWindow starts the measurement: latencies are recorded from now on.
func (rc *recorder) beginWindow(ctx context.Context) {
	if f := rc.r.cfg.WindowStart; f != nil {
		f()
	}
	e := rc.edge(ctx)
	rc.r.meter.measuring.Store(true)
	rc.mu.Lock()
	rc.windowStart = e
	rc.phase = "measuring"
	rc.mu.Unlock()
}

// endWindow ends the measurement.
func (rc *recorder) endWindow(ctx context.Context) {
	rc.r.meter.measuring.Store(false)
	e := rc.edge(ctx)
	rc.mu.Lock()
	rc.windowEnd = e
	rc.phase = "leaving"
	rc.mu.Unlock()
	if f := rc.r.cfg.WindowEnd; f != nil {
		f()
	}
}

// measure runs the window: begin, wait the scenario's duration (or ctx), end.
func (rc *recorder) measure(ctx context.Context) {
	rc.beginWindow(ctx)
	sleepCtx(ctx, rc.r.cfg.Scenario.Duration)
	rc.endWindow(context.WithoutCancel(ctx))
}
