package protocol

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// rawEnvelope holds the raw values of a request's JSON-RPC members (nil when absent).
type rawEnvelope struct{ JSONRPC, ID, Method, Params json.RawMessage }

// envelopeMembers reads the members jsonrpc, id, method and params of the JSON object
// data, which json.Valid accepted (D197): one pass over the bytes instead of decoding
// every member into a map. As when decoding into a map the last of repeated names wins,
// and each value is its bytes without the whitespace around them (sharing data's array).
// ok is false when a member name holds an escape: the caller then decodes the map, which
// unescapes names.
func envelopeMembers(data []byte) (w rawEnvelope, ok bool) {
	i := 1 // past '{'
	for {
		i = skipSpace(data, i)
		if data[i] == '}' {
			return w, true
		}
		// data[i] is the '"' of a member name.
		end := i + 1
		for data[end] != '"' {
			if data[end] == '\\' {
				return rawEnvelope{}, false
			}
			end++
		}
		name := data[i+1 : end]
		i = skipSpace(data, end+1) // at ':'
		start := skipSpace(data, i+1)
		i = skipValue(data, start)
		value := json.RawMessage(data[start:i:i])
		switch string(name) {
		case "jsonrpc":
			w.JSONRPC = value
		case "id":
			w.ID = value
		case "method":
			w.Method = value
		case "params":
			w.Params = value
		}
		i = skipSpace(data, i)
		if data[i] == ',' {
			i++
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValue returns the index just past the valid JSON value starting at data[i].
func skipValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
	default: // a number, true, false or null
		for i < len(data) {
			switch data[i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return i
			}
			i++
		}
		return i
	}
}

// skipString returns the index just past the valid JSON string starting at data[i].
func skipString(data []byte, i int) int {
	for i++; data[i] != '"'; i++ {
		if data[i] == '\\' {
			i++ // the escaped character (a 'u' escape's hex digits hold no quote)
		}
	}
	return i + 1
}

// unmarshalString is json.Unmarshal of raw into *s, without encoding/json for a string
// that needs no unescaping.
func unmarshalString(raw json.RawMessage, s *string) error {
	if len(raw) >= 2 && raw[0] == '"' {
		inner := raw[1 : len(raw)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			*s = string(inner)
			return nil
		}
	}
	return json.Unmarshal(raw, s)
}
