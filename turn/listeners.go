package turn

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// closeTracker lets Server.Close wait for what pion's goroutines hold: the listeners'
// read/accept loops, the client TCP/TLS connections and the relay sockets. pion's own Close
// only closes the listening sockets and returns; waiting for these makes Close complete.
// It also remembers the open client connections so Close can cut them (pion does not).
type closeTracker struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
	// byAddr finds a client connection by its remote address, the source address pion
	// names in its allocation events (idleconns.go).
	byAddr map[string]*trackedConn
	// idle closes a client connection without an allocation that read nothing for this
	// long (0: never); onIdle is told of each (idleconns.go).
	idle   time.Duration
	onIdle func(client net.Addr)
	// maxPerIP caps the open client connections of one address bucket and maxConns those
	// of all (0: none, D272); perIP counts them (conns holds them all); onRefuse is told of
	// each connection closed for a cap, with the cap's reason.
	maxPerIP, maxConns int
	perIP              map[string]int
	onRefuse           func(client net.Addr, reason RefusalReason)
}

func newCloseTracker() *closeTracker {
	return &closeTracker{conns: map[*trackedConn]struct{}{}, byAddr: map[string]*trackedConn{}, perIP: map[string]int{}}
}

func (t *closeTracker) add()  { t.wg.Add(1) }
func (t *closeTracker) done() { t.wg.Done() }

// closeConns closes every client connection still open.
func (t *closeTracker) closeConns() {
	t.mu.Lock()
	conns := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// wait blocks until everything tracked is closed or timeout passes; it reports which.
func (t *closeTracker) wait(timeout time.Duration) bool {
	finished := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(finished)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-finished:
		return true
	case <-timer.C:
		return false
	}
}

// trackedPacketConn is the TURN UDP listening socket; pion's read loop is over once
// ReadFrom fails. With a limiter, it drops the STUN requests of a client address over
// turn.requests_per_second_per_ip before pion sees them (D316), calling refused.
type trackedPacketConn struct {
	net.PacketConn
	tracker *closeTracker
	once    sync.Once
	limiter *requestLimiter // nil: no limit
	refused func(src net.Addr)
	now     func() time.Time
}

func newTrackedPacketConn(pc net.PacketConn, t *closeTracker) *trackedPacketConn {
	t.add()
	return &trackedPacketConn{PacketConn: pc, tracker: t}
}

func (c *trackedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			c.once.Do(c.tracker.done)
			return n, addr, err
		}
		if c.limiter == nil || c.limiter.allow(p[:n], addr, c.now()) {
			return n, addr, nil
		}
		c.refused(addr)
	}
}

// trackedListener is a TURN TCP listening socket; its accepted connections are tracked,
// and handed to pion through limit when set (limitStream, D332).
type trackedListener struct {
	net.Listener
	tracker *closeTracker
	once    sync.Once
	limit   func(net.Conn) net.Conn
}

func newTrackedListener(ln net.Listener, t *closeTracker) *trackedListener {
	t.add()
	return &trackedListener{Listener: ln, tracker: t}
}

// Accept returns the next client connection within the per-address cap (D272); one beyond
// it is closed at once, before pion reads from it.
func (l *trackedListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			l.once.Do(l.tracker.done)
			return nil, err
		}
		tc, refused := l.tracker.track(conn)
		if tc != nil && l.limit != nil {
			return l.limit(tc), nil
		}
		if tc != nil {
			return tc, nil
		}
		_ = conn.Close()
		if l.tracker.onRefuse != nil {
			l.tracker.onRefuse(conn.RemoteAddr(), refused)
		}
	}
}

// track counts conn as a client connection of its address bucket, or returns nil and the
// reason when all clients hold maxConns or the bucket maxPerIP already.
func (t *closeTracker) track(conn net.Conn) (*trackedConn, RefusalReason) {
	bucket := clientBucket(conn.RemoteAddr())
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.maxConns > 0 && len(t.conns) >= t.maxConns {
		return nil, RefusedConns
	}
	if t.maxPerIP > 0 && t.perIP[bucket] >= t.maxPerIP {
		return nil, RefusedConnsIP
	}
	t.perIP[bucket]++
	tc := &trackedConn{Conn: conn, tracker: t, bucket: bucket}
	t.add()
	t.conns[tc] = struct{}{}
	t.byAddr[conn.RemoteAddr().String()] = tc
	t.armIdleLocked(tc)
	return tc, 0
}

// trackedConn is one client TCP/TLS connection.
type trackedConn struct {
	net.Conn
	tracker *closeTracker
	bucket  string // clientBucket of the remote address
	once    sync.Once
	idleConn
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.lastRead.Store(time.Now().UnixNano())
	}
	return n, err
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.tracker.mu.Lock()
		delete(c.tracker.conns, c)
		decrement(c.tracker.perIP, c.bucket)
		if key := c.RemoteAddr().String(); c.tracker.byAddr[key] == c {
			delete(c.tracker.byAddr, key)
		}
		if c.timer != nil {
			c.timer.Stop()
		}
		c.tracker.mu.Unlock()
		c.tracker.done()
	})
	return err
}

// tlsHandshakeListener completes each TLS handshake in its own goroutine, bounded by
// timeout, before handing the connection to pion through limit (limitStream over the
// plain stream, D332: then not a *tls.Conn, so pion neither repeats the handshake nor
// hands its state to authenticate, which does not use it). A client
// that fails or stalls the handshake is closed here: it neither blocks other clients nor
// leaks its socket (pion does not close a connection whose handshake fails).
type tlsHandshakeListener struct {
	inner   net.Listener
	config  *tls.Config
	timeout time.Duration

	limit     func(net.Conn) net.Conn
	ready     chan net.Conn
	closing   chan struct{}
	closeOnce sync.Once
	loops     sync.WaitGroup
}

func newTLSHandshakeListener(inner net.Listener, config *tls.Config, timeout time.Duration, limit func(net.Conn) net.Conn) *tlsHandshakeListener {
	return &tlsHandshakeListener{
		inner:   inner,
		config:  config,
		timeout: timeout,
		limit:   limit,
		ready:   make(chan net.Conn),
		closing: make(chan struct{}),
	}
}

// start runs the accept loop; Close stops it.
func (l *tlsHandshakeListener) start() {
	l.loops.Add(1)
	go l.acceptLoop()
}

func (l *tlsHandshakeListener) acceptLoop() {
	defer l.loops.Done()
	for {
		raw, err := l.inner.Accept()
		if err != nil {
			return
		}
		l.loops.Add(1)
		go l.handshake(raw)
	}
}

func (l *tlsHandshakeListener) handshake(raw net.Conn) {
	defer l.loops.Done()
	conn := tls.Server(raw, l.config)
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	err := conn.HandshakeContext(ctx)
	cancel()
	if err != nil {
		_ = conn.Close()
		return
	}
	select {
	case l.ready <- l.limit(conn):
	case <-l.closing:
		_ = conn.Close()
	}
}

func (l *tlsHandshakeListener) Accept() (net.Conn, error) {
	select {
	case conn := <-l.ready:
		return conn, nil
	case <-l.closing:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; handshakes in flight end when Server.Close cuts their
// connections (or at their timeout).
func (l *tlsHandshakeListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.closing)
		err = l.inner.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	})
	return err
}

// wait blocks until the accept loop and every handshake goroutine have returned.
func (l *tlsHandshakeListener) wait() { l.loops.Wait() }

func (l *tlsHandshakeListener) Addr() net.Addr { return l.inner.Addr() }
