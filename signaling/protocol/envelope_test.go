package protocol

import (
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantCode   int    // 0 = success
		wantID     string // raw id expected in the result ("" = none)
		wantMethod string
		wantParams string
	}{
		{name: "full", in: `{"jsonrpc":"2.0","id":1,"method":"login","params":{"a":1}}`, wantID: "1", wantMethod: "login", wantParams: `{"a":1}`},
		{name: "string id", in: `{"jsonrpc":"2.0","id":"x-1","method":"hangup"}`, wantID: `"x-1"`, wantMethod: "hangup"},
		{name: "null id", in: `{"jsonrpc":"2.0","id":null,"method":"hangup"}`, wantID: "null", wantMethod: "hangup"},
		{name: "notification", in: `{"jsonrpc":"2.0","method":"trickle","params":{}}`, wantMethod: "trickle", wantParams: "{}"},
		{name: "spaces", in: " \n{ \"jsonrpc\" : \"2.0\" , \"id\" : -2.5 , \"method\" : \"x\" , \"params\" : null }\n", wantID: "-2.5", wantMethod: "x"},
		{name: "array params kept", in: `{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}`, wantID: "1", wantMethod: "x", wantParams: "[1]"},
		{name: "unknown members ignored", in: `{"jsonrpc":"2.0","id":1,"method":"x","extra":true}`, wantID: "1", wantMethod: "x"},
		{name: "empty", in: ``, wantCode: CodeParseError},
		{name: "garbage", in: `{"jsonrpc":`, wantCode: CodeParseError},
		{name: "trailing garbage", in: `{"jsonrpc":"2.0","id":1,"method":"x"} x`, wantCode: CodeParseError},
		{name: "batch", in: `[{"jsonrpc":"2.0","id":1,"method":"x"}]`, wantCode: CodeInvalidRequest},
		{name: "string", in: `"hello"`, wantCode: CodeInvalidRequest},
		{name: "number", in: `42`, wantCode: CodeInvalidRequest},
		{name: "missing jsonrpc", in: `{"id":1,"method":"x"}`, wantCode: CodeInvalidRequest, wantID: "1"},
		{name: "wrong jsonrpc", in: `{"jsonrpc":"1.0","id":1,"method":"x"}`, wantCode: CodeInvalidRequest, wantID: "1"},
		{name: "numeric jsonrpc", in: `{"jsonrpc":2,"id":1,"method":"x"}`, wantCode: CodeInvalidRequest, wantID: "1"},
		{name: "missing method", in: `{"jsonrpc":"2.0","id":7}`, wantCode: CodeInvalidRequest, wantID: "7"},
		{name: "empty method", in: `{"jsonrpc":"2.0","id":7,"method":""}`, wantCode: CodeInvalidRequest, wantID: "7"},
		{name: "numeric method", in: `{"jsonrpc":"2.0","id":7,"method":5}`, wantCode: CodeInvalidRequest, wantID: "7"},
		{name: "object id", in: `{"jsonrpc":"2.0","id":{},"method":"x"}`, wantCode: CodeInvalidRequest},
		{name: "bool id", in: `{"jsonrpc":"2.0","id":true,"method":"x"}`, wantCode: CodeInvalidRequest},
		{name: "string params", in: `{"jsonrpc":"2.0","id":1,"method":"x","params":"a"}`, wantCode: CodeInvalidRequest, wantID: "1"},
		// Member names are case-sensitive: another case is an unknown member, ignored.
		{name: "JSONRPC in capitals", in: `{"JSONRPC":"2.0","id":1,"method":"x"}`, wantCode: CodeInvalidRequest, wantID: "1"},
		{name: "Method capitalised", in: `{"jsonrpc":"2.0","id":1,"Method":"x"}`, wantCode: CodeInvalidRequest, wantID: "1"},
		{name: "ID in capitals is no id", in: `{"jsonrpc":"2.0","ID":1,"method":"x"}`, wantMethod: "x"},
		{name: "Params capitalised is no params", in: `{"jsonrpc":"2.0","id":1,"method":"x","Params":{"a":1}}`, wantID: "1", wantMethod: "x"},
		{name: "exact name beside another case", in: `{"jsonrpc":"2.0","id":1,"method":"x","METHOD":"y"}`, wantID: "1", wantMethod: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, perr := DecodeRequest([]byte(tt.in))
			if tt.wantCode != 0 {
				if perr == nil || perr.Code != tt.wantCode {
					t.Fatalf("DecodeRequest(%q) error = %v, want code %d", tt.in, perr, tt.wantCode)
				}
			} else if perr != nil {
				t.Fatalf("DecodeRequest(%q) error = %v", tt.in, perr)
			}
			if string(req.ID) != tt.wantID {
				t.Errorf("id = %q, want %q", req.ID, tt.wantID)
			}
			if tt.wantCode != 0 {
				return
			}
			if req.Method != tt.wantMethod || string(req.Params) != tt.wantParams || req.JSONRPC != Version {
				t.Errorf("got %+v (params %s), want method %q params %q", req, req.Params, tt.wantMethod, tt.wantParams)
			}
			if req.IsNotification() != (tt.wantID == "") {
				t.Errorf("IsNotification = %v with id %q", req.IsNotification(), req.ID)
			}
		})
	}
}

func TestResponseAndNotificationRoundTrip(t *testing.T) {
	ok, err := NewResponse(json.RawMessage(`"a"`), LoginResult{UserID: "alice", ICEServers: []ICEServer{{URLs: []string{"stun:127.0.0.1:3478"}}}})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := NewResponse(json.RawMessage(`2`), nil)
	if err != nil {
		t.Fatal(err)
	}
	failed := NewErrorResponse(nil, NewError(CodeParseError, ""))
	note, err := NewNotification(EventSdkReady, SdkReadyEvent{UserID: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	numbered := note
	numbered.Seq = 7
	tests := []struct {
		name   string
		msg    any
		wantJS string
	}{
		{"result", ok, `{"jsonrpc":"2.0","id":"a","result":{"userId":"alice","resumeToken":"","iceServers":[{"urls":["stun:127.0.0.1:3478"]}],"expiresAt":0}}`},
		{"empty result", empty, `{"jsonrpc":"2.0","id":2,"result":{}}`},
		{"error with null id", failed, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`},
		{"notification", note, `{"jsonrpc":"2.0","method":"onSdkReady","params":{"userId":"alice"}}`},
		{"numbered notification", numbered, `{"jsonrpc":"2.0","method":"onSdkReady","params":{"userId":"alice"},"seq":7}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.wantJS {
				t.Fatalf("marshal = %s\nwant      %s", b, tt.wantJS)
			}
			sm, err := DecodeServerMessage(b)
			if err != nil {
				t.Fatalf("DecodeServerMessage: %v", err)
			}
			n, isNote := tt.msg.(Notification)
			if sm.IsResponse == isNote {
				t.Fatalf("IsResponse = %v for %s", sm.IsResponse, b)
			}
			if isNote && sm.Notification.Seq != n.Seq {
				t.Fatalf("seq = %d, want %d", sm.Notification.Seq, n.Seq)
			}
			if isNote {
				enc, err := EncodeNotification(n.Method, SdkReadyEvent{UserID: "alice"}, n.Seq)
				if err != nil || string(enc) != tt.wantJS {
					t.Fatalf("EncodeNotification = %s, %v; want %s", enc, err, tt.wantJS)
				}
			}
		})
	}
}

func TestDecodeServerMessageRejects(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `{"jsonrpc":"1.0","method":"x"}`, `{"jsonrpc":"2.0"}`,
		`{"jsonrpc":"2.0","id":1}`, `{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}`,
	} {
		if _, err := DecodeServerMessage([]byte(in)); err == nil {
			t.Errorf("DecodeServerMessage(%q) succeeded", in)
		}
	}
}

func TestErrorIsAndCode(t *testing.T) {
	err := errorsJoinWrap(NewError(CodeUserSigExpired, "token expired at 12:00"))
	if !errors.Is(err, NewError(CodeUserSigExpired, "")) {
		t.Errorf("errors.Is by code failed for %v", err)
	}
	if errors.Is(err, NewError(CodeUserSigInvalid, "")) {
		t.Errorf("errors.Is matched a different code")
	}
	if got := ErrorCode(err); got != CodeUserSigExpired {
		t.Errorf("ErrorCode = %d", got)
	}
	if got := ErrorCode(errors.New("plain")); got != 0 {
		t.Errorf("ErrorCode(plain) = %d", got)
	}
	if msg := NewError(CodeNotLoggedIn, "").Error(); msg != "parley error 1001: not logged in" {
		t.Errorf("Error() = %q", msg)
	}
	fe := InvalidParams("params.timeout", "must be a number")
	b, _ := json.Marshal(fe)
	if string(b) != `{"code":-32602,"message":"params.timeout: must be a number","data":{"field":"params.timeout"}}` {
		t.Errorf("field error JSON = %s", b)
	}
}

func errorsJoinWrap(err error) error { return errors.Join(errors.New("context"), err) }

// TestEveryCodeIsDocumented: the error table of PROTOCOL.md lists every code with its number.
func TestEveryCodeIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../PROTOCOL.md")
	if err != nil {
		t.Fatalf("read PROTOCOL.md: %v", err)
	}
	text := string(doc)
	for _, code := range Codes() {
		row := "| " + strconv.Itoa(code) + " |"
		if !strings.Contains(text, row) {
			t.Errorf("PROTOCOL.md has no table row %q (%s)", row, CodeMessage(code))
		}
	}
	if len(Codes()) < 30 {
		t.Errorf("only %d codes registered", len(Codes()))
	}
}

// TestEveryMethodIsDocumented: each method has its own heading in PROTOCOL.md.
func TestEveryMethodIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../PROTOCOL.md")
	if err != nil {
		t.Fatalf("read PROTOCOL.md: %v", err)
	}
	for _, m := range Methods() {
		if !strings.Contains(string(doc), "#### `"+m+"`") {
			t.Errorf("PROTOCOL.md has no heading #### `%s`", m)
		}
	}
	for _, e := range []string{EventSdkReady, EventError, EventKickedOffline, EventUserSigExpired, EventUserJoin,
		EventUserLeave, EventUserVideoAvailable, EventUserAudioAvailable, EventUserVoiceVolumeChanged,
		EventUserNetworkQualityChanged, EventServerDraining, EventPublishLayersChanged} {
		if !strings.Contains(string(doc), "`"+e+"`") {
			t.Errorf("PROTOCOL.md does not mention event %s", e)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"login","params":{"sdkAppId":1,"userId":"a","userSig":"x"}}`,
		`{"jsonrpc":"2.0","method":"trickle","params":{"target":"publisher","candidate":{"candidate":""}}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"x"}]`, `{"jsonrpc":"2.0","id":{},"method":"x"}`,
		`{"jsonrpc":`, ``, `null`, `"x"`, `{"id":null}`, "\x00\xff",
		`{"JSONRPC":"2.0","ID":1,"Method":"x","method":"y"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, perr := DecodeRequest(data)
		if perr != nil {
			if perr.Code != CodeParseError && perr.Code != CodeInvalidRequest {
				t.Fatalf("unexpected code %d", perr.Code)
			}
			if req.ID != nil && !json.Valid(req.ID) {
				t.Fatalf("invalid id %q returned with error", req.ID)
			}
			return
		}
		if req.Method == "" || req.JSONRPC != Version {
			t.Fatalf("accepted request without method/version: %+v", req)
		}
		if req.ID != nil && !json.Valid(req.ID) || req.Params != nil && !json.Valid(req.Params) {
			t.Fatalf("accepted invalid raw members: %+v", req)
		}
		// A decoded request re-encodes and decodes to the same thing.
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		again, perr := DecodeRequest(b)
		if perr != nil || again.Method != req.Method || string(again.ID) != string(req.ID) {
			t.Fatalf("re-decode of %s: %+v, %v", b, again, perr)
		}
	})
}

func FuzzDecodeServerMessage(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{}}`, `{"jsonrpc":"2.0","id":1,"error":{"code":1001,"message":"x"}}`,
		`{"jsonrpc":"2.0","method":"onSdkReady","params":{"userId":"a"}}`, `{}`, `[`, `{"jsonrpc":"2.0","id":null,"result":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sm, err := DecodeServerMessage(data)
		if err != nil {
			return
		}
		if sm.IsResponse && (sm.Response.Error == nil) == (sm.Response.Result == nil) {
			t.Fatalf("response with both or neither result and error: %s", data)
		}
		if !sm.IsResponse && sm.Notification.Method == "" {
			t.Fatalf("notification without method: %s", data)
		}
	})
}
