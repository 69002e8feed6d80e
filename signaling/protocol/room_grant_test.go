package protocol

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseRoomRights(t *testing.T) {
	tests := []struct {
		name    string
		names   []string
		want    RoomRights
		wantErr bool
	}{
		{"publish", []string{"publish"}, RoomRights{Publish: true}, false},
		{"subscribe", []string{"subscribe"}, RoomRights{Subscribe: true}, false},
		{"both", []string{"publish", "subscribe"}, RoomRights{Publish: true, Subscribe: true}, false},
		{"both reversed", []string{"subscribe", "publish"}, RoomRights{Publish: true, Subscribe: true}, false},
		{"none", nil, RoomRights{}, true},
		{"empty list", []string{}, RoomRights{}, true},
		{"unknown", []string{"publish", "admin"}, RoomRights{}, true},
		{"empty name", []string{""}, RoomRights{}, true},
		{"case matters", []string{"Publish"}, RoomRights{}, true},
		{"duplicate", []string{"subscribe", "subscribe"}, RoomRights{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRoomRights(tt.names)
			if tt.wantErr {
				if !errors.Is(err, ErrRoomRights) {
					t.Fatalf("ParseRoomRights(%q) = %+v, %v; want ErrRoomRights", tt.names, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRoomRights(%q) = %+v, %v; want %+v", tt.names, got, err, tt.want)
			}
			// Names is the inverse (publish first).
			back, err := ParseRoomRights(got.Names())
			if err != nil || back != got {
				t.Fatalf("round trip of %q: %+v, %v", got.Names(), back, err)
			}
		})
	}
	if s := (RoomRights{Publish: true, Subscribe: true}).String(); s != "publish,subscribe" {
		t.Errorf("String() = %q", s)
	}
	if !(RoomRights{}).IsZero() || (RoomRights{Subscribe: true}).IsZero() {
		t.Error("IsZero wrong")
	}
}

// TestJoinRoomParamsGrantWire: the grant travels as roomGrant, privateMapKey is its alias,
// and a joinRoom without a grant keeps its old wire form.
func TestJoinRoomParamsGrantWire(t *testing.T) {
	tests := []struct {
		wire      string
		wantRoom  RoomID
		wantGrant string
	}{
		{`{"roomId":123}`, IntRoom(123), ""},
		{`{"roomId":"123","roomGrant":"g1"}`, StrRoom("123"), "g1"},
		{`{"roomId":5,"privateMapKey":"k1"}`, IntRoom(5), "k1"},
		{`{"roomId":5,"roomGrant":"g2","privateMapKey":"g2"}`, IntRoom(5), "g2"},
	}
	for _, tt := range tests {
		var p JoinRoomParams
		if err := json.Unmarshal([]byte(tt.wire), &p); err != nil {
			t.Fatalf("%s: %v", tt.wire, err)
		}
		if p.RoomID != tt.wantRoom || p.Grant() != tt.wantGrant || p.Validate() != nil {
			t.Errorf("%s → %+v grant %q validate %v", tt.wire, p, p.Grant(), p.Validate())
		}
	}
	out, err := json.Marshal(JoinRoomParams{RoomID: IntRoom(9)})
	if err != nil || string(out) != `{"roomId":9}` {
		t.Errorf("marshal without grant = %s, %v", out, err)
	}
	out, err = json.Marshal(JoinRoomParams{RoomID: StrRoom("9"), RoomGrant: "g"})
	if err != nil || string(out) != `{"roomId":"9","roomGrant":"g"}` {
		t.Errorf("marshal with grant = %s, %v", out, err)
	}
}
