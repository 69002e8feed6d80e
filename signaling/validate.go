package signaling

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// paramsValidator is implemented by params structs with constraints (see package protocol).
type paramsValidator interface{ Validate() error }

// DecodeParams decodes a request's params into P and validates them:
//   - absent or null params decode as the zero P (Validate then reports required fields);
//   - anything but an object, or a member of the wrong JSON type, is -32602 naming the
//     field ("params.timeout: must be an integer, got string");
//   - unknown members are ignored;
//   - if P has a Validate() error method it runs; a *protocol.Error it returns is kept as
//     is (e.g. 1005 for a bad userId), any other error becomes -32602.
func DecodeParams[P any](raw json.RawMessage) (P, error) {
	var p P
	if len(raw) > 0 && string(raw) != "null" {
		if raw[0] != '{' {
			return p, protocol.InvalidParams("params", "must be an object")
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			var zero P
			if field, clamped, ok := clampOverflow(raw, reflect.TypeOf(p), err); ok {
				// An integer beyond its Go type is out of range, not of the wrong type
				// (D160): Validate judges the member at its type's limit, so a bounded
				// member gets its range code (3001, 3008).
				_, verr := DecodeParams[P](clamped)
				var perr *protocol.Error
				if errors.As(verr, &perr) && fieldOf(perr) == field {
					return zero, perr
				}
				return zero, protocol.InvalidParams(field, "out of range")
			}
			return zero, paramsDecodeError(raw, reflect.TypeOf(p), err)
		}
	}
	if v, ok := any(p).(paramsValidator); ok {
		if err := v.Validate(); err != nil {
			var perr *protocol.Error
			if errors.As(err, &perr) {
				return p, perr
			}
			return p, protocol.InvalidParams("params", err.Error())
		}
	}
	return p, nil
}

// clampOverflow recognizes err as an integer literal too large for its integer member
// and returns that member's JSON path and raw with the literal replaced by the member
// type's largest (or, for a negative literal, smallest) value. ok is false for any other
// error and for a member inside an array (its path does not say which element).
func clampOverflow(raw json.RawMessage, t reflect.Type, err error) (field string, clamped json.RawMessage, ok bool) {
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) || typeErr.Type == nil {
		return "", nil, false
	}
	literal, isNumber := strings.CutPrefix(typeErr.Value, "number ")
	if !isNumber || strings.ContainsAny(literal, ".eE") {
		return "", nil, false
	}
	var limit string
	negative := strings.HasPrefix(literal, "-")
	switch k := typeErr.Type.Kind(); {
	case k >= reflect.Int && k <= reflect.Int64:
		bits := typeErr.Type.Bits()
		if negative {
			limit = strconv.FormatInt(-1<<(bits-1), 10)
		} else {
			limit = strconv.FormatInt(1<<(bits-1)-1, 10)
		}
	case k >= reflect.Uint && k <= reflect.Uint64 && !negative:
		limit = strconv.FormatUint(1<<typeErr.Type.Bits()-1, 10)
	default:
		return "", nil, false
	}
	field = jsonFieldPath(t, typeErr.Field)
	if field == "" {
		return "", nil, false
	}
	var top map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&top) != nil {
		return "", nil, false
	}
	parts := strings.Split(field, ".")
	obj := top
	for i, part := range parts {
		key, found := foldKey(obj, part)
		if !found {
			return "", nil, false
		}
		if i == len(parts)-1 {
			if n, isNum := obj[key].(json.Number); !isNum || n.String() != literal {
				return "", nil, false // e.g. an element of an array
			}
			obj[key] = json.Number(limit)
			break
		}
		next, isObj := obj[key].(map[string]any)
		if !isObj {
			return "", nil, false
		}
		obj = next
	}
	out, mErr := json.Marshal(top)
	if mErr != nil {
		return "", nil, false
	}
	return field, out, true
}

// foldKey finds the member of obj that encoding/json decodes for name: the exact key, else
// one equal under case folding.
func foldKey(obj map[string]any, name string) (string, bool) {
	if _, ok := obj[name]; ok {
		return name, true
	}
	for k := range obj {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// fieldOf is the data.field of a params error ("" if it names none).
func fieldOf(perr *protocol.Error) string {
	if d, ok := perr.Data.(protocol.FieldErrorData); ok {
		return d.Field
	}
	return ""
}

// paramsDecodeError turns a json.Unmarshal error into a -32602 that names the field.
func paramsDecodeError(raw json.RawMessage, t reflect.Type, err error) *protocol.Error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := jsonFieldPath(t, typeErr.Field)
		if field == "" {
			field = "params"
		}
		if k := typeErr.Type.Kind(); (k == reflect.Float64 || k == reflect.Float32) && strings.HasPrefix(typeErr.Value, "number") {
			// A number no float holds (1e309): out of range, not of the wrong type (D160).
			return protocol.InvalidParams(field, "out of range")
		}
		return protocol.InvalidParams(field, "must be "+jsonTypeName(typeErr.Type)+", got "+typeErr.Value)
	}
	// An error from a custom UnmarshalJSON (e.g. RoomID) does not say where it happened:
	// find the top-level member that fails on its own.
	field := failingMember(raw, t)
	var perr *protocol.Error
	if errors.As(err, &perr) {
		if field == "" {
			return perr
		}
		return protocol.FieldError(perr.Code, field, perr.Message)
	}
	if field == "" {
		field = "params"
	}
	return protocol.InvalidParams(field, err.Error())
}

// jsonFieldPath rewrites encoding/json's field path (which includes the Go names of
// embedded structs, e.g. "VideoQuality.width") into the JSON path the client sent.
func jsonFieldPath(t reflect.Type, path string) string {
	if path == "" {
		return ""
	}
	var out []string
	for _, part := range strings.Split(path, ".") {
		for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map) {
			t = t.Elem()
		}
		if t != nil && t.Kind() == reflect.Struct {
			if f, ok := t.FieldByName(part); ok && f.Anonymous && jsonName(f) == "" {
				t = f.Type
				continue // an embedded struct: its members are the parent's on the wire
			}
			t = memberType(t, part)
		}
		out = append(out, part)
	}
	return strings.Join(out, ".")
}

// memberType returns the type of the struct member with JSON name name (nil if none).
func memberType(t reflect.Type, name string) reflect.Type {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous && jsonName(f) == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if mt := memberType(ft, name); mt != nil {
					return mt
				}
			}
			continue
		}
		if n := jsonName(f); n == name || (n == "" && f.Name == name) {
			return f.Type
		}
	}
	return nil
}

// jsonName is the name of a field's json tag ("" when untagged, "-" when skipped).
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// failingMember finds the top-level member of raw that does not decode into its field.
func failingMember(raw json.RawMessage, t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return ""
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(raw, &members) != nil {
		return ""
	}
	for key, val := range members {
		ft := memberTypeFold(t, key)
		if ft == nil {
			continue
		}
		if json.Unmarshal(val, reflect.New(ft).Interface()) != nil {
			if inner := failingMember(val, ft); inner != "" && !reflect.PointerTo(ft).Implements(jsonUnmarshaler) {
				return key + "." + inner // e.g. "params.roomId" of a call
			}
			return key
		}
	}
	return ""
}

// jsonUnmarshaler is the interface of types that decode themselves (RoomID): their members
// are not the client's.
var jsonUnmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// memberTypeFold is memberType with encoding/json's case-insensitive key matching.
func memberTypeFold(t reflect.Type, key string) reflect.Type {
	if mt := memberType(t, key); mt != nil {
		return mt
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.IsExported() && !f.Anonymous && strings.EqualFold(jsonName(f), key) {
			return f.Type
		}
	}
	return nil
}

// jsonTypeName names the JSON type a Go type expects.
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "a valid value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return "a valid value"
}
