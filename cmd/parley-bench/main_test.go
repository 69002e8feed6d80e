package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-rtc/parley/bench"
	"github.com/parley-rtc/parley/client"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseFlags(t *testing.T) {
	video, audio := sampleMediaFiles(t)
	room := []string{"--video-publishers", "1", "--publisher-audio", "--subscribers", "2", "--views", "1"}
	tests := []struct {
		name  string
		args  []string
		check func(bench.Scenario) bool
		err   string
	}{
		{"reference c with 90", []string{"--scenario", "c", "--subscribers", "90"}, func(s bench.Scenario) bool {
			return s.Name == "c-90" && s.Subscribers == 90 && s.VideoPublishers == 4 && s.Simulcast && s.Duration == time.Minute
		}, ""},
		{"a1 without simulcast", []string{"--scenario", "a1", "--no-simulcast", "--duration", "10s"}, func(s bench.Scenario) bool {
			return !s.Simulcast && s.Duration == 10*time.Second && s.Views == 2
		}, ""},
		{"room sizes", []string{"--video-publishers", "2", "--subscribers", "4", "--views", "2", "--high-views", "1", "--low-size", "640x360"}, func(s bench.Scenario) bool {
			return s.Kind == bench.KindRoom && s.Rooms == 1 && s.LowWidth == 640 && s.LowHeight == 360 && s.HighWidth == 1280
		}, ""},
		{"calls", []string{"--scenario", "calls", "--calls", "3", "--call-video", "--hold", "2s"}, func(s bench.Scenario) bool {
			return s.Kind == bench.KindCalls && s.Calls == 3 && s.CallVideo && s.Hold == 2*time.Second && s.CallRate == 2.5
		}, ""},
		{"early media", []string{"--scenario", "calls", "--calls", "4", "--call-video", "--hold", "3s", "--early-media"}, func(s bench.Scenario) bool {
			return s.Kind == bench.KindCalls && s.EarlyMedia && !s.SignalingOnly && s.CallVideo && s.Hold == 3*time.Second
		}, ""},
		{"signaling only", []string{"--scenario", "calls", "--calls", "32", "--signaling-only", "--call-rate", "100"}, func(s bench.Scenario) bool {
			return s.SignalingOnly && !s.EarlyMedia && s.Calls == 32 && s.CallRate == 100 && s.Hold == 0
		}, ""},
		{"early media and signaling only", []string{"--scenario", "calls", "--calls", "1", "--early-media", "--signaling-only"}, nil, "choose one"},
		{"early media in a room", []string{"--audio-publishers", "1", "--subscribers", "1", "--early-media"}, nil, "options of the calls kind"},
		{"signaling only with a file", []string{"--scenario", "calls", "--calls", "1", "--signaling-only", "--audio-file", audio}, nil, "drop video_file and audio_file"},
		{"a1 in h264", []string{"--scenario", "a1", "--codec", "h264"}, func(s bench.Scenario) bool {
			return s.Name == "a1" && s.Codec == "h264" && s.Simulcast && s.Duration == time.Minute
		}, ""},
		{"default codec", []string{"--scenario", "c"}, func(s bench.Scenario) bool { return s.Codec == "vp8" }, ""},
		{"unknown codec", []string{"--scenario", "a2", "--codec", "vp9"}, nil, "unknown codec \"vp9\""},
		{"impossible", []string{"--subscribers", "0", "--views", "1", "--video-publishers", "1"}, nil, "no subscribers"},
		{"negative", []string{"--scenario", "calls", "--calls", "-1"}, nil, "negative calls"},
		{"bad size", []string{"--low-size", "big"}, nil, "WIDTHxHEIGHT"},
		{"start-server and url", []string{"--start-server", "--url", "ws://x/ws", "--audio-publishers", "1", "--subscribers", "1"}, nil, "drop --url"},
		{"unknown reference", []string{"--scenario", "z"}, nil, "unknown kind"},
		// Media files reach the scenario; a file that is not VP8 IVF / Opus Ogg, or a video
		// file with simulcast or H.264, fails at parse time naming the file.
		{"both files", append([]string{"--video-file", video, "--audio-file", audio}, room...), func(s bench.Scenario) bool {
			return s.VideoFile == video && s.AudioFile == audio
		}, ""},
		{"a2 with a video file", []string{"--scenario", "a2", "--video-file", video}, func(s bench.Scenario) bool { return s.VideoFile == video }, ""},
		{"missing file", append([]string{"--video-file", video + ".missing"}, room...), nil, "clip.ivf.missing"},
		{"ogg as video", append([]string{"--video-file", audio}, room...), nil, "video file " + audio + ": not an IVF file"},
		{"ivf as audio", append([]string{"--audio-file", video}, room...), nil, "audio file " + video + ": not an Ogg Opus file"},
		{"a1 is simulcast", []string{"--scenario", "a1", "--video-file", video}, nil, "simulcast"},
		{"file as h264", append([]string{"--video-file", video, "--codec", "h264"}, room...), nil, "is VP8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseFlags(tt.args, &stderr)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o.cfg.Scenario) {
				t.Fatalf("scenario %+v", o.cfg.Scenario)
			}
		})
	}
}

// TestRunUnreachable: the command fails at once with a clear message and exit code 1.
func TestRunUnreachable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--url", "ws://127.0.0.1:1/ws", "--audio-publishers", "1", "--subscribers", "1", "--quiet"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "cannot reach the server") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// sampleMediaFiles writes a small VP8 IVF and Opus Ogg file for the file flags.
func sampleMediaFiles(t *testing.T) (video, audio string) {
	t.Helper()
	dir := t.TempDir()
	video, audio = filepath.Join(dir, "clip.ivf"), filepath.Join(dir, "speech.ogg")
	ogg, err := client.SampleOgg(10, 40)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(video, client.SampleIVF(320, 180, 10, 30, 500), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(audio, ogg, 0o644); err != nil {
		t.Fatal(err)
	}
	return video, audio
}

func TestParseCounts(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		ok   bool
	}{
		{"1,8,32", []int{1, 8, 32}, true}, {" 4 ", []int{4}, true},
		{"", nil, false}, {"1,,2", nil, false}, {"0", nil, false}, {"-3", nil, false}, {"x", nil, false},
	}
	for _, tt := range tests {
		got, err := parseCounts(tt.in)
		if (err == nil) != tt.ok || !slices.Equal(got, tt.want) {
			t.Errorf("parseCounts(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestCallSetupTables: the call setup plan's runs are valid scenarios, and the markdown
// shows each run's setups/s, accept → first media and failures, signaling-only runs in
// their own table, a failed run by name.
func TestCallSetupTables(t *testing.T) {
	plan := defaultCallSetupPlan(20 * time.Second)
	scenarios := plan.scenarios()
	if len(scenarios) != 5 || !scenarios[1].EarlyMedia || scenarios[0].EarlyMedia || !scenarios[4].SignalingOnly || scenarios[4].Calls != 32 {
		t.Fatalf("plan %+v", scenarios)
	}
	for _, s := range scenarios {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
	sum := func(p50 float64) bench.Summary {
		return bench.Summary{Count: 10, P50: p50, P95: p50 + 1, P99: p50 + 2, Max: p50 + 3}
	}
	media := &bench.Report{Scenario: scenarios[1], Calls: &bench.CallStats{
		Succeeded: 40, SetupsPerSec: 1.75, Setup: sum(200), AcceptToAudio: sum(31), AcceptToVideo: sum(42), AcceptToKeyframe: sum(53), NotPreConnected: 1,
		AcceptToCallBegin: sum(1), AcceptToFirstOffer: sum(20),
		Timeline: []bench.TimelineStep{
			{Step: bench.StepCallBegin, Source: "client", Count: 80, P50: 1.25, P95: 4, Max: 7},
			{Step: "room_join", Source: "server", Count: 80, BeforeAccept: 80},
			{Step: "first_rtp_out", Source: "server", Count: 80, P50: 21.4, P95: 45, Max: 50},
			{Step: bench.StepKeyframeDecodable, Source: "client", Count: 80, P50: 42, P95: 67.6, Max: 206.5},
		},
	}, Failures: map[string]int{"media: x": 2}, MachineBusyPercent: 80, Server: bench.ServerStats{CPUPercent: 35}}
	signal := &bench.Report{Scenario: scenarios[3], Calls: &bench.CallStats{Succeeded: 900, SetupsPerSec: 321, Setup: sum(5), Cycle: sum(9)},
		MachineBusyPercent: 90, Server: bench.ServerStats{CPUPercent: 60}}
	runs := []suiteRun{
		{scenario: scenarios[0], err: errors.New("no server")},
		{scenario: scenarios[1], rep: media},
		{scenario: scenarios[3], rep: signal},
		{scenario: scenarios[4], err: errors.New("boom")},
	}
	var md strings.Builder
	writeCallSetupTables(&md, runs)
	for _, want := range []string{
		"| calls-6 | failed: no server |",
		"| calls-6-early | on | 40 (2) | 1.75 | 200/201 | 1.0/2.0 | 20.0/21.0 | 31/32/33/34 | 42/43/44/45 | 53/54/55/56 | 0 | 1 | 35 % | 80 % |",
		"| signaling-8 | 8 | 321 | 5.0/6.0/7.0 | 9.0/10.0/11.0 | 0 | 60 % | 90 % |",
		"| signaling-32 | 32 | failed: boom |",
		"| step | by | calls-6-early |",
		"| `onCallBegin` received | client | 1.2/4.0/7.0 |",
		"| room join | server | 0.0/0.0/0.0 (80 of 80 before) |",
		"| first RTP out (forwarded to the viewer) | server | 21/45/50 |",
		"| first keyframe decodable (all its packets) | client | 42/68/206 |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown without %q:\n%s", want, md.String())
		}
	}
}

// TestParseNodeFlags: several --url are several nodes, with their pids and metrics URLs
// in the same order; the node and profile flags refuse what cannot work.
func TestParseNodeFlags(t *testing.T) {
	load := []string{"--scenario", "calls", "--calls", "2"}
	tests := []struct {
		name  string
		args  []string
		nodes []bench.Node
		err   string
	}{
		{"default", nil, []bench.Node{{URL: defaultURL}}, ""},
		{"two urls", []string{"--url", "ws://127.0.0.1:1/ws", "--url", "ws://127.0.0.1:2/ws", "--server-pid", "11,12"},
			[]bench.Node{{URL: "ws://127.0.0.1:1/ws", PID: 11}, {URL: "ws://127.0.0.1:2/ws", PID: 12}}, ""},
		{"metrics per url", []string{"--url", "ws://a:1/ws,ws://b:2/ws", "--metrics-url", "http://a:9/metrics", "--metrics-url", "http://b:9/metrics"},
			[]bench.Node{{URL: "ws://a:1/ws", MetricsURL: "http://a:9/metrics"}, {URL: "ws://b:2/ws", MetricsURL: "http://b:9/metrics"}}, ""},
		{"pids do not match", []string{"--url", "ws://a:1/ws,ws://b:2/ws", "--server-pid", "11"}, nil, "1 --server-pid for 2 --url"},
		{"bad pid", []string{"--server-pid", "x"}, nil, "not a pid"},
		{"empty url", []string{"--url", "ws://a:1/ws,"}, nil, "empty value"},
		{"nodes without start-server", []string{"--nodes", "2"}, nil, "needs --start-server"},
		{"no nodes", []string{"--start-server", "--nodes", "0"}, nil, "at least one"},
		{"start-server and pid", []string{"--start-server", "--server-pid", "3"}, nil, "drop --url, --server-pid"},
		{"cpuprofile without start-server", []string{"--cpuprofile", "cpu.pprof"}, nil, "--start-server"},
		{"signal-profile without pid", []string{"--signal-profile"}, nil, "needs the servers' pids"},
		{"signal-profile with start-server", []string{"--start-server", "--signal-profile"}, nil, "use --cpuprofile"},
		{"cluster of one started node", []string{"--start-server", "--cluster"}, nil, "--cluster needs at least two nodes: add --nodes"},
		{"cluster of one url", []string{"--cluster", "--url", "ws://a:1/ws"}, nil, "--cluster needs at least two nodes: give each node's --url"},
		{"cluster of two urls", []string{"--cluster", "--url", "ws://a:1/ws,ws://b:2/ws"},
			[]bench.Node{{URL: "ws://a:1/ws"}, {URL: "ws://b:2/ws"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseFlags(append(slices.Clone(load), tt.args...), &stderr)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(o.cfg.Nodes, tt.nodes) {
				t.Fatalf("nodes %+v, want %+v", o.cfg.Nodes, tt.nodes)
			}
		})
	}
	o, err := parseFlags(append(slices.Clone(load), "--server-pid", "11", "--signal-profile"), io.Discard)
	if err != nil || o.cfg.WindowStart == nil || o.cfg.WindowEnd == nil {
		t.Errorf("--signal-profile: window hooks not set (%v)", err)
	}
}

// TestMarkdownOnlyThisRun: docs/benchmarks.md shows each load's CPU in % of one core and
// its CPU-seconds per 1000 forwarded packets, all from the suite's own runs, and no
// figures of another server or another day.
func TestMarkdownOnlyThisRun(t *testing.T) {
	c, err := bench.Reference("c", 0)
	if err != nil {
		t.Fatal(err)
	}
	rep := &bench.Report{Scenario: c, Joined: 64, Target: 64, Server: bench.ServerStats{
		CPUPercent: 75, CPUSecondsPer1000: 0.0163, ForwardedPerSec: 46000, ForwardedPerCoreSecond: 61333,
		ForwardedMbps: 200, RSSMaxMB: 300, ForwardedSource: "metrics",
	}}
	var md strings.Builder
	writeMarkdown(&md, suiteOptions{outDir: "bin/bench-results", duration: time.Minute}, []suiteRun{{group: "reference", scenario: c, rep: rep}}, "1 1 1", time.Minute)
	for _, want := range []string{
		"| load | users | fwd pkt/s | fwd Mb/s | server CPU (% of one core) | CPU-s / 1000 pkts |",
		"| c | 64/64 | 46000 | 200.0 | 75 % | 0.0163 | 61333 |",
		"negotiate transport-wide congestion control",
		"--cpuprofile c.pprof",
		"--bench-cpuprofile bench.pprof",
		"--nodes 2",
		"--nodes 3 --cluster",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown without %q", want)
		}
	}
	for _, unwanted := range []string{"another SFU", "Reference figures", "a1 ≈"} {
		if strings.Contains(md.String(), unwanted) {
			t.Errorf("markdown has %q: figures not measured in this run", unwanted)
		}
	}
}

// TestBenchProfileChainsTheWindowHooks: --bench-cpuprofile starts the bench's profile
// after the hooks already set (the servers' profiles) and stops it before theirs end; a
// run that ends before its window leaves an empty file and no profile running.
func TestBenchProfileChainsTheWindowHooks(t *testing.T) {
	dir := t.TempDir()
	var order []string
	cfg := bench.Config{
		WindowStart: func() { order = append(order, "server start") },
		WindowEnd:   func() { order = append(order, "server end") },
	}
	p := &benchProfile{path: filepath.Join(dir, "bench.pprof"), stderr: io.Discard}
	if err := p.hook(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.WindowStart()
	if !p.started {
		t.Fatal("the window's start did not start the bench's profile")
	}
	order = append(order, "profiling")
	cfg.WindowEnd()
	p.stop() // what runOnce defers: a no-op after the window's end
	if want := []string{"server start", "profiling", "server end"}; !slices.Equal(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
	if fi, err := os.Stat(p.path); err != nil || fi.Size() == 0 {
		t.Errorf("profile %v, %v: want a written profile", fi, err)
	}

	early := &benchProfile{path: filepath.Join(dir, "early.pprof"), stderr: io.Discard}
	if err := early.hook(&bench.Config{}); err != nil {
		t.Fatal(err)
	}
	early.stop()
	if early.file != nil || early.started {
		t.Error("stop before the window left the file open or a profile running")
	}
	if err := (&benchProfile{path: filepath.Join(dir, "missing", "x.pprof")}).hook(&bench.Config{}); err == nil {
		t.Error("a profile path in a missing directory was accepted")
	}
}
