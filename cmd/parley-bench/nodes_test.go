package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// runReport runs parley-bench with args (quiet, the JSON report to path), fails the test
// unless it exits 0, and returns the report and what it printed.
func runReport(t *testing.T, path string, args ...string) (rep *bench.Report, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), append(args, "--quiet", "--out", path), &out, &errOut); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	rep, err := bench.ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	return rep, out.String(), errOut.String()
}

// TestStartedNodesWithProfile: --start-server --nodes 2 starts two parley processes, the
// two calls go one to each (each node forwarded packets, counted by its own /metrics), the report
// has each node's CPU and CPU-seconds per 1000 forwarded packets, and --cpuprofile makes
// each server write a pprof profile of the window (SIGUSR1 at its start and end);
// --bench-cpuprofile makes parley-bench write one of itself.
func TestStartedNodesWithProfile(t *testing.T) {
	bin := buildParley(t)
	dir := t.TempDir()
	profile, report := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "report.json")
	benchProfile := filepath.Join(dir, "bench.pprof")
	rep, stdout, stderr := runReport(t, report,
		"--start-server", "--nodes", "2", "--server-bin", bin, "--cpuprofile", profile, "--bench-cpuprofile", benchProfile,
		"--scenario", "calls", "--calls", "2", "--call-rate", "10", "--settle", "1s", "--duration", "3s")
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
	if !strings.Contains(stdout, "node "+rep.Nodes[1].URL) {
		t.Errorf("table without the second node:\n%s", stdout)
	}
	for i := range 2 {
		checkProfile(t, profilePath(profile, i, 2), stderr)
	}
	checkProfile(t, benchProfile, stderr)
}

// checkProfile fails unless path holds a gzipped pprof profile with data.
func checkProfile(t *testing.T, path, stderr string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no profile: %v\nstderr:\n%s", err, stderr)
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

// TestStartedCluster: --start-server --nodes 2 --cluster starts a redis-server and two
// nodes joined to it; the two parties of every call are on different nodes (each call
// has one party relayed between the app's owner and the other node: as many relayed
// connections as calls, counted on both nodes), every call succeeds, and the report says
// the nodes formed a cluster. --cluster against independent nodes stops before any load:
// their calls across nodes could never ring.
func TestStartedCluster(t *testing.T) {
	bin := buildParley(t)
	const calls = 3 // odd: parties on one node per call would relay 2 or 4 connections, not 3
	t.Run("cluster", func(t *testing.T) {
		rep, stdout, _ := runReport(t, filepath.Join(t.TempDir(), "report.json"),
			"--start-server", "--nodes", "2", "--cluster", "--server-bin", bin,
			"--scenario", "calls", "--calls", strconv.Itoa(calls), "--call-rate", "10", "--settle", "1s", "--duration", "3s")
		if len(rep.Failures) != 0 || rep.Calls == nil || rep.Calls.Succeeded != calls {
			t.Errorf("failures %v, calls %+v", rep.Failures, rep.Calls)
		}
		if !rep.Cluster || !rep.ClusterFormed || len(rep.Nodes) != 2 {
			t.Fatalf("cluster %v, formed %v, nodes %+v", rep.Cluster, rep.ClusterFormed, rep.Nodes)
		}
		owners, relayed := 0, int64(0)
		for _, n := range rep.Nodes {
			if n.ClusterNodes != 2 || n.CPUSeconds <= 0 {
				t.Errorf("node %+v: want 2 live nodes seen and its CPU", n)
			}
			owners += int(n.AppsOwned)
			relayed += n.Relayed
		}
		if owners != 1 || relayed != 2*calls {
			t.Errorf("apps owned %d (want 1), relayed connections on both nodes %d (want %d: one party of each call)", owners, relayed, 2*calls)
		}
		if !strings.Contains(stdout, "the 2 nodes formed a cluster") {
			t.Errorf("table without the cluster line:\n%s", stdout)
		}
	})
	t.Run("independent nodes", func(t *testing.T) {
		nodes, stop, err := startServers(context.Background(), bin, 2, "", "", io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{
			"--cluster", "--url", nodes[0].URL, "--url", nodes[1].URL,
			"--scenario", "calls", "--calls", "1", "--settle", "1s", "--duration", "2s", "--quiet",
		}, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "do not form a cluster") || !strings.Contains(stderr.String(), "runs alone") {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
	})
}
