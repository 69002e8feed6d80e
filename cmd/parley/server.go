package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/ops/metrics"
	"github.com/parley-rtc/parley/ops/sqlrecords"
	"github.com/parley-rtc/parley/ops/webhooks"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
	"github.com/parley-rtc/parley/turn"
	"github.com/parley-rtc/parley/web"
)

// server assembles Parley's parts behind one HTTP listener. newServer starts nothing;
// start opens the sockets; shutdown drains and closes everything, once.
type server struct {
	cfg    configs.Config
	logger *slog.Logger

	engine    *sfu.Engine
	signaling *signaling.Service
	turn      *turn.Server // nil when turn.enabled is false
	records   *sqlrecords.Store
	metrics   *metrics.Metrics
	webhooks  *webhooks.Dispatcher

	mux      *http.ServeMux
	http     *http.Server
	listener net.Listener

	closeOnce sync.Once
	closeErr  error
}

func newServer(cfg configs.Config, logger *slog.Logger) (_ *server, err error) {
	s := &server{cfg: cfg, logger: logger, mux: http.NewServeMux(), metrics: metrics.New()}
	if s.records, err = sqlrecords.Open(context.Background(), cfg.Records.SQLitePath); err != nil {
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
		if len(cfg.TURN.ServerMediaAddresses) == 0 {
			cfg.TURN.ServerMediaAddresses = mediaAddresses(cfg)
		}
		if s.turn, err = turn.New(cfg.TURN, logger.With("component", "turn")); err != nil {
			return nil, err
		}
	}
	svc, err := signaling.NewService(signaling.ServiceConfig{
		Signaling: cfg.Signaling, Auth: cfg.Auth, Call: call.DefaultConfig(), Room: cfg.Room, Limits: cfg.Limits,
	}, signaling.Deps{
		Engine:     engine,
		Records:    s.records,
		Hooks:      hookFanout{s.metrics, s.webhooks},
		RoomEvents: roomFanout{s.metrics, s.webhooks},
		ICEServers: s.iceServers,
		Logger:     logger,
	})
	if err != nil {
		return nil, err
	}
	s.signaling = svc
	s.metrics.Attach(metrics.Sources{Engine: engine, Service: svc, TURN: s.turn})
	s.mux.Handle("GET /ws", svc.Handler())
	s.mux.Handle("GET /metrics", s.metrics.Handler())
	s.mux.Handle("GET /api/v1/calls", newCallsAPI(cfg.Admin.APIKey, s.records, logger.With("component", "admin")))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz) // drain.go
	webHandler, err := newWebHandler(cfg, logger)
	if err != nil {
		return nil, err
	}
	s.mux.Handle("/", webHandler) // the demo page at /, the SDK at /sdk/, POST /dev/usersig in dev mode
	s.http = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// start opens the media socket, the TURN listeners and the HTTP listener.
func (s *server) start() error {
	if err := s.engine.Start(); err != nil {
		return fmt.Errorf("start media: %w", err)
	}
	if s.turn != nil {
		if err := s.turn.Start(); err != nil {
			return fmt.Errorf("start turn: %w", err)
		}
	}
	s.webhooks.Start()
	ln, err := net.Listen("tcp", s.cfg.HTTP.Address)
	if err != nil {
		return fmt.Errorf("listen http %s: %w", s.cfg.HTTP.Address, err)
	}
	s.listener = ln
	s.logger.Info("http listening", "address", ln.Addr().String(),
		"websocket", "ws://"+ln.Addr().String()+"/ws", "health", "http://"+ln.Addr().String()+"/healthz")
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("http server stopped", "error", err)
		}
	}()
	return nil
}

// httpAddr is the address the HTTP listener got (useful with port 0).
func (s *server) httpAddr() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// shutdown drains (drain.go: refuse new sessions, let calls end or end them), then closes
// sessions, rooms and peers, and waits for them.
func (s *server) shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.drain(ctx)
		err := s.http.Shutdown(ctx)
		err = errors.Join(err, s.signaling.Close())
		err = errors.Join(err, s.records.Close())
		err = errors.Join(err, s.webhooks.Close(ctx)) // flushes the last events until the drain deadline
		if s.turn != nil {
			err = errors.Join(err, s.turn.Close())
		}
		s.closeErr = errors.Join(err, s.engine.Close())
	})
	return s.closeErr
}

// iceServers are the TURN servers (with fresh REST credentials) a user gets at login.
func (s *server) iceServers(userID string, now time.Time) []protocol.ICEServer {
	if s.turn == nil {
		return nil
	}
	host := s.cfg.TURN.RelayIP
	var out []protocol.ICEServer
	for _, ice := range s.turn.ICEServers(userID, now, host) {
		out = append(out, protocol.ICEServer{URLs: ice.URLs, Username: ice.Username, Credential: ice.Credential})
	}
	return out
}

// mediaAddresses are the SFU's own media addresses, which TURN may relay to although
// they are loopback or private.
func mediaAddresses(cfg configs.Config) []string {
	out := []string{cfg.RTC.NodeIP}
	return append(out, cfg.RTC.NAT1To1IPs...)
}

// newWebHandler serves the browser SDK and the demo page; in dev mode the page can get
// userSigs for the development app (or the first configured app) from the server.
func newWebHandler(cfg configs.Config, logger *slog.Logger) (http.Handler, error) {
	opts := web.Options{DevMode: cfg.Auth.DevMode, Logger: logger.With("component", "web")}
	if cfg.Auth.DevMode {
		verifier, err := signaling.NewVerifier(cfg.Auth)
		if err != nil {
			return nil, err
		}
		opts.MintUserSig = verifier.Mint
		opts.DevSDKAppID = cfg.Auth.Apps[0].SDKAppID
		for _, app := range cfg.Auth.Apps {
			if app.SDKAppID == signaling.DevSDKAppID {
				opts.DevSDKAppID = app.SDKAppID
			}
		}
	}
	return web.Handler(opts), nil
}
