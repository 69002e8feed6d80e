package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Version is the value of the "jsonrpc" member of every message.
const Version = "2.0"

// Request is a client→server call. A request without "id" is a JSON-RPC notification: the
// server runs it and sends no response. ID is kept raw (a string, a number or null) and is
// echoed unchanged in the Response.
type Request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

// IsNotification reports whether the request carries no id (no response is due).
func (r Request) IsNotification() bool { return len(r.ID) == 0 }

// Response answers a Request: exactly one of Result and Error is set. ID is null when the
// request's id could not be read (parse error, invalid request).
type Response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// Notification is a server→client event (or a client→server request without id): it has a
// method and params and is never answered.
//
// Seq numbers the server's notifications of one session (1, 2, 3 …, with gaps): a client
// keeps the highest it received and passes it as LoginParams.LastSeq when it resumes, and
// the server replays what it kept of the later ones (see PROTOCOL.md, Resume). Client→server
// notifications carry no seq.
type Notification struct {
	JSONRPC string          `json:"jsonrpc"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
	Seq     uint64          `json:"seq,omitempty"`
}

// DecodeRequest reads one client message. On failure it returns the error to send back
// (-32700 for malformed JSON, -32600 for anything that is not a single JSON-RPC 2.0 request
// object, batches included) together with whatever id it could read (nil otherwise), so the
// error response can carry it. The request's raw members share data's bytes.
func DecodeRequest(data []byte) (Request, *Error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if !json.Valid(trimmed) {
		return Request{}, NewError(CodeParseError, "")
	}
	switch trimmed[0] {
	case '{':
	case '[':
		return Request{}, NewError(CodeInvalidRequest, "batch requests are not supported")
	default:
		return Request{}, NewError(CodeInvalidRequest, "a request must be a JSON object")
	}
	// The members by their exact names: JSON-RPC member names are case-sensitive, and
	// encoding/json would take "JSONRPC", "Method" or "ID" for them (a struct's fields
	// match without regard to case). Other members are ignored.
	w, ok := envelopeMembers(trimmed)
	if !ok {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &members); err != nil {
			// Valid JSON that is an object always decodes into raw members.
			return Request{}, NewError(CodeInvalidRequest, "")
		}
		w = rawEnvelope{members["jsonrpc"], members["id"], members["method"], members["params"]}
	}
	req := Request{}
	if w.ID != nil {
		if !validID(w.ID) {
			return Request{}, NewError(CodeInvalidRequest, "id must be a string, a number or null")
		}
		req.ID = w.ID
	}
	var version string
	if w.JSONRPC == nil || unmarshalString(w.JSONRPC, &version) != nil || version != Version {
		return req, NewError(CodeInvalidRequest, `jsonrpc must be "2.0"`)
	}
	req.JSONRPC = version
	if w.Method == nil || unmarshalString(w.Method, &req.Method) != nil || req.Method == "" {
		return req, NewError(CodeInvalidRequest, "method must be a non-empty string")
	}
	if w.Params != nil && !isNull(w.Params) {
		if c := w.Params[0]; c != '{' && c != '[' {
			return req, NewError(CodeInvalidRequest, "params must be an object")
		}
		req.Params = w.Params
	}
	return req, nil
}

// validID accepts a JSON string, number or null (json.Unmarshal hands raw members over
// without surrounding whitespace).
func validID(raw json.RawMessage) bool {
	switch c := raw[0]; {
	case c == '"', c == 'n', c == '-', c >= '0' && c <= '9':
		return true
	}
	return false
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(raw, []byte("null")) }

// ServerMessage is one decoded server→client message: a Response when IsResponse, else a
// Notification (an event, or a server-side offer/trickle).
type ServerMessage struct {
	IsResponse   bool
	Response     Response
	Notification Notification
}

// serverWire distinguishes a response (has "id") from a notification (has "method").
type serverWire struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   *Error          `json:"error"`
	Seq     uint64          `json:"seq"`
}

// DecodeServerMessage reads one server→client message (for clients).
func DecodeServerMessage(data []byte) (ServerMessage, error) {
	var w serverWire
	if err := json.Unmarshal(data, &w); err != nil {
		return ServerMessage{}, fmt.Errorf("decode server message: %w", err)
	}
	if w.JSONRPC != Version {
		return ServerMessage{}, fmt.Errorf("decode server message: jsonrpc is %q, want %q", w.JSONRPC, Version)
	}
	if w.Method != "" {
		return ServerMessage{Notification: Notification{JSONRPC: w.JSONRPC, Method: w.Method, Params: w.Params, Seq: w.Seq}}, nil
	}
	if w.ID == nil {
		return ServerMessage{}, fmt.Errorf("decode server message: neither method nor id")
	}
	if (w.Error == nil) == (w.Result == nil) {
		return ServerMessage{}, fmt.Errorf("decode server message: a response needs exactly one of result and error")
	}
	return ServerMessage{IsResponse: true, Response: Response{JSONRPC: w.JSONRPC, ID: w.ID, Result: w.Result, Error: w.Error}}, nil
}

// NewResponse makes a success response; result is marshalled (a nil result becomes {}).
func NewResponse(id json.RawMessage, result any) (Response, error) {
	var raw json.RawMessage
	if result == nil {
		raw = json.RawMessage("{}")
	} else {
		b, err := json.Marshal(result)
		if err != nil {
			return Response{}, fmt.Errorf("marshal result: %w", err)
		}
		raw = b
	}
	return Response{JSONRPC: Version, ID: id, Result: raw}, nil
}

// NewErrorResponse makes an error response; a nil id is sent as null.
func NewErrorResponse(id json.RawMessage, err *Error) Response {
	return Response{JSONRPC: Version, ID: id, Error: err}
}

// NewNotification makes a notification; params is marshalled (nil becomes {}).
func NewNotification(method string, params any) (Notification, error) {
	var raw json.RawMessage
	if params == nil {
		raw = json.RawMessage("{}")
	} else {
		b, err := json.Marshal(params)
		if err != nil {
			return Notification{}, fmt.Errorf("marshal %s params: %w", method, err)
		}
		raw = b
	}
	return Notification{JSONRPC: Version, Method: method, Params: raw}, nil
}

// EncodeNotification marshals a server notification numbered seq (0: no seq member). The
// bytes are those json.Marshal makes of the Notification; only the params are run through
// encoding/json (the envelope around them is written directly, D168).
func EncodeNotification(method string, params any, seq uint64) ([]byte, error) {
	n, err := NewNotification(method, params)
	if err != nil {
		return nil, err
	}
	if !plainJSON(method) {
		n.Seq = seq
		b, err := json.Marshal(n)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", method, err)
		}
		return b, nil
	}
	b := make([]byte, 0, len(`{"jsonrpc":"2.0","method":"","params":,"seq":18446744073709551615}`)+len(method)+len(n.Params))
	b = append(b, `{"jsonrpc":"`+Version+`","method":"`...)
	b = append(b, method...)
	b = append(b, `","params":`...)
	b = append(b, n.Params...)
	if seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, seq, 10)
	}
	return append(b, '}'), nil
}

// EncodeResponse marshals the response of id with result (nil becomes {}), the bytes
// json.Marshal makes of NewResponse's Response (D168).
func EncodeResponse(id json.RawMessage, result any) ([]byte, error) {
	resp, err := NewResponse(id, result)
	if err != nil {
		return nil, err
	}
	if len(id) == 0 || !plainID(id) {
		return json.Marshal(resp)
	}
	b := make([]byte, 0, len(`{"jsonrpc":"2.0","id":,"result":}`)+len(id)+len(resp.Result))
	b = append(b, `{"jsonrpc":"`+Version+`","id":`...)
	b = append(b, id...)
	b = append(b, `,"result":`...)
	b = append(b, resp.Result...)
	return append(b, '}'), nil
}

// plainJSON reports whether s is printable ASCII that encoding/json copies unchanged into
// a string or a compacted raw value: no space, quote, backslash or HTML character.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// plainID reports whether a request id (a number, null or a string) is plainJSON inside
// its quotes.
func plainID(id json.RawMessage) bool {
	s := string(id)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return plainJSON(s)
}
