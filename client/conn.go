package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// Errors of the signaling connection (ErrClosed, in errors.go, is returned once the Conn
// is closed or its socket is gone).
var (
	// ErrMediaStarted is returned by StartMedia while media is already running.
	ErrMediaStarted = errors.New("media already started")
	// ErrNotLoggedIn is returned by StartMedia before a successful Login.
	ErrNotLoggedIn = errors.New("not logged in")
	// ErrNoPublisher is returned by RestartICE when media runs without a Publisher.
	ErrNoPublisher = errors.New("no publisher")
)

// Defaults of Options.
const (
	defaultHandshakeTimeout = 10 * time.Second
	defaultWriteTimeout     = 10 * time.Second
	defaultMaxMessageBytes  = 4 << 20
	defaultEventLogSize     = 4096
	// keptReadBuffer is the largest read buffer the reader keeps between messages.
	keptReadBuffer = 64 << 10
	// closeHandshakeWait bounds how long Close waits for the server's close frame.
	closeHandshakeWait = 2 * time.Second
)

// Options configures a Conn. The zero value works against a server on loopback only when
// Peer.Loopback is set (tests); otherwise media uses the ICE servers of the login result.
type Options struct {
	// Peer configures both PeerConnections that StartMedia creates. When ICEServers is empty
	// and Loopback is false, the iceServers of the last login result are used.
	Peer PeerConfig
	// Logger receives connection logs (and PeerConnection logs when Peer.Logger is nil);
	// nil discards them.
	Logger *slog.Logger
	// Header is sent with the WebSocket handshake (e.g. Origin).
	Header http.Header
	// HandshakeTimeout bounds the WebSocket handshake (default 10 s).
	HandshakeTimeout time.Duration
	// WriteTimeout bounds each message write (default 10 s).
	WriteTimeout time.Duration
	// MaxMessageBytes is the largest message the client reads (default 4 MiB).
	MaxMessageBytes int64
	// EventLogSize bounds the log of received notifications (default 4096); the oldest
	// half is dropped when it is full.
	EventLogSize int
}

func (o *Options) setDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Peer.Logger == nil {
		o.Peer.Logger = o.Logger
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = defaultHandshakeTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = defaultWriteTimeout
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = defaultMaxMessageBytes
	}
	if o.EventLogSize <= 0 {
		o.EventLogSize = defaultEventLogSize
	}
}

// responseFunc receives the response of one request, or the error that ended the
// connection before it came.
type responseFunc func(resp protocol.Response, err error)

// Conn is a Parley signaling client: JSON-RPC 2.0 over one WebSocket, the typed protocol
// methods (methods.go), the event log and waiters (events.go) and the media plane
// (media.go). Its methods are safe for concurrent use.
//
// Goroutines (started by Dial, ended by Close): the reader owns every read of the socket,
// completes pending requests and appends notifications to the event log; the handler
// dispatcher runs On handlers in arrival order; the media worker applies the server's
// offer and trickle notifications one at a time. Writes are serialised by writeMu.
type Conn struct {
	opts Options
	log  *slog.Logger
	ws   *websocket.Conn

	writeMu sync.Mutex // one writer at a time on ws

	nextID    atomic.Uint64
	lastSeq   atomic.Uint64 // seq of the last notification received (for Resume)
	pendingMu sync.Mutex
	pending   map[uint64]responseFunc // requests awaiting their response
	readErr   error                   // why the reader ended; set once, under pendingMu

	readerDone chan struct{} // closed when the reader ends
	closing    chan struct{} // closed by Close
	closeOnce  sync.Once
	ctx        context.Context // cancelled by Close; bounds the media worker's requests
	cancel     context.CancelFunc
	wg         sync.WaitGroup // handler dispatcher and media worker

	events   *eventLog
	handlers *handlerDispatcher
	media    *mediaState
	views    remoteViews // the app's remote views, for switches of the call's media type (mediaswitch.go)

	stateMu   sync.Mutex
	login     protocol.LoginResult // last successful login (zero after Logout)
	loggedIn  bool
	closeCode int // status of the server's close frame, 0 if none
	closeText string
}

// Dial opens a WebSocket to url (ws://host:port/ws) and starts the connection's
// goroutines. Close it when done.
func Dial(ctx context.Context, url string, opts Options) (*Conn, error) {
	opts.setDefaults()
	dialer := websocket.Dialer{HandshakeTimeout: opts.HandshakeTimeout}
	ws, resp, err := dialer.DialContext(ctx, url, opts.Header)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("client: dial %s: HTTP %d: %w", url, resp.StatusCode, err)
		}
		return nil, fmt.Errorf("client: dial %s: %w", url, err)
	}
	ws.SetReadLimit(opts.MaxMessageBytes)
	c := &Conn{
		opts:       opts,
		log:        opts.Logger,
		ws:         ws,
		pending:    make(map[uint64]responseFunc),
		readerDone: make(chan struct{}),
		closing:    make(chan struct{}),
		events:     newEventLog(opts.EventLogSize),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.handlers = newHandlerDispatcher()
	c.media = newMediaState(c)
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.handlers.run(c.closing) }()
	go func() { defer c.wg.Done(); c.media.run(c.closing) }()
	go c.readLoop()
	return c, nil
}

// Request sends a JSON-RPC request and waits for its response. params nil sends no params
// ({} for the server); result nil discards the result. An error response is returned as a
// *protocol.Error wrapped with the method name (errors.As and protocol.ErrorCode see it).
func (c *Conn) Request(ctx context.Context, method string, params, result any) error {
	return c.roundTrip(ctx, method, params, result, nil)
}

// roundTrip is Request with a hook that runs once the request is written (before the
// response is awaited): negotiation uses it to release ICE candidates only after the
// description they follow is on the wire.
func (c *Conn) roundTrip(ctx context.Context, method string, params, result any, afterWrite func()) error {
	done := make(chan struct{})
	var (
		resp    protocol.Response
		respErr error
	)
	id, err := c.send(method, params, func(r protocol.Response, err error) {
		resp, respErr = r, err
		close(done)
	})
	if err != nil {
		return err
	}
	if afterWrite != nil {
		afterWrite()
	}
	select {
	case <-done:
	case <-ctx.Done():
		if c.forget(id) {
			return fmt.Errorf("client: %s: %w", method, ctx.Err())
		}
		<-done // the response is being delivered right now
	}
	if respErr != nil {
		return fmt.Errorf("client: %s: %w", method, respErr)
	}
	return decodeResponse(method, resp, result)
}

// requestAsync sends a request whose response is handled by onDone on the reader
// goroutine (onDone must not block). Used for trickles sent from pion's callbacks.
func (c *Conn) requestAsync(method string, params any, onDone func(error)) {
	_, err := c.send(method, params, func(r protocol.Response, err error) {
		if err == nil {
			err = decodeResponse(method, r, nil)
		}
		onDone(err)
	})
	if err != nil {
		onDone(err)
	}
}

func decodeResponse(method string, resp protocol.Response, result any) error {
	if resp.Error != nil {
		return fmt.Errorf("client: %s: %w", method, resp.Error)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Result, result); err != nil {
		return fmt.Errorf("client: %s: decode result: %w", method, err)
	}
	return nil
}

// Notify sends a JSON-RPC notification (a request without id: the server runs it and
// never answers).
func (c *Conn) Notify(method string, params any) error {
	msg, err := encodeRequest(nil, method, params)
	if err != nil {
		return err
	}
	if err := c.write(msg); err != nil {
		return fmt.Errorf("client: %s: %w", method, err)
	}
	return nil
}

// send registers onResponse under a new id, then writes the request.
func (c *Conn) send(method string, params any, onResponse responseFunc) (uint64, error) {
	id := c.nextID.Add(1)
	msg, err := encodeRequest(strconv.AppendUint(nil, id, 10), method, params)
	if err != nil {
		return 0, err
	}
	c.pendingMu.Lock()
	if c.readErr != nil {
		err := c.readErr
		c.pendingMu.Unlock()
		return 0, fmt.Errorf("client: %s: %w", method, err)
	}
	c.pending[id] = onResponse
	c.pendingMu.Unlock()
	if err := c.write(msg); err != nil {
		c.forget(id)
		return 0, fmt.Errorf("client: %s: %w", method, err)
	}
	return id, nil
}

// forget drops a pending request; false when its response is already being delivered.
func (c *Conn) forget(id uint64) bool {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	if _, ok := c.pending[id]; !ok {
		return false
	}
	delete(c.pending, id)
	return true
}

func (c *Conn) write(msg []byte) error {
	select {
	case <-c.closing:
		return ErrClosed
	default:
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout)); err != nil {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return nil
}

// readLoop owns the socket's reads until it fails or closes. Each message is read into
// one reused buffer and handed on as an exact-size copy (the event log keeps it), instead
// of websocket's ReadMessage, which allocates and clears 512 bytes or more per message.
func (c *Conn) readLoop() {
	defer close(c.readerDone)
	var buf bytes.Buffer
	for {
		_, r, err := c.ws.NextReader()
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			c.readFailed(err)
			return
		}
		c.handleMessage(bytes.Clone(buf.Bytes()))
		if buf.Cap() > keptReadBuffer {
			buf = bytes.Buffer{} // a rare large message does not pin its buffer
		}
	}
}

// handleMessage routes one server message: a response to its request, a notification to
// the event log, the On handlers and (offer, trickle) the media worker.
func (c *Conn) handleMessage(data []byte) {
	msg, err := decodeServerMessage(data)
	if err != nil {
		c.log.Warn("undecodable server message", "err", err)
		return
	}
	if msg.IsResponse {
		c.deliver(msg.Response)
		return
	}
	if seq := msg.Notification.Seq; seq != 0 {
		c.lastSeq.Store(seq) // the server writes a session's notifications in seq order
	}
	ev := c.events.add(msg.Notification.Method, msg.Notification.Params, time.Now())
	switch ev.Name {
	case protocol.MethodOffer, protocol.MethodTrickle, protocol.EventPublishLayersChanged:
		c.media.enqueue(ev)
	case protocol.EventCallBegin, protocol.EventCallEnd, protocol.EventCallCancelled, protocol.EventCallMediaTypeChanged:
		c.trackCallEvent(ev)
	}
	c.handlers.enqueue(ev)
}

// LastSeq is the seq of the last notification received on this connection: pass it to Resume
// on a new connection so the server replays what this one missed.
func (c *Conn) LastSeq() uint64 { return c.lastSeq.Load() }

func (c *Conn) deliver(resp protocol.Response) {
	id, err := strconv.ParseUint(string(resp.ID), 10, 64)
	if err != nil {
		// A response with id null answers a message the server could not read.
		c.log.Warn("response without a request id", "id", string(resp.ID), "error", resp.Error)
		return
	}
	c.pendingMu.Lock()
	fn, ok := c.pending[id]
	delete(c.pending, id)
	c.pendingMu.Unlock()
	if !ok {
		c.log.Debug("response to a forgotten request", "id", id)
		return
	}
	fn(resp, nil)
}

// readFailed records why the socket ended and fails every pending request.
func (c *Conn) readFailed(err error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		c.stateMu.Lock()
		c.closeCode, c.closeText = ce.Code, ce.Text
		c.stateMu.Unlock()
	}
	select {
	case <-c.closing:
	default:
		c.log.Info("signaling connection ended", "err", err)
	}
	cause := fmt.Errorf("%w: %v", ErrClosed, err)
	c.pendingMu.Lock()
	c.readErr = cause
	pending := c.pending
	c.pending = make(map[uint64]responseFunc)
	c.pendingMu.Unlock()
	for _, fn := range pending {
		fn(protocol.Response{}, cause)
	}
	c.events.close()
}

// Done is closed when the socket is gone (closed by either side or failed).
func (c *Conn) Done() <-chan struct{} { return c.readerDone }

// Err is why the socket ended (wrapping ErrClosed), or nil while it is up.
func (c *Conn) Err() error {
	c.pendingMu.Lock()
	defer c.pendingMu.Unlock()
	return c.readErr
}

// CloseStatus is the status code and reason of the server's close frame (0, "" when none
// was received, e.g. while connected or after a network failure).
func (c *Conn) CloseStatus() (code int, reason string) {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	return c.closeCode, c.closeText
}

// Abort drops the socket without a close handshake, as a network failure would (the
// server keeps the session for its reconnect grace, so tests can Resume it on a new
// Conn). Media keeps running; pending requests fail with ErrClosed. Close is still needed
// to end the Conn's goroutines and media.
func (c *Conn) Abort() {
	_ = c.ws.Close()
}

// Close stops media, closes the WebSocket (with a close handshake when the server is still
// there) and waits for every goroutine of the Conn. It is idempotent. Do not call it from
// an On handler (it waits for the handler dispatcher).
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closing)
		c.cancel()
		c.StopMedia()
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.opts.WriteTimeout)); err == nil {
			select {
			case <-c.readerDone:
			case <-time.After(closeHandshakeWait):
			}
		}
		_ = c.ws.Close()
		<-c.readerDone
		c.wg.Wait()
	})
	return nil
}
