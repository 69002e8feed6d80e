package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// The signaling package's shared test harness: a Server with a test session (newTestEnv),
// raw WebSocket helpers and waitFor.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor polls cond with a generous deadline (no timing assertions).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, 10*time.Second, what, cond)
}

// testEnv is a Server with a fake session layer built on a Dispatcher.
type testEnv struct {
	t        *testing.T
	srv      *Server
	http     *httptest.Server
	url      string
	disp     *Dispatcher[*testSession]
	verifier *Verifier

	closedSessions atomic.Int32
	floodErr       chan error // the error Notify returned in "flood"
	hookRan        chan uint64
	conns          chan *Conn
	inline         func(method string) bool // set before dialing: sessions are InlineHandlers
}

// inlineTestSession is a testSession whose requests the connection may run on its reader.
type inlineTestSession struct{ *testSession }

func (s inlineTestSession) Inline(req protocol.Request) bool { return s.env.inline(req.Method) }

type testSession struct {
	env  *testEnv
	conn *Conn
	user string // set by login
}

func (s *testSession) HandleRequest(ctx context.Context, req protocol.Request) (any, error) {
	return s.env.disp.Dispatch(ctx, s, req)
}

func (s *testSession) HandleClose() { s.env.closedSessions.Add(1) }

type echoParams struct {
	Text string `json:"text"`
}

func (p echoParams) Validate() error {
	if p.Text == "" {
		return protocol.InvalidParams("text", "required")
	}
	return nil
}

type floodParams struct {
	Count int `json:"count"`
	Bytes int `json:"bytes"`
}

func newTestEnv(t *testing.T, mutate func(*Config)) *testEnv {
	t.Helper()
	cfg := DefaultConfig()
	cfg.LoginTimeout = time.Hour // the test sessions never log in (Conn.SetLoggedIn)
	if mutate != nil {
		mutate(&cfg)
	}
	env := &testEnv{t: t, disp: NewDispatcher[*testSession](), floodErr: make(chan error, 16), hookRan: make(chan uint64, 64), conns: make(chan *Conn, 64)}
	env.verifier = testVerifier(t)
	env.registerHandlers()
	srv, err := NewServer(cfg, nil, func(c *Conn) SessionHandler {
		c.OnClose(func() { env.hookRan <- c.ID() })
		env.conns <- c
		if env.inline != nil {
			return inlineTestSession{&testSession{env: env, conn: c}}
		}
		return &testSession{env: env, conn: c}
	})
	if err != nil {
		t.Fatal(err)
	}
	env.srv = srv
	mux := http.NewServeMux()
	mux.Handle("GET /ws", srv)
	env.http = httptest.NewServer(mux) // listens on 127.0.0.1
	env.url = "ws" + strings.TrimPrefix(env.http.URL, "http") + "/ws"
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Server.Close: %v", err)
		}
		env.http.Close()
	})
	return env
}

func (env *testEnv) registerHandlers() {
	d := env.disp
	d.SetGuard(func(ctx context.Context, s *testSession, method string) error {
		if method == "guarded" && s.user == "" {
			return protocol.NewError(protocol.CodeNotLoggedIn, "")
		}
		return nil
	})
	Register(d, "echo", func(ctx context.Context, s *testSession, p echoParams) (echoParams, error) { return p, nil })
	Register(d, "guarded", func(ctx context.Context, s *testSession, p protocol.Empty) (protocol.Empty, error) {
		return protocol.Empty{}, nil
	})
	Register(d, protocol.MethodLogin, func(ctx context.Context, s *testSession, p protocol.LoginParams) (protocol.LoginResult, error) {
		claims, err := env.verifier.Verify(p.SDKAppID, p.UserID, p.UserSig, testNow)
		if err != nil {
			return protocol.LoginResult{}, fmt.Errorf("login: %w", err)
		}
		s.user = claims.UserID
		return protocol.LoginResult{UserID: claims.UserID, ExpiresAt: claims.ExpiresAt.Unix()}, nil
	})
	Register(d, protocol.MethodCall, func(ctx context.Context, s *testSession, p protocol.CallMethodParams) (protocol.CallStartResult, error) {
		return protocol.CallStartResult{CallID: "c1", RoomID: protocol.IntRoom(1)}, nil
	})
	Register(d, protocol.MethodJoinRoom, func(ctx context.Context, s *testSession, p protocol.JoinRoomParams) (protocol.Empty, error) {
		return protocol.Empty{}, nil
	})
	Register(d, protocol.MethodStartRemoteView, func(ctx context.Context, s *testSession, p protocol.StartRemoteViewParams) (protocol.Empty, error) {
		return protocol.Empty{}, nil
	})
	Register(d, "fail", func(ctx context.Context, s *testSession, p protocol.Empty) (protocol.Empty, error) {
		return protocol.Empty{}, errors.New("database password is hunter2")
	})
	Register(d, "noSuchCall", func(ctx context.Context, s *testSession, p protocol.Empty) (protocol.Empty, error) {
		return protocol.Empty{}, fmt.Errorf("join %q: %w", "c9", protocol.NewError(protocol.CodeNoSuchCall, ""))
	})
	Register(d, "panic", func(ctx context.Context, s *testSession, p protocol.Empty) (protocol.Empty, error) {
		panic("boom")
	})
	Register(d, "kick", func(ctx context.Context, s *testSession, p protocol.Empty) (protocol.Empty, error) {
		if err := s.conn.Notify(protocol.EventKickedOffline, protocol.KickedOfflineEvent{}); err != nil {
			return protocol.Empty{}, err
		}
		s.conn.Close(4000+protocol.CodeKicked%1000, "kicked")
		return protocol.Empty{}, nil
	})
	Register(d, "flood", func(ctx context.Context, s *testSession, p floodParams) (protocol.Empty, error) {
		payload := map[string]string{"blob": strings.Repeat("x", p.Bytes)}
		var err error
		for i := 0; i < p.Count && err == nil; i++ {
			err = s.conn.Notify("onFlood", payload)
		}
		env.floodErr <- err
		return protocol.Empty{}, nil
	})
}

func (env *testEnv) dial(header http.Header) *websocket.Conn {
	env.t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(env.url, header)
	if err != nil {
		env.t.Fatalf("dial %s: %v", env.url, err)
	}
	_ = resp.Body.Close()
	env.t.Cleanup(func() { _ = ws.Close() })
	return ws
}

// wireResponse is a response as the client sees it.
type wireResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *protocol.Error `json:"error"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
}

// readMsg reads the next message (a response or a notification).
func readMsg(t *testing.T, ws *websocket.Conn) wireResponse {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var r wireResponse
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("bad message %s: %v", data, err)
	}
	if r.JSONRPC != "2.0" {
		t.Fatalf("message without jsonrpc 2.0: %s", data)
	}
	return r
}

func sendRaw(t *testing.T, ws *websocket.Conn, raw string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(raw)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// rpc sends a request with a numeric id and returns its response, skipping notifications.
func rpc(t *testing.T, ws *websocket.Conn, id int, method string, params any) wireResponse {
	t.Helper()
	p, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	sendRaw(t, ws, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, id, method, p))
	for {
		r := readMsg(t, ws)
		if r.Method != "" {
			continue
		}
		if string(r.ID) != fmt.Sprint(id) {
			t.Fatalf("response id %s, want %d", r.ID, id)
		}
		return r
	}
}

func wantError(t *testing.T, r wireResponse, code int, msgContains string) {
	t.Helper()
	if r.Error == nil {
		t.Fatalf("result %s, want error %d", r.Result, code)
	}
	if r.Error.Code != code || !strings.Contains(r.Error.Message, msgContains) {
		t.Fatalf("error %d %q, want %d containing %q", r.Error.Code, r.Error.Message, code, msgContains)
	}
	if r.Result != nil {
		t.Fatalf("error response also has result %s", r.Result)
	}
}
