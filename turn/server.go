package turn

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	pionturn "github.com/pion/turn/v5"
)

// Lifecycle errors.
var (
	// ErrAlreadyStarted: Start was called twice.
	ErrAlreadyStarted = errors.New("TURN server already started")
	// ErrClosed: Start after Close.
	ErrClosed = errors.New("TURN server closed")
)

const (
	// tlsHandshakeTimeout bounds one client's TLS handshake.
	tlsHandshakeTimeout = 10 * time.Second
	// closeTimeout bounds how long Close waits for pion's goroutines to let go.
	closeTimeout = 10 * time.Second
	// refusalLogInterval and refusalLogBurst throttle refusal and pion log lines per key.
	refusalLogInterval = 10 * time.Second
	refusalLogBurst    = 5
	// relayPortTries is how many random ports of the relay range an allocation tries to
	// bind (pion's default is 10): with 90 % of the range held, 1.5 % of allocations find
	// no port instead of 35 % (D245).
	relayPortTries = 40
)

// ListenAddrs are the bound TURN listening addresses (nil until Start; TLS nil when disabled).
type ListenAddrs struct {
	UDP net.Addr
	TCP net.Addr
	TLS net.Addr
}

// Server is the embedded TURN server.
type Server struct {
	cfg         Config
	logger      *slog.Logger
	secret      string
	staticUsers map[string]string
	policy      *peerPolicy
	quota       *allocationQuota
	permissions *permissionCount
	peerConns   *allocationQuota // peer connections of TCP allocations (peerconns.go)
	stats       counters
	throttle    *logThrottle
	now         func() time.Time
	// anyPorts makes Start bind every enabled listener to a kernel-chosen port (tests).
	anyPorts bool
	// allocateTimeout closes idle TCP/TLS clients without an allocation (idleconns.go;
	// tests shorten it).
	allocateTimeout time.Duration

	mu          sync.Mutex
	started     bool
	closed      bool
	pion        *pionturn.Server
	tracker     *closeTracker
	tlsListener *tlsHandshakeListener
	certificate *x509.Certificate
	addrs       ListenAddrs
}

// New validates cfg and prepares the server; it opens nothing (see Start). An empty
// secret is replaced by a random one, valid for this process only.
func New(cfg Config, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	policy, err := newPeerPolicy(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:         cfg,
		logger:      logger,
		secret:      cfg.Secret,
		staticUsers: maps.Clone(cfg.StaticUsers),
		policy:      policy,
		quota:       newAllocationQuota(cfg.AllocationQuotaPerUser, cfg.AllocationQuotaPerIP),
		permissions: newPermissionCount(MaxPermissionsPerAllocation),
		peerConns:   newPeerConnCount(),
		now:         time.Now,

		allocateTimeout: allocateTimeout,
	}
	s.throttle = newLogThrottle(logger, refusalLogInterval, refusalLogBurst, func() time.Time { return s.now() })
	if s.secret == "" {
		buf := make([]byte, 32)
		if _, err := io.ReadFull(rand.Reader, buf); err != nil {
			return nil, fmt.Errorf("generate TURN secret: %w", err)
		}
		s.secret = base64.RawStdEncoding.EncodeToString(buf)
		if cfg.Enabled {
			logger.Warn("turn.secret is empty: using an ephemeral random secret; TURN credentials will not survive a restart or work on other nodes")
		}
	}
	return s, nil
}

// Start opens the UDP, TCP and (when tls_port is set) TLS listeners and starts relaying.
// A disabled server (turn.enabled false) starts nothing and returns nil.
func (s *Server) Start() (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.notStartedLocked(); err != nil {
		return err
	}
	s.started = true
	if !s.cfg.Enabled {
		s.logger.Info("turn: disabled")
		return nil
	}

	tracker := newCloseTracker()
	tracker.idle, tracker.onIdle = s.allocateTimeout, func(client net.Addr) {
		s.refuse(RefusedNoAllocation, client, "no allocation and nothing sent for "+s.allocateTimeout.String())
	}
	tracker.maxPerIP, tracker.maxConns = s.cfg.MaxConnsPerIP, s.cfg.MaxConns
	tracker.onRefuse = func(client net.Addr, reason RefusalReason) {
		detail := fmt.Sprintf("the address holds turn.max_conns_per_ip (%d) connections", s.cfg.MaxConnsPerIP)
		if reason == RefusedConns {
			detail = fmt.Sprintf("the server holds turn.max_conns (%d) connections", s.cfg.MaxConns)
		}
		s.refuse(reason, client, detail)
	}
	var opened []io.Closer
	defer func() {
		if err != nil {
			for _, c := range opened {
				_ = c.Close()
			}
		}
	}()

	udpConn, err := net.ListenPacket(s.network("udp"), s.listenAddr(s.cfg.UDPPort))
	if err != nil {
		return fmt.Errorf("turn.udp_port: listen: %w", err)
	}
	opened = append(opened, udpConn)
	tcpListener, err := net.Listen(s.network("tcp"), s.listenAddr(s.cfg.TCPPort))
	if err != nil {
		return fmt.Errorf("turn.tcp_port: listen: %w", err)
	}
	opened = append(opened, tcpListener)
	var tlsRaw net.Listener
	var cert tls.Certificate
	if s.cfg.TLSPort != 0 {
		if cert, err = loadCertificate(s.cfg, s.now()); err != nil {
			return err
		}
		if tlsRaw, err = net.Listen(s.network("tcp"), s.listenAddr(s.cfg.TLSPort)); err != nil {
			return fmt.Errorf("turn.tls_port: listen: %w", err)
		}
		opened = append(opened, tlsRaw)
	}

	gen := &relayGenerator{
		inner: &pionturn.RelayAddressGeneratorPortRange{
			RelayAddress: net.ParseIP(s.cfg.RelayIP),
			Address:      s.cfg.relayBindAddress(),
			MinPort:      uint16(s.cfg.RelayPortMin), //nolint:gosec // Validate bounds it to 1..65535
			MaxPort:      uint16(s.cfg.RelayPortMax), //nolint:gosec // Validate bounds it to 1..65535
			MaxRetries:   relayPortTries,
		},
		policy:  s.policy,
		quota:   s.quota,
		conns:   s.peerConns,
		stats:   &s.stats,
		tracker: tracker,
		refuse:  s.refuse,
	}
	permission := s.permissionHandler
	limiter, refused := s.requestLimits()
	udpTracked := newTrackedPacketConn(udpConn, tracker)
	udpTracked.limiter, udpTracked.now, udpTracked.refused = limiter, s.now, refused
	limitStreams := func(c net.Conn) net.Conn { return limitStream(c, limiter, s.now, refused) }
	tcpTracked := newTrackedListener(tcpListener, tracker)
	tcpTracked.limit = limitStreams
	serverCfg := pionturn.ServerConfig{
		Realm:              s.cfg.Realm,
		AuthHandler:        s.authenticate,
		QuotaHandler:       s.quotaHandler,
		AllocationLifetime: s.cfg.MaxAllocationLifetime,
		LoggerFactory:      pionLoggerFactory{throttle: s.throttle},
		EventHandler: pionturn.EventHandler{
			OnAuth: s.onAuth,
			OnAllocationCreated: func(src, _ net.Addr, _, _, _ string, _ net.Addr, _ int) {
				tracker.allocationCreated(src)
			},
			OnAllocationDeleted: func(src, _ net.Addr, _, _, _ string) {
				tracker.allocationDeleted(src)
				s.permissions.allocationDeleted(src)
			},
			OnPermissionCreated: func(src, _ net.Addr, _, _, _ string, _ net.Addr, peer net.IP) {
				s.permissions.created(src, peer)
			},
			OnPermissionDeleted: func(src, _ net.Addr, _, _, _ string, _ net.Addr, peer net.IP) {
				s.permissions.deleted(src, peer)
			},
		},
		PacketConnConfigs: []pionturn.PacketConnConfig{{
			PacketConn:            udpTracked,
			RelayAddressGenerator: gen,
			PermissionHandler:     permission,
		}},
		ListenerConfigs: []pionturn.ListenerConfig{{
			Listener:              tcpTracked,
			RelayAddressGenerator: gen,
			PermissionHandler:     permission,
		}},
	}
	var tlsListener *tlsHandshakeListener
	if tlsRaw != nil {
		tlsListener = newTLSHandshakeListener(newTrackedListener(tlsRaw, tracker), &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		}, tlsHandshakeTimeout, limitStreams)
		serverCfg.ListenerConfigs = append(serverCfg.ListenerConfigs, pionturn.ListenerConfig{
			Listener:              tlsListener,
			RelayAddressGenerator: gen,
			PermissionHandler:     permission,
		})
	}

	srv, err := pionturn.NewServer(serverCfg)
	if err != nil {
		return fmt.Errorf("start pion TURN server: %w", err)
	}
	if tlsListener != nil {
		tlsListener.start()
		s.addrs.TLS = tlsRaw.Addr()
	}
	s.pion, s.tracker, s.tlsListener, s.certificate = srv, tracker, tlsListener, cert.Leaf
	s.addrs.UDP, s.addrs.TCP = udpConn.LocalAddr(), tcpListener.Addr()
	s.logger.Info("turn: started", "udp", s.addrs.UDP, "tcp", s.addrs.TCP, "tls", s.addrs.TLS,
		"relay_ip", s.cfg.RelayIP, "relay_ports", fmt.Sprintf("%d-%d", s.cfg.RelayPortMin, s.cfg.RelayPortMax))
	return nil
}

// SetServerMediaAddresses replaces turn.server_media_addresses (same form, checked as
// Validate checks it). Only before Start: it lets the caller name the SFU's media ports
// once the SFU has bound them (they may be configured as 0, any free port).
func (s *Server) SetServerMediaAddresses(addrs []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.notStartedLocked(); err != nil {
		return err
	}
	cfg := s.cfg
	cfg.ServerMediaAddresses = slices.Clone(addrs)
	if err := cfg.validateMediaAddresses(); err != nil {
		return err
	}
	policy, err := newPeerPolicy(cfg)
	if err != nil {
		return err
	}
	s.cfg, s.policy = cfg, policy
	return nil
}

// notStartedLocked reports why the server can no longer be set up or started (s.mu held).
func (s *Server) notStartedLocked() error {
	switch {
	case s.closed:
		return ErrClosed
	case s.started:
		return ErrAlreadyStarted
	}
	return nil
}

// Close stops the server: listeners, client connections and allocations. It waits (bounded)
// for the relay goroutines to let go. Idempotent; safe before Start.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv, tracker, tlsListener := s.pion, s.tracker, s.tlsListener
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	tracker.closeConns()
	if tlsListener != nil {
		tlsListener.wait()
		tracker.closeConns() // connections whose handshake finished while closing
	}
	if !tracker.wait(closeTimeout) {
		s.logger.Warn("turn: close timed out waiting for allocations to end", "timeout", closeTimeout)
	}
	if err != nil {
		return fmt.Errorf("close TURN server: %w", err)
	}
	return nil
}

// Addrs returns the bound listening addresses (zero before Start).
func (s *Server) Addrs() ListenAddrs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	return s.stats.snapshot()
}

// certificateLeaf is the TLS certificate in use (nil before Start or without TLS).
func (s *Server) certificateLeaf() *x509.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.certificate
}

func (s *Server) network(base string) string {
	if ip, err := netip.ParseAddr(s.cfg.BindAddress); err == nil && ip.Is4() {
		return base + "4"
	}
	return base
}

func (s *Server) listenAddr(port int) string {
	if s.anyPorts {
		port = 0
	}
	return net.JoinHostPort(s.cfg.BindAddress, strconv.Itoa(port))
}

// authenticate is pion's AuthHandler: it returns the long-term key of a static user or of
// a valid, unexpired TURN REST username, and as the user ID the allocationKey of the
// client's address and the userId (quota.go). pion checks the request's MESSAGE-INTEGRITY with
// the key (hmac.Equal, constant time); a mismatch is reported through onAuth. The key is
// derived with the configured realm, so a request naming another realm fails integrity.
func (s *Server) authenticate(ra *pionturn.RequestAttributes) (userID string, key []byte, ok bool) {
	if password, static := s.staticUsers[ra.Username]; static {
		return allocationKey(ra.SrcAddr, ra.Username), pionturn.GenerateAuthKey(ra.Username, s.cfg.Realm, password), true
	}
	userID, err := checkRESTUsername(ra.Username, s.now())
	if err != nil {
		reason := RefusedMalformedUsername
		if errors.Is(err, ErrExpiredCredential) {
			reason = RefusedExpired
		}
		s.refuse(reason, ra.SrcAddr, err.Error())
		return "", nil, false
	}
	password := restPassword(s.secret, ra.Username)
	return allocationKey(ra.SrcAddr, userID), pionturn.GenerateAuthKey(ra.Username, s.cfg.Realm, password), true
}

// onAuth counts requests whose MESSAGE-INTEGRITY did not match (wrong password/secret).
func (s *Server) onAuth(src, _ net.Addr, _, username, _, method string, verdict bool) {
	if !verdict {
		s.refuse(RefusedBadCredentials, src, method+" by "+username)
	}
}

// quotaHandler answers 486 (Allocation Quota Reached) when the user or the client's
// address holds its quota; relayGenerator enforces both exactly when the relay socket is
// taken (a request that passed here meanwhile gets 508). key is authenticate's user ID.
func (s *Server) quotaHandler(key, _ string, src net.Addr) bool {
	reason, ok := s.quota.check(key)
	if !ok {
		s.refuse(reason, src, "allocation "+key)
	}
	return ok
}

// permissionHandler is pion's PermissionHandler (CreatePermission, ChannelBind, Connect):
// the peer must be allowed (policy.go) and the allocation may hold at most
// MaxPermissionsPerAllocation peers (permissions.go, D270).
func (s *Server) permissionHandler(client net.Addr, peer net.IP) bool {
	ip, ok := peerAddr(peer)
	if !ok || !s.policy.allowIP(ip) {
		s.refuse(RefusedPeer, client, "peer "+peer.String())
		return false
	}
	if !s.permissions.allow(client, ip) {
		s.refuse(RefusedPermissions, client, fmt.Sprintf("peer %s: the allocation holds %d permissions", ip, MaxPermissionsPerAllocation))
		return false
	}
	return true
}

// requestLimits is turn.requests_per_second_per_ip (D316) for every listener, UDP and the
// TCP/TLS connections alike (D332): one limiter (nil when 0) and its refusal, counted and
// logged (the line built only when the throttle lets one through: a flood drops hundreds of
// thousands a second).
func (s *Server) requestLimits() (*requestLimiter, func(src net.Addr)) {
	if s.cfg.RequestsPerSecondPerIP == 0 {
		return nil, nil
	}
	refused := func(src net.Addr) {
		s.stats.refusals[RefusedRequestRate].Add(1)
		if !s.logger.Enabled(context.Background(), slog.LevelInfo) {
			return
		}
		if ok, suppressed := s.throttle.allow(requestRateLogKey); ok {
			s.logger.Info("turn: refused", "reason", RefusedRequestRate.String(), "client", src.String(),
				"detail", fmt.Sprintf("the address sent more than turn.requests_per_second_per_ip (%d, burst %d) STUN requests", s.cfg.RequestsPerSecondPerIP, s.cfg.RequestsBurstPerIP),
				"suppressed", suppressed)
		}
	}
	return newRequestLimiter(s.cfg.RequestsPerSecondPerIP, s.cfg.RequestsBurstPerIP), refused
}

// refuse counts a refusal and logs it (throttled per reason).
func (s *Server) refuse(reason RefusalReason, client net.Addr, detail string) {
	s.stats.refusals[reason].Add(1)
	attrs := []any{"reason", reason.String(), "detail", detail}
	if client != nil {
		attrs = append(attrs, "client", client.String())
	}
	s.throttle.log("refusal:"+reason.String(), slog.LevelInfo, "turn: refused", attrs...)
}
