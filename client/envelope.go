package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// The JSON-RPC envelope on the client's side of the socket, without running the envelope
// itself through encoding/json (D201): the server writes its envelopes member by member
// around the marshalled payload (D168), so the client reads that exact shape by its
// prefix and suffix and validates only the payload; anything else (error responses,
// other member orders, whitespace, escapes) goes through protocol.DecodeServerMessage.
// The requests it sends are written the same way.

// Envelope prefixes the server writes (signaling/protocol.EncodeNotification and
// EncodeResponse).
const (
	notificationPrefix = `{"jsonrpc":"` + protocol.Version + `","method":"`
	responsePrefix     = `{"jsonrpc":"` + protocol.Version + `","id":`
)

// decodeServerMessage is protocol.DecodeServerMessage with a fast path for the envelopes
// the server writes. The fast path gives the same message as DecodeServerMessage or
// declines (FuzzDecodeServerMessageFastPath checks it); the raw members it returns share
// data's memory, which the reader never reuses.
func decodeServerMessage(data []byte) (protocol.ServerMessage, error) {
	if msg, ok := decodeNotification(data); ok {
		return msg, nil
	}
	if msg, ok := decodeResult(data); ok {
		return msg, nil
	}
	return protocol.DecodeServerMessage(data)
}

// decodeNotification reads {"jsonrpc":"2.0","method":"M","params":P} with an optional
// ,"seq":N before the closing brace.
func decodeNotification(data []byte) (protocol.ServerMessage, bool) {
	rest, ok := bytes.CutPrefix(data, []byte(notificationPrefix))
	if !ok {
		return protocol.ServerMessage{}, false
	}
	end := bytes.IndexByte(rest, '"')
	if end <= 0 || !plainASCII(rest[:end]) {
		return protocol.ServerMessage{}, false
	}
	method := string(rest[:end])
	rest, ok = bytes.CutPrefix(rest[end:], []byte(`","params":`))
	if !ok {
		return protocol.ServerMessage{}, false
	}
	rest, ok = bytes.CutSuffix(rest, []byte("}"))
	if !ok {
		return protocol.ServerMessage{}, false
	}
	var seq uint64
	if i := bytes.LastIndex(rest, []byte(`,"seq":`)); i >= 0 {
		if n, ok := jsonUint(rest[i+len(`,"seq":`):]); ok {
			seq, rest = n, rest[:i]
		}
	}
	if !compactValue(rest) {
		return protocol.ServerMessage{}, false
	}
	return protocol.ServerMessage{Notification: protocol.Notification{
		JSONRPC: protocol.Version, Method: method, Params: rest, Seq: seq,
	}}, true
}

// decodeResult reads {"jsonrpc":"2.0","id":N,"result":R}, N a number as the client's ids.
func decodeResult(data []byte) (protocol.ServerMessage, bool) {
	rest, ok := bytes.CutPrefix(data, []byte(responsePrefix))
	if !ok {
		return protocol.ServerMessage{}, false
	}
	idEnd := bytes.IndexByte(rest, ',')
	if idEnd < 0 {
		return protocol.ServerMessage{}, false
	}
	id := rest[:idEnd]
	if _, ok := jsonUint(id); !ok {
		return protocol.ServerMessage{}, false
	}
	rest, ok = bytes.CutPrefix(rest[idEnd:], []byte(`,"result":`))
	if !ok {
		return protocol.ServerMessage{}, false
	}
	result, ok := bytes.CutSuffix(rest, []byte("}"))
	if !ok || !compactValue(result) {
		return protocol.ServerMessage{}, false
	}
	return protocol.ServerMessage{IsResponse: true, Response: protocol.Response{
		JSONRPC: protocol.Version, ID: id, Result: result,
	}}, true
}

// compactValue reports whether raw is one valid JSON value without surrounding
// whitespace (what encoding/json hands to a json.RawMessage member).
func compactValue(raw []byte) bool {
	if len(raw) == 0 || isJSONSpace(raw[0]) || isJSONSpace(raw[len(raw)-1]) {
		return false
	}
	return json.Valid(raw)
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// jsonUint parses a JSON number that is a uint64 written without sign, fraction, exponent
// or leading zero (what encoding/json writes for one).
func jsonUint(b []byte) (uint64, bool) {
	if len(b) == 0 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	return n, err == nil
}

// plainASCII reports whether s is printable ASCII without quote or backslash: a JSON
// string's content that decodes to itself (json.Marshal would escape only <, > and &).
func plainASCII(s []byte) bool {
	for _, c := range s {
		if c < ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// encodeRequest writes a request (id nil: a notification) as json.Marshal writes a
// protocol.Request, marshalling only the params (a method that is not plain ASCII goes
// through json.Marshal whole).
func encodeRequest(id []byte, method string, params any) ([]byte, error) {
	var raw []byte
	if params != nil {
		var err error
		if raw, err = json.Marshal(params); err != nil {
			return nil, fmt.Errorf("client: %s: marshal params: %w", method, err)
		}
	}
	if !plainASCII([]byte(method)) {
		msg, err := json.Marshal(protocol.Request{JSONRPC: protocol.Version, ID: id, Method: method, Params: raw})
		if err != nil {
			return nil, fmt.Errorf("client: %s: marshal request: %w", method, err)
		}
		return msg, nil
	}
	msg := make([]byte, 0, len(`{"jsonrpc":"2.0","id":,"method":"","params":}`)+len(id)+len(method)+len(raw))
	msg = append(msg, `{"jsonrpc":"`+protocol.Version+`"`...)
	if id != nil {
		msg = append(msg, `,"id":`...)
		msg = append(msg, id...)
	}
	msg = append(msg, `,"method":"`...)
	msg = append(msg, method...)
	msg = append(msg, '"')
	if raw != nil {
		msg = append(msg, `,"params":`...)
		msg = append(msg, raw...)
	}
	return append(msg, '}'), nil
}
