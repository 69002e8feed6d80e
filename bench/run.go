package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/parley-rtc/parley/client"
)

// Defaults of Config.
const (
	DefaultJoinTimeout = 30 * time.Second
	preflightTimeout   = 5 * time.Second
	sampleInterval     = time.Second
	// maxParallelCloses bounds the participants leaving at once at the end of a run.
	maxParallelCloses = 16
)

// Config is one bench run against one server (URL) or several (Nodes).
type Config struct {
	// URL is the signaling WebSocket (ws://host:port/ws).
	URL string
	// Nodes, instead of URL, ServerPID and MetricsURL, are several servers the load is
	// spread over, round-robin by room (room, churn) or by call (calls): both parties of
	// a call and every member of a room are on the same node, since independent nodes do
	// not share rooms or users (D37), unless Cluster. The report's server figures are the
	// nodes' sums; Report.Nodes has each node's.
	Nodes []Node
	// Cluster: the Nodes are one Parley cluster (cluster.redis_url, docs/architecture.md):
	// the members of a call or a room go to different nodes in turn (D56), and Run first
	// checks through each node's /metrics that every node sees all the others.
	Cluster bool
	// AppID and Secret mint the userSigs and, for room scenarios, the room grants (HS256).
	AppID  int
	Secret string
	// Scenario is the load (SetDefaults is applied, then Validate).
	Scenario Scenario
	// ServerPID, when > 0, is sampled through /proc (CPU seconds, RSS, threads).
	ServerPID int
	// MetricsURL is the server's Prometheus endpoint; "" derives http://host:port/metrics
	// from URL. A server without it is measured through /proc and the subscribers.
	MetricsURL string
	// JoinTimeout bounds one participant's join (default 30 s).
	JoinTimeout time.Duration
	// Progress receives the live progress line (nil: none).
	Progress io.Writer
	// Logger receives warnings of the participants; nil discards them.
	Logger *slog.Logger
	// WindowStart and WindowEnd, when set, run on the scenario's goroutine right before
	// the measurement window starts and right after it ends, while the load runs (e.g. to
	// start and stop a CPU profile of the server: cmd/parley-bench --cpuprofile).
	WindowStart, WindowEnd func()
}

func (c *Config) check() error {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.JoinTimeout <= 0 {
		c.JoinTimeout = DefaultJoinTimeout
	}
	if err := c.checkNodes(); err != nil {
		return err
	}
	if c.AppID <= 0 || c.Secret == "" {
		return fmt.Errorf("bench: an app id and a secret are needed to mint userSigs: %w", ErrInvalidScenario)
	}
	c.Scenario.SetDefaults()
	return c.Scenario.Validate()
}

// isLoopbackHost reports whether the URL's host is this machine's loopback: media then
// stays on 127.0.0.1 (no STUN/TURN, loopback candidates only).
func isLoopbackHost(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runner is the state of one Run. failures is guarded by mu; everything else is set
// before the participants start or owned by Run's goroutine.
type runner struct {
	cfg   Config
	runID string
	// targets are the nodes (Config.Nodes) participants connect to, in order.
	targets []*target
	meter   *meter
	probe   *clusterProbe

	// videoFile and audioFile are the scenario's media files (nil: synthetic media),
	// loaded once and shared by every publisher.
	videoFile *client.IVFVideo
	audioFile *client.OggOpus

	mu       sync.Mutex
	failures map[string]int
	joined   int
	attempts int
	calls    callMeter
}

func (r *runner) fail(cause string) {
	r.mu.Lock()
	r.failures[cause]++
	r.mu.Unlock()
}

func (r *runner) joinedOne() {
	r.mu.Lock()
	r.joined++
	r.mu.Unlock()
}

// Run runs the scenario and returns its report. It fails fast, before any load, when the
// server cannot be reached, the secret is wrong or the scenario is impossible.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	id := make([]byte, 3)
	_, _ = rand.Read(id)
	m := &meter{}
	var err error
	r := &runner{
		cfg: cfg, runID: hex.EncodeToString(id), meter: m, failures: map[string]int{},
		probe: newClusterProbe(cfg.Nodes),
	}
	if r.videoFile, r.audioFile, err = cfg.Scenario.loadMedia(); err != nil {
		return nil, err
	}
	for _, n := range cfg.Nodes {
		r.targets = append(r.targets, &target{
			url: n.URL, appID: cfg.AppID, secret: []byte(cfg.Secret),
			loopback: isLoopbackHost(n.URL), logger: cfg.Logger, meter: m,
			noTransportCC: cfg.Scenario.NoTransportCC,
		})
	}
	if err := r.checkCluster(ctx); err != nil {
		return nil, err
	}
	if err := r.preflight(ctx); err != nil {
		return nil, err
	}
	rep := newReport(cfg, r.runID)
	rec := newRecorder(r, rep)
	rec.start(ctx)
	switch cfg.Scenario.Kind {
	case KindRoom:
		err = r.runRoom(ctx, rec)
	case KindCalls:
		err = r.runCalls(ctx, rec)
	case KindChurn:
		err = r.runChurn(ctx, rec)
	}
	rec.stop()
	r.finish(rep, rec)
	return rep, err
}

// preflight logs a probe user in and out of every node: the URLs, app and secret work.
func (r *runner) preflight(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	for i, tg := range r.targets {
		p, err := connect(ctx, tg, fmt.Sprintf("bench_probe_%s_%d", r.runID, i), false)
		if err != nil {
			switch {
			case errors.Is(err, ErrWrongSecret):
				return fmt.Errorf("bench: the server at %s rejected the userSig: wrong secret for app %d? (%w)", tg.url, r.cfg.AppID, err)
			case errors.Is(err, ErrUnreachable):
				return fmt.Errorf("bench: cannot reach the server at %s (is it running?): %w", tg.url, err)
			}
			return fmt.Errorf("bench: preflight login at %s: %w", tg.url, err)
		}
		p.close()
	}
	return nil
}

// node is the target of the i-th room or call: the nodes in turn.
func (r *runner) node(i int) *target { return r.targets[i%len(r.targets)] }

func (r *runner) userID(role string, room, i int) string {
	return fmt.Sprintf("b%s_r%d_%s%d", r.runID, room, role, i)
}

// closeAll closes participants, a few at a time.
func closeAll(ps []*participant) {
	sem := make(chan struct{}, maxParallelCloses)
	var wg sync.WaitGroup
	for _, p := range ps {
		if p == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.close()
		}()
	}
	wg.Wait()
}

// sleepCtx sleeps d or until ctx ends; false when ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// failureCause names an error for the failures table: the first words of its message.
func failureCause(stage string, err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		msg = msg[i+2:]
	}
	if len(msg) > 60 {
		msg = msg[:60]
	}
	return stage + ": " + msg
}
