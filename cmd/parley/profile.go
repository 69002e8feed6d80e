package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
)

// cpuProfile writes the server's CPU profile (runtime/pprof, the format `go tool pprof`
// reads) to one file: from start to stop, or, on signal, from the first SIGUSR1 to the
// second (or to stop) — so that a load tool (parley-bench --cpuprofile) can profile just
// its measurement window. Its goroutine owns nothing but the signal channel; mu guards
// the file and the running state.
type cpuProfile struct {
	path   string
	logger *slog.Logger

	mu      sync.Mutex
	file    *os.File // nil while not profiling
	written bool     // a profile was written (the second SIGUSR1 is ignored after that)

	signals  chan os.Signal
	done     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// startCPUProfile starts profiling into path at once, or, with onSignal, at the first
// SIGUSR1. The file is created when profiling starts.
func startCPUProfile(path string, onSignal bool, logger *slog.Logger) (*cpuProfile, error) {
	p := &cpuProfile{path: path, logger: logger, done: make(chan struct{})}
	if !onSignal {
		if err := p.begin(); err != nil {
			return nil, err
		}
		return p, nil
	}
	p.signals = make(chan os.Signal, 2)
	signal.Notify(p.signals, syscall.SIGUSR1)
	p.wg.Add(1)
	go p.listen()
	logger.Info("CPU profile waits for SIGUSR1", "file", path)
	return p, nil
}

// listen toggles the profile on each SIGUSR1: start, then stop; later ones are ignored.
func (p *cpuProfile) listen() {
	defer p.wg.Done()
	for {
		select {
		case <-p.done:
			return
		case <-p.signals:
		}
		p.mu.Lock()
		running, written := p.file != nil, p.written
		p.mu.Unlock()
		var err error
		switch {
		case written:
			p.logger.Warn("CPU profile already written; SIGUSR1 ignored", "file", p.path)
		case running:
			err = p.end()
		default:
			err = p.begin()
		}
		if err != nil {
			p.logger.Error("CPU profile", "file", p.path, "error", err)
		}
	}
}

func (p *cpuProfile) begin() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.Create(p.path)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	p.file = f
	p.logger.Info("CPU profile started", "file", p.path)
	return nil
}

// end stops a running profile and closes its file (a no-op when none runs).
func (p *cpuProfile) end() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.file == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := p.file.Close()
	p.file, p.written = nil, true
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	p.logger.Info("CPU profile written", "file", p.path)
	return nil
}

// stop ends the profile (writing it when it runs) and stops listening for signals.
// Idempotent.
func (p *cpuProfile) stop() error {
	p.stopOnce.Do(func() {
		close(p.done)
		if p.signals != nil {
			signal.Stop(p.signals)
		}
	})
	p.wg.Wait()
	err := p.end()
	if !p.wasWritten() {
		err = errors.Join(err, fmt.Errorf("cpu profile %s: no SIGUSR1 came, nothing written", p.path))
	}
	return err
}

func (p *cpuProfile) wasWritten() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.written
}
