package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-rtc/parley/cluster"
	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/ops/metrics"
	"github.com/parley-rtc/parley/ops/pgrecords"
	"github.com/parley-rtc/parley/ops/recording"
	"github.com/parley-rtc/parley/ops/records"
	"github.com/parley-rtc/parley/ops/sqlrecords"
	"github.com/parley-rtc/parley/ops/webhooks"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
	"github.com/parley-rtc/parley/turn"
	"github.com/parley-rtc/parley/web"
)

// server assembles Parley's parts behind one HTTP listener (and, with metrics.address, a
// second one for /metrics). newServer starts nothing; start opens the sockets; shutdown
// drains and closes everything, once.
type server struct {
	cfg    configs.Config
	logger *slog.Logger

	engine    *sfu.Engine
	signaling *signaling.Service
	turn      *turn.Server    // nil when turn.enabled is false
	records   *records.Writer // over the store records.driver names
	metrics   *metrics.Metrics
	webhooks  *webhooks.Dispatcher
	whip      *signaling.WHIP // nil when whip.enabled is false
	recorder  *recording.Recorder
	cluster   *cluster.Cluster // nil: one node (cluster.go)

	mux      *http.ServeMux
	http     *http.Server
	listener net.Listener

	metricsHTTP     *http.Server // nil when /metrics is on the main listener
	metricsListener net.Listener
	connsRefused    atomic.Uint64 // connections closed at accept by http.max_conns_per_ip
	requestRefused  atomic.Uint64 // connections answered 503 by http.max_request_conns[_per_ip]

	closeOnce sync.Once
	closeErr  error
}

func newServer(cfg configs.Config, logger *slog.Logger) (_ *server, err error) {
	s := &server{cfg: cfg, logger: logger, mux: http.NewServeMux(), metrics: metrics.New()}
	if s.records, err = openRecords(context.Background(), cfg.Records, logger.With("component", "records")); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = s.records.Close()
		}
	}()
	if s.webhooks, err = webhooks.New(cfg.Webhooks, logger.With("component", "webhooks")); err != nil {
		return nil, err
	}
	engine, err := sfu.NewEngine(cfg.RTC, logger.With("component", "sfu"))
	if err != nil {
		return nil, err
	}
	s.engine = engine
	if cfg.TURN.Enabled {
		if cfg.TURN.Secret == "" { // reported with the other conveniences (logConveniences)
			if cfg.TURN.Secret, err = ephemeralSecret(); err != nil {
				return nil, err
			}
		}
		if s.turn, err = turn.New(cfg.TURN, logger.With("component", "turn")); err != nil {
			return nil, err
		}
	}
	if s.cluster, err = s.newCluster(); err != nil {
		return nil, err
	}
	recEvents := &recorderEvents{calls: cfg.Recording.Calls} // recordingsapi.go
	svc, err := signaling.NewService(signaling.ServiceConfig{
		Signaling: cfg.Signaling, Auth: cfg.Auth, Call: call.DefaultConfig(), Room: cfg.Room, Limits: cfg.Limits,
	}, signaling.Deps{
		Engine:     engine,
		Records:    s.records,
		Hooks:      hookFanout{s.metrics, s.webhooks, recEvents},
		RoomEvents: roomFanout{s.metrics, s.webhooks, recEvents},
		CallSteps:  s.metrics,
		ICEServers: s.iceServers,
		Logger:     logger,
		Cluster:    s.cluster,
		RoomPlaced: recEvents.RoomPlaced,
		Recorder:   recEvents,
	})
	if err != nil {
		return nil, err
	}
	s.signaling = svc
	s.metrics.Attach(metrics.Sources{Engine: engine, Service: svc, TURN: s.turn})
	s.metrics.Registry().MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "parley_http_conns_refused_total",
		Help: "HTTP connections closed at accept because their IP had http.max_conns_per_ip open.",
	}, func() float64 { return float64(s.connsRefused.Load()) }))
	s.metrics.Registry().MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "parley_http_request_conns_refused_total",
		Help: "HTTP connections answered 503 at accept because their client or the server had http.max_request_conns_per_ip or http.max_request_conns connections that carry requests (not WebSockets).",
	}, func() float64 { return float64(s.requestRefused.Load()) }))
	s.registerRecordsMetrics()
	s.registerWebhooksMetrics()
	s.mux.Handle("GET /ws", svc.Handler())
	if cfg.WHIP.Enabled {
		if s.whip, err = svc.NewWHIP(cfg.WHIP); err != nil {
			return nil, err
		}
		s.mux.Handle("/whip/", s.whip) // POST /whip/{roomId}, PATCH and DELETE /whip/sessions/{id} (docs/whip.md)
		s.mux.Handle("/whep/", s.whip) // POST /whep/{roomId}/{userId}, PATCH and DELETE /whep/sessions/{id}
		s.registerWHIPMetrics()
	}
	scrapes := s.metrics.Handler(metrics.Limits{ // D331: on either listener
		ScrapesPerMinute: cfg.Metrics.ScrapesPerMinute, ScrapesBurst: cfg.Metrics.ScrapesBurst, MaxInFlight: cfg.Metrics.MaxInFlight,
	})
	if cfg.Metrics.Address == "" {
		s.mux.Handle("GET /metrics", scrapes)
	} else {
		metricsMux := http.NewServeMux()
		metricsMux.Handle("GET /metrics", scrapes)
		s.metricsHTTP = newHTTPServer(cfg.HTTP, metricsMux, logger)
	}
	calls := newCallsAPI(cfg.Admin.APIKey, s.records, logger.With("component", "admin"))
	s.mux.Handle("GET /api/v1/calls", calls)
	s.mux.Handle("GET /api/v1/presence", &presenceAPI{auth: calls, read: svc.Presence, log: logger.With("component", "admin")})
	if s.recorder, err = recording.New(cfg.Recording, svc.Rooms(), engine.UDPAddr, func(m recording.Info) {
		s.webhooks.RecordingFinished(m.SDKAppID, m)
	}, logger.With("component", "recording")); err != nil {
		return nil, err
	}
	if s.cluster != nil { // recordings where the rooms' media are (D122, D124, D125)
		s.recorder.Node, s.recorder.Elsewhere, s.recorder.Remote = s.cluster.ID(), svc.RoomNode, svc.RecordCallOn
	}
	recEvents.rec.Store(s.recorder)
	recordings := newRecordingsAPI(calls, s.recorder, svc, logger.With("component", "admin"))
	s.mux.Handle("/api/v1/recordings", recordings)
	s.mux.Handle("/api/v1/recordings/", recordings)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz) // drain.go
	webHandler, err := newWebHandler(cfg, logger)
	if err != nil {
		return nil, err
	}
	s.mux.Handle("/", webHandler) // the demo page at /, the SDK at /sdk/, POST /dev/usersig and /dev/roomgrant in dev mode
	s.http = newHTTPServer(cfg.HTTP, s.mux, logger)
	logConveniences(s.cfg, logger) // s.cfg: turn.secret as configured, before the ephemeral one
	return s, nil
}

// newHTTPServer is an HTTP server with the http section's timeouts and header limit.
func newHTTPServer(c configs.HTTPConfig, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// logConveniences names every development convenience that is on in one line: for
// information in dev mode (which Validate allows on a loopback listener only), as a
// warning otherwise.
func logConveniences(cfg configs.Config, logger *slog.Logger) {
	list := cfg.Conveniences()
	if len(list) == 0 {
		return
	}
	names := make([]string, len(list))
	for i, c := range list {
		names[i] = c.String()
	}
	if cfg.Auth.DevMode {
		logger.Info("development setup on loopback, not for deployment", "conveniences", strings.Join(names, "; "))
		return
	}
	logger.Warn("development conveniences are on", "conveniences", strings.Join(names, "; "))
}

// ephemeralSecret is a random TURN secret for this process (turn.secret empty).
func ephemeralSecret() (string, error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("generate TURN secret: %w", err)
	}
	return base64.RawStdEncoding.EncodeToString(buf), nil
}

// start opens the media socket, the TURN listeners and the HTTP listener.
func (s *server) start() error {
	if err := s.engine.Start(); err != nil {
		return fmt.Errorf("start media: %w", err)
	}
	if s.turn != nil {
		if err := s.setTURNMediaAddresses(); err != nil { // turn_media.go
			return err
		}
		if err := s.turn.Start(); err != nil {
			return fmt.Errorf("start turn: %w", err)
		}
	}
	s.webhooks.Start()
	ln, err := net.Listen("tcp", s.cfg.HTTP.Address)
	if err != nil {
		return fmt.Errorf("listen http %s: %w", s.cfg.HTTP.Address, err)
	}
	if s.cfg.HTTP.MaxConnsPerIP > 0 {
		ln = newPerIPListener(ln, s.cfg.HTTP.MaxConnsPerIP, &s.connsRefused, s.logger.With("component", "http"))
	}
	if c := s.cfg.HTTP; c.MaxRequestConnsPerIP > 0 || c.MaxRequestConns > 0 { // requestconns.go, D247
		limiter := newRequestConnLimiter(ln, c.MaxRequestConnsPerIP, c.MaxRequestConns, &s.requestRefused, s.logger.With("component", "http"))
		s.http.ConnState, ln = limiter.ConnState, limiter
	}
	s.listener = ln
	s.logger.Info("http listening", "address", ln.Addr().String(),
		"websocket", "ws://"+ln.Addr().String()+"/ws", "health", "http://"+ln.Addr().String()+"/healthz")
	s.logger.Info("demo page", "url", demoURL(ln.Addr())) // the web handler is mounted at / (newServer)
	// Join the cluster (cluster.go) before serving: a login may need another node.
	if err := s.startCluster(); err != nil {
		return err
	}
	s.serveHTTP(s.http, ln)
	if s.metricsHTTP == nil {
		return nil
	}
	mln, err := net.Listen("tcp", s.cfg.Metrics.Address)
	if err != nil {
		return fmt.Errorf("listen metrics %s: %w", s.cfg.Metrics.Address, err)
	}
	s.metricsListener = mln
	s.logger.Info("metrics listening", "metrics", "http://"+mln.Addr().String()+"/metrics")
	s.serveHTTP(s.metricsHTTP, mln)
	return nil
}

func (s *server) serveHTTP(srv *http.Server, ln net.Listener) {
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("http server stopped", "address", ln.Addr().String(), "error", err)
		}
	}()
}

// httpAddr is the address the HTTP listener got (useful with port 0).
func (s *server) httpAddr() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// metricsAddr is the address of the metrics listener ("" when /metrics is on httpAddr).
func (s *server) metricsAddr() string {
	if s.metricsListener == nil {
		return ""
	}
	return s.metricsListener.Addr().String()
}

// openRecords opens the store records.driver names, behind a Writer that takes the writes
// off the signaling sessions' queues (docs/decisions.md D48).
func openRecords(ctx context.Context, cfg records.Config, logger *slog.Logger) (*records.Writer, error) {
	var store records.Store
	var err error
	if cfg.Driver == records.DriverPostgres {
		store, err = pgrecords.Open(ctx, cfg.PostgresDSN)
	} else {
		store, err = sqlrecords.Open(ctx, cfg.SQLitePath)
	}
	if err != nil {
		return nil, err
	}
	w := records.NewWriter(store, 0, logger)
	w.SetRetryFor(cfg.RetryFor)
	return w, nil
}

// registerRecordsMetrics exposes the records Writer's counters (D48).
func (s *server) registerRecordsMetrics() {
	stat := func(f func(records.WriterStats) float64) func() float64 {
		return func() float64 { return f(s.records.Stats()) }
	}
	s.metrics.Registry().MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parley_records_written_total", Help: "Call records the records store took.",
		}, stat(func(w records.WriterStats) float64 { return float64(w.Written) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parley_records_dropped_total", Help: "Call records lost: refused by a full write queue, or by the store for records.retry_for.",
		}, stat(func(w records.WriterStats) float64 { return float64(w.Dropped) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parley_records_queued", Help: "Call records waiting to be written.",
		}, stat(func(w records.WriterStats) float64 { return float64(w.Queued) })),
	)
}

// registerWebhooksMetrics exposes the webhook Dispatcher's counters, over every URL (D226):
// a receiver that fails shows only in logs otherwise.
func (s *server) registerWebhooksMetrics() {
	for _, c := range []struct {
		name, help string
		value      func(webhooks.Stats) uint64
	}{
		{"parley_webhooks_delivered_total", "Webhook events a receiver accepted (2xx).", func(w webhooks.Stats) uint64 { return w.Delivered }},
		{"parley_webhooks_retries_total", "Webhook deliveries that failed (non-2xx or network error) and were tried again.", func(w webhooks.Stats) uint64 { return w.Retries }},
		{"parley_webhooks_failed_total", "Webhook events given up after webhooks.max_attempts failed tries.", func(w webhooks.Stats) uint64 { return w.GivenUp }},
		{"parley_webhooks_dropped_total", "Webhook events dropped by a full per-URL queue (webhooks.queue_size) or at shutdown.", func(w webhooks.Stats) uint64 { return w.Dropped }},
	} {
		s.metrics.Registry().MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help},
			func() float64 { return float64(c.value(s.webhooks.Stats())) }))
	}
	s.metrics.Registry().MustRegister(webhookDropsCollector{s.webhooks})
}

// registerWHIPMetrics exposes the WHIP/WHEP sessions and the POSTs refused per client IP
// (D315).
func (s *server) registerWHIPMetrics() {
	reg := s.metrics.Registry()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "parley_whip_sessions", Help: "Open WHIP and WHEP sessions (whip.max_sessions).",
	}, func() float64 { return float64(s.whip.Sessions()) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "parley_whip_offers_refused_total",
		Help: "WHIP and WHEP POSTs answered 429 because their client IP had used whip.offers_per_minute/offers_burst.",
	}, func() float64 { offers, _ := s.whip.Refusals(); return float64(offers) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "parley_whip_ip_sessions_refused_total",
		Help: "WHIP and WHEP POSTs answered 429 because their client IP had whip.max_sessions_per_ip sessions.",
	}, func() float64 { _, ip := s.whip.Refusals(); return float64(ip) }))
}

// shutdown drains (drain.go: refuse new sessions, let calls end or end them), then closes
// sessions, rooms and peers, and waits for them.
func (s *server) shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.drain(ctx)
		err := s.http.Shutdown(ctx)
		if s.metricsHTTP != nil {
			err = errors.Join(err, s.metricsHTTP.Shutdown(ctx))
		}
		if s.whip != nil {
			err = errors.Join(err, s.whip.Close())
		}
		err = errors.Join(err, s.recorder.Close()) // completes the files of running recordings
		err = errors.Join(err, s.signaling.Close())
		if s.cluster != nil {
			err = errors.Join(err, s.cluster.Close())
		}
		err = errors.Join(err, s.records.Close())     // after signaling: its last records are queued
		err = errors.Join(err, s.webhooks.Close(ctx)) // flushes the last events until the drain deadline
		if s.turn != nil {
			err = errors.Join(err, s.turn.Close())
		}
		s.closeErr = errors.Join(err, s.engine.Close())
	})
	return s.closeErr
}

// iceServers are the TURN servers (with fresh REST credentials) a user gets at login;
// turnUser is signaling.TURNUser(app, userId).
func (s *server) iceServers(turnUser string, now time.Time) []protocol.ICEServer {
	if s.turn == nil {
		return nil
	}
	host := s.cfg.TURN.RelayIP
	var out []protocol.ICEServer
	for _, ice := range s.turn.ICEServers(turnUser, now, host) {
		out = append(out, protocol.ICEServer{URLs: ice.URLs, Username: ice.Username, Credential: ice.Credential})
	}
	return out
}

// newWebHandler serves the browser SDK and the demo page; in dev mode the page can get
// userSigs and room grants for the development app (or the first configured app) from
// the server.
func newWebHandler(cfg configs.Config, logger *slog.Logger) (http.Handler, error) {
	opts := web.Options{
		DevMode: cfg.Auth.DevMode, AllowedOrigins: cfg.Signaling.AllowedOrigins, Logger: logger.With("component", "web"),
	}
	if cfg.Auth.DevMode {
		verifier, err := signaling.NewVerifier(cfg.Auth)
		if err != nil {
			return nil, err
		}
		opts.MintUserSig = verifier.Mint
		opts.MintRoomGrant = verifier.MintRoomGrant
		opts.DevSDKAppID = cfg.Auth.Apps[0].SDKAppID
		for _, app := range cfg.Auth.Apps {
			if app.SDKAppID == signaling.DevSDKAppID {
				opts.DevSDKAppID = app.SDKAppID
			}
		}
	}
	return web.Handler(opts), nil
}
