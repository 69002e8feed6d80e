package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// Errors of Conn.Notify.
var (
	ErrConnClosed     = errors.New("signaling: connection closed")
	ErrWriteQueueFull = errors.New("signaling: write queue full, connection closed")
)

const (
	// inboundQueueSize bounds the requests read but not yet handled, per connection; when
	// it is full the reader waits (backpressure on a client that pipelines requests).
	inboundQueueSize = 32
	// replyWindow bounds the responses queued but not yet written, per connection; when
	// it is full the dispatcher (and the reader, for malformed requests) waits for the
	// writer, so a pipelining client that reads slowly is slowed down, never closed.
	replyWindow = 32
	// MaxPipelinedRequests bounds the requests of one connection the server has read and
	// not yet answered: the inbound queue, the reply window, one request the reader holds
	// and one the dispatcher runs.
	MaxPipelinedRequests = inboundQueueSize + replyWindow + 2
	// closeGrace bounds the closing handshake: after our close frame the peer has this long
	// to answer before the socket is torn down.
	closeGrace = time.Second
	// lingerTimeout bounds the discarding of unread input before closing the socket, so the
	// peer receives our close frame instead of a reset.
	lingerTimeout = time.Second
	// abortCloseWait bounds the close frame write of an aborted connection.
	abortCloseWait = 100 * time.Millisecond
)

// CloseLoginTimeout is the WebSocket close status of a connection that did not log in
// within signaling.login_timeout (PROTOCOL.md §1).
const CloseLoginTimeout = 4008

// SessionHandler is the per-connection logic the Server drives (implemented by the session layer).
type SessionHandler interface {
	// HandleRequest runs one request and returns its result (marshalled into the response)
	// or an error (see ResponseError). Requests of a connection are handled one at a time,
	// in arrival order, on the connection's dispatch goroutine (or its reader's, see
	// InlineHandler); ctx is the connection's
	// context, cancelled when the connection closes. For a JSON-RPC notification (no id)
	// the result is discarded.
	HandleRequest(ctx context.Context, req protocol.Request) (any, error)
	// HandleClose runs once after the connection closed and its reader, writer and
	// dispatch goroutines ended.
	HandleClose()
}

// InlineHandler is a SessionHandler that lets some requests run on the connection's
// reader goroutine (D196): when nothing of the connection is queued for or running on
// the dispatcher, a request for which Inline reports true is handled where it was read,
// saving the hand-off to the dispatch goroutine. Only requests that never wait on the
// client qualify: while one runs, the connection reads nothing (no ping, no close frame).
// Requests still run one at a time, in arrival order.
type InlineHandler interface {
	SessionHandler
	Inline(req protocol.Request) bool
}

// Conn is one WebSocket signaling connection.
//
// Goroutines: the reader (the HTTP handler's goroutine) reads and decodes messages and
// answers malformed ones; the dispatcher runs SessionHandler.HandleRequest in order (the
// reader runs those an InlineHandler allows itself when the dispatcher has none); the writer
// owns every write to the socket (responses, notifications, pings, the close frame) and
// drains a bounded queue. Notify, Close, OnClose, Context, RemoteAddr and ID are safe
// from any goroutine.
type Conn struct {
	id     uint64
	ws     *websocket.Conn
	bc     *batchConn // ws's socket: the writer gathers queued messages into one write
	cfg    Config
	logger *slog.Logger
	remote string

	ctx    context.Context
	cancel context.CancelFunc
	stats  *connStats // the Server's counters

	out     chan outMessage       // encoded messages for the writer (answers: at most replyWindow)
	inbound chan protocol.Request // decoded requests for the dispatcher
	replies chan struct{}         // one token per response in out (replyWindow)
	closing chan struct{}         // closed once when the connection starts closing
	pending atomic.Int64          // requests read and not yet answered
	queued  atomic.Int64          // requests handed to the dispatcher and not yet handled

	mu           sync.Mutex
	closed       bool      // closing has been closed
	closeCode    int       // close frame status
	closeReason  string    // close frame reason
	flush        bool      // write the queued messages before the close frame
	closeBy      time.Time // once closing: read deadline for the peer's close answer
	onClose      []func()
	closeHandled bool
	loggedIn     bool        // SetLoggedIn(true) since the last SetLoggedIn(false)
	unlogged     bool        // counted in stats.pendingLogins (from the start until a login)
	loginTimer   *time.Timer // closes the connection at the login deadline
}

// outMessage is one encoded message for the writer; a reply holds a replies token.
type outMessage struct {
	b     []byte
	reply bool
}

func newConn(id uint64, ws *websocket.Conn, bc *batchConn, cfg Config, logger *slog.Logger, remote string, stats *connStats) *Conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &Conn{
		id:       id,
		ws:       ws,
		bc:       bc,
		cfg:      cfg,
		logger:   logger.With("conn", id, "remote", remote),
		remote:   remote,
		ctx:      ctx,
		cancel:   cancel,
		stats:    stats,
		out:      make(chan outMessage, cfg.WriteQueueSize+replyWindow),
		inbound:  make(chan protocol.Request, inboundQueueSize),
		replies:  make(chan struct{}, replyWindow),
		closing:  make(chan struct{}),
		unlogged: true, // the Server counted it before the upgrade
	}
}

// ID is the server-unique number of the connection (for logs).
func (c *Conn) ID() uint64 { return c.id }

// RemoteAddr is the peer's address as seen by the HTTP server.
func (c *Conn) RemoteAddr() string { return c.remote }

// Context is cancelled when the connection starts closing.
func (c *Conn) Context() context.Context { return c.ctx }

// Logger is the connection's logger (tagged with its id and remote address).
func (c *Conn) Logger() *slog.Logger { return c.logger }

// OnClose registers fn to run once after the connection closed (after SessionHandler.HandleClose).
// On an already closed connection fn runs at once.
func (c *Conn) OnClose(fn func()) {
	c.mu.Lock()
	if !c.closeHandled {
		c.onClose = append(c.onClose, fn)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	fn()
}

// Notify queues a notification without blocking. If the write queue is full the client is
// not reading: the connection is closed (1008) and ErrWriteQueueFull returned.
func (c *Conn) Notify(method string, params any) error {
	b, err := protocol.EncodeNotification(method, params, 0)
	if err != nil {
		return fmt.Errorf("notify %s: %w", method, err)
	}
	return c.enqueue(b)
}

// Close starts a graceful close: messages queued so far are written, then a close frame
// with code and reason, then the socket is closed. It does not wait; it is idempotent
// (the first code wins) and safe from any goroutine, including handlers (a handler that
// closes its own connection gets no response sent: notify before closing instead).
func (c *Conn) Close(code int, reason string) {
	c.startClosing(code, reason, true)
}

// abort closes without flushing the queue (the peer is gone or not reading).
func (c *Conn) abort(code int, reason string) {
	c.startClosing(code, reason, false)
}

func (c *Conn) startClosing(code int, reason string, flush bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.closeCode, c.closeReason, c.flush = code, truncateReason(reason), flush
	c.closeBy = time.Now().Add(closeGrace)
	if flush {
		c.closeBy = c.closeBy.Add(c.cfg.WriteTimeout) // time to write the queue first
	}
	close(c.closing)
	if c.loginTimer != nil {
		c.loginTimer.Stop()
	}
	// Bound the wait of a reader blocked on a silent peer. Set under mu so the reader
	// cannot overwrite it with a keep-alive deadline (see extendReadDeadline).
	_ = c.ws.NetConn().SetReadDeadline(c.closeBy)
	if !flush {
		// Unblock a writer stuck on a peer that does not read; write refuses new writes.
		_ = c.ws.NetConn().SetWriteDeadline(time.Now())
	}
	c.mu.Unlock()
	c.cancel()
}

// truncateReason keeps a close reason within the 123 bytes a control frame allows.
func truncateReason(s string) string {
	if len(s) > 123 {
		return s[:123]
	}
	return s
}

func (c *Conn) enqueue(b []byte) error {
	select {
	case <-c.closing:
		return ErrConnClosed
	default:
	}
	select {
	case c.out <- outMessage{b: b}:
		return nil
	default:
		c.logger.Warn("write queue full, closing slow connection", "queue", cap(c.out))
		c.abort(websocket.ClosePolicyViolation, "write queue overflow")
		return ErrWriteQueueFull
	}
}

// extendReadDeadline gives the peer ping_interval + pong_timeout to send anything (a
// message or a pong), or the close grace once the connection is closing.
func (c *Conn) extendReadDeadline() {
	c.mu.Lock()
	deadline := time.Now().Add(c.cfg.PingInterval + c.cfg.PongTimeout)
	if c.closed {
		deadline = c.closeBy
	}
	_ = c.ws.NetConn().SetReadDeadline(deadline)
	c.mu.Unlock()
}

// serve runs the connection until it closes; it is called on the HTTP handler goroutine
// and returns after every goroutine of the connection ended and the close hooks ran.
func (c *Conn) serve(session SessionHandler) {
	c.ws.SetReadLimit(int64(c.cfg.MaxMessageBytes))
	c.ws.SetPongHandler(func(string) error { c.extendReadDeadline(); return nil })
	c.ws.SetPingHandler(func(data string) error {
		c.extendReadDeadline()
		err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.cfg.WriteTimeout))
		if errors.Is(err, websocket.ErrCloseSent) || isTimeout(err) {
			return nil
		}
		return err
	})

	c.SetLoggedIn(false) // arms the login deadline
	var wg sync.WaitGroup
	wg.Add(2)
	writerDone := make(chan struct{})
	go func() { defer wg.Done(); defer close(writerDone); c.writeLoop() }()
	go func() { defer wg.Done(); c.dispatchLoop(session) }()

	unread := c.readLoop(session)
	<-writerDone
	if unread {
		c.linger()
	}
	_ = c.ws.Close()
	wg.Wait()

	c.runCloseHooks(session)
}

// readLoop reads until the connection fails or closes. It reports whether the peer may
// still be sending a message we stopped reading (an oversized one).
func (c *Conn) readLoop(session SessionHandler) (unread bool) {
	inline, _ := session.(InlineHandler)
	for {
		c.extendReadDeadline()
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.readFailed(err)
			return errors.Is(err, websocket.ErrReadLimit)
		}
		c.stats.notePending(c.pending.Add(1))
		req, perr := protocol.DecodeRequest(data)
		if perr != nil {
			c.logger.Debug("bad request", "code", perr.Code, "error", perr.Message)
			c.respond(req.ID, nil, perr)
			continue
		}
		// The dispatcher's last request happened before its queued count fell to zero,
		// so a request run here follows it (and sees what it did).
		if inline != nil && c.queued.Load() == 0 && inline.Inline(req) {
			c.dispatch(inline, req)
			continue
		}
		c.queued.Add(1)
		select {
		case c.inbound <- req:
		case <-c.closing:
			return false
		}
	}
}

// readFailed starts closing after a read error, choosing the close frame to send.
func (c *Conn) readFailed(err error) {
	var ce *websocket.CloseError
	select {
	case <-c.closing:
		if !errors.As(err, &ce) {
			c.logger.Debug("closing: peer did not finish the close handshake", "error", err)
		}
		return
	default:
	}
	switch {
	case errors.As(err, &ce):
		// The peer closed; gorilla already answered its close frame.
		c.logger.Debug("peer closed", "code", ce.Code, "reason", ce.Text)
		c.abort(websocket.CloseNormalClosure, "")
	case errors.Is(err, websocket.ErrReadLimit):
		// gorilla already sent 1009; the abort's close frame is then refused as ErrCloseSent.
		c.logger.Info("message too big, closing", "limit", c.cfg.MaxMessageBytes)
		c.abort(websocket.CloseMessageTooBig, "message too big")
	case isTimeout(err):
		c.logger.Info("no message or pong in time, closing")
		c.abort(websocket.CloseGoingAway, "keep-alive timeout")
	default:
		c.logger.Debug("read failed", "error", err)
		c.abort(websocket.CloseAbnormalClosure, "")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (c *Conn) dispatchLoop(session SessionHandler) {
	for {
		select {
		case <-c.closing:
			return
		case req := <-c.inbound:
			if session != nil {
				c.dispatch(session, req)
			}
			c.queued.Add(-1)
		}
	}
}

// dispatch handles one request and queues its response.
func (c *Conn) dispatch(session SessionHandler, req protocol.Request) {
	result, err := c.handle(session, req)
	if req.IsNotification() {
		c.pending.Add(-1) // never answered
		if err != nil {
			c.logger.Debug("notification failed", "method", req.Method, "error", err)
		}
		return
	}
	if err != nil {
		wire, internal := ResponseError(err)
		if internal {
			c.logger.Error("handler failed", "method", req.Method, "error", err)
		}
		c.respond(req.ID, nil, wire)
		return
	}
	c.respond(req.ID, result, nil)
}

// handle runs one request, turning a panic into an internal error.
func (c *Conn) handle(session SessionHandler, req protocol.Request) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.logger.Error("handler panicked", "method", req.Method, "panic", r, "stack", string(debug.Stack()))
			result, err = nil, fmt.Errorf("handler %s panicked: %v", req.Method, r)
		}
	}()
	return session.HandleRequest(c.ctx, req)
}

// respond queues a response, waiting while replyWindow responses wait for the writer
// (backpressure: the caller stops reading or dispatching). A result that cannot be
// marshalled becomes -32603.
func (c *Conn) respond(id json.RawMessage, result any, perr *protocol.Error) {
	var b []byte
	if perr == nil {
		var err error
		if b, err = protocol.EncodeResponse(id, result); err != nil {
			c.logger.Error("cannot marshal result", "error", err)
			perr = protocol.NewError(protocol.CodeInternalError, "")
		}
	}
	if perr != nil {
		var err error
		if b, err = json.Marshal(protocol.NewErrorResponse(id, perr)); err != nil {
			// Only a Data value of an error can fail here; send the error without it.
			c.logger.Error("cannot marshal response", "error", err)
			b, _ = json.Marshal(protocol.NewErrorResponse(id, protocol.NewError(perr.Code, perr.Message)))
		}
	}
	select {
	case <-c.closing:
		return // a closing connection takes no more messages (see Close)
	default:
	}
	select {
	case c.replies <- struct{}{}:
	default:
		c.stats.pipelineWaits.Add(1)
		select {
		case c.replies <- struct{}{}:
		case <-c.closing:
			return
		}
	}
	select {
	case c.out <- outMessage{b: b, reply: true}:
	case <-c.closing:
	}
}

// linger discards the rest of an oversized message for a short while, so that closing the
// socket with unread input does not send a TCP reset that would destroy our close frame
// before the peer reads it.
func (c *Conn) linger() {
	nc := c.ws.NetConn()
	_ = nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	_, _ = io.Copy(io.Discard, nc)
}

func (c *Conn) runCloseHooks(session SessionHandler) {
	if session != nil {
		session.HandleClose()
	}
	c.mu.Lock()
	hooks := c.onClose
	c.onClose = nil
	c.closeHandled = true
	c.mu.Unlock()
	for _, fn := range hooks {
		fn()
	}
}

// releasePending takes a connection that ends without a logged-in session out of the
// pending count.
func (c *Conn) releasePending() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.unlogged {
		c.unlogged = false
		c.stats.pending.release(ClientKeyOf(c.remote))
	}
}

// SetLoggedIn tells the connection whether its session is logged in. Until it is (from
// the start, and again after a logout) the connection must log in within
// signaling.login_timeout, or it is closed with CloseLoginTimeout.
func (c *Conn) SetLoggedIn(loggedIn bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || loggedIn == c.loggedIn && (loggedIn || c.loginTimer != nil) {
		return
	}
	c.loggedIn = loggedIn
	if c.loginTimer != nil {
		c.loginTimer.Stop()
		c.loginTimer = nil
	}
	switch { // a login leaves the pending count, a logout joins it again
	case loggedIn && c.unlogged:
		c.unlogged = false
		c.stats.pending.release(ClientKeyOf(c.remote))
	case !loggedIn && !c.unlogged:
		c.unlogged = true
		c.stats.pending.rejoin(ClientKeyOf(c.remote))
	}
	if loggedIn {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(c.cfg.LoginTimeout, func() {
		c.mu.Lock()
		expired := c.loginTimer == t && !c.closed
		c.mu.Unlock()
		if expired {
			c.stats.loginTimeouts.Add(1)
			c.logger.Info("no login in time, closing", "timeout", c.cfg.LoginTimeout)
			c.Close(CloseLoginTimeout, "login timeout")
		}
	})
	c.loginTimer = t
}
