package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/parley-rtc/parley/bench"
	"github.com/parley-rtc/parley/signaling/token"
)

// suiteOptions configure the standard suite (make bench).
type suiteOptions struct {
	serverBin      string
	doc            string
	outDir         string
	duration       time.Duration // reference loads
	otherDuration  time.Duration // calls and churn
	searchDuration time.Duration
	budget         time.Duration
	quiet          bool
}

// suiteRun is one run of the suite and its report (nil when it failed).
type suiteRun struct {
	group    string
	step     int
	scenario bench.Scenario
	rep      *bench.Report
	err      error
}

// search is a step-up search for the largest load with < 1 % loss.
type search struct {
	name  string
	unit  string
	steps []int
	make  func(n int) bench.Scenario
}

func runSuite(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parley-bench suite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o suiteOptions
	fs.StringVar(&o.serverBin, "server-bin", "", "parley binary (default: next to parley-bench, then $PATH)")
	fs.StringVar(&o.doc, "doc", "docs/benchmarks.md", "markdown file to write the results to")
	fs.StringVar(&o.outDir, "out-dir", "bin/bench-results", "directory for the JSON reports")
	fs.DurationVar(&o.duration, "duration", bench.DefaultDuration, "measurement window of the reference loads (60s, as the reference)")
	fs.DurationVar(&o.otherDuration, "other-duration", 20*time.Second, "measurement window of the calls and churn runs")
	fs.DurationVar(&o.searchDuration, "search-duration", 10*time.Second, "measurement window of each search step")
	fs.DurationVar(&o.budget, "budget", 20*time.Minute, "stop starting search steps after this much time")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		fmt.Fprintf(stderr, "parley-bench: %v\n", err)
		return 1
	}
	if _, err := findServerBinary(o.serverBin); err != nil {
		fmt.Fprintf(stderr, "parley-bench: %v\n", err)
		return 1
	}
	started := time.Now()
	load := loadAverage()
	var runs []suiteRun
	one := func(group string, step int, s bench.Scenario) *bench.Report {
		r := runReported(ctx, o, group, step, s, stdout, stderr)
		runs = append(runs, r)
		return r.rep
	}

	for _, s := range referenceRuns() {
		s.Duration = o.duration
		one("reference", 0, s)
	}
	calls := bench.Scenario{Name: "calls-10", Kind: bench.KindCalls, Calls: 10, CallVideo: true, VideoBitrate: 500_000,
		Ramp: 10, Settle: 3 * time.Second, Duration: o.otherDuration}
	calls.SetDefaults()
	one("calls", 10, calls)
	churn := bench.Scenario{Name: "churn", Kind: bench.KindChurn, ChurnRate: 5, Hold: 3 * time.Second,
		Settle: 3 * time.Second, Duration: o.otherDuration}
	churn.SetDefaults()
	one("churn", 0, churn)
	for _, s := range defaultCallSetupPlan(o.otherDuration).scenarios() {
		one(callSetupGroup, 0, s)
	}

	for _, sr := range searches(o.searchDuration) {
		for _, n := range sr.steps {
			if ctx.Err() != nil || time.Since(started) > o.budget {
				break
			}
			rep := one(sr.name, n, sr.make(n))
			if rep == nil || !sustained(rep) {
				break
			}
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "parley-bench: interrupted; %s not written\n", o.doc)
		return 1
	}
	var md strings.Builder
	writeMarkdown(&md, o, runs, load, time.Since(started))
	if err := os.WriteFile(o.doc, []byte(md.String()), 0o644); err != nil {
		fmt.Fprintf(stderr, "parley-bench: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "wrote %s and %s/*.json in %s\n", o.doc, o.outDir, time.Since(started).Round(time.Second))
	return 0
}

// referenceRuns are the suite's reference loads: a1 (VP8 and H.264), a2, b, c, and c with
// 90 and 130 subscribers (the reference runs c at those sizes to find the knee).
func referenceRuns() []bench.Scenario {
	runs := []struct {
		name, codec string
		subscribers int
	}{{"a1", "", 0}, {"a1", "h264", 0}, {"a2", "", 0}, {"b", "", 0}, {"c", "", 0}, {"c", "", 90}, {"c", "", 130}}
	var out []bench.Scenario
	for _, r := range runs {
		s, _ := bench.Reference(r.name, r.subscribers)
		if r.codec != "" {
			s.Name, s.Codec = s.Name+"-"+r.codec, r.codec
		}
		out = append(out, s)
	}
	return out
}

// searches are the three step-up searches of the suite.
func searches(d time.Duration) []search {
	room := func(name string) bench.Scenario {
		return bench.Scenario{Name: name, Kind: bench.KindRoom, Rooms: 1, Ramp: 10, Settle: 3 * time.Second, Duration: d}
	}
	return []search{
		{name: "one video publisher, many subscribers", unit: "subscribers", steps: []int{10, 25, 50, 75, 100, 150, 200},
			make: func(n int) bench.Scenario {
				s := room(fmt.Sprintf("fanout-%d", n))
				s.VideoPublishers, s.PublisherAudio, s.Simulcast, s.Subscribers, s.Views, s.HighViews = 1, true, true, n, 1, 1
				s.SetDefaults()
				return s
			}},
		{name: "many audio publishers", unit: "audio publishers (each hears all others)", steps: []int{10, 20, 30, 40, 60, 80},
			make: func(n int) bench.Scenario {
				s := room(fmt.Sprintf("audio-%d", n))
				s.AudioPublishers = n
				s.SetDefaults()
				return s
			}},
		{name: "many 1v1 calls", unit: "concurrent video calls (500 kbit/s + audio each way)", steps: []int{10, 20, 30, 45, 60, 80},
			make: func(n int) bench.Scenario {
				s := bench.Scenario{Name: fmt.Sprintf("calls-%d", n), Kind: bench.KindCalls, Calls: n, CallVideo: true,
					VideoBitrate: 500_000, Ramp: 10, Settle: 3 * time.Second, Duration: d}
				s.SetDefaults()
				return s
			}},
	}
}

// sustained: everyone joined and loss < 1 %. Machine saturation is shown (machine busy)
// but does not stop a search: on a shared machine it includes other people's work.
func sustained(rep *bench.Report) bool {
	return rep.Joined == rep.Target && len(rep.Failures) == 0 && rep.LossPercent < 1
}

func runSuiteScenario(ctx context.Context, o suiteOptions, s bench.Scenario, stderr io.Writer) (*bench.Report, error) {
	srv, err := startServer(ctx, o.serverBin)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := srv.stop(); err != nil {
			fmt.Fprintf(stderr, "parley-bench: server: %v (log: %s)\n", err, srv.logPath)
		}
		_ = os.Remove(srv.logPath)
	}()
	cfg := bench.Config{
		URL: srv.wsURL, AppID: token.DevSDKAppID, Secret: token.DevSecret, Scenario: s,
		ServerPID: srv.pid, MetricsURL: srv.metricsURL,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	if !o.quiet {
		cfg.Progress = stderr
	}
	return bench.Run(ctx, cfg)
}

// loadAverage is /proc/loadavg's first three fields, or "unknown".
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
