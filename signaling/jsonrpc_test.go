package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

type fakeSession struct{ loggedIn bool }

func newTestDispatcher() *Dispatcher[*fakeSession] {
	d := NewDispatcher[*fakeSession]()
	Register(d, protocol.MethodLogin, func(ctx context.Context, s *fakeSession, p protocol.LoginParams) (protocol.SdkReadyEvent, error) {
		s.loggedIn = true
		return protocol.SdkReadyEvent{UserID: p.UserID}, nil
	})
	Register(d, protocol.MethodHangup, func(ctx context.Context, s *fakeSession, p protocol.Empty) (protocol.Empty, error) {
		return protocol.Empty{}, nil
	})
	d.SetGuard(func(ctx context.Context, s *fakeSession, method string) error {
		if method != protocol.MethodLogin && !s.loggedIn {
			return protocol.NewError(protocol.CodeNotLoggedIn, "")
		}
		return nil
	})
	return d
}

func TestDispatcher(t *testing.T) {
	d := newTestDispatcher()
	s := &fakeSession{}
	ctx := context.Background()
	req := func(method, params string) protocol.Request {
		return protocol.Request{JSONRPC: "2.0", ID: json.RawMessage("1"), Method: method, Params: json.RawMessage(params)}
	}
	steps := []struct {
		name     string
		req      protocol.Request
		wantCode int
		want     any
	}{
		{"unknown method", req("teleport", `{}`), protocol.CodeMethodNotFound, nil},
		{"gate before login", req(protocol.MethodHangup, `{}`), protocol.CodeNotLoggedIn, nil},
		{"bad params", req(protocol.MethodLogin, `{"sdkAppId":"x"}`), protocol.CodeInvalidParams, nil},
		{"login", req(protocol.MethodLogin, `{"sdkAppId":1,"userId":"alice","userSig":"s"}`), 0, protocol.SdkReadyEvent{UserID: "alice"}},
		{"after login", req(protocol.MethodHangup, ``), 0, protocol.Empty{}},
	}
	for _, st := range steps {
		res, err := d.Dispatch(ctx, s, st.req)
		if st.wantCode != 0 {
			if got := protocol.ErrorCode(err); got != st.wantCode {
				t.Fatalf("%s: error %v, want code %d", st.name, err, st.wantCode)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(res, st.want) {
			t.Fatalf("%s: got %#v, %v; want %#v", st.name, res, err, st.want)
		}
	}
	if got := d.Methods(); !reflect.DeepEqual(got, []string{protocol.MethodHangup, protocol.MethodLogin}) {
		t.Errorf("Methods() = %v", got)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	d := newTestDispatcher()
	defer func() {
		if recover() == nil {
			t.Fatal("second Register of a method did not panic")
		}
	}()
	Register(d, protocol.MethodHangup, func(ctx context.Context, s *fakeSession, p protocol.Empty) (protocol.Empty, error) {
		return protocol.Empty{}, nil
	})
}

func TestResponseError(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		wantCode     int
		wantInternal bool
	}{
		{"protocol error", protocol.NewError(protocol.CodeNoSuchCall, ""), protocol.CodeNoSuchCall, false},
		{"wrapped sentinel", fmt.Errorf("login: %w", ErrUserSigExpired), protocol.CodeUserSigExpired, false},
		{"plain error", errors.New("disk full"), protocol.CodeInternalError, true},
		{"context canceled", context.Canceled, protocol.CodeInternalError, true},
	}
	for _, tt := range tests {
		wire, internal := ResponseError(tt.err)
		if wire.Code != tt.wantCode || internal != tt.wantInternal {
			t.Errorf("%s: ResponseError = %d, %v; want %d, %v", tt.name, wire.Code, internal, tt.wantCode, tt.wantInternal)
		}
		if internal && strings.Contains(wire.Message, tt.err.Error()) {
			t.Errorf("%s: internal detail %q in wire message", tt.name, tt.err)
		}
	}
}

type nestedParams struct {
	Outer struct {
		Inner []int `json:"inner"`
	} `json:"outer"`
	Room protocol.RoomID `json:"room"`
	protocol.VideoQuality
}

type plainErrParams struct {
	N int `json:"n"`
}

func (p plainErrParams) Validate() error {
	if p.N > 3 {
		return errors.New("n: too large")
	}
	return nil
}

func TestDecodeParams(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		wantCode  int
		wantField string
	}{
		{"ok", `{"outer":{"inner":[1,2]},"room":5,"width":640}`, 0, ""},
		{"empty", ``, 0, ""},
		{"null", `null`, 0, ""},
		{"array", `[]`, protocol.CodeInvalidParams, "params"},
		{"nested slice element", `{"outer":{"inner":[1,"x"]}}`, protocol.CodeInvalidParams, "outer.inner"},
		{"embedded member", `{"height":"tall"}`, protocol.CodeInvalidParams, "height"},
		{"custom unmarshaler", `{"room":[1]}`, protocol.CodeInvalidParams, "room"},
		{"case-insensitive key", `{"ROOM":{"intRoomId":"x"}}`, protocol.CodeInvalidParams, "ROOM"},
		{"object for struct", `{"outer":5}`, protocol.CodeInvalidParams, "outer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeParams[nestedParams](json.RawMessage(tt.raw))
			checkFieldError(t, err, tt.wantCode, tt.wantField)
		})
	}
	_, err := DecodeParams[plainErrParams](json.RawMessage(`{"n":4}`))
	checkFieldError(t, err, protocol.CodeInvalidParams, "params")
	// An integer beyond int64 is out of range (D160): Validate judges it as the largest or
	// smallest int; unless that names the member, the error is -32602 naming the member.
	_, err = DecodeParams[plainErrParams](json.RawMessage(`{"n":99999999999999999999}`))
	checkFieldError(t, err, protocol.CodeInvalidParams, "n")
	_, err = DecodeParams[plainErrParams](json.RawMessage(`{"n":-99999999999999999999}`))
	checkFieldError(t, err, protocol.CodeInvalidParams, "n")
	_, err = DecodeParams[nestedParams](json.RawMessage(`{"outer":{"inner":[1,99999999999999999999]}}`))
	checkFieldError(t, err, protocol.CodeInvalidParams, "outer.inner")
	// A number beyond float64 likewise (queryRecentCalls' begin and end).
	_, err = DecodeParams[protocol.QueryRecentCallsParams](json.RawMessage(`{"end":1e309}`))
	if perr := (*protocol.Error)(nil); !errors.As(err, &perr) || perr.Code != protocol.CodeInvalidParams || perr.Message != "end: out of range" {
		t.Fatalf("end 1e309: %v, want -32602 \"end: out of range\"", err)
	}
	p, err := DecodeParams[plainErrParams](json.RawMessage(`{"n":2,"extra":"ignored"}`))
	if err != nil || p.N != 2 {
		t.Fatalf("DecodeParams = %+v, %v", p, err)
	}
}

func checkFieldError(t *testing.T, err error, wantCode int, wantField string) {
	t.Helper()
	if wantCode == 0 {
		if err != nil {
			t.Fatalf("error %v, want none", err)
		}
		return
	}
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != wantCode {
		t.Fatalf("error %v, want code %d", err, wantCode)
	}
	if !strings.HasPrefix(perr.Message, wantField+":") {
		t.Fatalf("message %q does not start with field %q", perr.Message, wantField)
	}
}

// FuzzDecodeParams feeds untrusted params to the decoders of real methods: any outcome is
// a value or a *protocol.Error with a params-related code, never a panic.
func FuzzDecodeParams(f *testing.F) {
	for _, s := range []string{
		`{"userId":"bob","mediaType":2,"params":{"timeout":30,"roomId":"r 1","userData":"x"}}`,
		`{"userIdList":["a","b"],"mediaType":1,"params":{"chatGroupId":"g","roomId":{"intRoomId":5}}}`,
		`{"roomId":{"intRoomId":"x"}}`, `{"roomId":1e400}`, `{"userId":"b","resolution":112,"width":-1}`,
		`{"target":"publisher","sdp":{"type":"offer","sdp":"v=0"}}`, `{"begin":1.5,"end":-0}`,
		`null`, `[]`, `{"a":`, `{"mediaType":1.0}`,
		`{"mediaType":99999999999999999999}`, `{"params":{"timeout":-99999999999999999999}}`,
	} {
		f.Add([]byte(s))
	}
	allowed := map[int]bool{
		protocol.CodeInvalidParams: true, protocol.CodeInvalidUserID: true, protocol.CodeInvalidTimeout: true,
		protocol.CodeInvalidMediaType: true, protocol.CodeTooManyInvitees: true, protocol.CodeNoInvitees: true,
		protocol.CodeInvalidRoomID: true,
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return // DecodeRequest answers -32700 before params are looked at
		}
		for _, err := range []error{
			second(DecodeParams[protocol.CallMethodParams](raw)),
			second(DecodeParams[protocol.CallsParams](raw)),
			second(DecodeParams[protocol.JoinInGroupCallParams](raw)),
			second(DecodeParams[protocol.StartRemoteViewParams](raw)),
			second(DecodeParams[protocol.OfferParams](raw)),
			second(DecodeParams[protocol.TrickleParams](raw)),
			second(DecodeParams[protocol.QueryRecentCallsParams](raw)),
		} {
			if err != nil && !allowed[protocol.ErrorCode(err)] {
				t.Fatalf("DecodeParams(%s) = %v: not a params error", raw, err)
			}
		}
	})
}

func second[T any](_ T, err error) error { return err }

// BenchmarkDecodeAndDispatch measures one request from raw bytes to a typed handler
// (envelope decode, params decode and validation, handler call).
func BenchmarkDecodeAndDispatch(b *testing.B) {
	d := newTestDispatcher()
	s := &fakeSession{loggedIn: true}
	raw := []byte(`{"jsonrpc":"2.0","id":17,"method":"login","params":{"sdkAppId":1400000001,"userId":"alice","userSig":"eyJhbGciOiJIUzI1NiJ9.e30.x"}}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		req, perr := protocol.DecodeRequest(raw)
		if perr != nil {
			b.Fatal(perr)
		}
		if _, err := d.Dispatch(ctx, s, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	v := testVerifier(b)
	sig, err := MintUserSig(testApp, []byte(testSecret), "alice", time.Hour, testNow)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(testApp, "alice", sig, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
