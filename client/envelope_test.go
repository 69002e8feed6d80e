package client

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// sameServerMessage reports whether a and b are the same message (raw members compared
// by their bytes).
func sameServerMessage(a, b protocol.ServerMessage) bool {
	if a.IsResponse != b.IsResponse {
		return false
	}
	if a.IsResponse {
		ra, rb := a.Response, b.Response
		return ra.JSONRPC == rb.JSONRPC && bytes.Equal(ra.ID, rb.ID) && bytes.Equal(ra.Result, rb.Result) &&
			(ra.Error == nil) == (rb.Error == nil) && (ra.Error == nil || ra.Error.Error() == rb.Error.Error())
	}
	na, nb := a.Notification, b.Notification
	return na.JSONRPC == nb.JSONRPC && na.Method == nb.Method && bytes.Equal(na.Params, nb.Params) && na.Seq == nb.Seq
}

// fastPath is the fast path of decodeServerMessage alone.
func fastPath(data []byte) (protocol.ServerMessage, bool) {
	if msg, ok := decodeNotification(data); ok {
		return msg, true
	}
	return decodeResult(data)
}

// TestDecodeServerMessageFastPath: what the server writes (protocol.EncodeNotification,
// EncodeResponse) takes the fast path and decodes as protocol.DecodeServerMessage does;
// other shapes decline it and still decode (or fail) as before.
func TestDecodeServerMessageFastPath(t *testing.T) {
	encoded := func(b []byte, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	begin := protocol.CallBeginEvent{CallID: "c1", RoomID: protocol.IntRoom(5), MediaType: protocol.MediaTypeVideo, Role: protocol.RoleCalled}
	tests := []struct {
		name string
		data string
		fast bool
	}{
		{"notification with seq", encoded(protocol.EncodeNotification(protocol.EventCallBegin, begin, 42)), true},
		{"notification without seq", encoded(protocol.EncodeNotification(protocol.EventCallBegin, begin, 0)), true},
		{"notification with empty params", encoded(protocol.EncodeNotification(protocol.EventCallEnd, nil, 7)), true},
		{"params holding a seq member", `{"jsonrpc":"2.0","method":"m","params":{"a":1,"seq":5}}`, true},
		{"params null", `{"jsonrpc":"2.0","method":"m","params":null,"seq":1}`, true},
		{"result", encoded(protocol.EncodeResponse(json.RawMessage("17"), protocol.CallStartResult{CallID: "c1"})), true},
		{"empty result", encoded(protocol.EncodeResponse(json.RawMessage("3"), nil)), true},
		{"error response", `{"jsonrpc":"2.0","id":1,"error":{"code":3006,"message":"already in a call"}}`, false},
		{"string id", `{"jsonrpc":"2.0","id":"1","result":{}}`, false},
		{"id with a leading zero", `{"jsonrpc":"2.0","id":01,"result":{}}`, false},
		{"seq with a leading zero", `{"jsonrpc":"2.0","method":"m","params":{},"seq":05}`, false},
		{"seq out of range", `{"jsonrpc":"2.0","method":"m","params":{},"seq":18446744073709551616}`, false},
		{"escaped method", `{"jsonrpc":"2.0","method":"on\u0043all","params":{}}`, false},
		{"empty method", `{"jsonrpc":"2.0","method":"","params":{}}`, false},
		{"members reordered", `{"method":"m","jsonrpc":"2.0","params":{}}`, false},
		{"whitespace", `{"jsonrpc":"2.0","method":"m","params": {} }`, false},
		{"trailing newline", "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{}}\n", false},
		{"duplicate params", `{"jsonrpc":"2.0","method":"m","params":{},"params":[1]}`, false},
		{"duplicate seq", `{"jsonrpc":"2.0","method":"m","params":{},"seq":1,"seq":2}`, false},
		{"bad params", `{"jsonrpc":"2.0","method":"m","params":{"a":}}`, false},
		{"result and error", `{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}`, false},
		{"other version", `{"jsonrpc":"1.0","method":"m","params":{}}`, false},
		{"not an object", `[]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			_, fast := fastPath(data)
			if fast != tt.fast {
				t.Errorf("fast path %v, want %v", fast, tt.fast)
			}
			got, gotErr := decodeServerMessage(data)
			want, wantErr := protocol.DecodeServerMessage(data)
			if (gotErr == nil) != (wantErr == nil) || (gotErr == nil && !sameServerMessage(got, want)) {
				t.Errorf("decoded %+v, %v; protocol.DecodeServerMessage %+v, %v", got, gotErr, want, wantErr)
			}
		})
	}
}

// FuzzDecodeServerMessageFastPath: whatever the fast path accepts, DecodeServerMessage
// accepts too and decodes to the same message.
func FuzzDecodeServerMessageFastPath(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","method":"onCallBegin","params":{"callId":"c","roomId":5,"mediaType":2,"role":1},"seq":3}`,
		`{"jsonrpc":"2.0","method":"m","params":{"a":1,"seq":5}}`,
		`{"jsonrpc":"2.0","method":"m","params":{},"seq":1,"seq":2}`,
		`{"jsonrpc":"2.0","method":"m","params":"x\u00e9"}`,
		`{"jsonrpc":"2.0","method":"m","params":[1,"seq":2]}`,
		`{"jsonrpc":"2.0","id":12,"result":{"callId":"c"}}`,
		`{"jsonrpc":"2.0","id":12,"result":{},"id":13}`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":3006,"message":"busy"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := fastPath(data)
		if !ok {
			return
		}
		want, err := protocol.DecodeServerMessage(data)
		if err != nil {
			t.Fatalf("fast path accepted what DecodeServerMessage refuses (%v): %+v", err, fast)
		}
		if !sameServerMessage(fast, want) {
			t.Fatalf("fast path %+v, DecodeServerMessage %+v", fast, want)
		}
	})
}

// TestEncodeRequestIsMarshal: requests are the bytes json.Marshal makes of a
// protocol.Request, and a method json.Marshal would escape still decodes to itself.
func TestEncodeRequestIsMarshal(t *testing.T) {
	tests := []struct {
		name, method string
		id           []byte
		params       any
	}{
		{"call", protocol.MethodCall, []byte("7"), protocol.CallMethodParams{UserID: "bob", MediaType: protocol.MediaTypeVideo}},
		{"no params", protocol.MethodHangup, []byte("8"), nil},
		{"notification", protocol.MethodTrickle, nil, map[string]string{"target": "publisher"}},
		{"html in params", protocol.MethodSetSelfInfo, []byte("9"), protocol.SetSelfInfoParams{Nickname: "<b>&"}},
		{"html in method", "a<b>&c", []byte("10"), nil},
		{"quote in method", `a"b`, []byte("11"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeRequest(tt.id, tt.method, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			req := protocol.Request{JSONRPC: protocol.Version, ID: tt.id, Method: tt.method}
			if tt.params != nil {
				req.Params, _ = json.Marshal(tt.params)
			}
			want, _ := json.Marshal(req)
			decoded, perr := protocol.DecodeRequest(got)
			if perr != nil || decoded.Method != tt.method || !bytes.Equal(decoded.ID, tt.id) || !bytes.Equal(decoded.Params, req.Params) {
				t.Errorf("%s decodes to %+v, %v", got, decoded, perr)
			}
			if plainASCII([]byte(tt.method)) && htmlFree(tt.method) && !bytes.Equal(got, want) {
				t.Errorf("encoded %s, json.Marshal %s", got, want)
			}
		})
	}
	if _, err := encodeRequest([]byte("1"), "m", func() {}); err == nil {
		t.Error("params that do not marshal were encoded")
	}
}

func htmlFree(s string) bool { return !bytes.ContainsAny([]byte(s), "<>&") }

// BenchmarkDecodeServerMessage: the client's decoding of an event the server wrote, and
// protocol.DecodeServerMessage's of the same bytes.
func BenchmarkDecodeServerMessage(b *testing.B) {
	data, err := protocol.EncodeNotification(protocol.EventCallReceived, protocol.CallReceivedEvent{
		CallID: "82b7e6b6bba0fec94cb137bc621586db", CallerID: "caller-1", CalleeIDList: []string{"callee-1"},
		MediaType: protocol.MediaTypeAudio, RoomID: protocol.IntRoom(1836351288), Timeout: 30,
	}, 1234)
	if err != nil {
		b.Fatal(err)
	}
	for _, bm := range []struct {
		name   string
		decode func([]byte) (protocol.ServerMessage, error)
	}{{"client", decodeServerMessage}, {"protocol", protocol.DecodeServerMessage}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bm.decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
