package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// fakeServer is a JSON-RPC WebSocket server for the client's tests: each connection's
// requests go, in order, to handle on that connection's read goroutine.
type fakeServer struct {
	t      testing.TB
	srv    *httptest.Server
	handle func(fc *fakeConn, req protocol.Request)

	mu    sync.Mutex
	conns []*fakeConn
	wg    sync.WaitGroup // connection read loops
}

// fakeConn is the server side of one client connection.
type fakeConn struct {
	srv *fakeServer
	ws  *websocket.Conn

	writeMu sync.Mutex
	mu      sync.Mutex
	reqs    []protocol.Request // every request received, in order
	state   any                // per-connection state of the test's handler
}

func newFakeServer(t testing.TB, handle func(fc *fakeConn, req protocol.Request)) *fakeServer {
	t.Helper()
	fs := &fakeServer{t: t, handle: handle}
	upgrader := websocket.Upgrader{}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws" {
			http.NotFound(w, r)
			return
		}
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		fc := &fakeConn{srv: fs, ws: ws}
		fs.mu.Lock()
		fs.conns = append(fs.conns, fc)
		fs.wg.Add(1)
		fs.mu.Unlock()
		defer fs.wg.Done()
		fc.readLoop()
	}))
	t.Cleanup(fs.Close)
	return fs
}

// URL is the ws:// address of /ws.
func (fs *fakeServer) URL() string { return "ws" + strings.TrimPrefix(fs.srv.URL, "http") + "/ws" }

// Close closes every connection and the listener and waits for the read loops.
func (fs *fakeServer) Close() {
	fs.mu.Lock()
	conns := append([]*fakeConn(nil), fs.conns...)
	fs.mu.Unlock()
	for _, fc := range conns {
		_ = fc.ws.Close()
	}
	fs.wg.Wait()
	fs.srv.Close()
}

// conn returns the i-th connection, waiting for it to be accepted.
func (fs *fakeServer) conn(i int) *fakeConn {
	fs.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		fs.mu.Lock()
		if len(fs.conns) > i {
			fc := fs.conns[i]
			fs.mu.Unlock()
			return fc
		}
		fs.mu.Unlock()
		if time.Now().After(deadline) {
			fs.t.Fatalf("timed out waiting for server connection %d", i)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (fc *fakeConn) readLoop() {
	for {
		_, data, err := fc.ws.ReadMessage()
		if err != nil {
			return
		}
		req, perr := protocol.DecodeRequest(data)
		if perr != nil {
			fc.send(protocol.NewErrorResponse(req.ID, perr))
			continue
		}
		fc.mu.Lock()
		fc.reqs = append(fc.reqs, req)
		fc.mu.Unlock()
		if fc.srv.handle != nil {
			fc.srv.handle(fc, req)
		}
	}
}

func (fc *fakeConn) requests() []protocol.Request {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return append([]protocol.Request(nil), fc.reqs...)
}

func (fc *fakeConn) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fc.srv.t.Errorf("fake server marshal: %v", err)
		return
	}
	fc.writeMu.Lock()
	defer fc.writeMu.Unlock()
	_ = fc.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = fc.ws.WriteMessage(websocket.TextMessage, b)
}

func (fc *fakeConn) respond(req protocol.Request, result any) {
	resp, err := protocol.NewResponse(req.ID, result)
	if err != nil {
		fc.srv.t.Errorf("fake server response: %v", err)
		return
	}
	fc.send(resp)
}

func (fc *fakeConn) respondError(req protocol.Request, perr *protocol.Error) {
	fc.send(protocol.NewErrorResponse(req.ID, perr))
}

func (fc *fakeConn) notify(method string, params any) {
	n, err := protocol.NewNotification(method, params)
	if err != nil {
		fc.srv.t.Errorf("fake server notification: %v", err)
		return
	}
	fc.send(n)
}

// closeWith sends a close frame with code and reason and closes the socket.
func (fc *fakeConn) closeWith(code int, reason string) {
	_ = fc.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	_ = fc.ws.Close()
}

// dial connects a client to fs and closes it at the end of the test.
func dial(t *testing.T, fs *fakeServer, opts Options) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, fs.URL(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
