package signaling_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestQAParamsOnTheWire sends params the way any client may write them (raw JSON over a
// real WebSocket) and checks the documented code and data.field of PROTOCOL.md §2 and §7:
// RoomId rules of spec §4 (int 1..2^31-1, string ≤ 64 bytes of the 89 characters, 123 ≠
// "123"), userIds of D1, the timeout of D8, media types, invitee lists. An integer beyond
// what the member's type holds is out of its range, not of the wrong type: it gets the
// member's range code (3001, 3008, 4001) as any other out-of-range value (D160). A request that is
// accepted is answered with a result (and its call is hung up again).
func TestQAParamsOnTheWire(t *testing.T) { qaParamsOnTheWire(t, newStack) }

func qaParamsOnTheWire(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	r := st.raw(t)
	rawLogin(t, r, "qpalice")
	call := func(params string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"call","params":{"userId":"qpbob","mediaType":1,"params":` + params + `}}`
	}
	tests := []struct {
		name, request string
		code          int    // 0: a result
		field         string // data.field of the error
	}{
		{"int room at the top", call(`{"roomId":2147483647}`), 0, ""},
		{"int room 2^31", call(`{"roomId":2147483648}`), protocol.CodeInvalidRoomID, "params.roomId"},
		{"int room beyond int64", call(`{"roomId":99999999999999999999}`), protocol.CodeInvalidRoomID, "params.roomId"},
		{"negative int room beyond int64", call(`{"roomId":-99999999999999999999}`), protocol.CodeInvalidRoomID, "params.roomId"},
		{"intRoomId beyond int64", call(`{"roomId":{"intRoomId":99999999999999999999}}`), protocol.CodeInvalidRoomID, "params.roomId"},
		{"negative room", call(`{"roomId":-1}`), protocol.CodeInvalidRoomID, "params.roomId"},
		{"fractional room names the member", call(`{"roomId":12.5}`), protocol.CodeInvalidParams, "params.roomId"},
		{"boolean room names the member", call(`{"roomId":true}`), protocol.CodeInvalidParams, "params.roomId"},
		{"string room of 64 bytes", call(`{"roomId":"` + strings.Repeat("r", 64) + `"}`), 0, ""},
		{"string room of 65 bytes", call(`{"roomId":"` + strings.Repeat("r", 65) + `"}`), protocol.CodeInvalidRoomID, "params.roomId"},
		{"string room with a slash", call(`{"roomId":"a/b"}`), protocol.CodeInvalidRoomID, "params.roomId"},
		{"string room in unicode", call(`{"roomId":"raum\u00e9"}`), protocol.CodeInvalidRoomID, "params.roomId"},
		{"both kinds: the int wins", call(`{"roomId":{"intRoomId":5,"strRoomId":"ab"}}`), 0, ""},
		{"timeout 9", call(`{"timeout":9}`), protocol.CodeInvalidTimeout, "params.timeout"},
		{"timeout 601", call(`{"timeout":601}`), protocol.CodeInvalidTimeout, "params.timeout"},
		{"timeout as a string", call(`{"timeout":"30"}`), protocol.CodeInvalidParams, "params.timeout"},
		{"timeout beyond int64", call(`{"timeout":99999999999999999999}`), protocol.CodeInvalidTimeout, "params.timeout"},
		{"negative timeout beyond int64", call(`{"timeout":-99999999999999999999}`), protocol.CodeInvalidTimeout, "params.timeout"},
		{"media type beyond int64", `{"jsonrpc":"2.0","id":1,"method":"call","params":{"userId":"qpbob","mediaType":99999999999999999999}}`, protocol.CodeInvalidMediaType, "mediaType"},
		{"accept media type beyond int64", `{"jsonrpc":"2.0","id":1,"method":"accept","params":{"mediaType":99999999999999999999}}`, protocol.CodeInvalidMediaType, "mediaType"},
		{"resultType beyond int64", `{"jsonrpc":"2.0","id":1,"method":"queryRecentCalls","params":{"resultType":99999999999999999999}}`, protocol.CodeInvalidParams, "resultType"},
		{"unicode callee", `{"jsonrpc":"2.0","id":1,"method":"call","params":{"userId":"b\u00f6b","mediaType":1}}`, protocol.CodeInvalidUserID, "userId"},
		{"callee of 65 characters", `{"jsonrpc":"2.0","id":1,"method":"call","params":{"userId":"` + strings.Repeat("b", 65) + `","mediaType":1}}`, protocol.CodeInvalidUserID, "userId"},
		{"empty callee", `{"jsonrpc":"2.0","id":1,"method":"call","params":{"userId":"","mediaType":1}}`, protocol.CodeInvalidParams, "userId"},
		{"media type 3", `{"jsonrpc":"2.0","id":1,"method":"call","params":{"userId":"qpbob","mediaType":3}}`, protocol.CodeInvalidMediaType, "mediaType"},
		{"self call", `{"jsonrpc":"2.0","id":1,"method":"call","params":{"userId":"qpalice","mediaType":1}}`, protocol.CodeCannotInviteSelf, ""},
		{"33 invitees", `{"jsonrpc":"2.0","id":1,"method":"groupCall","params":{"groupId":"g","mediaType":1,"userIdList":["u` + strings.Repeat(`","u`, 32) + `"]}}`, protocol.CodeTooManyInvitees, "userIdList"},
		{"no invitees", `{"jsonrpc":"2.0","id":1,"method":"groupCall","params":{"groupId":"g","mediaType":1,"userIdList":[]}}`, protocol.CodeNoInvitees, "userIdList"},
		{"bad invitee named by index", `{"jsonrpc":"2.0","id":1,"method":"groupCall","params":{"groupId":"g","mediaType":1,"userIdList":["ok","n o"]}}`, protocol.CodeInvalidUserID, "userIdList[1]"},
		{"joinInGroupCall room beyond int64", `{"jsonrpc":"2.0","id":1,"method":"joinInGroupCall","params":{"roomId":1e400,"groupId":"g","mediaType":1}}`, protocol.CodeInvalidParams, "roomId"},
		{"params of a scalar", `{"jsonrpc":"2.0","id":1,"method":"logout","params":"x"}`, protocol.CodeInvalidRequest, ""},
		{"params of an array (JSON-RPC by-position)", `{"jsonrpc":"2.0","id":1,"method":"setSelfInfo","params":["n",""]}`, protocol.CodeInvalidParams, "params"},
		{"groupId of 128 bytes", `{"jsonrpc":"2.0","id":1,"method":"groupCall","params":{"groupId":"` + strings.Repeat("g", 128) + `","mediaType":1,"userIdList":["qpbob"]}}`, 0, ""},
		{"groupId of 129 bytes", `{"jsonrpc":"2.0","id":1,"method":"groupCall","params":{"groupId":"` + strings.Repeat("g", 129) + `","mediaType":1,"userIdList":["qpbob"]}}`, protocol.CodeInvalidParams, "groupId"},
		{"chatGroupId of 129 bytes", `{"jsonrpc":"2.0","id":1,"method":"calls","params":{"chatGroupId":"` + strings.Repeat("g", 129) + `","mediaType":1,"userIdList":["qpbob"]}}`, protocol.CodeInvalidParams, "chatGroupId"},
		{"callId of 129 bytes", `{"jsonrpc":"2.0","id":1,"method":"join","params":{"callId":"` + strings.Repeat("c", 129) + `"}}`, protocol.CodeInvalidParams, "callId"},
		{"userData of 16384 bytes", call(`{"userData":"` + strings.Repeat("u", 16384) + `"}`), 0, ""},
		{"userData of 16385 bytes", call(`{"userData":"` + strings.Repeat("u", 16385) + `"}`), protocol.CodeInvalidParams, "params.userData"},
		{"offlinePushInfo over 16384 bytes", call(`{"offlinePushInfo":{"t":"` + strings.Repeat("o", 16384) + `"}}`), protocol.CodeInvalidParams, "params.offlinePushInfo"},
		{"avatar of 2049 bytes", `{"jsonrpc":"2.0","id":1,"method":"setSelfInfo","params":{"avatar":"https://a/` + strings.Repeat("a", 2039) + `"}}`, protocol.CodeAvatarNotURL, "avatar"},
		{"1001 record ids", `{"jsonrpc":"2.0","id":1,"method":"deleteRecordCalls","params":{"callIdList":["c"` + strings.Repeat(`,"c"`, 1000) + `]}}`, protocol.CodeInvalidParams, "callIdList"},
		{"offlinePushInfo object", call(`{"offlinePushInfo":{"title":"t","desc":"d"}}`), 0, ""},
		{"offlinePushInfo null is absent", call(`{"offlinePushInfo":null}`), 0, ""},
		{"offlinePushInfo as a string", call(`{"offlinePushInfo":"x"}`), protocol.CodeInvalidParams, "params.offlinePushInfo"},
		{"offlinePushInfo as an array", call(`{"offlinePushInfo":[{"title":"t"}]}`), protocol.CodeInvalidParams, "params.offlinePushInfo"},
		{"offlinePushInfo as a number", call(`{"offlinePushInfo":1}`), protocol.CodeInvalidParams, "params.offlinePushInfo"},
		{"joinInGroupCall string room 123 is not int 123", `{"jsonrpc":"2.0","id":1,"method":"joinInGroupCall","params":{"roomId":"123","groupId":"g","mediaType":1}}`, protocol.CodeNoSuchCall, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := r.roundTrip(tc.request)
			if tc.code == 0 {
				if resp.Error != nil {
					t.Fatalf("want a result, got %d %s", resp.Error.Code, resp.Error.Message)
				}
				if hang := r.roundTrip(`{"jsonrpc":"2.0","id":2,"method":"hangup"}`); hang.Error != nil {
					t.Fatalf("hangup: %+v", hang.Error)
				}
				return
			}
			wantWireError(t, resp, tc.code, "")
			if tc.field == "" {
				return
			}
			raw, _ := json.Marshal(resp.Error.Data)
			var data struct{ Field string }
			if err := json.Unmarshal(raw, &data); err != nil || data.Field != tc.field {
				t.Fatalf("data %s, want field %q (%s)", raw, tc.field, resp.Error.Message)
			}
		})
	}
}

// TestQAInviteUserIgnoresTheRoom checks D6 (spec §9, §4 "inviteUser"): the RoomId in
// inviteUser's params is ignored, whatever it is; the invitee joins the inviter's room.
func TestQAInviteUserIgnoresTheRoom(t *testing.T) { qaInviteUserIgnoresTheRoom(t, newStack) }

func qaInviteUserIgnoresTheRoom(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	for i, room := range []protocol.RoomID{protocol.IntRoom(42), protocol.StrRoom("a/b"), protocol.IntRoom(-5), protocol.IntRoom(1 << 40)} {
		t.Run(room.String(), func(t *testing.T) {
			us := st.users(t, "qi"+itoa(i), "alice", "bob", "carol")
			alice, bob, carol := us[0], us[1], us[2]
			started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{})
			must(t, err)
			accepted(t, alice, bob)
			res, err := alice.InviteUser(ctx, []string{carol.UserID()}, protocol.CallParams{RoomID: room})
			must(t, err)
			if len(res.UserIDList) != 1 || res.UserIDList[0] != carol.UserID() {
				t.Fatalf("invited %v", res.UserIDList)
			}
			got := waitFor[protocol.CallReceivedEvent](t, carol, protocol.EventCallReceived, nil)
			if got.RoomID != started.RoomID || got.CallID != started.CallID {
				t.Fatalf("carol invited to call %s room %s, want %s room %s", got.CallID, got.RoomID, started.CallID, started.RoomID)
			}
			must(t, alice.Hangup(ctx))
			must(t, bob.Hangup(ctx))
		})
	}
}

// TestQAMethodErrorLists checks codes the method sections of PROTOCOL.md name besides the
// generic ones: 3011 from call and groupCall for a room a live call uses (D6, D27; 123 and
// "123" differ), 3001 from inviteUser for a bad timeout (D8).
func TestQAMethodErrorLists(t *testing.T) { qaMethodErrorLists(t, newStack) }

func qaMethodErrorLists(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qe", "alice", "bob", "carol", "dave", "erin")
	alice, bob, carol, dave, erin := us[0], us[1], us[2], us[3], us[4]
	_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{RoomID: protocol.IntRoom(777)})
	must(t, err)
	_, err = carol.Call(ctx, dave.UserID(), audio, protocol.CallParams{RoomID: protocol.IntRoom(777)})
	wantCode(t, err, protocol.CodeRoomInUse)
	_, err = carol.GroupCall(ctx, "qeg", []string{dave.UserID()}, audio, protocol.CallParams{RoomID: protocol.IntRoom(777)})
	wantCode(t, err, protocol.CodeRoomInUse)
	_, err = carol.Calls(ctx, []string{dave.UserID()}, audio, protocol.CallParams{RoomID: protocol.IntRoom(777)})
	wantCode(t, err, protocol.CodeRoomInUse)
	_, err = carol.Call(ctx, dave.UserID(), audio, protocol.CallParams{RoomID: protocol.StrRoom("777")})
	must(t, err)
	accepted(t, alice, bob)
	for _, timeout := range []int{5, 601, -1} {
		_, err = alice.InviteUser(ctx, []string{erin.UserID()}, protocol.CallParams{Timeout: timeout})
		wantCode(t, err, protocol.CodeInvalidTimeout)
	}
	must(t, alice.Hangup(ctx))
	must(t, carol.Hangup(ctx))
}
