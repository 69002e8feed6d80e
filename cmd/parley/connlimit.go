package main

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// perIPListener caps the open connections of each remote IP (http.max_conns_per_ip):
// Accept closes a connection whose IP already has limit open ones and waits for the next,
// so the HTTP server never sees it. A connection counts until its Close (WebSocket
// sessions too: a hijacked connection is this listener's conn).
//
// Concurrency: Accept runs on the HTTP server's accept goroutine; Close of the
// connections runs on any goroutine; mu guards open.
type perIPListener struct {
	net.Listener
	limit   int
	refused *atomic.Uint64 // parley_http_conns_refused_total
	log     *slog.Logger

	mu   sync.Mutex
	open map[netip.Addr]int
}

func newPerIPListener(ln net.Listener, limit int, refused *atomic.Uint64, logger *slog.Logger) *perIPListener {
	return &perIPListener{Listener: ln, limit: limit, refused: refused, log: logger, open: make(map[netip.Addr]int)}
}

// Accept returns the next connection whose IP is under the cap.
func (l *perIPListener) Accept() (net.Conn, error) {
	return acceptCounted(l.Listener, remoteIP, l.acquire, l.release, l.refuse)
}

// refuse closes c; the 1st, 2nd, 4th, 8th... refusal is logged.
func (l *perIPListener) refuse(c net.Conn, ip netip.Addr) {
	_ = c.Close()
	if n := l.refused.Add(1); n&(n-1) == 0 {
		l.log.Warn("http connection refused: the IP has http.max_conns_per_ip open",
			"remote", ip.String(), "max_conns_per_ip", l.limit, "refused_total", n)
	}
}

// acceptCounted returns the next connection of ln whose client (key) acquire admits, as a
// countedConn that releases the client's slot; refuse gets every other one.
func acceptCounted(ln net.Listener, key func(net.Conn) netip.Addr, acquire func(netip.Addr) bool, release func(netip.Addr), refuse func(net.Conn, netip.Addr)) (net.Conn, error) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return nil, err
		}
		client := key(c)
		if acquire(client) {
			return &countedConn{Conn: c, release: func() { release(client) }}, nil
		}
		refuse(c, client)
	}
}

func (l *perIPListener) acquire(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip] >= l.limit {
		return false
	}
	l.open[ip]++
	return true
}

func (l *perIPListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip] <= 1 {
		delete(l.open, ip)
		return
	}
	l.open[ip]--
}

// remoteIP is the connection's remote IP (IPv4-mapped IPv6 as IPv4); the zero Addr, one
// shared bucket, if the address is not IP:port.
func remoteIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// countedConn gives its slot back on the first Close (requestConnLimiter's also at its
// upgrade to a WebSocket).
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
