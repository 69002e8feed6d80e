package protocol

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestEncodeIsJSONMarshal: EncodeNotification and EncodeResponse, which write the envelope
// directly (D168), give the bytes json.Marshal gives of the Notification and the Response,
// for plain and for escaped methods and ids.
func TestEncodeIsJSONMarshal(t *testing.T) {
	params := []any{nil, map[string]any{"callId": "c<1>", "n": 2}, struct {
		A string `json:"a"`
	}{"x&y"}, []int{}}
	for _, method := range []string{"onCallBegin", "", "a\"b", "é", "<x>", "a b"} {
		for _, p := range params {
			for _, seq := range []uint64{0, 1, 18446744073709551615} {
				got, err := EncodeNotification(method, p, seq)
				if err != nil {
					t.Fatal(err)
				}
				n, _ := NewNotification(method, p)
				n.Seq = seq
				want, _ := json.Marshal(n)
				if !bytes.Equal(got, want) {
					t.Errorf("EncodeNotification(%q, %v, %d) = %s, want %s", method, p, seq, got, want)
				}
			}
		}
	}
	for _, id := range []string{"1", "-1.5e3", "null", `"abc"`, `""`, `"a<b"`, `"a\"b"`, `"\u00e9"`, `"é"`, `"a b"`} {
		for _, p := range params {
			checkEncodeResponse(t, json.RawMessage(id), p)
		}
	}
	checkEncodeResponse(t, nil, nil) // an id that could not be read: null
}

func checkEncodeResponse(t *testing.T, id json.RawMessage, result any) {
	t.Helper()
	got, err := EncodeResponse(id, result)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := NewResponse(id, result)
	want, _ := json.Marshal(resp)
	if !bytes.Equal(got, want) {
		t.Errorf("EncodeResponse(%s, %v) = %s, want %s", id, result, got, want)
	}
}

// FuzzEncodeResponse: for every id a client can send (DecodeRequest accepts it) the
// response's bytes are json.Marshal's.
func FuzzEncodeResponse(f *testing.F) {
	for _, seed := range []string{`{"jsonrpc":"2.0","id":1,"method":"m"}`, `{"jsonrpc":"2.0","id":"a<b>","method":"m"}`,
		`{"jsonrpc":"2.0","id":"\u00e9 x","method":"m"}`, `{"jsonrpc":"2.0","id": 7 ,"method":"m"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, perr := DecodeRequest(data)
		if perr != nil {
			return
		}
		checkEncodeResponse(t, req.ID, map[string]string{"k": "v"})
	})
}
