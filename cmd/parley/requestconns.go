package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// busyBody is the body of busyAnswer.
const busyBody = "too many HTTP connections from this client or to this server; retry\n"

// busyAnswer is what a connection beyond a request-connection cap gets, before its
// request is read (D247).
var busyAnswer = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(busyBody)) + "\r\n\r\n" + busyBody

const (
	// maxBusyAnswers bounds the refused connections being answered at once; beyond it a
	// refused connection is closed without an answer.
	maxBusyAnswers = 256
	// busyAnswerTime bounds one answer: the write, and the wait for the client to close
	// (closing while its request is unread would reset the connection, and the client
	// could lose the answer).
	busyAnswerTime = time.Second
)

// requestConnLimiter caps the connections of http.address that carry HTTP requests: a
// connection counts from its accept until the HTTP server hands it to a WebSocket
// (http.StateHijacked, reported to ConnState) or closes it, so an idle keep-alive
// connection counts and a logged-in WebSocket does not (signaling's pending-login caps
// bound a socket that has not logged in, D207). Per client (an IPv4 address, an IPv6 /64:
// http.max_request_conns_per_ip) and in all (http.max_request_conns), 0 = no cap. A
// connection beyond either gets busyAnswer (503, Retry-After: 1) and is closed; its request
// is never read.
//
// Concurrency: Accept runs on the HTTP server's accept goroutine, ConnState and the
// connections' Close on their serving goroutines, each answer on a goroutine of its own
// (at most maxBusyAnswers, waited for by Close); mu guards open and all.
type requestConnLimiter struct {
	net.Listener
	perIP, total int
	refused      *atomic.Uint64 // parley_http_request_conns_refused_total
	log          *slog.Logger
	answering    chan struct{} // one token per answer under way; Close takes them all
	closeOnce    sync.Once

	mu   sync.Mutex
	open map[netip.Addr]int
	all  int
}

func newRequestConnLimiter(ln net.Listener, perIP, total int, refused *atomic.Uint64, logger *slog.Logger) *requestConnLimiter {
	return &requestConnLimiter{Listener: ln, perIP: perIP, total: total, refused: refused, log: logger,
		answering: make(chan struct{}, maxBusyAnswers), open: make(map[netip.Addr]int)}
}

// Accept returns the next connection under both caps.
func (l *requestConnLimiter) Accept() (net.Conn, error) {
	return acceptCounted(l.Listener, clientOf, l.acquire, l.release, l.refuse)
}

// ConnState is the HTTP server's hook: a connection upgraded to a WebSocket stops
// counting (a closed one stops at its Close).
func (l *requestConnLimiter) ConnState(c net.Conn, state http.ConnState) {
	if rc, ok := c.(*countedConn); ok && state == http.StateHijacked {
		rc.once.Do(rc.release)
	}
}

// Close stops accepting and waits for the answers under way (each at most busyAnswerTime)
// by taking every token: a connection refused afterwards is closed without an answer.
func (l *requestConnLimiter) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() {
		for range maxBusyAnswers {
			l.answering <- struct{}{}
		}
	})
	return err
}

func (l *requestConnLimiter) acquire(client netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if (l.total > 0 && l.all >= l.total) || (l.perIP > 0 && l.open[client] >= l.perIP) {
		return false
	}
	l.open[client]++
	l.all++
	return true
}

func (l *requestConnLimiter) release(client netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all--
	if l.open[client] <= 1 {
		delete(l.open, client)
		return
	}
	l.open[client]--
}

// refuse answers c with busyAnswer on a goroutine of its own, or closes it when
// maxBusyAnswers are under way; the 1st, 2nd, 4th… refusal is logged.
func (l *requestConnLimiter) refuse(c net.Conn, client netip.Addr) {
	if n := l.refused.Add(1); n&(n-1) == 0 {
		l.log.Warn("http connection refused with 503: too many request connections",
			"client", client.String(), "max_request_conns_per_ip", l.perIP, "max_request_conns", l.total, "refused_total", n)
	}
	select {
	case l.answering <- struct{}{}:
	default:
		_ = c.Close()
		return
	}
	go func() {
		defer func() { <-l.answering }()
		_ = c.SetDeadline(time.Now().Add(busyAnswerTime))
		if _, err := io.WriteString(c, busyAnswer); err == nil {
			_, _ = io.CopyN(io.Discard, c, 64<<10) // until the client closes or the deadline
		}
		_ = c.Close()
	}()
}

// clientOf is the connection's client as the request-connection caps count it: its IPv4
// address or its IPv6 /64 (one subscriber's prefix).
func clientOf(c net.Conn) netip.Addr {
	ip := remoteIP(c)
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().Addr()
	}
	return ip
}
