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
)

// server assembles Parley's parts behind one HTTP listener. newServer starts nothing;
// start opens the sockets; shutdown drains and closes everything, once.
type server struct {
	cfg    configs.Config
	logger *slog.Logger

	mux      *http.ServeMux
	http     *http.Server
	listener net.Listener

	closeOnce sync.Once
	closeErr  error
}

func newServer(cfg configs.Config, logger *slog.Logger) (*server, error) {
	s := &server{cfg: cfg, logger: logger, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.http = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// start opens the HTTP listener and serves in the background.
func (s *server) start() error {
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

// shutdown stops accepting, closes sessions, rooms and peers, and waits for them.
func (s *server) shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.closeErr = s.http.Shutdown(ctx)
	})
	return s.closeErr
}
