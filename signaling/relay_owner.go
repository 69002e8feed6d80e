package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-rtc/parley/cluster"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// Retries of a message to a front while Redis is unreachable (D53).
const (
	relayRetryMin    = 100 * time.Millisecond
	relayRetryMax    = time.Second
	relayOutageLimit = 30 * time.Second
)

// relayBack is the owner's side of a connection another node (front) relays: the wire of
// the session that runs here. It queues its requests (reqs, in arrival order) and its
// messages to the front (out, in the order the session produced them: notifications,
// answers, the close), so the client sees them as over a local WebSocket.
type relayBack struct {
	svc    *Service
	front  string
	key    string
	remote string
	log    *slog.Logger
	cs     *connSession
	ctx    context.Context
	cancel context.CancelFunc

	reqs     serial
	out      serial
	loggedIn atomic.Bool

	mu     sync.Mutex
	closed bool // Close was called or the front went away: no more messages to it
}

// ownerRequest runs a relayed request on its connection's queue (inbox goroutine).
func (s *Service) ownerRequest(m cluster.Message) {
	var rr relayRequest
	if err := json.Unmarshal(m.Body, &rr); err != nil {
		s.log.Warn("relayed request not decodable", "from", m.From, "error", err)
		return
	}
	s.relays.mu.Lock()
	rb := s.relays.backs[m.Conn]
	if rb == nil && rr.N > 1 {
		s.relays.mu.Unlock()
		s.background.do(func() { s.relayLostHere(m, rr.N) }) // not on the inbox goroutine: it sends
		return
	}
	if rb == nil {
		if s.relays.backs == nil {
			s.relays.backs = make(map[string]*relayBack)
		}
		ctx, cancel := context.WithCancel(context.Background())
		rb = &relayBack{svc: s, front: m.From, key: m.Conn, remote: rr.Remote, ctx: ctx, cancel: cancel,
			log: s.log.With("relay", m.Conn, "front", m.From, "remote", rr.Remote)}
		rb.reqs.count, rb.out.count = &s.effects, &s.effects
		rb.cs = s.newWireSession(rb)
		rb.cs.relayed = true
		s.relays.backs[m.Conn] = rb
	}
	s.relays.mu.Unlock()
	if rb.front != m.From {
		return
	}
	rb.reqs.do(func() { rb.handle(rr.N, rr.Req) })
}

// relayLostHere answers a request of a connection this node dropped while its front lived
// on (NodeGone: the front's heartbeats came too late, D165): the session here is in its
// reconnect grace, and a new, empty connection would answer "log in first" to a client that
// is logged in. The request fails with 5002 and the front closes the client's socket with
// 1001, as at a lost keep-alive: the client reconnects and resumes its session.
func (s *Service) relayLostHere(m cluster.Message, n uint64) {
	s.log.Info("request of a relayed connection dropped here: closing it", "relay", m.Conn, "front", m.From)
	resp, _ := json.Marshal(relayResponse{N: n, LoggedIn: true,
		Error: protocol.NewError(protocol.CodeClusterUnavailable, "cluster: this connection was lost between nodes; reconnect")})
	closing, _ := json.Marshal(relayClose{Code: closeRelayLost, Reason: "connection lost between nodes"})
	ctx, cancel := context.WithTimeout(context.Background(), relayRetryMax)
	defer cancel()
	for _, msg := range []struct {
		kind string
		body []byte
	}{{kindResponse, resp}, {kindClose, closing}} {
		if err := s.relays.sendRetrying(ctx, m.From, msg.kind, m.Conn, msg.body); err != nil {
			s.log.Info("relay lost", "kind", msg.kind, "error", err)
			return
		}
	}
}

// handle runs one request and queues its answer behind the notifications it caused.
func (rb *relayBack) handle(n uint64, req protocol.Request) {
	result, err := rb.run(req)
	var r relayResponse
	if err == nil {
		if r.Result, err = json.Marshal(result); err != nil {
			err = fmt.Errorf("marshal %s result: %w", req.Method, err)
		}
	}
	if err != nil {
		wireErr, internal := ResponseError(err)
		if internal {
			rb.log.Error("handler failed", "method", req.Method, "error", err)
		}
		r = relayResponse{Error: wireErr}
	}
	r.N, r.LoggedIn = n, rb.loggedIn.Load()
	body, _ := json.Marshal(r)
	rb.send(kindResponse, body)
}

// run is HandleRequest with a panic turned into an internal error (as Conn.handle).
func (rb *relayBack) run(req protocol.Request) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			rb.log.Error("handler panicked", "method", req.Method, "panic", p, "stack", string(debug.Stack()))
			result, err = nil, fmt.Errorf("handler %s panicked: %v", req.Method, p)
		}
	}()
	return rb.cs.HandleRequest(rb.ctx, req)
}

// send queues one message to the front. While Redis is unreachable the message is retried
// (and the ones queued after it wait: the order holds) for up to relayOutageLimit; then, or
// when the front died, the connection counts as lost.
func (rb *relayBack) send(kind string, body []byte) {
	rb.out.do(func() {
		if err := rb.svc.relays.sendRetrying(rb.ctx, rb.front, kind, rb.key, body); err != nil {
			rb.log.Info("relay lost", "kind", kind, "error", err)
			rb.gone()
		}
	})
}

// sendRetrying sends one message to node to, retrying while Redis is unreachable (D53).
// It fails when the node is gone or Redis stayed unreachable for relayOutageLimit; it
// gives up quietly (nil) when ctx ends or the Service closes.
func (r *relays) sendRetrying(ctx context.Context, to, kind, key string, body []byte) error {
	start := time.Now()
	for delay := relayRetryMin; ; delay = min(2*delay, relayRetryMax) {
		err := r.send(to, kind, key, body)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, cluster.ErrNodeGone), time.Since(start) > relayOutageLimit:
			return err
		case ctx.Err() != nil:
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-r.stop:
			t.Stop()
			return nil
		}
	}
}

// gone ends the relayed connection as a socket loss: after the requests queued so far the
// session waits signaling.reconnect_grace for a resume (HandleClose).
func (rb *relayBack) gone() {
	s := rb.svc
	s.relays.mu.Lock()
	if s.relays.backs[rb.key] != rb {
		s.relays.mu.Unlock()
		return
	}
	delete(s.relays.backs, rb.key)
	s.relays.mu.Unlock()
	rb.mu.Lock()
	rb.closed = true
	rb.mu.Unlock()
	rb.cancel()
	rb.reqs.do(rb.cs.HandleClose)
}

// ---- wire ----

func (rb *relayBack) enqueue(frame []byte) error {
	rb.mu.Lock()
	closed := rb.closed
	rb.mu.Unlock()
	if closed {
		return ErrConnClosed
	}
	rb.send(kindNote, frame)
	return nil
}

// Close has the front close the client's WebSocket; the front then reports it gone.
func (rb *relayBack) Close(code int, reason string) {
	rb.mu.Lock()
	closed := rb.closed
	rb.closed = true
	rb.mu.Unlock()
	if closed {
		return
	}
	body, _ := json.Marshal(relayClose{Code: code, Reason: truncateReason(reason)})
	rb.send(kindClose, body)
}

func (rb *relayBack) Logger() *slog.Logger      { return rb.log }
func (rb *relayBack) RemoteAddr() string        { return rb.remote }
func (rb *relayBack) SetLoggedIn(loggedIn bool) { rb.loggedIn.Store(loggedIn) }

// closeRelays has every front close its client's connection (Service.Close on the owner).
func (s *Service) closeRelays() {
	s.relays.mu.Lock()
	backs := make([]*relayBack, 0, len(s.relays.backs))
	for _, rb := range s.relays.backs {
		backs = append(backs, rb)
	}
	s.relays.mu.Unlock()
	for _, rb := range backs {
		rb.Close(1001, "server shutting down")
		rb.gone()
	}
}
