package call

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestRoomIDJSON covers the wire form of protocol.RoomID (owned with this package): a
// number is an integer room, a string a string room, and the {intRoomId, strRoomId} object
// is accepted with a non-zero intRoomId winning.
func TestRoomIDJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    protocol.RoomID
		wantErr bool
	}{
		{"number is an integer room", `123`, protocol.IntRoom(123), false},
		{"string is a string room", `"123"`, protocol.StrRoom("123"), false},
		{"object with intRoomId", `{"intRoomId":7}`, protocol.IntRoom(7), false},
		{"object with strRoomId", `{"strRoomId":"team"}`, protocol.StrRoom("team"), false},
		{"object with both: int wins", `{"intRoomId":7,"strRoomId":"team"}`, protocol.IntRoom(7), false},
		{"object with zero int: string", `{"intRoomId":0,"strRoomId":"team"}`, protocol.StrRoom("team"), false},
		{"object with null int", `{"intRoomId":null,"strRoomId":"x"}`, protocol.StrRoom("x"), false},
		{"empty object is zero", `{}`, protocol.RoomID{}, false},
		{"null leaves zero", `null`, protocol.RoomID{}, false},
		{"spaces around a number", " 42 ", protocol.IntRoom(42), false},
		{"fraction is refused", `1.5`, protocol.RoomID{}, true},
		{"boolean is refused", `true`, protocol.RoomID{}, true},
		{"array is refused", `[1]`, protocol.RoomID{}, true},
		{"object with fractional int is refused", `{"intRoomId":1.5}`, protocol.RoomID{}, true},
		{"object with string int is refused", `{"intRoomId":"1"}`, protocol.RoomID{}, true},
		{"object with number str is refused", `{"strRoomId":1}`, protocol.RoomID{}, true},
		{"bad string escape is refused", `"\x"`, protocol.RoomID{}, true},
		{"nul-like word is refused", `nil`, protocol.RoomID{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got protocol.RoomID
			err := json.Unmarshal([]byte(tt.in), &got)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	var direct protocol.RoomID
	if err := direct.UnmarshalJSON([]byte("  ")); err == nil {
		t.Errorf("blank input accepted")
	}
	for _, in := range []string{"123456789012345678901234567890123456789", "-99999999999999999999", `{"intRoomId":99999999999999999999}`} {
		var perr *protocol.Error
		if err := direct.UnmarshalJSON([]byte(in)); !errors.As(err, &perr) || perr.Code != protocol.CodeInvalidRoomID {
			t.Errorf("overflowing integer %s: %v, want a %d error (out of range, not of the wrong type)", in, err, protocol.CodeInvalidRoomID)
		}
	}
	marshal := []struct {
		in   protocol.RoomID
		want string
		str  string
	}{
		{protocol.IntRoom(123), `123`, `123`},
		{protocol.StrRoom("123"), `"123"`, `"123"`},
		{protocol.RoomID{Int: 5, Str: "ignored"}, `5`, `5`},
		{protocol.RoomID{}, `0`, `0`},
	}
	for _, tt := range marshal {
		b, err := json.Marshal(tt.in)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%+v) = %s %v, want %s", tt.in, b, err, tt.want)
		}
		if s := tt.in.String(); s != tt.str {
			t.Errorf("String(%+v) = %s, want %s", tt.in, s, tt.str)
		}
	}
	if !(protocol.RoomID{}).IsZero() || protocol.IntRoom(1).IsZero() || protocol.StrRoom("a").IsZero() {
		t.Errorf("IsZero wrong")
	}
}

// FuzzRoomIDJSON checks that decoding never panics and that whatever decodes survives a
// round trip through its own encoding.
func FuzzRoomIDJSON(f *testing.F) {
	for _, s := range []string{`1`, `"a b"`, `{"intRoomId":3,"strRoomId":"x"}`, `{"strRoomId":"\u00e9"}`, `null`, `-0`, `"\ud800"`, `{"intRoomId":-9}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r protocol.RoomID
		if err := json.Unmarshal(data, &r); err != nil {
			return
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal %+v: %v", r, err)
		}
		var back protocol.RoomID
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		// The zero RoomID and invalid UTF-8 strings do not round-trip exactly; others must.
		if r.Int != 0 && back != r {
			t.Fatalf("round trip %+v → %s → %+v", r, b, back)
		}
		if r.Int == 0 && r.Str != "" && back.Int != 0 {
			t.Fatalf("string room %+v came back as integer %+v", r, back)
		}
	})
}
