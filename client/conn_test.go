package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// echoResult is what the fake server answers to "echo".
type echoResult struct {
	ID     string          `json:"id"`
	Params json.RawMessage `json:"params"`
}

func TestRequestResponseMatchingOutOfOrder(t *testing.T) {
	const n = 5
	var mu sync.Mutex
	var held []protocol.Request
	fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) {
		mu.Lock()
		held = append(held, req)
		if len(held) < n {
			mu.Unlock()
			return
		}
		batch := held
		held = nil
		mu.Unlock()
		// Answer in reverse order: the client must match by id.
		for i := len(batch) - 1; i >= 0; i-- {
			fc.respond(batch[i], echoResult{ID: string(batch[i].ID), Params: batch[i].Params})
		}
	})
	c := dial(t, fs, Options{})
	ctx := testContext(t)

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res echoResult
			if err := c.Request(ctx, "echo", map[string]int{"n": i}, &res); err != nil {
				errs <- err
				return
			}
			var got map[string]int
			if err := json.Unmarshal(res.Params, &got); err != nil {
				errs <- err
				return
			}
			if got["n"] != i {
				errs <- fmt.Errorf("request %d got the response of request %d", i, got["n"])
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ids := map[string]bool{}
	for _, req := range fs.conn(0).requests() {
		if ids[string(req.ID)] {
			t.Errorf("id %s used twice", req.ID)
		}
		ids[string(req.ID)] = true
		if req.JSONRPC != protocol.Version {
			t.Errorf("jsonrpc %q", req.JSONRPC)
		}
	}
}

func TestErrorResponses(t *testing.T) {
	tests := []struct {
		name     string
		respErr  *protocol.Error
		wantCode int
		wantMsg  string
		wantData bool
	}{
		{"call error", protocol.NewError(protocol.CodeAlreadyInCall, "already in a call"), protocol.CodeAlreadyInCall, "already in a call", false},
		{"field error", protocol.FieldError(protocol.CodeInvalidUserID, "userIdList[2]", "bad"), protocol.CodeInvalidUserID, "userIdList[2]: bad", true},
		{"json-rpc error", protocol.NewError(protocol.CodeMethodNotFound, ""), protocol.CodeMethodNotFound, "method not found", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) { fc.respondError(req, tt.respErr) })
			c := dial(t, fs, Options{})
			err := c.Request(testContext(t), "anything", nil, nil)
			var perr *protocol.Error
			if !errors.As(err, &perr) {
				t.Fatalf("error %v is not a *protocol.Error", err)
			}
			if perr.Code != tt.wantCode || perr.Message != tt.wantMsg {
				t.Errorf("got %d %q, want %d %q", perr.Code, perr.Message, tt.wantCode, tt.wantMsg)
			}
			if (perr.Data != nil) != tt.wantData {
				t.Errorf("data %v, want present=%v", perr.Data, tt.wantData)
			}
			if protocol.ErrorCode(err) != tt.wantCode || !errors.Is(err, protocol.NewError(tt.wantCode, "")) {
				t.Errorf("ErrorCode/Is do not see code %d in %v", tt.wantCode, err)
			}
			if !strings.Contains(err.Error(), "anything") {
				t.Errorf("error %q does not name the method", err)
			}
		})
	}
}

func TestTypedMethods(t *testing.T) {
	room := protocol.IntRoom(81123)
	start := protocol.CallStartResult{CallID: "c1", RoomID: room}
	tests := []struct {
		method     string
		call       func(ctx context.Context, c *Conn) (any, error)
		wantParams string // JSON; "" = no params
		result     any
		wantResult any
	}{
		{protocol.MethodLogin, func(ctx context.Context, c *Conn) (any, error) { return c.Login(ctx, 1400000001, "alice", "sig") },
			`{"sdkAppId":1400000001,"userId":"alice","userSig":"sig"}`,
			protocol.LoginResult{UserID: "alice", ResumeToken: "r", ExpiresAt: 9}, protocol.LoginResult{UserID: "alice", ResumeToken: "r", ExpiresAt: 9}},
		{protocol.MethodLogin, func(ctx context.Context, c *Conn) (any, error) { return c.Resume(ctx, 7, "alice", "sig", "tok", 5) },
			`{"sdkAppId":7,"userId":"alice","userSig":"sig","resumeToken":"tok","lastSeq":5}`,
			protocol.LoginResult{UserID: "alice"}, protocol.LoginResult{UserID: "alice"}},
		{protocol.MethodLogout, func(ctx context.Context, c *Conn) (any, error) { return nil, c.Logout(ctx) }, "", nil, nil},
		{protocol.MethodSetSelfInfo, func(ctx context.Context, c *Conn) (any, error) {
			return nil, c.SetSelfInfo(ctx, "Al", "https://a/b.png")
		},
			`{"nickname":"Al","avatar":"https://a/b.png"}`, nil, nil},
		{protocol.MethodEnableMultiDeviceAbility, func(ctx context.Context, c *Conn) (any, error) { return nil, c.EnableMultiDeviceAbility(ctx, true) },
			`{"enable":true}`, nil, nil},
		{protocol.MethodCall, func(ctx context.Context, c *Conn) (any, error) {
			return c.Call(ctx, "bob", protocol.MediaTypeVideo, protocol.CallParams{Timeout: 20})
		}, `{"userId":"bob","mediaType":2,"params":{"timeout":20}}`, start, start},
		{protocol.MethodGroupCall, func(ctx context.Context, c *Conn) (any, error) {
			return c.GroupCall(ctx, "g1", []string{"bob", "carol"}, protocol.MediaTypeAudio, protocol.CallParams{RoomID: room})
		}, `{"groupId":"g1","userIdList":["bob","carol"],"mediaType":1,"params":{"roomId":81123}}`, start, start},
		{protocol.MethodCalls, func(ctx context.Context, c *Conn) (any, error) {
			return c.Calls(ctx, []string{"bob"}, protocol.MediaTypeAudio, protocol.CallParams{ChatGroupID: "g"})
		}, `{"userIdList":["bob"],"mediaType":1,"params":{"chatGroupId":"g"}}`, start, start},
		{protocol.MethodAccept, func(ctx context.Context, c *Conn) (any, error) { return nil, c.Accept(ctx, 0) }, `{}`, nil, nil},
		{protocol.MethodAccept, func(ctx context.Context, c *Conn) (any, error) { return nil, c.Accept(ctx, protocol.MediaTypeAudio) },
			`{"mediaType":1}`, nil, nil},
		{protocol.MethodReject, func(ctx context.Context, c *Conn) (any, error) { return nil, c.Reject(ctx) }, "", nil, nil},
		{protocol.MethodIgnore, func(ctx context.Context, c *Conn) (any, error) { return nil, c.Ignore(ctx) }, "", nil, nil},
		{protocol.MethodHangup, func(ctx context.Context, c *Conn) (any, error) { return nil, c.Hangup(ctx) }, "", nil, nil},
		{protocol.MethodInviteUser, func(ctx context.Context, c *Conn) (any, error) {
			return c.InviteUser(ctx, []string{"dave"}, protocol.CallParams{UserData: "x"})
		}, `{"userIdList":["dave"],"params":{"userData":"x"}}`,
			protocol.InviteUserResult{UserIDList: []string{"dave"}}, protocol.InviteUserResult{UserIDList: []string{"dave"}}},
		{protocol.MethodJoinInGroupCall, func(ctx context.Context, c *Conn) (any, error) {
			return c.JoinInGroupCall(ctx, protocol.StrRoom("r1"), "g1", protocol.MediaTypeVideo)
		}, `{"roomId":"r1","groupId":"g1","mediaType":2}`, start, start},
		{protocol.MethodJoin, func(ctx context.Context, c *Conn) (any, error) { return c.Join(ctx, "c1") }, `{"callId":"c1"}`, start, start},
		{protocol.MethodPrepareCall, func(ctx context.Context, c *Conn) (any, error) { return c.PrepareCall(ctx, "c1") }, `{"callId":"c1"}`, start, start},
		{protocol.MethodSwitchCallMediaType, func(ctx context.Context, c *Conn) (any, error) {
			return nil, c.SwitchCallMediaType(ctx, protocol.MediaTypeAudio)
		}, `{"mediaType":1}`, nil, nil},
		{protocol.MethodQueryRecentCalls, func(ctx context.Context, c *Conn) (any, error) {
			return c.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{Begin: 1.5, ResultType: protocol.CallResultMissed})
		}, `{"begin":1.5,"end":0,"resultType":1}`,
			protocol.QueryRecentCallsResult{Records: []protocol.CallRecord{{CallID: "c1", RoomID: room, Invitees: []string{"bob"}}}},
			protocol.QueryRecentCallsResult{Records: []protocol.CallRecord{{CallID: "c1", RoomID: room, Invitees: []string{"bob"}}}}},
		{protocol.MethodDeleteRecordCalls, func(ctx context.Context, c *Conn) (any, error) { return c.DeleteRecordCalls(ctx, []string{"c1", "c2"}) },
			`{"callIdList":["c1","c2"]}`, protocol.DeleteRecordCallsResult{Deleted: []string{"c1"}}, protocol.DeleteRecordCallsResult{Deleted: []string{"c1"}}},
		{protocol.MethodJoinRoom, func(ctx context.Context, c *Conn) (any, error) { return nil, c.JoinRoom(ctx, room) }, `{"roomId":81123}`, nil, nil},
		{protocol.MethodJoinRoom, func(ctx context.Context, c *Conn) (any, error) {
			return nil, c.JoinRoomWithGrant(ctx, protocol.StrRoom("81123"), "grant.jwt.sig")
		}, `{"roomId":"81123","roomGrant":"grant.jwt.sig"}`, nil, nil},
		{protocol.MethodLeaveRoom, func(ctx context.Context, c *Conn) (any, error) { return nil, c.LeaveRoom(ctx) }, "", nil, nil},
		{protocol.MethodStartRemoteView, func(ctx context.Context, c *Conn) (any, error) {
			return nil, c.StartRemoteView(ctx, "bob", protocol.VideoQuality{Resolution: protocol.Resolution1280x720})
		}, `{"userId":"bob","resolution":112}`, nil, nil},
		{protocol.MethodStopRemoteView, func(ctx context.Context, c *Conn) (any, error) { return nil, c.StopRemoteView(ctx, "bob") }, `{"userId":"bob"}`, nil, nil},
		{protocol.MethodSetRemoteViewQuality, func(ctx context.Context, c *Conn) (any, error) {
			return nil, c.SetRemoteViewQuality(ctx, "bob", protocol.VideoQuality{Width: 320, Height: 180})
		}, `{"userId":"bob","width":320,"height":180}`, nil, nil},
		{protocol.MethodOpenCamera, func(ctx context.Context, c *Conn) (any, error) { return nil, c.OpenCamera(ctx) }, "", nil, nil},
		{protocol.MethodCloseCamera, func(ctx context.Context, c *Conn) (any, error) { return nil, c.CloseCamera(ctx) }, "", nil, nil},
		{protocol.MethodOpenMicrophone, func(ctx context.Context, c *Conn) (any, error) { return nil, c.OpenMicrophone(ctx) }, "", nil, nil},
		{protocol.MethodCloseMicrophone, func(ctx context.Context, c *Conn) (any, error) { return nil, c.CloseMicrophone(ctx) }, "", nil, nil},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.method] = true
		t.Run(tt.method, func(t *testing.T) {
			fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) { fc.respond(req, tt.result) })
			c := dial(t, fs, Options{})
			got, err := tt.call(testContext(t), c)
			if err != nil {
				t.Fatal(err)
			}
			reqs := fs.conn(0).requests()
			if len(reqs) != 1 || reqs[0].Method != tt.method {
				t.Fatalf("server got %+v, want one %s", reqs, tt.method)
			}
			if !jsonEqual(t, string(reqs[0].Params), tt.wantParams) {
				t.Errorf("params %s, want %s", reqs[0].Params, tt.wantParams)
			}
			if tt.wantResult != nil && !reflect.DeepEqual(got, tt.wantResult) {
				t.Errorf("result %+v, want %+v", got, tt.wantResult)
			}
		})
	}
	// Every client→server method but the negotiation ones (StartMedia's job) has a
	// typed method.
	for _, m := range protocol.Methods() {
		switch m {
		case protocol.MethodOffer, protocol.MethodAnswer, protocol.MethodTrickle:
			continue
		}
		if !covered[m] {
			t.Errorf("no typed method tested for %s", m)
		}
	}
}

// jsonEqual compares two JSON texts by value; "" stands for absent.
func jsonEqual(t *testing.T, got, want string) bool {
	t.Helper()
	if got == "" || want == "" {
		return got == want
	}
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("bad JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad JSON %s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

func TestLoginStateAndLogout(t *testing.T) {
	fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) {
		switch req.Method {
		case protocol.MethodLogin:
			fc.respond(req, protocol.LoginResult{UserID: "alice", ResumeToken: "tok"})
			fc.notify(protocol.EventSdkReady, protocol.SdkReadyEvent{UserID: "alice"})
		default:
			fc.respond(req, nil)
		}
	})
	c := dial(t, fs, Options{})
	ctx := testContext(t)
	if _, ok := c.LoginResult(); ok || c.UserID() != "" {
		t.Fatal("logged in before Login")
	}
	if err := c.StartMedia(ctx, MediaOptions{Audio: true}); !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("StartMedia before login: %v, want ErrNotLoggedIn", err)
	}
	if _, err := c.Login(ctx, 1, "alice", "sig"); err != nil {
		t.Fatal(err)
	}
	if res, ok := c.LoginResult(); !ok || res.ResumeToken != "tok" || c.UserID() != "alice" {
		t.Fatalf("login result %+v %v", res, ok)
	}
	ready, err := WaitFor[protocol.SdkReadyEvent](ctx, c, protocol.EventSdkReady, nil)
	if err != nil || ready.UserID != "alice" {
		t.Fatalf("onSdkReady %+v, %v", ready, err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.LoginResult(); ok {
		t.Fatal("still logged in after Logout")
	}
}

func TestServerCloseFailsPendingAndWaiters(t *testing.T) {
	fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) {
		if req.Method == "kick" {
			fc.notify(protocol.EventKickedOffline, protocol.KickedOfflineEvent{})
			fc.closeWith(4007, "logged in elsewhere")
		}
		// Other requests are never answered.
	})
	c := dial(t, fs, Options{})
	ctx := testContext(t)
	pending := make(chan error, 1)
	go func() { pending <- c.Request(ctx, "hang", nil, nil) }()
	waiting := make(chan error, 1)
	go func() {
		_, err := c.WaitEvent(ctx, protocol.EventCallBegin, nil)
		waiting <- err
	}()
	waitFor(t, 10*time.Second, "the hanging request to reach the server", func() bool { return len(fs.conn(0).requests()) == 1 })
	if err := c.Request(ctx, "kick", nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("kick: %v, want ErrClosed", err)
	}
	if err := <-pending; !errors.Is(err, ErrClosed) {
		t.Errorf("pending request: %v, want ErrClosed", err)
	}
	if err := <-waiting; !errors.Is(err, ErrClosed) {
		t.Errorf("waiter: %v, want ErrClosed", err)
	}
	<-c.Done()
	if code, reason := c.CloseStatus(); code != 4007 || reason != "logged in elsewhere" {
		t.Errorf("close status %d %q", code, reason)
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("Err() = %v", c.Err())
	}
	// The event that came before the close is still there to wait for.
	if _, err := c.WaitEvent(ctx, protocol.EventKickedOffline, nil); err != nil {
		t.Errorf("logged event after close: %v", err)
	}
	if err := c.Request(ctx, "again", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("request after close: %v, want ErrClosed", err)
	}
}

func TestRequestContextCancelled(t *testing.T) {
	var mu sync.Mutex
	var held []protocol.Request
	fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) {
		if req.Method == "slow" {
			mu.Lock()
			held = append(held, req)
			mu.Unlock()
			return
		}
		// Answer the held request late, then this one.
		mu.Lock()
		for _, h := range held {
			fc.respond(h, "late")
		}
		held = nil
		mu.Unlock()
		fc.respond(req, "fast")
	})
	c := dial(t, fs, Options{})
	ctx, cancel := context.WithCancel(testContext(t))
	go func() {
		waitFor(t, 10*time.Second, "slow request", func() bool { return len(fs.conn(0).requests()) == 1 })
		cancel()
	}()
	if err := c.Request(ctx, "slow", nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("slow: %v, want context.Canceled", err)
	}
	var res string
	if err := c.Request(testContext(t), "fast", nil, &res); err != nil || res != "fast" {
		t.Fatalf("fast: %q, %v (the late response must be ignored)", res, err)
	}
}

func TestCloseIsIdempotentAndEndsEverything(t *testing.T) {
	fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) { fc.respond(req, nil) })
	c := dial(t, fs, Options{})
	ctx := testContext(t)
	if err := c.Request(ctx, "x", nil, nil); err != nil {
		t.Fatal(err)
	}
	c.On("", func(Event) {})
	for i := range 2 {
		if err := c.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if err := c.Request(ctx, "x", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("request after Close: %v, want ErrClosed", err)
	}
	if err := c.Notify("x", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("notify after Close: %v, want ErrClosed", err)
	}
	if err := c.StartMedia(ctx, MediaOptions{}); err == nil {
		t.Error("StartMedia after Close succeeded")
	}
}

func TestNotifySendsNoID(t *testing.T) {
	fs := newFakeServer(t, nil)
	c := dial(t, fs, Options{})
	if err := c.Notify("hangup", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "notification", func() bool { return len(fs.conn(0).requests()) == 1 })
	if req := fs.conn(0).requests()[0]; !req.IsNotification() || req.Method != "hangup" {
		t.Errorf("server got %+v, want a notification", req)
	}
}

func TestDialFailures(t *testing.T) {
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer forbidden.Close()
	tests := []struct {
		name, url, want string
	}{
		{"HTTP error", "ws" + strings.TrimPrefix(forbidden.URL, "http") + "/ws", "HTTP 403"},
		{"bad URL", "http://127.0.0.1:1/ws", "dial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Dial(testContext(t), tt.url, Options{})
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestUndecodableMessagesAreSkipped(t *testing.T) {
	fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) {
		fc.send(json.RawMessage(`{"jsonrpc":"1.0","method":"x"}`))
		fc.send(json.RawMessage(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`))
		fc.send(json.RawMessage(`{"jsonrpc":"2.0","id":"not-ours","result":{}}`))
		fc.send(json.RawMessage(`[1,2]`))
		fc.respond(req, "ok")
	})
	c := dial(t, fs, Options{})
	var res string
	if err := c.Request(testContext(t), "x", nil, &res); err != nil || res != "ok" {
		t.Fatalf("%q, %v", res, err)
	}
	if n := len(c.Events()); n != 0 {
		t.Errorf("%d events logged from garbage", n)
	}
}

func TestAbortDropsTheSocket(t *testing.T) {
	fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) {
		if req.Method == "x" {
			fc.respond(req, nil)
		}
	})
	c := dial(t, fs, Options{})
	ctx := testContext(t)
	if err := c.Request(ctx, "x", nil, nil); err != nil {
		t.Fatal(err)
	}
	pending := make(chan error, 1)
	go func() { pending <- c.Request(ctx, "never", nil, nil) }()
	waitFor(t, 10*time.Second, "the request to reach the server", func() bool { return len(fs.conn(0).requests()) == 2 })
	c.Abort()
	if err := <-pending; !errors.Is(err, ErrClosed) {
		t.Fatalf("pending request: %v, want ErrClosed", err)
	}
	<-c.Done()
	if code, _ := c.CloseStatus(); code != 0 {
		t.Errorf("close status %d after an abort, want none", code)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMessagesOfAnySizeUpToTheLimit: the reader reuses one buffer across messages, so a
// large message followed by small ones leaves each intact (the event log keeps its own
// copy), and a message over Options.MaxMessageBytes ends the connection with ErrClosed.
func TestMessagesOfAnySizeUpToTheLimit(t *testing.T) {
	big := strings.Repeat("x", 6000)
	fs := newFakeServer(t, func(fc *fakeConn, req protocol.Request) {
		switch req.Method {
		case "emit":
			fc.notify(protocol.EventUserJoin, protocol.UserJoinEvent{UserID: big})
			fc.notify(protocol.EventUserJoin, protocol.UserJoinEvent{UserID: "b"})
			fc.respond(req, "done")
		case "flood":
			fc.respond(req, strings.Repeat("y", 9000))
		}
	})
	c := dial(t, fs, Options{MaxMessageBytes: 8000})
	ctx := testContext(t)
	var res string
	if err := c.Request(ctx, "emit", nil, &res); err != nil || res != "done" {
		t.Fatalf("emit: %q, %v", res, err)
	}
	for _, want := range []string{big, "b"} {
		join, err := c.WaitUserJoin(ctx, "")
		if err != nil || join.UserID != want {
			t.Fatalf("onUserJoin of %d bytes, %v; want %d bytes", len(join.UserID), err, len(want))
		}
	}
	if err := c.Request(ctx, "flood", nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("a response over the limit: %v, want ErrClosed", err)
	}
}
