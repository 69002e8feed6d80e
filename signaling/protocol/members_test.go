package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
)

// mapEnvelope is how DecodeRequest read the members before envelopeMembers: the reference.
func mapEnvelope(data []byte) (rawEnvelope, bool) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return rawEnvelope{}, false
	}
	return rawEnvelope{members["jsonrpc"], members["id"], members["method"], members["params"]}, true
}

// FuzzEnvelopeMembers: on every JSON object, envelopeMembers (when it answers) reads the
// same four members as decoding the object into a map, and unmarshalString the same
// strings as json.Unmarshal.
func FuzzEnvelopeMembers(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"login","params":{"sdkAppId":1,"userId":"a","userSig":"x"}}`,
		` { "id" : "a\"b" , "method":"x","method" : "y", "params":[1,{"a":"}"}] ,"z":null}`,
		`{"jsonrpc":"2.\u0030","id":-1.5e3,"m\u0065thod":"x","params":{}}`,
		`{"method":"\u00e9\ud800","id":true,"params":{"a":"\\"}}`, `{}`, "{\"method\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		trimmed := data[skipSpace(data, 0):]
		if trimmed[0] != '{' {
			return
		}
		got, ok := envelopeMembers(trimmed)
		if !ok {
			return
		}
		want, _ := mapEnvelope(trimmed)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("envelopeMembers(%q) = %q, want %q", data, got, want)
		}
		for _, raw := range []json.RawMessage{got.JSONRPC, got.Method, got.ID} {
			if raw == nil {
				continue
			}
			var a, b string
			errA, errB := unmarshalString(raw, &a), json.Unmarshal(raw, &b)
			if a != b || (errA == nil) != (errB == nil) {
				t.Fatalf("unmarshalString(%q) = %q, %v; json.Unmarshal: %q, %v", raw, a, errA, b, errB)
			}
		}
	})
}
