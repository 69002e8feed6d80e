package main

import (
	"context"
	"net/http"
	"time"
)

// drainPoll is how often a draining server checks whether its calls have ended.
const drainPoll = 50 * time.Millisecond

// readyzRedisTimeout bounds the Redis check of /readyz.
const readyzRedisTimeout = time.Second

// drainCloseReserve is the part of the drain timeout kept for closing sessions, rooms and
// sockets after the calls ended (at most 5 s, at least a fifth of the timeout).
func drainCloseReserve(timeout time.Duration) time.Duration {
	return min(timeout/5, 5*time.Second)
}

// drain is the first phase of a graceful shutdown: new logins, calls and rooms are refused
// and /readyz answers 503; connected clients get onServerDraining. Until the drain
// deadline (ctx's deadline less the close reserve) it waits for the calls this node runs
// and, in a cluster, the calls of the clients whose sessions it relays to another node
// (D130: their WebSockets stay open while their calls go on), then for the requests still
// in flight, so that the hangup that ended the last call gets its answer before the
// sockets close. The calls this node runs that are still going at the deadline are ended
// by the server, their records written; a relayed client still in a call loses its socket
// with the others, and its owner ends its call as for a lost connection (after
// signaling.reconnect_grace).
func (s *server) drain(ctx context.Context) {
	s.signaling.Drain()
	if s.cluster != nil { // no new apps here; new logins of this node's apps go elsewhere
		if err := s.cluster.SetDraining(ctx); err != nil {
			s.logger.Warn("draining: leases not given up", "error", err)
		}
	}
	wait := time.Duration(0)
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		wait = left - drainCloseReserve(left)
	}
	active := func() int { return s.signaling.ActiveCalls() + s.signaling.RelayedCalls() }
	if n := active(); n > 0 {
		s.logger.Info("draining: waiting for calls to end", "calls", s.signaling.ActiveCalls(),
			"relayed_calls", s.signaling.RelayedCalls(), "wait", wait.Round(time.Millisecond))
	}
	// The answers of requests in flight when the last call ended (the hangup that ended
	// it, relayed or not) are written before the sockets close.
	busy := func() bool { return active() > 0 || s.signaling.PendingRequests() > 0 }
	if wait > 0 && busy() {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		ticker := time.NewTicker(drainPoll)
		defer ticker.Stop()
	waiting:
		for busy() {
			select {
			case <-timer.C:
				break waiting
			case <-ctx.Done():
				break waiting
			case <-ticker.C:
			}
		}
	}
	if n := s.signaling.RelayedCalls(); n > 0 {
		s.logger.Info("draining: closing the sockets of relayed clients still in a call (their owners end the calls)", "relayed_calls", n)
	}
	if n := s.signaling.ActiveCalls(); n > 0 {
		s.logger.Info("draining: ending the remaining calls", "calls", n)
		s.signaling.EndAllCalls()
	}
}

// readyz answers 200 while the server accepts new sessions and calls, 503 while it
// drains or after it closed, or while a cluster node cannot reach Redis (load balancers
// stop sending users here).
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.signaling.Draining() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("draining\n"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyzRedisTimeout)
	defer cancel()
	if err := s.clusterReady(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("cluster unavailable\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
