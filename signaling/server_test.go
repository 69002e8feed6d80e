package signaling

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-rtc/parley/signaling/protocol"
)

func TestEchoAndLogin(t *testing.T) {
	env := newTestEnv(t, nil)
	ws := env.dial(nil)
	r := rpc(t, ws, 1, "echo", echoParams{Text: "hi"})
	if r.Error != nil || string(r.Result) != `{"text":"hi"}` {
		t.Fatalf("echo = %+v", r)
	}
	wantError(t, rpc(t, ws, 2, "guarded", nil), protocol.CodeNotLoggedIn, "not logged in")

	sig, err := MintUserSig(testApp, []byte(testSecret), "alice", time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, rpc(t, ws, 3, protocol.MethodLogin, protocol.LoginParams{SDKAppID: testApp, UserID: "bob", UserSig: sig}),
		protocol.CodeUserSigInvalid, "")
	wantError(t, rpc(t, ws, 4, protocol.MethodLogin, protocol.LoginParams{SDKAppID: 5, UserID: "alice", UserSig: sig}),
		protocol.CodeUnknownApp, "")
	r = rpc(t, ws, 5, protocol.MethodLogin, protocol.LoginParams{SDKAppID: testApp, UserID: "alice", UserSig: sig})
	var res protocol.LoginResult
	if r.Error != nil || json.Unmarshal(r.Result, &res) != nil || res.UserID != "alice" {
		t.Fatalf("login = %+v", r)
	}
	if r := rpc(t, ws, 6, "guarded", nil); r.Error != nil {
		t.Fatalf("guarded after login: %+v", r.Error)
	}
}

func TestMalformedJSONKeepsSocketOpen(t *testing.T) {
	env := newTestEnv(t, nil)
	ws := env.dial(nil)
	sendRaw(t, ws, `{"jsonrpc":"2.0","id":1,"method":`)
	r := readMsg(t, ws)
	if string(r.ID) != "null" {
		t.Errorf("parse error id = %s, want null", r.ID)
	}
	wantError(t, r, protocol.CodeParseError, "parse error")
	if r := rpc(t, ws, 2, "echo", echoParams{Text: "still here"}); r.Error != nil {
		t.Fatalf("request after parse error: %+v", r.Error)
	}
}

func TestInvalidRequests(t *testing.T) {
	env := newTestEnv(t, nil)
	ws := env.dial(nil)
	tests := []struct {
		name   string
		raw    string
		wantID string
		code   int
	}{
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"a"}}]`, "null", protocol.CodeInvalidRequest},
		{"not an object", `"echo"`, "null", protocol.CodeInvalidRequest},
		{"no version", `{"id":3,"method":"echo"}`, "3", protocol.CodeInvalidRequest},
		{"no method", `{"jsonrpc":"2.0","id":"q"}`, `"q"`, protocol.CodeInvalidRequest},
		{"unknown method", `{"jsonrpc":"2.0","id":4,"method":"teleport"}`, "4", protocol.CodeMethodNotFound},
		{"binary garbage", "\xff\xfe", "null", protocol.CodeParseError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sendRaw(t, ws, tt.raw)
			r := readMsg(t, ws)
			if string(r.ID) != tt.wantID {
				t.Errorf("id = %s, want %s", r.ID, tt.wantID)
			}
			wantError(t, r, tt.code, "")
		})
	}
}

func TestInvalidParamsNameTheField(t *testing.T) {
	env := newTestEnv(t, nil)
	ws := env.dial(nil)
	tests := []struct {
		name   string
		method string
		params string
		code   int
		field  string
	}{
		{"wrong type nested", protocol.MethodCall, `{"userId":"bob","mediaType":2,"params":{"timeout":"x"}}`, protocol.CodeInvalidParams, "params.timeout"},
		{"wrong type top", protocol.MethodCall, `{"userId":7,"mediaType":2}`, protocol.CodeInvalidParams, "userId"},
		{"float for int", protocol.MethodCall, `{"userId":"bob","mediaType":1.5}`, protocol.CodeInvalidParams, "mediaType"},
		{"missing required", protocol.MethodCall, `{"mediaType":2}`, protocol.CodeInvalidParams, "userId"},
		{"validate code kept", protocol.MethodCall, `{"userId":"bob","mediaType":9}`, protocol.CodeInvalidMediaType, "mediaType"},
		{"timeout range", protocol.MethodCall, `{"userId":"bob","mediaType":1,"params":{"timeout":5}}`, protocol.CodeInvalidTimeout, "params.timeout"},
		{"custom unmarshaler", protocol.MethodJoinRoom, `{"roomId":true}`, protocol.CodeInvalidParams, "roomId"},
		{"room range", protocol.MethodJoinRoom, `{"roomId":2147483648}`, protocol.CodeInvalidRoomID, "roomId"},
		{"embedded struct field", protocol.MethodStartRemoteView, `{"userId":"bob","width":"wide"}`, protocol.CodeInvalidParams, "width"},
		{"params array", protocol.MethodCall, `[1,2]`, protocol.CodeInvalidParams, "params"},
		{"absent params", protocol.MethodCall, `null`, protocol.CodeInvalidParams, "userId"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sendRaw(t, ws, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, i, tt.method, tt.params))
			r := readMsg(t, ws)
			wantError(t, r, tt.code, tt.field+":")
			var data protocol.FieldErrorData
			raw, _ := json.Marshal(r.Error.Data)
			if json.Unmarshal(raw, &data) != nil || data.Field != tt.field {
				t.Errorf("error data = %s, want field %q", raw, tt.field)
			}
		})
	}
	// Unknown members are ignored.
	sendRaw(t, ws, `{"jsonrpc":"2.0","id":99,"method":"echo","params":{"text":"a","future":{"x":1}}}`)
	if r := readMsg(t, ws); r.Error != nil {
		t.Fatalf("unknown member refused: %+v", r.Error)
	}
}

func TestHandlerErrors(t *testing.T) {
	env := newTestEnv(t, nil)
	ws := env.dial(nil)
	r := rpc(t, ws, 1, "fail", nil)
	wantError(t, r, protocol.CodeInternalError, "internal error")
	if strings.Contains(r.Error.Message, "hunter2") {
		t.Fatal("internal error detail leaked to the client")
	}
	wantError(t, rpc(t, ws, 2, "noSuchCall", nil), protocol.CodeNoSuchCall, "no such call")
	wantError(t, rpc(t, ws, 3, "panic", nil), protocol.CodeInternalError, "internal error")
	if r := rpc(t, ws, 4, "echo", echoParams{Text: "alive"}); r.Error != nil {
		t.Fatalf("after panic: %+v", r.Error)
	}
}

func TestNotificationGetsNoResponse(t *testing.T) {
	env := newTestEnv(t, nil)
	ws := env.dial(nil)
	sendRaw(t, ws, `{"jsonrpc":"2.0","method":"echo","params":{"text":"n"}}`)
	sendRaw(t, ws, `{"jsonrpc":"2.0","method":"teleport"}`)
	r := rpc(t, ws, 7, "echo", echoParams{Text: "r"})
	if string(r.Result) != `{"text":"r"}` {
		t.Fatalf("first response is %+v, want the one for id 7", r)
	}
}

func TestOversizedMessageClosesWith1009(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.MaxMessageBytes = 64 * 1024 })
	big := env.dial(nil)
	other := env.dial(nil)

	payload := `{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"` + strings.Repeat("a", 1<<20) + `"}}`
	// The server may close before the whole frame is sent; the close frame still arrives.
	_ = big.WriteMessage(websocket.TextMessage, []byte(payload))
	_ = big.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := big.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("read after 1 MiB message: %v, want close 1009", err)
	}
	if r := rpc(t, other, 2, "echo", echoParams{Text: "unaffected"}); r.Error != nil {
		t.Fatalf("other connection: %+v", r.Error)
	}
	waitFor(t, "the big connection's session to close", func() bool { return env.closedSessions.Load() == 1 })

	// A message just under the limit passes.
	text := strings.Repeat("b", 60*1024)
	if r := rpc(t, other, 3, "echo", echoParams{Text: text}); r.Error != nil {
		t.Fatalf("60 KiB message: %+v", r.Error)
	}
}

func TestSlowReaderIsDisconnected(t *testing.T) {
	env := newTestEnv(t, func(c *Config) { c.WriteQueueSize = 8; c.WriteTimeout = 30 * time.Second })
	slow := env.dial(nil)
	healthy := env.dial(nil)

	// The slow client asks for far more than the socket buffers and the queue hold, and
	// never reads.
	sendRaw(t, slow, `{"jsonrpc":"2.0","id":1,"method":"flood","params":{"count":100000,"bytes":4096}}`)
	select {
	case err := <-env.floodErr:
		if !errors.Is(err, ErrWriteQueueFull) {
			t.Fatalf("Notify error = %v, want ErrWriteQueueFull", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("flood never overflowed")
	}
	waitFor(t, "the slow session to close", func() bool { return env.closedSessions.Load() == 1 })
	if r := rpc(t, healthy, 2, "echo", echoParams{Text: "fine"}); r.Error != nil {
		t.Fatalf("healthy connection: %+v", r.Error)
	}
	if n := env.srv.ConnCount(); n != 1 {
		t.Errorf("ConnCount = %d, want 1", n)
	}
}

func TestKeepAlive(t *testing.T) {
	env := newTestEnv(t, func(c *Config) {
		c.PingInterval = 25 * time.Millisecond
		c.PongTimeout = time.Second // generous: the machine may be busy
	})

	// A reading client answers pings and stays.
	alive := env.dial(nil)
	aliveConn := <-env.conns
	var pings atomic.Int32
	alive.SetPingHandler(func(data string) error {
		pings.Add(1)
		return alive.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	responses := make(chan wireResponse, 1)
	readErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			_, data, err := alive.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			var r wireResponse
			_ = json.Unmarshal(data, &r)
			responses <- r
		}
	}()

	// A client that never reads never answers a ping: the server closes it.
	mute := env.dial(nil)
	muteConn := <-env.conns
	select {
	case id := <-env.hookRan:
		if id != muteConn.ID() {
			t.Fatalf("connection %d closed, want the mute one (%d); alive is %d", id, muteConn.ID(), aliveConn.ID())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the mute connection was never closed")
	}
	mute.SetPingHandler(func(string) error { return nil }) // the server is gone: do not answer
	var closeErr error
	for closeErr == nil {
		_ = mute.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, closeErr = mute.ReadMessage()
	}
	if !websocket.IsCloseError(closeErr, websocket.CloseGoingAway) {
		t.Errorf("mute connection ended with %v, want close 1001", closeErr)
	}

	// Meanwhile the answering client went through many pings and is still served.
	waitFor(t, "20 pings", func() bool { return pings.Load() >= 20 })
	sendRaw(t, alive, `{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"ok"}}`)
	select {
	case r := <-responses:
		if r.Error != nil {
			t.Fatalf("echo: %+v", r.Error)
		}
	case err := <-readErr:
		t.Fatalf("kept-alive connection closed: %v", err)
	}
	_ = alive.Close()
	wg.Wait()
}

func TestKickFlushesThenCloses(t *testing.T) {
	env := newTestEnv(t, nil)
	ws := env.dial(nil)
	sendRaw(t, ws, `{"jsonrpc":"2.0","id":1,"method":"kick"}`)
	r := readMsg(t, ws)
	if r.Method != protocol.EventKickedOffline {
		t.Fatalf("first message %+v, want %s", r, protocol.EventKickedOffline)
	}
	_, _, err := ws.ReadMessage()
	if !websocket.IsCloseError(err, 4007) {
		t.Fatalf("after kick: %v, want close 4007", err)
	}
	waitFor(t, "the close hook", func() bool { return len(env.hookRan) == 1 })
}

func TestServerCloseWaitsForConnections(t *testing.T) {
	env := newTestEnv(t, nil)
	var clients []*websocket.Conn
	for i := 0; i < 3; i++ {
		ws := env.dial(nil)
		if r := rpc(t, ws, 1, "echo", echoParams{Text: "x"}); r.Error != nil {
			t.Fatal(r.Error)
		}
		clients = append(clients, ws)
	}
	// Answer the closing handshake like a browser would.
	var wg sync.WaitGroup
	closeCodes := make(chan error, len(clients))
	for _, ws := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					closeCodes <- err
					return
				}
			}
		}()
	}
	if err := env.srv.Close(); err != nil {
		t.Fatal(err)
	}
	// Close returned: every session and hook has finished.
	if n := env.closedSessions.Load(); n != 3 {
		t.Errorf("closed sessions = %d after Close, want 3", n)
	}
	if n := len(env.hookRan); n != 3 {
		t.Errorf("OnClose hooks run = %d after Close, want 3", n)
	}
	if n := env.srv.ConnCount(); n != 0 {
		t.Errorf("ConnCount = %d after Close", n)
	}
	wg.Wait()
	close(closeCodes)
	for err := range closeCodes {
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Errorf("client saw %v, want close 1001", err)
		}
	}
	if err := env.srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, resp, err := websocket.DefaultDialer.Dial(env.url, nil)
	if err == nil {
		t.Fatal("dial after Close succeeded")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Close: %v, want 503", err)
	}
	if resp != nil {
		_ = resp.Body.Close()
	}
}

func TestDrainNotifiesClients(t *testing.T) {
	env := newTestEnv(t, nil)
	ws := env.dial(nil)
	if env.srv.Draining() {
		t.Fatal("draining before Drain")
	}
	waitFor(t, "the connection to register", func() bool { return env.srv.ConnCount() == 1 })
	env.srv.Drain()
	if r := readMsg(t, ws); r.Method != protocol.EventServerDraining {
		t.Fatalf("got %+v, want %s", r, protocol.EventServerDraining)
	}
	if !env.srv.Draining() {
		t.Fatal("Draining() false after Drain")
	}
	if r := rpc(t, ws, 1, "echo", echoParams{Text: "still served"}); r.Error != nil {
		t.Fatal(r.Error)
	}
}

func TestOnCloseAfterClose(t *testing.T) {
	env := newTestEnv(t, nil)
	ws := env.dial(nil)
	c := <-env.conns
	if c.RemoteAddr() == "" || c.ID() == 0 || c.Context().Err() != nil {
		t.Fatalf("conn %d remote %q ctx %v", c.ID(), c.RemoteAddr(), c.Context().Err())
	}
	_ = ws.Close()
	waitFor(t, "the hook", func() bool { return len(env.hookRan) == 1 })
	if c.Context().Err() == nil {
		t.Error("context not cancelled after close")
	}
	ran := false
	c.OnClose(func() { ran = true })
	if !ran {
		t.Error("OnClose on a closed connection did not run at once")
	}
	if err := c.Notify(protocol.EventSdkReady, protocol.SdkReadyEvent{UserID: "a"}); !errors.Is(err, ErrConnClosed) {
		t.Errorf("Notify after close = %v, want ErrConnClosed", err)
	}
}

func TestNilSessionRefused(t *testing.T) {
	srv, err := NewServer(DefaultConfig(), nil, func(*Conn) SessionHandler { return nil })
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := ws.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseInternalServerErr) {
		t.Fatalf("read = %v, want close 1011", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		key    string
	}{
		{"tiny messages", func(c *Config) { c.MaxMessageBytes = 10 }, "signaling.max_message_bytes"},
		{"no ping", func(c *Config) { c.PingInterval = 0 }, "signaling.ping_interval"},
		{"no pong", func(c *Config) { c.PongTimeout = 0 }, "signaling.pong_timeout"},
		{"no write timeout", func(c *Config) { c.WriteTimeout = 0 }, "signaling.write_timeout"},
		{"no queue", func(c *Config) { c.WriteQueueSize = 0 }, "signaling.write_queue_size"},
		{"negative grace", func(c *Config) { c.ReconnectGrace = -1 }, "signaling.reconnect_grace"},
		{"no login timeout", func(c *Config) { c.LoginTimeout = 0 }, "signaling.login_timeout"},
		{"login timeout over an hour", func(c *Config) { c.LoginTimeout = time.Hour + 1 }, "signaling.login_timeout"},
		{"bad origin", func(c *Config) { c.AllowedOrigins = []string{"app.example"} }, "signaling.allowed_origins[0]"},
		{"no stored profiles", func(c *Config) { c.MaxStoredProfiles = 0 }, "signaling.max_stored_profiles"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("Validate() = %v, want error naming %s", err, tt.key)
			}
			if _, err := NewServer(c, nil, func(*Conn) SessionHandler { return nil }); err == nil {
				t.Fatal("NewServer accepted an invalid config")
			}
		})
	}
	if _, err := NewServer(DefaultConfig(), nil, nil); err == nil {
		t.Fatal("NewServer accepted a nil SessionFactory")
	}
}
