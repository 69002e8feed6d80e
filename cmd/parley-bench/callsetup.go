package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parley-rtc/parley/bench"
)

// callSetupGroup is the suite group of the call setup runs.
const callSetupGroup = "call setup"

// callSetupPlan is the call setup comparison: the same 1v1 audio+video calls with early
// media off and on, and signaling-only calls at several numbers of concurrent pairs.
type callSetupPlan struct {
	calls    int           // concurrent media calls
	hold     time.Duration // media call length (calls cycle, so setups/s is known)
	pairs    []int         // concurrent signaling-only pairs, one run each
	duration time.Duration // measurement window of every run
}

func defaultCallSetupPlan(d time.Duration) callSetupPlan {
	return callSetupPlan{calls: 6, hold: 3 * time.Second, pairs: []int{1, 8, 32}, duration: d}
}

// scenarios are the plan's runs: calls-N, calls-N-early, then signaling-P per P.
func (p callSetupPlan) scenarios() []bench.Scenario {
	var out []bench.Scenario
	for _, early := range []bool{false, true} {
		s := bench.Scenario{
			Name: fmt.Sprintf("calls-%d", p.calls), Kind: bench.KindCalls, Calls: p.calls, CallVideo: true,
			VideoBitrate: 500_000, EarlyMedia: early, Hold: p.hold, CallRate: 10, Settle: 3 * time.Second, Duration: p.duration,
		}
		if early {
			s.Name += "-early"
		}
		s.SetDefaults()
		out = append(out, s)
	}
	for _, n := range p.pairs {
		s := bench.Scenario{
			Name: fmt.Sprintf("signaling-%d", n), Kind: bench.KindCalls, Calls: n, SignalingOnly: true,
			CallRate: 50, Settle: 2 * time.Second, Duration: p.duration,
		}
		s.SetDefaults()
		out = append(out, s)
	}
	return out
}

// runCallSetup is `parley-bench callsetup`: the call setup comparison alone, each run
// against its own started server; it prints each report and then the markdown section.
func runCallSetup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("parley-bench callsetup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o suiteOptions
	plan := defaultCallSetupPlan(20 * time.Second)
	pairs := "1,8,32"
	fs.StringVar(&o.serverBin, "server-bin", "", "parley binary (default: next to parley-bench, then $PATH)")
	fs.StringVar(&o.outDir, "out-dir", "bin/bench-results", "directory for the JSON reports")
	fs.StringVar(&o.doc, "doc", "", "also write the markdown section to this file")
	fs.DurationVar(&plan.duration, "duration", plan.duration, "measurement window of each run")
	fs.IntVar(&plan.calls, "calls", plan.calls, "concurrent 1v1 audio+video calls (early media off, then on)")
	fs.DurationVar(&plan.hold, "hold", plan.hold, "media call length")
	fs.StringVar(&pairs, "pairs", pairs, "concurrent signaling-only pairs, comma-separated, one run each")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var err error
	if plan.pairs, err = parseCounts(pairs); err != nil {
		fmt.Fprintf(stderr, "parley-bench: --pairs: %v\n", err)
		return 2
	}
	for _, s := range plan.scenarios() {
		if err := s.Validate(); err != nil {
			fmt.Fprintf(stderr, "parley-bench: %v\n", err)
			return 2
		}
	}
	if err := os.MkdirAll(o.outDir, 0o755); err != nil {
		fmt.Fprintf(stderr, "parley-bench: %v\n", err)
		return 1
	}
	load := loadAverage()
	var runs []suiteRun
	for _, s := range plan.scenarios() {
		runs = append(runs, runReported(ctx, o, callSetupGroup, 0, s, stdout, stderr))
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "parley-bench: interrupted")
			return 1
		}
	}
	var md strings.Builder
	fmt.Fprintf(&md, "Load average at start: %s.\n\n", load)
	writeCallSetupTables(&md, runs)
	fmt.Fprint(stdout, "\n"+md.String())
	if o.doc != "" {
		if err := os.WriteFile(o.doc, []byte(md.String()), 0o644); err != nil {
			fmt.Fprintf(stderr, "parley-bench: %v\n", err)
			return 1
		}
	}
	return 0
}

// runReported runs one scenario against its own server, prints its table and writes its
// JSON report to the output directory.
func runReported(ctx context.Context, o suiteOptions, group string, step int, s bench.Scenario, stdout, stderr io.Writer) suiteRun {
	fmt.Fprintf(stderr, "== %s (%s)\n", s.Name, group)
	rep, err := runSuiteScenario(ctx, o, s, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "parley-bench: %s: %v\n", s.Name, err)
		return suiteRun{group: group, step: step, scenario: s, err: err}
	}
	_ = rep.WriteTable(stdout)
	_ = rep.WriteJSON(filepath.Join(o.outDir, s.Name+".json"))
	return suiteRun{group: group, step: step, scenario: s, rep: rep}
}

// parseCounts parses "1,8,32" (positive integers).
func parseCounts(v string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a list of positive integers", v)
		}
		out = append(out, n)
	}
	return out, nil
}

// writeCallSetupTables renders the call setup runs: media calls (early media off and
// on) with setups/s and accept → first media, then signaling-only setups/s by pairs.
func writeCallSetupTables(w *strings.Builder, runs []suiteRun) {
	fmt.Fprintf(w, "| load | early media | calls set up (failed) | setups/s | setup p50/p95 ms | accept → onCallBegin p50/p95 ms | → first subscriber offer | accept → first audio p50/p95/p99/max ms | → first video | → first keyframe | before accept | not pre-connected | server CPU | machine busy |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		if r.scenario.SignalingOnly {
			continue
		}
		if r.rep == nil || r.rep.Calls == nil {
			fmt.Fprintf(w, "| %s | failed: %v | | | | | | | | | | | | |\n", r.scenario.Name, r.err)
			continue
		}
		rep, c := r.rep, r.rep.Calls
		early, notPre := "off", "–"
		if rep.Scenario.EarlyMedia {
			early, notPre = "on", strconv.Itoa(c.NotPreConnected)
		}
		fmt.Fprintf(w, "| %s | %s | %d (%d) | %s | %s | %s | %s | %s | %s | %s | %d | %s | %s | %s |\n",
			rep.Scenario.Name, early, c.Succeeded, sumFailures(rep), num(c.SetupsPerSec, "%.2f"), pct(c.Setup, false),
			pct1(c.AcceptToCallBegin), pct1(c.AcceptToFirstOffer), quantiles(c.AcceptToAudio), quantiles(c.AcceptToVideo), quantiles(c.AcceptToKeyframe), c.MediaBeforeAccept,
			notPre, num(rep.Server.CPUPercent, "%.0f %%"), num(rep.MachineBusyPercent, "%.0f %%"))
	}
	fmt.Fprintf(w, "\n| load | pairs | setups/s | setup p50/p95/p99 ms | cycle p50/p95/p99 ms | failures | server CPU | machine busy |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		if !r.scenario.SignalingOnly {
			continue
		}
		if r.rep == nil || r.rep.Calls == nil {
			fmt.Fprintf(w, "| %s | %d | failed: %v | | | | | |\n", r.scenario.Name, r.scenario.Calls, r.err)
			continue
		}
		rep, c := r.rep, r.rep.Calls
		fmt.Fprintf(w, "| %s | %d | %s | %.1f/%.1f/%.1f | %.1f/%.1f/%.1f | %d | %s | %s |\n",
			rep.Scenario.Name, rep.Scenario.Calls, num(c.SetupsPerSec, "%.0f"), c.Setup.P50, c.Setup.P95, c.Setup.P99,
			c.Cycle.P50, c.Cycle.P95, c.Cycle.P99, sumFailures(rep), num(rep.Server.CPUPercent, "%.0f %%"),
			num(rep.MachineBusyPercent, "%.0f %%"))
	}
	var media []*bench.Report
	for _, r := range runs {
		if !r.scenario.SignalingOnly {
			media = append(media, r.rep)
		}
	}
	writeTimelineTable(w, media) // where the media calls' setup time went
	fmt.Fprintln(w)
}

// pct1 renders p50/p95 with a decimal, "–" when the summary has no values.
func pct1(s bench.Summary) string {
	if s.Count == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f/%.1f", s.P50, s.P95)
}

func sumFailures(rep *bench.Report) int {
	n := 0
	for _, v := range rep.Failures {
		n += v
	}
	return n
}
