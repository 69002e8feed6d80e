package signaling

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// Config is the `signaling` section of the root configuration.
type Config struct {
	// MaxMessageBytes bounds one client message; a larger one closes the socket with 1009.
	MaxMessageBytes int `mapstructure:"max_message_bytes"`
	// PingInterval is how often the server pings; PongTimeout is how long after that it
	// waits for a pong (or any message) before closing the connection.
	PingInterval time.Duration `mapstructure:"ping_interval"`
	PongTimeout  time.Duration `mapstructure:"pong_timeout"`
	// WriteTimeout bounds one write to the socket.
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
	// WriteQueueSize is the number of outgoing messages a connection may have queued; a
	// client that lets it overflow is disconnected (1008).
	WriteQueueSize int `mapstructure:"write_queue_size"`
	// ReconnectGrace is how long a session outlives its dropped connection, waiting for a
	// login with its resumeToken (used by the session layer).
	ReconnectGrace time.Duration `mapstructure:"reconnect_grace"`
	// MaxSessionsPerUser caps the sessions one user (SDKAppID, userId) may have at once
	// with multi-device on (without it a new login replaces the old session); a login
	// beyond it fails with CodeTooManySessions.
	MaxSessionsPerUser int `mapstructure:"max_sessions_per_user"`
	// AllowedOrigins lists the browser origins (scheme://host[:port]) allowed to connect;
	// empty means same-origin only, "*" allows any origin.
	AllowedOrigins []string `mapstructure:"allowed_origins"`
	// LoginTimeout is how long a connection may stay without a logged-in session: from
	// its start and again after a logout. Then it is closed with CloseLoginTimeout (4008).
	LoginTimeout time.Duration `mapstructure:"login_timeout"`
	// MaxStoredProfiles bounds the users whose profile (setSelfInfo, multi-device flag)
	// a single node keeps after their last session (D54); the least recently used goes
	// first. A cluster keeps them in Redis instead (cluster.profile_ttl).
	MaxStoredProfiles int `mapstructure:"max_stored_profiles"`
	// MaxPendingLogins caps the sockets of the server that have no logged-in session (not
	// yet, or again after a logout), each held up to LoginTimeout; an upgrade beyond it is
	// answered 503 (D207). 0: no cap.
	MaxPendingLogins int `mapstructure:"max_pending_logins"`
	// MaxPendingLoginsPerIP is the same cap for one client IP (IPv6: its /64); leave it 0
	// behind a reverse proxy, where every client has the proxy's IP.
	MaxPendingLoginsPerIP int `mapstructure:"max_pending_logins_per_ip"`
	// MaxSocketsPerIP caps the open sockets of one client IP (IPv6: its /64), logged in or
	// not; an upgrade beyond it is answered 503 (D318). 0: no cap (leave it 0 behind a
	// reverse proxy).
	MaxSocketsPerIP int `mapstructure:"max_sockets_per_ip"`
}

// DefaultConfig returns the defaults: 64 KiB messages, ping every 20 s, 10 s pong timeout,
// 10 s write timeout, 256 queued messages, 10 s reconnect grace, same-origin only, 10 s
// to log in, the profiles of 100000 users kept, 4096 sockets not logged in (1024 of one
// IP), 2048 sockets of one IP in all.
func DefaultConfig() Config {
	return Config{
		MaxMessageBytes: 64 * 1024,
		PingInterval:    20 * time.Second,
		PongTimeout:     10 * time.Second,
		WriteTimeout:    10 * time.Second,
		WriteQueueSize:  256,
		ReconnectGrace:  10 * time.Second,
		LoginTimeout:    10 * time.Second,

		MaxSessionsPerUser: 10,
		MaxStoredProfiles:  100_000,
		MaxPendingLogins:   4096,

		MaxPendingLoginsPerIP: 1024,
		MaxSocketsPerIP:       2048,
	}
}

// Validate checks the section; each error names its key.
func (c Config) Validate() error {
	var errs []error
	if c.MaxMessageBytes < 1024 || c.MaxMessageBytes > 16<<20 {
		errs = append(errs, fmt.Errorf("signaling.max_message_bytes: must be 1024..16777216, got %d", c.MaxMessageBytes))
	}
	if c.PingInterval < 10*time.Millisecond || c.PingInterval > 10*time.Minute {
		errs = append(errs, fmt.Errorf("signaling.ping_interval: must be 10ms..10m, got %s", c.PingInterval))
	}
	if c.PongTimeout < 10*time.Millisecond || c.PongTimeout > 10*time.Minute {
		errs = append(errs, fmt.Errorf("signaling.pong_timeout: must be 10ms..10m, got %s", c.PongTimeout))
	}
	if c.WriteTimeout < 10*time.Millisecond || c.WriteTimeout > 10*time.Minute {
		errs = append(errs, fmt.Errorf("signaling.write_timeout: must be 10ms..10m, got %s", c.WriteTimeout))
	}
	if c.WriteQueueSize < 1 || c.WriteQueueSize > 1<<16 {
		errs = append(errs, fmt.Errorf("signaling.write_queue_size: must be 1..65536, got %d", c.WriteQueueSize))
	}
	if c.ReconnectGrace < 0 || c.ReconnectGrace > 10*time.Minute {
		errs = append(errs, fmt.Errorf("signaling.reconnect_grace: must be 0..10m, got %s", c.ReconnectGrace))
	}
	if c.MaxSessionsPerUser < 1 || c.MaxSessionsPerUser > 1000 {
		errs = append(errs, fmt.Errorf("signaling.max_sessions_per_user: must be 1..1000, got %d", c.MaxSessionsPerUser))
	}
	if c.MaxPendingLogins < 0 || c.MaxPendingLogins > 1_000_000 {
		errs = append(errs, fmt.Errorf("signaling.max_pending_logins: must be 0..1000000 (0: no cap), got %d", c.MaxPendingLogins))
	}
	if c.MaxPendingLoginsPerIP < 0 || c.MaxPendingLoginsPerIP > 1_000_000 {
		errs = append(errs, fmt.Errorf("signaling.max_pending_logins_per_ip: must be 0..1000000 (0: no cap), got %d", c.MaxPendingLoginsPerIP))
	}
	if c.MaxSocketsPerIP < 0 || c.MaxSocketsPerIP > 1_000_000 {
		errs = append(errs, fmt.Errorf("signaling.max_sockets_per_ip: must be 0..1000000 (0: no cap), got %d", c.MaxSocketsPerIP))
	}
	if c.MaxStoredProfiles < 1 || c.MaxStoredProfiles > 10_000_000 {
		errs = append(errs, fmt.Errorf("signaling.max_stored_profiles: must be 1..10000000, got %d", c.MaxStoredProfiles))
	}
	if c.LoginTimeout < 10*time.Millisecond || c.LoginTimeout > time.Hour {
		errs = append(errs, fmt.Errorf("signaling.login_timeout: must be 10ms..1h, got %s", c.LoginTimeout))
	}
	for i, o := range c.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			errs = append(errs, fmt.Errorf("signaling.allowed_origins[%d]: %q is not \"*\" or scheme://host[:port]", i, o))
		}
	}
	return errors.Join(errs...)
}

// SessionFactory makes the SessionHandler of a new connection. It runs on the connection's HTTP
// handler goroutine before any message is read; it may keep c to Notify and Close later.
type SessionFactory func(c *Conn) SessionHandler

// Server accepts WebSocket signaling connections (mount it at GET /ws) and runs each with
// a SessionHandler made by its SessionFactory.
//
// Concurrency: the connection set and the closed/draining flags are guarded by mu; each
// connection runs on its own HTTP handler goroutine plus the writer and dispatcher it
// starts; wg counts the connections still running.
type Server struct {
	cfg        Config
	logger     *slog.Logger
	newSession SessionFactory
	upgrader   websocket.Upgrader

	mu       sync.Mutex
	conns    map[*Conn]struct{}
	nextID   uint64
	closed   bool
	draining bool
	wg       sync.WaitGroup

	stats connStats // counters every connection updates
}

// connStats are the Server's counters, updated by its connections.
type connStats struct {
	loginTimeouts atomic.Uint64  // connections closed with CloseLoginTimeout
	pipelineWaits atomic.Uint64  // responses that waited for the reply window
	pipelinePeak  atomic.Int64   // most requests one connection had read and not answered
	pending       pendingSockets // open connections without a logged-in session (D207)
	sockets       pendingSockets // all open connections, by client IP (D318)
}

// notePending raises the pipeline peak to n.
func (s *connStats) notePending(n int64) {
	for {
		peak := s.pipelinePeak.Load()
		if n <= peak || s.pipelinePeak.CompareAndSwap(peak, n) {
			return
		}
	}
}

// ServerStats are counters of the Server since it was made.
type ServerStats struct {
	// LoginTimeouts: connections closed because they did not log in within
	// signaling.login_timeout.
	LoginTimeouts uint64
	// PipelineWaits: responses that waited because the reply window of their connection
	// was full (a client pipelining requests faster than it reads the answers).
	PipelineWaits uint64
	// PipelinePeak: the most requests one connection had read and not yet answered (at
	// most MaxPipelinedRequests).
	PipelinePeak int64
	// PendingLogins: open connections without a logged-in session now.
	PendingLogins int64
	// PendingLoginRefusals: upgrades answered 503 because signaling.max_pending_logins
	// connections had not logged in.
	PendingLoginRefusals uint64
	// SocketRefusals: upgrades answered 503 because the client IP had
	// signaling.max_sockets_per_ip sockets open (D318).
	SocketRefusals uint64
}

// Stats returns the Server's counters.
func (s *Server) Stats() ServerStats {
	return ServerStats{
		LoginTimeouts: s.stats.loginTimeouts.Load(),
		PipelineWaits: s.stats.pipelineWaits.Load(),
		PipelinePeak:  s.stats.pipelinePeak.Load(),

		PendingLogins:        int64(s.stats.pending.count()),
		PendingLoginRefusals: s.stats.pending.refused.Load(),
		SocketRefusals:       s.stats.sockets.refused.Load(),
	}
}

// NewServer validates cfg and returns a server; it starts nothing. A nil logger discards.
func NewServer(cfg Config, logger *slog.Logger, newSession SessionFactory) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if newSession == nil {
		return nil, errors.New("signaling: NewServer needs a SessionFactory")
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		cfg:        cfg,
		logger:     logger,
		newSession: newSession,
		conns:      make(map[*Conn]struct{}),
	}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.WriteTimeout,
		CheckOrigin:      s.checkOrigin,
	}
	return s, nil
}

// Config returns the server's configuration.
func (s *Server) Config() Config { return s.cfg }

// checkOrigin applies signaling.allowed_origins. A request without an Origin header is
// not from a browser and passes. Empty allowed_origins accepts a same-origin request only
// when its Host is a loopback host: a page of an attacker's domain that DNS rebinding
// points at this server has the same host in Origin and Host, so "same origin" proves
// nothing for a public name. A refused request gets 403 (from the upgrader) and a log line.
func (s *Server) checkOrigin(r *http.Request) bool {
	ok := originAllowed(s.cfg.AllowedOrigins, r)
	if !ok {
		s.logger.Warn("websocket refused: origin not allowed (list it in signaling.allowed_origins)",
			"origin", r.Header.Get("Origin"), "host", r.Host, "remote", r.RemoteAddr)
	}
	return ok
}

// originAllowed is checkOrigin's rule without the log line (WHIP's CORS uses it too).
func originAllowed(allowedOrigins []string, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser
	}
	ok := false
	if len(allowedOrigins) == 0 {
		u, err := url.Parse(origin)
		ok = err == nil && strings.EqualFold(u.Host, r.Host) && IsLoopbackHost(r.Host)
	}
	for _, allowed := range allowedOrigins {
		if allowed == "*" || strings.EqualFold(strings.TrimSuffix(allowed, "/"), origin) {
			ok = true
		}
	}
	return ok
}

// IsLoopbackHost reports whether hostport ("host" or "host:port", IPv6 in brackets or
// not) names this machine's loopback: "localhost", 127.0.0.0/8 or ::1.
func IsLoopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// ServeHTTP upgrades the request to a WebSocket and serves it until it closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	client := ClientKeyOf(r.RemoteAddr)
	if !s.stats.sockets.acquire(client, 0, s.cfg.MaxSocketsPerIP) {
		s.refuseSockets(w, r)
		return
	}
	defer s.stats.sockets.release(client)
	if !s.stats.pending.acquire(client, s.cfg.MaxPendingLogins, s.cfg.MaxPendingLoginsPerIP) {
		s.refusePending(w, r)
		return
	}
	hj := &batchHijacker{ResponseWriter: w}
	ws, err := s.upgrader.Upgrade(hj, r, nil)
	if err != nil {
		s.stats.pending.release(client)
		s.logger.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "error", err)
		return // the upgrader has answered
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.stats.pending.release(client)
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(s.cfg.WriteTimeout))
		_ = ws.Close()
		return
	}
	s.nextID++
	c := newConn(s.nextID, ws, hj.conn, s.cfg, s.logger, r.RemoteAddr, &s.stats)
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.releasePending()
	}()

	c.logger.Debug("connection open")
	session := s.newSession(c)
	if session == nil {
		c.logger.Error("session factory returned nil; closing")
		c.abort(websocket.CloseInternalServerErr, "no session")
	}
	c.serve(session)
	c.logger.Debug("connection closed")
}

// refuseSockets answers an upgrade 503 while the client's IP holds
// signaling.max_sockets_per_ip sockets, logged in or not: a client with the userSigs of
// many users (an app that hands them to anonymous viewers) could otherwise hold sockets,
// each ~30 KB and three goroutines, until memory or descriptors ran out (D318). The 1st,
// 2nd, 4th, 8th... refusal is logged.
func (s *Server) refuseSockets(w http.ResponseWriter, r *http.Request) {
	if n := s.stats.sockets.refused.Add(1); n&(n-1) == 0 {
		s.logger.Warn("websocket refused: the client IP holds signaling.max_sockets_per_ip sockets",
			"max_sockets_per_ip", s.cfg.MaxSocketsPerIP, "remote", r.RemoteAddr, "refused_total", n)
	}
	w.Header().Set("Retry-After", "1")
	http.Error(w, "too many connections from this address (signaling.max_sockets_per_ip), retry later", http.StatusServiceUnavailable)
}

// refusePending answers an upgrade 503 while signaling.max_pending_logins sockets, or
// signaling.max_pending_logins_per_ip of the client's IP, have not logged in: each costs about 30 KB and three goroutines until its login or its
// login timeout, so without the cap one client could open sockets until memory or file
// descriptors ran out (D207). The 1st, 2nd, 4th, 8th... refusal is logged.
func (s *Server) refusePending(w http.ResponseWriter, r *http.Request) {
	if n := s.stats.pending.refused.Add(1); n&(n-1) == 0 {
		s.logger.Warn("websocket refused: too many sockets have not logged in",
			"max_pending_logins", s.cfg.MaxPendingLogins, "max_pending_logins_per_ip", s.cfg.MaxPendingLoginsPerIP,
			"remote", r.RemoteAddr, "refused_total", n)
	}
	w.Header().Set("Retry-After", "1")
	http.Error(w, "too many connections waiting to log in, retry later", http.StatusServiceUnavailable)
}

// Drain tells every connected client that the server is going away (onServerDraining)
// and marks the server as draining (Draining reports it; the session layer refuses new
// calls and rooms with protocol.CodeServerDraining). Connections stay open.
func (s *Server) Drain() {
	s.mu.Lock()
	s.draining = true
	conns := s.snapshot()
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Notify(protocol.EventServerDraining, protocol.ServerDrainingEvent{})
	}
}

// Draining reports whether Drain was called.
func (s *Server) Draining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// ConnCount is the number of open connections.
func (s *Server) ConnCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// PendingRequests is the number of requests read from the open connections and not yet
// answered (their answers not yet handed to the connection's writer).
func (s *Server) PendingRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := int64(0)
	for c := range s.conns {
		n += c.pending.Load()
	}
	return int(n)
}

// Close refuses new connections, closes every connection (1001 going away, after their
// queued messages) and waits until all their goroutines and close hooks finished.
// It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := s.snapshot()
	s.mu.Unlock()
	for _, c := range conns {
		c.Close(websocket.CloseGoingAway, "server shutting down")
	}
	s.wg.Wait()
	return nil
}

func (s *Server) snapshot() []*Conn {
	out := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}
