package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/parley-rtc/parley/bench"
	"github.com/parley-rtc/parley/signaling/token"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "suite" {
		return runSuite(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "callsetup" {
		return runCallSetup(ctx, args[1:], stdout, stderr)
	}
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "parley-bench: %v\n", err)
		return 2
	}
	rep, err := runOnce(ctx, opts, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "parley-bench: %v\n", err)
		return 1
	}
	return writeResults(rep, opts, stdout, stderr)
}

// options are the parsed command line.
type options struct {
	cfg         bench.Config
	startServer bool
	nodes       int // servers to start with startServer
	serverBin   string
	// cpuProfile (with startServer) is where the server writes its CPU profile of the
	// window; signalProfile toggles the profile of servers given by pid.
	cpuProfile    string
	signalProfile bool
	// benchProfile is where parley-bench writes a CPU profile of itself over the window.
	benchProfile string
	out          string
	compare      string
	quiet        bool
}

// size parses WIDTHxHEIGHT.
type size struct{ w, h *int }

func (s size) String() string {
	if s.w == nil {
		return ""
	}
	return fmt.Sprintf("%dx%d", *s.w, *s.h)
}

func (s size) Set(v string) error {
	ws, hs, ok := strings.Cut(v, "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil || w < 0 || h < 0 {
		return fmt.Errorf("%q is not WIDTHxHEIGHT", v)
	}
	*s.w, *s.h = w, h
	return nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("parley-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o           options
		nf          nodeFlags
		sc          bench.Scenario
		scenario    string
		config      string
		logLevel    string
		noSimulcast bool
	)
	fs.Var(listFlag{&nf.urls}, "url", "signaling WebSocket URL of the server (default "+defaultURL+"); repeat it (or use commas) for several nodes: rooms and calls are spread over them in turn")
	fs.IntVar(&o.cfg.AppID, "app", token.DevSDKAppID, "SDKAppID the userSigs are minted for")
	fs.StringVar(&o.cfg.Secret, "secret", token.DevSecret, "the app's secret (HS256) to mint userSigs")
	fs.StringVar(&scenario, "scenario", "room", "room | calls | churn | a1 | a2 | b | c (reference loads)")
	fs.StringVar(&config, "config", "", "YAML scenario file (keys as in bench.Scenario); flags set explicitly win")
	fs.IntVar(&sc.Rooms, "rooms", 0, "rooms (room, churn)")
	fs.IntVar(&sc.VideoPublishers, "video-publishers", 0, "video publishers per room")
	fs.BoolVar(&sc.PublisherAudio, "publisher-audio", false, "video publishers also send audio")
	fs.IntVar(&sc.AudioPublishers, "audio-publishers", 0, "audio-only publishers per room")
	fs.BoolVar(&sc.Simulcast, "simulcast", false, "video as three simulcast layers (320x180@15 150 kbit/s, 640x360@20 500 kbit/s, 1280x720@30 1.7 Mbit/s)")
	fs.BoolVar(&noSimulcast, "no-simulcast", false, "video as one 1280x720 stream (overrides a reference load's simulcast)")
	fs.StringVar(&sc.Codec, "codec", "vp8", "synthetic video codec: vp8 | h264")
	fs.IntVar(&sc.VideoBitrate, "video-bitrate", 0, "single-stream video bitrate, bit/s (default 1500000)")
	fs.StringVar(&sc.VideoFile, "video-file", "", "VP8 IVF file the video publishers send (looping, at its pace) instead of synthetic video; one stream: not with simulcast or h264; video latency is then n/a")
	fs.StringVar(&sc.AudioFile, "audio-file", "", "Opus Ogg file the publishers send (looping, at its pace) instead of synthetic audio; audio latency is then n/a")
	fs.IntVar(&sc.Subscribers, "subscribers", 0, "subscribers per room (with c: 60, 90, 130)")
	fs.IntVar(&sc.Views, "views", 0, "videos each subscriber views")
	fs.IntVar(&sc.HighViews, "high-views", 0, "of which at the high size")
	fs.Var(size{&sc.HighWidth, &sc.HighHeight}, "high-size", "high view size WxH (default 1280x720)")
	fs.Var(size{&sc.LowWidth, &sc.LowHeight}, "low-size", "low view size WxH (default 320x180)")
	fs.IntVar(&sc.Calls, "calls", 0, "concurrent 1v1 calls (calls)")
	fs.Float64Var(&sc.CallRate, "call-rate", 0, "calls started per second (default ramp/2)")
	fs.DurationVar(&sc.Hold, "hold", 0, "call length or churn stay (0: calls last to the end, signaling-only calls hang up at once; churn 5s)")
	fs.BoolVar(&sc.CallVideo, "call-video", false, "video calls (audio calls otherwise)")
	fs.BoolVar(&sc.EarlyMedia, "early-media", false, "calls: caller and callee prepareCall, publish (and view each other's video) before the accept")
	fs.BoolVar(&sc.SignalingOnly, "signaling-only", false, "calls without media: each pair logs in once and repeats call, accept, onCallBegin, hangup, onCallEnd (--hold between; 0: at once); reports setups/s")
	fs.Float64Var(&sc.ChurnRate, "churn-rate", 0, "churn: users joining per second (default ramp)")
	fs.BoolVar(&sc.ChurnVideo, "churn-video", false, "churning users also publish video")
	fs.BoolVar(&sc.NoTransportCC, "no-transport-cc", false, "clients negotiate no transport-wide congestion control (by default they do, as browsers: the server's congestion control is measured)")
	fs.Float64Var(&sc.Ramp, "ramp", bench.DefaultRamp, "participants joining per second")
	fs.DurationVar(&sc.Settle, "settle", bench.DefaultSettle, "wait after the last join before measuring")
	fs.DurationVar(&sc.Duration, "duration", bench.DefaultDuration, "measurement window (60s, as the reference loads)")
	fs.DurationVar(&o.cfg.JoinTimeout, "join-timeout", bench.DefaultJoinTimeout, "one participant's join")
	fs.StringVar(&o.out, "out", "", "write the report as JSON to this file")
	fs.StringVar(&o.compare, "compare", "", "print the differences to this earlier JSON report")
	fs.Var(listFlag{&nf.pids}, "server-pid", "pid of a local server to sample through /proc (one per --url, in order)")
	fs.Var(listFlag{&nf.metrics}, "metrics-url", "server /metrics URL (default derived from --url; one per --url, in order)")
	fs.BoolVar(&o.startServer, "start-server", false, "start a parley server on free loopback ports and measure it")
	fs.IntVar(&o.nodes, "nodes", 1, "with --start-server: start this many independent servers (one cluster with --cluster) and spread the load over them")
	fs.BoolVar(&o.cfg.Cluster, "cluster", false, "the nodes are one cluster (cluster.redis_url): the two parties of each call and the members of a room go to different nodes; with --start-server, start a redis-server and join the nodes to it (needs redis-server on $PATH)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "with --start-server: the server writes a CPU profile of the measurement window to FILE (FILE.1, FILE.2 … with --nodes); read it with go tool pprof")
	fs.StringVar(&o.benchProfile, "bench-cpuprofile", "", "parley-bench writes a CPU profile of itself (the simulated clients: the Go SDK) over the measurement window to FILE; read it with go tool pprof")
	fs.BoolVar(&o.signalProfile, "signal-profile", false, "send SIGUSR1 to each --server-pid at the window's start and end: a server run with --cpuprofile FILE --cpuprofile-signal profiles the window (SIGUSR1 kills a process without that flag)")
	fs.StringVar(&o.serverBin, "server-bin", "", "parley binary for --start-server (default: next to parley-bench, then $PATH)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line")
	fs.StringVar(&logLevel, "log-level", "error", "bench log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var base bench.Scenario
	switch {
	case config != "":
		s, err := bench.LoadScenario(config)
		if err != nil {
			return o, err
		}
		base = s
	case bench.IsReference(scenario):
		s, err := bench.Reference(scenario, sc.Subscribers)
		if err != nil {
			return o, err
		}
		base = s
	default:
		base = bench.Scenario{Kind: bench.Kind(scenario), Ramp: bench.DefaultRamp, Settle: bench.DefaultSettle, Duration: bench.DefaultDuration}
	}
	// Explicit flags override the base; the base's own values stay otherwise.
	apply := map[string]func(){
		"rooms": func() { base.Rooms = sc.Rooms }, "video-publishers": func() { base.VideoPublishers = sc.VideoPublishers },
		"publisher-audio": func() { base.PublisherAudio = sc.PublisherAudio }, "audio-publishers": func() { base.AudioPublishers = sc.AudioPublishers },
		"simulcast": func() { base.Simulcast = sc.Simulcast }, "no-simulcast": func() { base.Simulcast = !noSimulcast },
		"codec":      func() { base.Codec = sc.Codec },
		"video-file": func() { base.VideoFile = sc.VideoFile }, "audio-file": func() { base.AudioFile = sc.AudioFile },
		"video-bitrate": func() { base.VideoBitrate = sc.VideoBitrate }, "subscribers": func() { base.Subscribers = sc.Subscribers },
		"views": func() { base.Views = sc.Views }, "high-views": func() { base.HighViews = sc.HighViews },
		"high-size": func() { base.HighWidth, base.HighHeight = sc.HighWidth, sc.HighHeight },
		"low-size":  func() { base.LowWidth, base.LowHeight = sc.LowWidth, sc.LowHeight },
		"calls":     func() { base.Calls = sc.Calls }, "call-rate": func() { base.CallRate = sc.CallRate },
		"hold": func() { base.Hold = sc.Hold }, "call-video": func() { base.CallVideo = sc.CallVideo },
		"early-media": func() { base.EarlyMedia = sc.EarlyMedia }, "signaling-only": func() { base.SignalingOnly = sc.SignalingOnly },
		"churn-rate": func() { base.ChurnRate = sc.ChurnRate }, "churn-video": func() { base.ChurnVideo = sc.ChurnVideo },
		"no-transport-cc": func() { base.NoTransportCC = sc.NoTransportCC },
		"ramp":            func() { base.Ramp = sc.Ramp }, "settle": func() { base.Settle = sc.Settle },
		"duration": func() { base.Duration = sc.Duration },
	}
	for name, fn := range apply {
		if set[name] {
			fn()
		}
	}
	base.SetDefaults()
	if err := base.Validate(); err != nil {
		return o, err
	}
	o.cfg.Scenario = base
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return o, fmt.Errorf("--log-level %q: %v", logLevel, err)
	}
	o.cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if !o.quiet {
		o.cfg.Progress = stderr
	}
	switch {
	case o.startServer && (set["url"] || set["server-pid"] || set["metrics-url"]):
		return o, errors.New("--start-server picks its own URL; drop --url, --server-pid and --metrics-url")
	case o.nodes < 1:
		return o, fmt.Errorf("--nodes %d: at least one", o.nodes)
	case o.nodes > 1 && !o.startServer:
		return o, errors.New("--nodes starts servers: it needs --start-server (give running servers as several --url)")
	case o.cpuProfile != "" && !o.startServer:
		return o, errors.New("--cpuprofile profiles a server parley-bench starts (--start-server); for a running server use --signal-profile")
	case o.signalProfile && o.startServer:
		return o, errors.New("--signal-profile is for servers given by --server-pid; with --start-server use --cpuprofile FILE")
	case o.cfg.Cluster && o.startServer && o.nodes < 2:
		return o, fmt.Errorf("--cluster needs at least two nodes: add --nodes 2 or more (got %d)", o.nodes)
	case o.cfg.Cluster && !o.startServer && len(nf.urls) < 2:
		return o, fmt.Errorf("--cluster needs at least two nodes: give each node's --url (got %d)", len(nf.urls))
	}
	nodes, err := nf.nodes()
	if err != nil {
		return o, err
	}
	o.cfg.Nodes = nodes
	if o.signalProfile {
		if err := signalProfiles(&o.cfg, stderr); err != nil {
			return o, err
		}
	}
	return o, nil
}

// runOnce runs the configured scenario, starting a server first with --start-server.
func runOnce(ctx context.Context, o options, stderr io.Writer) (*bench.Report, error) {
	if o.startServer {
		var redisURL string
		if o.cfg.Cluster {
			redis, err := startRedis(ctx)
			if err != nil {
				return nil, err
			}
			defer redis.stop()
			redisURL = redis.url
		}
		nodes, stop, err := startServers(ctx, o.serverBin, o.nodes, o.cpuProfile, redisURL, stderr)
		if err != nil {
			return nil, err
		}
		defer func() {
			stop()
			for i := range o.nodes {
				if o.cpuProfile != "" {
					fmt.Fprintf(stderr, "CPU profile of the window: %s (go tool pprof -top %s)\n", profilePath(o.cpuProfile, i, o.nodes), profilePath(o.cpuProfile, i, o.nodes))
				}
			}
		}()
		o.cfg.Nodes = nodes
		if o.cpuProfile != "" {
			if err := signalProfiles(&o.cfg, stderr); err != nil {
				return nil, err
			}
		}
	}
	if o.benchProfile != "" {
		p := &benchProfile{path: o.benchProfile, stderr: stderr}
		if err := p.hook(&o.cfg); err != nil {
			return nil, err
		}
		defer p.stop()
	}
	return bench.Run(ctx, o.cfg)
}

func writeResults(rep *bench.Report, o options, stdout, stderr io.Writer) int {
	if err := rep.WriteTable(stdout); err != nil {
		fmt.Fprintf(stderr, "parley-bench: %v\n", err)
		return 1
	}
	if o.out != "" {
		if err := rep.WriteJSON(o.out); err != nil {
			fmt.Fprintf(stderr, "parley-bench: %v\n", err)
			return 1
		}
	}
	if o.compare != "" {
		old, err := bench.ReadReport(o.compare)
		if err != nil {
			fmt.Fprintf(stderr, "parley-bench: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout)
		if err := bench.WriteComparison(stdout, old, rep); err != nil {
			fmt.Fprintf(stderr, "parley-bench: %v\n", err)
			return 1
		}
	}
	return 0
}
