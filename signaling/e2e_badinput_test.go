package signaling_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// rawConn is a WebSocket with no client library in between, for malformed input.
type rawConn struct {
	t  *testing.T
	ws *websocket.Conn
}

func (st *stack) raw(t *testing.T) *rawConn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(st.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return &rawConn{t: t, ws: ws}
}

// roundTrip sends text and returns the next response (skipping notifications).
func (r *rawConn) roundTrip(text string) protocol.Response {
	r.t.Helper()
	if err := r.ws.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		r.t.Fatal(err)
	}
	_ = r.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, data, err := r.ws.ReadMessage()
		if err != nil {
			r.t.Fatalf("read response to %.80s: %v", text, err)
		}
		var resp protocol.Response
		if err := json.Unmarshal(data, &resp); err != nil {
			r.t.Fatal(err)
		}
		if resp.Error != nil || resp.Result != nil || len(resp.ID) > 0 {
			return resp
		}
	}
}

func wantWireError(t *testing.T, resp protocol.Response, code int, mention string) {
	t.Helper()
	if resp.Error == nil {
		t.Fatalf("want error %d, got result %s", code, resp.Result)
	}
	if resp.Error.Code != code {
		t.Fatalf("want code %d, got %d (%s)", code, resp.Error.Code, resp.Error.Message)
	}
	if mention != "" && !strings.Contains(resp.Error.Message, mention) {
		t.Fatalf("error %q does not mention %q", resp.Error.Message, mention)
	}
}

// TestBadInput sends every kind of bad input the issue names. Each gets its documented
// error, and a bystander session keeps working throughout.
func TestBadInput(t *testing.T) {
	st := newStack(t)
	ctx := ctxT(t, 60*time.Second)
	bystander := st.login(t, "bystander")
	stillServes := func(t *testing.T) {
		t.Helper()
		if _, err := bystander.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{}); err != nil {
			t.Fatalf("bystander broken: %v", err)
		}
	}

	t.Run("malformed JSON keeps the socket open", func(t *testing.T) {
		r := st.raw(t)
		wantWireError(t, r.roundTrip(`{"jsonrpc":"2.0","id":1,"method":`), protocol.CodeParseError, "")
		resp := r.roundTrip(`{"jsonrpc":"2.0","id":2,"method":"logout"}`)
		wantWireError(t, resp, protocol.CodeNotLoggedIn, "") // the socket still answers
		stillServes(t)
	})
	t.Run("unknown method", func(t *testing.T) {
		r := st.raw(t)
		wantWireError(t, r.roundTrip(`{"jsonrpc":"2.0","id":1,"method":"fly"}`), protocol.CodeMethodNotFound, "fly")
		stillServes(t)
	})
	t.Run("wrong-typed and missing params name the field", func(t *testing.T) {
		r := st.raw(t)
		wantWireError(t, r.roundTrip(`{"jsonrpc":"2.0","id":1,"method":"login","params":{"sdkAppId":"x","userId":"a","userSig":"b"}}`),
			protocol.CodeInvalidParams, "sdkAppId")
		wantWireError(t, r.roundTrip(`{"jsonrpc":"2.0","id":2,"method":"login","params":{"sdkAppId":1400000001,"userId":"a"}}`),
			protocol.CodeInvalidParams, "userSig")
		stillServes(t)
	})
	t.Run("any method before login", func(t *testing.T) {
		c := st.dial(t)
		_, err := c.Call(ctx, "bob", protocol.MediaTypeAudio, protocol.CallParams{})
		wantCode(t, err, protocol.CodeNotLoggedIn)
		stillServes(t)
	})

	loginCases := []struct {
		name   string
		app    int
		user   string
		sig    func() string
		code   int
		nosend bool
	}{
		{"forged userSig", signaling.DevSDKAppID, "mallory", func() string {
			s, _ := signaling.MintUserSig(signaling.DevSDKAppID, []byte("some-other-secret-0123456789-0123456789"), "mallory", time.Hour, time.Now())
			return s
		}, protocol.CodeUserSigInvalid, false},
		{"expired userSig", signaling.DevSDKAppID, "mallory", func() string {
			s, _ := signaling.MintUserSig(signaling.DevSDKAppID, []byte(signaling.DevSecret), "mallory", time.Minute, time.Now().Add(-time.Hour))
			return s
		}, protocol.CodeUserSigExpired, false},
		{"wrong app", 1400000002, "mallory", func() string { return sig(t, "mallory", time.Hour) }, protocol.CodeUnknownApp, false},
		{"userSig of another user", signaling.DevSDKAppID, "mallory", func() string { return sig(t, "alice", time.Hour) }, protocol.CodeUserSigInvalid, false},
		{"userId with a forbidden character", signaling.DevSDKAppID, "mal/lory", func() string { return "x" }, protocol.CodeInvalidUserID, false},
	}
	for _, tc := range loginCases {
		t.Run(tc.name, func(t *testing.T) {
			c := st.dial(t)
			_, err := c.Login(ctx, tc.app, tc.user, tc.sig())
			wantCode(t, err, tc.code)
			stillServes(t)
		})
	}

	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	t.Run("nickname of 501 bytes", func(t *testing.T) {
		wantCode(t, alice.SetSelfInfo(ctx, strings.Repeat("n", 501), ""), protocol.CodeNicknameTooLong)
		if err := alice.SetSelfInfo(ctx, strings.Repeat("n", 500), ""); err != nil {
			t.Fatalf("500 bytes refused: %v", err)
		}
		stillServes(t)
	})
	t.Run("avatar that is not a URL", func(t *testing.T) {
		wantCode(t, alice.SetSelfInfo(ctx, "Alice", "not a url"), protocol.CodeAvatarNotURL)
		wantCode(t, alice.SetSelfInfo(ctx, "Alice", "ftp://example.com/a.png"), protocol.CodeAvatarNotURL)
		stillServes(t)
	})
	for _, timeout := range []int{5, 601} {
		t.Run("timeout "+itoa(timeout), func(t *testing.T) {
			_, err := alice.Call(ctx, "bob", protocol.MediaTypeAudio, protocol.CallParams{Timeout: timeout})
			wantCode(t, err, protocol.CodeInvalidTimeout)
			stillServes(t)
		})
	}
	t.Run("accept with nothing ringing", func(t *testing.T) {
		wantCode(t, bob.Accept(ctx, 0), protocol.CodeNoCallRinging)
		stillServes(t)
	})
	t.Run("hangup when idle", func(t *testing.T) {
		wantCode(t, alice.Hangup(ctx), protocol.CodeNotInCall)
		stillServes(t)
	})
	t.Run("invite to self", func(t *testing.T) {
		_, err := alice.Call(ctx, "alice", protocol.MediaTypeAudio, protocol.CallParams{})
		wantCode(t, err, protocol.CodeCannotInviteSelf)
		stillServes(t)
	})
	t.Run("invalid room id", func(t *testing.T) {
		wantCode(t, alice.JoinRoom(ctx, protocol.StrRoom("bad/room")), protocol.CodeInvalidRoomID)
		wantCode(t, alice.JoinRoom(ctx, protocol.IntRoom(2147483648)), protocol.CodeInvalidRoomID)
		stillServes(t)
	})
	t.Run("garbage SDP", func(t *testing.T) {
		if err := joinRoomGranted(ctx, t, alice, protocol.IntRoom(4242)); err != nil {
			t.Fatal(err)
		}
		err := alice.Request(ctx, protocol.MethodOffer, protocol.OfferParams{
			Target: protocol.TargetPublisher, SDP: protocol.SessionDescription{Type: "offer", SDP: "v=0 garbage"},
		}, nil)
		wantCode(t, err, protocol.CodeNegotiationFailed)
		if err := alice.LeaveRoom(ctx); err != nil {
			t.Fatal(err)
		}
		stillServes(t)
	})
	t.Run("an offer sending more tracks than a publisher has", func(t *testing.T) {
		// Each sending section would be a Receiver with its own NACK buffer (D205).
		if err := joinRoomGranted(ctx, t, alice, protocol.IntRoom(4243)); err != nil {
			t.Fatal(err)
		}
		offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
			strings.Repeat("m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=sendonly\r\n", sfu.MaxPublishSections+1)
		err := alice.Request(ctx, protocol.MethodOffer, protocol.OfferParams{
			Target: protocol.TargetPublisher, SDP: protocol.SessionDescription{Type: "offer", SDP: offer},
		}, nil)
		wantField(t, err, protocol.CodeNegotiationFailed, "sdp")
		if perr, _ := protocolError(err); !strings.Contains(perr.Message, "at most 4") {
			t.Fatalf("message %q does not name the bound", perr.Message)
		}
		if err := alice.LeaveRoom(ctx); err != nil {
			t.Fatal(err)
		}
		stillServes(t)
	})
	t.Run("media method outside a room", func(t *testing.T) {
		wantCode(t, alice.OpenCamera(ctx), protocol.CodeNotInRoom)
		stillServes(t)
	})
	t.Run("call to a busy user", func(t *testing.T) {
		carol := st.login(t, "carol")
		if _, err := bob.Call(ctx, "carol", protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
			t.Fatal(err)
		}
		waitFor[protocol.CallReceivedEvent](t, carol, protocol.EventCallReceived, nil)
		if _, err := alice.Call(ctx, "carol", protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
			t.Fatal(err) // the call is made; carol is busy (ringing)
		}
		waitFor(t, alice, protocol.EventUserLineBusy, func(e protocol.UserEvent) bool { return e.UserID == "carol" })
		_, err := bob.Call(ctx, "alice", protocol.MediaTypeAudio, protocol.CallParams{})
		wantCode(t, err, protocol.CodeAlreadyInCall) // bob is already dialing
		if err := bob.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		stillServes(t)
	})
	t.Run("a 1 MiB frame closes that socket with 1009", func(t *testing.T) {
		r := st.raw(t)
		big := `{"jsonrpc":"2.0","id":1,"method":"login","params":{"userSig":"` + strings.Repeat("x", 1<<20) + `"}}`
		_ = r.ws.WriteMessage(websocket.TextMessage, []byte(big))
		_ = r.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := r.ws.ReadMessage()
		var ce *websocket.CloseError
		if !asCloseError(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
			t.Fatalf("want close 1009, got %v", err)
		}
		stillServes(t)
	})
}

func asCloseError(err error, target **websocket.CloseError) bool {
	ce, ok := err.(*websocket.CloseError)
	if ok {
		*target = ce
	}
	return ok
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestChurnLeavesNoGoroutines runs 1,000 login/call/hangup/logout cycles; goroutines
// return to the baseline (goleak in TestMain checks the rest).
func TestChurnLeavesNoGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("churn is long")
	}
	st := newStack(t, manyInvitations, manyLogins) // 1,000 logins of each user on one socket
	ctx := ctxT(t, 5*time.Minute)
	baseline := goroutines()
	alice, bob := st.dial(t), st.dial(t)
	const cycles = 1000
	for i := 0; i < cycles; i++ {
		churnCycle(ctx, t, alice, bob)
	}
	_ = alice.Close()
	_ = bob.Close()
	deadline := time.Now().Add(10 * time.Second)
	for goroutines() > baseline+2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := goroutines(); n > baseline+2 {
		t.Fatalf("%d goroutines after %d cycles, baseline %d", n, cycles, baseline)
	}
	if n := st.service.Sessions(); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
}

func churnCycle(ctx context.Context, t testing.TB, alice, bob *client.Conn) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := alice.Login(ctx, signaling.DevSDKAppID, "alice", sig(t, "alice", time.Hour))
	must(err)
	_, err = bob.Login(ctx, signaling.DevSDKAppID, "bob", sig(t, "bob", time.Hour))
	must(err)
	_, err = alice.Call(ctx, "bob", protocol.MediaTypeAudio, protocol.CallParams{})
	must(err)
	_, err = bob.WaitCallReceived(ctx)
	must(err)
	must(bob.Accept(ctx, 0))
	_, err = alice.WaitCallBegin(ctx)
	must(err)
	must(alice.Hangup(ctx))
	_, err = bob.WaitCallEnd(ctx)
	must(err)
	must(alice.Logout(ctx))
	must(bob.Logout(ctx))
}

// BenchmarkCallSetup: login of two users, call, accept, hangup (events awaited), logout —
// in process over loopback WebSockets. Reports setups/s.
func BenchmarkCallSetup(b *testing.B) {
	st := newStack(b, manyInvitations, manyLogins)
	ctx := context.Background()
	alice, bob := st.dial(b), st.dial(b)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		churnCycle(ctx, b, alice, bob)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "setups/s")
}
