package room

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const allowedPunctuation = " !#$%&()+-:;<=.>?@[]^_{}|~,"

func TestAllowedCharacterSetHasExactly89Members(t *testing.T) {
	n := 0
	for c := 0; c < 256; c++ {
		if allowedStrIDChars[c] {
			n++
		}
	}
	if n != 89 {
		t.Fatalf("allowed set has %d characters, want 89", n)
	}
	if len(allowedPunctuation) != 27 {
		t.Fatalf("test punctuation list has %d characters, want 27", len(allowedPunctuation))
	}
}

func TestNewStringIDAcceptsEveryAllowedCharacter(t *testing.T) {
	var allowed []byte
	for c := 'a'; c <= 'z'; c++ {
		allowed = append(allowed, byte(c))
	}
	for c := 'A'; c <= 'Z'; c++ {
		allowed = append(allowed, byte(c))
	}
	for c := '0'; c <= '9'; c++ {
		allowed = append(allowed, byte(c))
	}
	allowed = append(allowed, allowedPunctuation...)
	for _, c := range allowed {
		id, err := NewStringID(string(c))
		if err != nil {
			t.Errorf("character %q rejected: %v", c, err)
			continue
		}
		if id.Str() != string(c) || id.IsInt() {
			t.Errorf("character %q: got %#v", c, id)
		}
	}
	// Every printable ASCII character not in the list is rejected: exactly the six.
	var rejected []byte
	for c := byte(0x20); c < 0x7f; c++ {
		if _, err := NewStringID(string(c)); err != nil {
			rejected = append(rejected, c)
		}
	}
	if got, want := string(rejected), "\"'*/\\`"; got != want {
		t.Errorf("rejected printable ASCII = %q, want %q", got, want)
	}
}

func TestNewStringID(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"simple", "room-1", ""},
		{"all punctuation", allowedPunctuation, ""},
		{"64 bytes", strings.Repeat("a", 64), ""},
		{"65 bytes", strings.Repeat("a", 65), "room id: 65 bytes, at most 64"},
		{"empty", "", "room id: empty string"},
		{"double quote", `ab"`, `room id: character '"' (0x22) at byte 2 is not allowed`},
		{"single quote", "a'", "room id: character ''' (0x27) at byte 1 is not allowed"},
		{"asterisk", "abc*", "room id: character '*' (0x2a) at byte 3 is not allowed"},
		{"slash", "/", "room id: character '/' (0x2f) at byte 0 is not allowed"},
		{"backslash", `a\b`, `room id: character '\' (0x5c) at byte 1 is not allowed`},
		{"backtick", "a`", "room id: character '`' (0x60) at byte 1 is not allowed"},
		{"non-ASCII", "caf\u00e9", "room id: byte 0xc3 at byte 3 is not allowed"},
		{"control", "a\nb", "room id: byte 0x0a at byte 1 is not allowed"},
		{"NUL", "\x00", "room id: byte 0x00 at byte 0 is not allowed"},
		{"DEL", "\x7f", "room id: byte 0x7f at byte 0 is not allowed"},
		{"tab", "\t", "room id: byte 0x09 at byte 0 is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := NewStringID(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewStringID(%q) = %v", tt.in, err)
				}
				if id.Str() != tt.in || id.IsInt() || id.IsZero() || id.Int() != 0 {
					t.Fatalf("NewStringID(%q) = %#v", tt.in, id)
				}
				return
			}
			if !errors.Is(err, ErrInvalidRoomID) {
				t.Fatalf("NewStringID(%q) error = %v, want ErrInvalidRoomID", tt.in, err)
			}
			if !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("NewStringID(%q) error = %q, want prefix %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestNewIntID(t *testing.T) {
	tests := []struct {
		in      int64
		wantErr string
	}{
		{1, ""},
		{123, ""},
		{2147483647, ""},
		{0, "room id: integer 0 out of range 1..2147483647"},
		{-1, "room id: integer -1 out of range 1..2147483647"},
		{2147483648, "room id: integer 2147483648 out of range 1..2147483647"},
		{-9223372036854775808, "room id: integer -9223372036854775808 out of range"},
	}
	for _, tt := range tests {
		id, err := NewIntID(tt.in)
		if tt.wantErr == "" {
			if err != nil || id.Int() != tt.in || !id.IsInt() || id.Str() != "" || id.IsZero() {
				t.Errorf("NewIntID(%d) = %#v, %v", tt.in, id, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidRoomID) || !strings.HasPrefix(err.Error(), tt.wantErr) {
			t.Errorf("NewIntID(%d) error = %v, want prefix %q wrapping ErrInvalidRoomID", tt.in, err, tt.wantErr)
		}
	}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		name    string
		intID   int64
		strID   string
		want    ID
		wantErr bool
	}{
		{"int only", 7, "", ID{intID: 7}, false},
		{"string only", 0, "abc", ID{strID: "abc"}, false},
		{"int wins", 7, "abc", ID{intID: 7}, false},
		{"int wins even over a bad string", 7, "a*c", ID{intID: 7}, false},
		{"bad int is not masked by string", -3, "abc", ID{}, true},
		{"neither", 0, "", ID{}, true},
		{"bad string", 0, "a/b", ID{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseID(tt.intID, tt.strID)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseID(%d, %q) error = %v, wantErr %v", tt.intID, tt.strID, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidRoomID) {
				t.Fatalf("error %v does not wrap ErrInvalidRoomID", err)
			}
			if got != tt.want {
				t.Fatalf("ParseID(%d, %q) = %#v, want %#v", tt.intID, tt.strID, got, tt.want)
			}
		})
	}
}

func TestIntAndStringRoomsDiffer(t *testing.T) {
	i, _ := NewIntID(123)
	s, _ := NewStringID("123")
	if i == s {
		t.Fatal("integer 123 and string \"123\" are the same ID")
	}
	rooms := map[ID]string{i: "int", s: "str"}
	if len(rooms) != 2 {
		t.Fatalf("map has %d keys, want 2", len(rooms))
	}
	if i.String() != "123" || s.String() != `"123"` {
		t.Fatalf("String() = %s and %s", i, s)
	}
	if !(ID{}).IsZero() || (ID{}).String() != "<no room>" {
		t.Fatal("zero ID")
	}
}

func TestIDJSON(t *testing.T) {
	tests := []struct {
		in       string
		want     ID
		wantJSON string // "" means error
	}{
		{`123`, ID{intID: 123}, `123`},
		{` 2147483647 `, ID{intID: 2147483647}, `2147483647`},
		{`"123"`, ID{strID: "123"}, `"123"`},
		{`"a<b>&c"`, ID{strID: "a<b>&c"}, `"a\u003cb\u003e\u0026c"`},
		{`{"intRoomId": 5, "strRoomId": "x"}`, ID{intID: 5}, `5`},
		{`{"intRoomId": 0, "strRoomId": "x"}`, ID{strID: "x"}, `"x"`},
		{`{"strRoomId": "x y"}`, ID{strID: "x y"}, `"x y"`},
		{`0`, ID{}, ``},
		{`-1`, ID{}, ``},
		{`2147483648`, ID{}, ``},
		{`1.5`, ID{}, ``},
		{`""`, ID{}, ``},
		{`"a*b"`, ID{}, ``},
		{`"\u00e9"`, ID{}, ``},
		{`{}`, ID{}, ``},
		{`{"intRoomId": "5"}`, ID{}, ``},
		{`null`, ID{}, ``},
		{`true`, ID{}, ``},
		{`[1]`, ID{}, ``},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got ID
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.wantJSON == "" {
				if err == nil {
					t.Fatalf("Unmarshal(%s) = %#v, want error", tt.in, got)
				}
				if !errors.Is(err, ErrInvalidRoomID) {
					t.Fatalf("Unmarshal(%s) error %v does not wrap ErrInvalidRoomID", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Unmarshal(%s) = %#v, %v; want %#v", tt.in, got, err, tt.want)
			}
			out, err := json.Marshal(got)
			if err != nil || string(out) != tt.wantJSON {
				t.Fatalf("Marshal(%#v) = %s, %v; want %s", got, out, err, tt.wantJSON)
			}
			var back ID
			if err := json.Unmarshal(out, &back); err != nil || back != got {
				t.Fatalf("round trip %s -> %#v, %v", out, back, err)
			}
		})
	}
}

func TestIDJSONInStruct(t *testing.T) {
	type msg struct {
		Room ID `json:"room"`
	}
	var m msg
	if err := json.Unmarshal([]byte(`{"room":{"intRoomId":0,"strRoomId":"lobby"}}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.Room.Str() != "lobby" {
		t.Fatalf("got %#v", m.Room)
	}
	if _, err := json.Marshal(msg{}); !errors.Is(err, ErrInvalidRoomID) {
		t.Fatalf("marshalling the zero ID: %v, want ErrInvalidRoomID", err)
	}
}

// checkIDInvariants asserts what every successfully built ID must satisfy.
func checkIDInvariants(t *testing.T, id ID) {
	t.Helper()
	if id.IsZero() {
		t.Fatal("valid ID is zero")
	}
	if id.IsInt() {
		if id.Int() < 1 || id.Int() > MaxIntID || id.Str() != "" {
			t.Fatalf("bad int ID %#v", id)
		}
	} else {
		s := id.Str()
		if len(s) < 1 || len(s) > MaxStrIDLen {
			t.Fatalf("bad string length %d", len(s))
		}
		for i := 0; i < len(s); i++ {
			if !allowedStrIDChars[s[i]] {
				t.Fatalf("bad byte %#x", s[i])
			}
		}
	}
	out, err := json.Marshal(id)
	if err != nil {
		t.Fatalf("Marshal(%#v): %v", id, err)
	}
	var back ID
	if err := json.Unmarshal(out, &back); err != nil || back != id {
		t.Fatalf("round trip of %#v via %s = %#v, %v", id, out, back, err)
	}
}

func FuzzParseID(f *testing.F) {
	f.Add(int64(0), "abc")
	f.Add(int64(1), "")
	f.Add(int64(2147483647), "x")
	f.Add(int64(2147483648), "")
	f.Add(int64(-1), "abc")
	f.Add(int64(0), strings.Repeat("z", 65))
	f.Add(int64(0), "a*b")
	f.Add(int64(0), "caf\u00e9")
	f.Fuzz(func(t *testing.T, intID int64, strID string) {
		id, err := ParseID(intID, strID)
		if err != nil {
			if !errors.Is(err, ErrInvalidRoomID) {
				t.Fatalf("error %v does not wrap ErrInvalidRoomID", err)
			}
			if !id.IsZero() {
				t.Fatalf("error with non-zero id %#v", id)
			}
			return
		}
		checkIDInvariants(t, id)
		if intID != 0 && id.Int() != intID {
			t.Fatalf("int %d did not win: %#v", intID, id)
		}
	})
}

func FuzzIDUnmarshalJSON(f *testing.F) {
	for _, s := range []string{`123`, `"123"`, `{"intRoomId":5,"strRoomId":"x"}`, `{"strRoomId":"a b"}`,
		`0`, `-5`, `1e3`, `"a*b"`, `"\u00e9"`, `null`, `{}`, `[]`, `"`, `{"intRoomId":`, ` 7 `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var id ID
		if err := id.UnmarshalJSON(data); err != nil {
			if !errors.Is(err, ErrInvalidRoomID) {
				t.Fatalf("error %v does not wrap ErrInvalidRoomID", err)
			}
			if !id.IsZero() {
				t.Fatalf("failed unmarshal modified the id: %#v", id)
			}
			return
		}
		checkIDInvariants(t, id)
	})
}

// TestIDInApp: the same wire room of two apps is two rooms; the app shows in logs, never on
// the wire.
func TestIDInApp(t *testing.T) {
	i, _ := NewIntID(123)
	str, _ := NewStringID("123")
	a, b := i.InApp(1400000001), i.InApp(1400000002)
	tests := []struct {
		name  string
		x, y  ID
		equal bool
	}{
		{"same app", a, i.InApp(1400000001), true},
		{"two apps", a, b, false},
		{"app and none", a, i, false},
		{"int and string in one app", a, str.InApp(1400000001), false},
		{"without app", a.WithoutApp(), i, true},
	}
	for _, tt := range tests {
		if (tt.x == tt.y) != tt.equal {
			t.Errorf("%s: %v == %v is %v", tt.name, tt.x, tt.y, !tt.equal)
		}
	}
	if a.App() != 1400000001 || a.String() != "1400000001/123" || str.InApp(7).String() != `7/"123"` {
		t.Fatalf("App %d, String %s", a.App(), a.String())
	}
	if wire, err := a.MarshalJSON(); err != nil || string(wire) != "123" {
		t.Fatalf("wire form %s %v, want 123", wire, err)
	}
}
