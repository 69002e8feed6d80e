package records

import (
	"encoding/json"
	"testing"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestEncodeColumnsIsJSONMarshal: the invitees and room columns are the bytes json.Marshal
// makes (D198), for plain and for escaped user ids and rooms.
func TestEncodeColumnsIsJSONMarshal(t *testing.T) {
	for _, tt := range []struct {
		invitees []string
		room     protocol.RoomID
	}{
		{nil, protocol.IntRoom(7)},
		{[]string{}, protocol.RoomID{Str: "room one"}},
		{[]string{"bob"}, protocol.IntRoom(2_147_483_647)},
		{[]string{"bob", "carol dave", "e-f_g.h@i"}, protocol.RoomID{Str: "<b>&\"x\"</b>"}},
		{[]string{"a<b", "é", "tab\there", `back\slash`, "\x7f"}, protocol.RoomID{Str: "é\u2028"}},
	} {
		values, err := EncodeColumns(protocol.CallRecord{Invitees: tt.invitees, RoomID: tt.room})
		if err != nil {
			t.Fatal(err)
		}
		want := tt.invitees
		if want == nil {
			want = []string{}
		}
		wantInv, _ := json.Marshal(want)
		wantRoom, _ := json.Marshal(tt.room)
		if values[4] != string(wantInv) || values[8] != string(wantRoom) {
			t.Errorf("%q, %+v: columns %q, %q; want %q, %q", tt.invitees, tt.room, values[4], values[8], wantInv, wantRoom)
		}
	}
}
