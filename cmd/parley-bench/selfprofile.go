package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"

	"github.com/parley-rtc/parley/bench"
)

// benchProfile writes a CPU profile of parley-bench itself (the simulated clients, i.e.
// the Go SDK in package client, and the bench around them) over the measurement window:
// --bench-cpuprofile FILE. It chains onto the window hooks already set (the server's
// profile), so both processes can be profiled in one run.
type benchProfile struct {
	path   string
	stderr io.Writer

	mu      sync.Mutex
	file    *os.File // open from start to stop
	started bool
}

// hook makes cfg's window start and stop the profile (after and before the hooks already
// there). The file is created now, so a bad path fails before the run.
func (p *benchProfile) hook(cfg *bench.Config) error {
	f, err := os.Create(p.path)
	if err != nil {
		return fmt.Errorf("--bench-cpuprofile: %w", err)
	}
	p.file = f
	prevStart, prevEnd := cfg.WindowStart, cfg.WindowEnd
	cfg.WindowStart = func() {
		if prevStart != nil {
			prevStart()
		}
		p.start()
	}
	cfg.WindowEnd = func() {
		p.stop()
		if prevEnd != nil {
			prevEnd()
		}
	}
	return nil
}

func (p *benchProfile) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.file == nil || p.started {
		return
	}
	if err := pprof.StartCPUProfile(p.file); err != nil {
		fmt.Fprintf(p.stderr, "parley-bench: --bench-cpuprofile: %v\n", err)
		return
	}
	p.started = true
}

// stop ends the profile and closes the file; it is idempotent, and also what a run that
// ended before its window calls.
func (p *benchProfile) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.file == nil {
		return
	}
	if p.started {
		pprof.StopCPUProfile()
		fmt.Fprintf(p.stderr, "CPU profile of parley-bench over the window: %s (go tool pprof -top %s)\n", p.path, p.path)
	}
	if err := p.file.Close(); err != nil {
		fmt.Fprintf(p.stderr, "parley-bench: --bench-cpuprofile: %v\n", err)
	}
	p.file = nil
}
