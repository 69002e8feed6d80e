package main

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCPUProfile: --cpuprofile writes a gzip-compressed pprof profile from start to stop;
// with --cpuprofile-signal from the first SIGUSR1 to the second (the process is not
// killed by them) or to stop; without a SIGUSR1 nothing is written and stop
// says so.
func TestCPUProfile(t *testing.T) {
	tests := []struct {
		name     string
		onSignal bool
		signals  int
		written  bool
		stopErr  string
	}{
		{"from start to stop", false, 0, true, ""},
		{"between two signals", true, 2, true, ""},
		{"one signal, stopped at exit", true, 1, true, ""},
		{"no signal", true, 0, false, "no SIGUSR1 came"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cpu.pprof")
			p, err := startCPUProfile(path, tt.onSignal, quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.signals {
				if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
					t.Fatal(err)
				}
				// Each signal takes effect before the next is sent: the file appears, the
				// profile is written.
				switch i {
				case 0:
					eventually(t, 10*time.Second, "the profile starts", func() bool { _, err := os.Stat(path); return err == nil })
				case 1:
					eventually(t, 10*time.Second, "the profile is written", p.wasWritten)
				}
			}
			err = p.stop()
			if tt.stopErr == "" && err != nil || tt.stopErr != "" && (err == nil || !strings.Contains(err.Error(), tt.stopErr)) {
				t.Fatalf("stop: %v, want %q", err, tt.stopErr)
			}
			if err := p.stop(); tt.stopErr == "" && err != nil {
				t.Errorf("second stop: %v", err)
			}
			f, err := os.Open(path)
			if !tt.written {
				if err == nil {
					_ = f.Close()
					t.Fatal("a profile file was written without a SIGUSR1")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			z, err := gzip.NewReader(f)
			if err != nil {
				t.Fatalf("the profile is not gzip-compressed (pprof's format): %v", err)
			}
			data, err := io.ReadAll(z)
			if err != nil || len(data) == 0 {
				t.Fatalf("profile: %d bytes, %v", len(data), err)
			}
		})
	}
}
