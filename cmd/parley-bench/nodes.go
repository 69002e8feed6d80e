package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"

	"github.com/parley-rtc/parley/bench"
)

// listFlag is a flag that may be given several times (or once with commas).
type listFlag struct{ values *[]string }

func (l listFlag) String() string {
	if l.values == nil {
		return ""
	}
	return strings.Join(*l.values, ",")
}

func (l listFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part == "" {
			return fmt.Errorf("empty value in %q", v)
		}
		*l.values = append(*l.values, part)
	}
	return nil
}

// nodeFlags are the servers given on the command line: --url (repeatable), with
// --server-pid and --metrics-url in the same order.
type nodeFlags struct {
	urls, pids, metrics []string
}

// defaultURL is the server parley-bench loads without --url (parley's default address).
const defaultURL = "ws://127.0.0.1:7880/ws"

// nodes pairs the URLs with their pids and metrics URLs.
func (f nodeFlags) nodes() ([]bench.Node, error) {
	urls := f.urls
	if len(urls) == 0 {
		urls = []string{defaultURL}
	}
	for name, list := range map[string][]string{"--server-pid": f.pids, "--metrics-url": f.metrics} {
		if len(list) > 0 && len(list) != len(urls) {
			return nil, fmt.Errorf("%d %s for %d --url: give one per --url, in the same order", len(list), name, len(urls))
		}
	}
	out := make([]bench.Node, len(urls))
	for i, u := range urls {
		out[i].URL = u
		if len(f.pids) > 0 {
			pid, err := strconv.Atoi(f.pids[i])
			if err != nil || pid <= 0 {
				return nil, fmt.Errorf("--server-pid %q is not a pid", f.pids[i])
			}
			out[i].PID = pid
		}
		if len(f.metrics) > 0 {
			out[i].MetricsURL = f.metrics[i]
		}
	}
	return out, nil
}

// startServers starts n parley servers (--start-server --nodes n), each writing its CPU
// profile of the window to profilePath(i) when profile is set, and, with a redisURL
// (--cluster), joined into one cluster as nodes n1, n2 …; stop stops them all.
func startServers(ctx context.Context, bin string, n int, profile, redisURL string, stderr io.Writer) (nodes []bench.Node, stop func(), err error) {
	var servers []*server
	stop = func() {
		for _, srv := range servers {
			if err := srv.stop(); err != nil {
				fmt.Fprintf(stderr, "parley-bench: server: %v (log: %s)\n", err, srv.logPath)
			}
		}
	}
	for i := range n {
		var extra []string
		if profile != "" {
			extra = []string{"--cpuprofile=" + profilePath(profile, i, n), "--cpuprofile-signal"}
		}
		if redisURL != "" {
			extra = append(extra, "--cluster.redis_url="+redisURL, fmt.Sprintf("--cluster.node_id=n%d", i+1))
		}
		srv, err := startServer(ctx, bin, extra...)
		if err != nil {
			stop()
			return nil, nil, err
		}
		servers = append(servers, srv)
		nodes = append(nodes, bench.Node{URL: srv.wsURL, PID: srv.pid, MetricsURL: srv.metricsURL})
	}
	return nodes, stop, nil
}

// profilePath is the profile file of node i of n: path itself for one node, path.1,
// path.2 … for several.
func profilePath(path string, i, n int) string {
	if n == 1 {
		return path
	}
	return fmt.Sprintf("%s.%d", path, i+1)
}

// signalProfiles makes the window start and stop the CPU profile of every node with a
// pid: parley started with --cpuprofile FILE --cpuprofile-signal profiles from one
// SIGUSR1 to the next.
func signalProfiles(cfg *bench.Config, stderr io.Writer) error {
	var pids []int
	for _, n := range cfg.Nodes {
		if n.PID > 0 {
			pids = append(pids, n.PID)
		}
	}
	if len(pids) == 0 {
		return errors.New("--signal-profile needs the servers' pids (--server-pid)")
	}
	toggle := func() {
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
				fmt.Fprintf(stderr, "parley-bench: SIGUSR1 to the server (pid %d): %v\n", pid, err)
			}
		}
	}
	cfg.WindowStart, cfg.WindowEnd = toggle, toggle
	return nil
}
