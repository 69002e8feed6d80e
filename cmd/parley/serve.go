package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/parley-rtc/parley/configs"
)

// runServe loads the configuration, starts the server and blocks until SIGINT/SIGTERM.
func runServe(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("parley", pflag.ContinueOnError)
	configPath := fs.String("config", "", "YAML configuration file (see configs/parley.yaml)")
	cpuProfilePath := fs.String("cpuprofile", "", "write a CPU profile of the server to FILE (go tool pprof), from start to exit")
	cpuProfileOnSignal := fs.Bool("cpuprofile-signal", false, "with --cpuprofile: profile from the first SIGUSR1 to the second (or to exit) instead")
	configs.RegisterFlags(fs)
	if code, ok := parseFlags(fs, usage, args, stdout, stderr); !ok {
		return code
	}
	cfg, err := configs.Load(*configPath, fs)
	if err != nil {
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return 2
	}
	logger := newLogger(cfg.Log, stderr)
	if *cpuProfileOnSignal && *cpuProfilePath == "" {
		fmt.Fprintf(stderr, "parley: --cpuprofile-signal needs --cpuprofile FILE\n")
		return 2
	}
	if *cpuProfilePath != "" {
		profile, err := startCPUProfile(*cpuProfilePath, *cpuProfileOnSignal, logger)
		if err != nil {
			fmt.Fprintf(stderr, "parley: %v\n", err)
			return 1
		}
		defer func() {
			if err := profile.stop(); err != nil {
				logger.Error("CPU profile", "error", err)
			}
		}()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, logger, nil); err != nil {
		logger.Error("parley stopped with an error", "error", err)
		return 1
	}
	return 0
}

// serve runs the server until ctx is done, then shuts it down within the drain timeout.
// ready, if not nil, receives the started server (tests use it to find the addresses).
func serve(ctx context.Context, cfg configs.Config, logger *slog.Logger, ready chan<- *server) error {
	srv, err := newServer(cfg, logger)
	if err != nil {
		return err
	}
	if err := srv.start(); err != nil {
		_ = srv.shutdown(context.Background())
		return err
	}
	if ready != nil {
		ready <- srv
	}
	<-ctx.Done()
	logger.Info("shutting down", "drain_timeout", cfg.HTTP.DrainTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.DrainTimeout)
	defer cancel()
	if err := srv.shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func newLogger(cfg configs.LogConfig, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.Format == "json" {
		// A duration as Go writes it ("20s", "1.5ms"), as the text format does: slog's JSON
		// handler writes nanoseconds ("drain_timeout":20000000000).
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				a.Value = slog.StringValue(a.Value.Duration().String())
			}
			return a
		}
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// demoURL is the address of the demo page a browser on this machine can open: a listener
// on every interface (0.0.0.0 or [::]) is reached through loopback.
func demoURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
