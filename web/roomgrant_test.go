package web

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestDevRoomGrantEndpoint: POST /dev/roomgrant mints a grant the server accepts for
// exactly the user, room (integer or string) and rights asked; bad bodies are 400.
func TestDevRoomGrantEndpoint(t *testing.T) {
	h := Handler(devOptions(t))
	both := signaling.Rights{Publish: true, Subscribe: true}
	tests := []struct {
		name       string
		method     string
		body       string
		wantCode   int
		wantRoom   protocol.RoomID
		wantRights signaling.Rights
		otherForm  protocol.RoomID // the same digits in the other kind of room id: refused
	}{
		{name: "integer room, default rights", method: http.MethodPost, body: `{"userId":"alice","roomId":123}`,
			wantCode: http.StatusOK, wantRoom: protocol.IntRoom(123), wantRights: both, otherForm: protocol.StrRoom("123")},
		{name: "string room of digits", method: http.MethodPost, body: `{"userId":"alice","roomId":"123","rights":["subscribe"]}`,
			wantCode: http.StatusOK, wantRoom: protocol.StrRoom("123"), wantRights: signaling.Rights{Subscribe: true}, otherForm: protocol.IntRoom(123)},
		{name: "publish only", method: http.MethodPost, body: `{"userId":"bob_2","roomId":"team sync","rights":["publish"]}`,
			wantCode: http.StatusOK, wantRoom: protocol.StrRoom("team sync"), wantRights: signaling.Rights{Publish: true}},
		{name: "both rights", method: http.MethodPost, body: `{"userId":"alice","roomId":7,"rights":["subscribe","publish"],"x":1}`,
			wantCode: http.StatusOK, wantRoom: protocol.IntRoom(7), wantRights: both},
		{name: "no room", method: http.MethodPost, body: `{"userId":"alice"}`, wantCode: http.StatusBadRequest},
		{name: "room zero", method: http.MethodPost, body: `{"userId":"alice","roomId":0}`, wantCode: http.StatusBadRequest},
		{name: "room out of range", method: http.MethodPost, body: `{"userId":"alice","roomId":2147483648}`, wantCode: http.StatusBadRequest},
		{name: "room bad character", method: http.MethodPost, body: `{"userId":"alice","roomId":"a/b"}`, wantCode: http.StatusBadRequest},
		{name: "room bool", method: http.MethodPost, body: `{"userId":"alice","roomId":true}`, wantCode: http.StatusBadRequest},
		{name: "bad userId", method: http.MethodPost, body: `{"userId":"a b","roomId":1}`, wantCode: http.StatusBadRequest},
		{name: "no userId", method: http.MethodPost, body: `{"roomId":1}`, wantCode: http.StatusBadRequest},
		{name: "empty rights", method: http.MethodPost, body: `{"userId":"alice","roomId":1,"rights":[]}`, wantCode: http.StatusBadRequest},
		{name: "unknown right", method: http.MethodPost, body: `{"userId":"alice","roomId":1,"rights":["admin"]}`, wantCode: http.StatusBadRequest},
		{name: "duplicate right", method: http.MethodPost, body: `{"userId":"alice","roomId":1,"rights":["publish","publish"]}`, wantCode: http.StatusBadRequest},
		{name: "rights not a list", method: http.MethodPost, body: `{"userId":"alice","roomId":1,"rights":"publish"}`, wantCode: http.StatusBadRequest},
		{name: "not json", method: http.MethodPost, body: `userId=alice`, wantCode: http.StatusBadRequest},
		{name: "huge body", method: http.MethodPost, body: `{"userId":"alice","roomId":1,"pad":"` + strings.Repeat("x", 2000) + `"}`, wantCode: http.StatusBadRequest},
		{name: "GET not allowed", method: http.MethodGet, wantCode: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got devRoomGrantResponse
			if !doDev(t, h, tt.method, "/dev/roomgrant", tt.body, tt.wantCode, &got) {
				return
			}
			if got.SDKAppID != signaling.DevSDKAppID || got.RoomID != tt.wantRoom || strings.Join(got.Rights, ",") != tt.wantRights.String() {
				t.Fatalf("response %+v", got)
			}
			v := devVerifier(t)
			rights, err := v.VerifyRoomGrant(got.SDKAppID, got.UserID, tt.wantRoom, got.RoomGrant, time.Now())
			if err != nil || rights != tt.wantRights {
				t.Fatalf("VerifyRoomGrant = %+v, %v; want %+v", rights, err, tt.wantRights)
			}
			exp := time.Unix(got.ExpiresAt, 0)
			if _, err := v.VerifyRoomGrant(got.SDKAppID, got.UserID, tt.wantRoom, got.RoomGrant, exp); !errors.Is(err, signaling.ErrRoomGrantExpired) {
				t.Fatalf("at expiresAt %s: %v, want expired", exp, err)
			}
			if tt.otherForm.IsZero() {
				return
			}
			if _, err := v.VerifyRoomGrant(got.SDKAppID, got.UserID, tt.otherForm, got.RoomGrant, time.Now()); !errors.Is(err, signaling.ErrRoomGrantInvalid) {
				t.Fatalf("grant for %s accepted for %s: %v", tt.wantRoom, tt.otherForm, err)
			}
		})
	}
}

func FuzzParseDevRoomGrantRequest(f *testing.F) {
	for _, s := range []string{
		`{"userId":"alice","roomId":123}`, `{"userId":"alice","roomId":"123","rights":["subscribe"]}`,
		`{"userId":"a","roomId":{"intRoomId":5}}`, `{"userId":"a","roomId":1,"rights":[]}`, `{"userId":"a","roomId":1,"rights":null}`,
		`{"userId":"a","roomId":-1}`, `{"userId":"a","roomId":"` + strings.Repeat("r", 65) + `"}`, `{}`, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseDevRoomGrantRequest(body)
		if err != nil {
			if !errors.Is(err, ErrBadRoomGrantRequest) {
				t.Fatalf("error %v does not wrap ErrBadRoomGrantRequest", err)
			}
			return
		}
		if !protocol.ValidUserID(req.UserID) || !protocol.ValidRoomID(req.RoomID) || req.rights.IsZero() || len(body) > maxDevRoomGrantRequestBytes {
			t.Fatalf("accepted %q → %+v", body, req)
		}
	})
}
