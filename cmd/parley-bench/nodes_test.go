package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/bench"
)

// buildParley builds the parley server binary into a temporary directory.
func buildParley(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parley")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/parley-rtc/parley/cmd/parley").CombinedOutput()
	if err != nil {
		t.Fatalf("go build parley: %v\n%s", err, out)
	}
	return bin
}

// TestStartedNodesWithProfile: --start-server --nodes 2 starts two parley processes, the
// two calls go one to each (each node forwarded packets, counted by its own /metrics), the report
// has each node's CPU and CPU-seconds per 1000 forwarded packets, and --cpuprofile makes
// each server write a pprof profile of the window (SIGUSR1 at its start and end).
func TestStartedNodesWithProfile(t *testing.T) {
	bin := buildParley(t)
	dir := t.TempDir()
	profile, report := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "report.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"--start-server", "--nodes", "2", "--server-bin", bin, "--cpuprofile", profile,
		"--scenario", "calls", "--calls", "2", "--call-rate", "10",
		"--settle", "1s", "--duration", "3s", "--quiet", "--out", report,
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	rep, err := bench.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	// The calls last the whole run (no hold), so each node forwards through the window.
	if len(rep.Failures) != 0 || rep.Calls == nil || rep.Calls.Succeeded != 2 {
		t.Errorf("failures %v, calls %+v", rep.Failures, rep.Calls)
	}
	if len(rep.Nodes) != 2 {
		t.Fatalf("nodes %+v", rep.Nodes)
	}
	for _, n := range rep.Nodes {
		if n.PID <= 0 || n.CPUSeconds <= 0 || n.ForwardedPackets <= 0 || n.CPUSecondsPer1000 <= 0 {
			t.Errorf("node figures %+v: want CPU and forwarded packets from each server", n)
		}
	}
	if rep.Server.ForwardedSource != "metrics" {
		t.Errorf("forwarded packets from %q, want the servers' metrics", rep.Server.ForwardedSource)
	}
	if !strings.Contains(stdout.String(), "node "+rep.Nodes[1].URL) {
		t.Errorf("table without the second node:\n%s", stdout.String())
	}
	for i := range 2 {
		path := profilePath(profile, i, 2)
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("node %d wrote no profile: %v\nstderr:\n%s", i+1, err, stderr.String())
		}
		z, err := gzip.NewReader(f)
		var data []byte
		if err == nil {
			data, err = io.ReadAll(z)
		}
		_ = f.Close()
		if err != nil || len(data) == 0 {
			t.Errorf("profile %s: %d bytes, %v", path, len(data), err)
		}
	}
}
