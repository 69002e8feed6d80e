package protocol

import (
	"strings"
	"testing"
)

func TestValidUserID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"alice", true}, {"A-b_9", true}, {strings.Repeat("x", 64), true},
		{"", false}, {strings.Repeat("x", 65), false}, {"a b", false}, {"a.b", false},
		{"é", false}, {"a/b", false}, {"a\x00", false},
	}
	for _, tt := range tests {
		if got := ValidUserID(tt.id); got != tt.want {
			t.Errorf("ValidUserID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestValidNicknameAndAvatar(t *testing.T) {
	nick := []struct {
		s    string
		want bool
	}{
		{"", true}, {"Ada", true}, {strings.Repeat("é", 250), true}, {strings.Repeat("é", 250) + "x", false},
		{strings.Repeat("a", 501), false}, {"\xff", false},
	}
	for _, tt := range nick {
		if got := ValidNickname(tt.s); got != tt.want {
			t.Errorf("ValidNickname(%d bytes) = %v, want %v", len(tt.s), got, tt.want)
		}
	}
	avatar := []struct {
		s    string
		want bool
	}{
		{"", true}, {"https://example.com/a.png", true}, {"http://127.0.0.1:8080/x?y=1", true},
		{"ftp://example.com/a.png", false}, {"/a.png", false}, {"example.com/a.png", false},
		{"https://", false}, {"javascript:alert(1)", false}, {"https://u:p@example.com/", false},
		{"https://example.com/" + strings.Repeat("a", MaxAvatarBytes), false}, {"http://[::1", false},
	}
	for _, tt := range avatar {
		if got := ValidAvatar(tt.s); got != tt.want {
			t.Errorf("ValidAvatar(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

type validator interface{ Validate() error }

func TestParamsValidate(t *testing.T) {
	u16 := uint16(0)
	tooMany := make([]string, MaxInvitees+1)
	for i := range tooMany {
		tooMany[i] = "u" + strings.Repeat("x", i%5) + string(rune('a'+i%26))
	}
	tests := []struct {
		name      string
		params    validator
		wantCode  int // 0 = valid
		wantField string
	}{
		{"login ok", LoginParams{SDKAppID: 1, UserID: "alice", UserSig: "t"}, 0, ""},
		{"login no app", LoginParams{UserID: "alice", UserSig: "t"}, CodeInvalidParams, "sdkAppId"},
		{"login no user", LoginParams{SDKAppID: 1, UserSig: "t"}, CodeInvalidParams, "userId"},
		{"login bad user", LoginParams{SDKAppID: 1, UserID: "a b", UserSig: "t"}, CodeInvalidUserID, "userId"},
		{"login no sig", LoginParams{SDKAppID: 1, UserID: "alice"}, CodeInvalidParams, "userSig"},
		{"selfinfo ok", SetSelfInfoParams{Nickname: "Ada", Avatar: "https://x.org/a.png"}, 0, ""},
		{"selfinfo long nick", SetSelfInfoParams{Nickname: strings.Repeat("a", 501)}, CodeNicknameTooLong, "nickname"},
		{"selfinfo avatar", SetSelfInfoParams{Avatar: "not a url"}, CodeAvatarNotURL, "avatar"},
		{"call ok", CallMethodParams{UserID: "bob", MediaType: 2}, 0, ""},
		{"call no callee", CallMethodParams{MediaType: 2}, CodeInvalidParams, "userId"},
		{"call no media", CallMethodParams{UserID: "bob"}, CodeInvalidParams, "mediaType"},
		{"call bad media", CallMethodParams{UserID: "bob", MediaType: 3}, CodeInvalidMediaType, "mediaType"},
		{"call timeout 9", CallMethodParams{UserID: "bob", MediaType: 1, Params: CallParams{Timeout: 9}}, CodeInvalidTimeout, "params.timeout"},
		{"call timeout 601", CallMethodParams{UserID: "bob", MediaType: 1, Params: CallParams{Timeout: 601}}, CodeInvalidTimeout, "params.timeout"},
		{"call timeout -1", CallMethodParams{UserID: "bob", MediaType: 1, Params: CallParams{Timeout: -1}}, CodeInvalidTimeout, "params.timeout"},
		{"call timeout 10", CallMethodParams{UserID: "bob", MediaType: 1, Params: CallParams{Timeout: 10}}, 0, ""},
		{"call userData", CallMethodParams{UserID: "bob", MediaType: 1, Params: CallParams{UserData: strings.Repeat("a", MaxUserDataBytes+1)}}, CodeInvalidParams, "params.userData"},
		{"group ok", GroupCallParams{GroupID: "g", UserIDList: []string{"b", "c"}, MediaType: 1}, 0, ""},
		{"group no id", GroupCallParams{UserIDList: []string{"b"}, MediaType: 1}, CodeInvalidParams, "groupId"},
		{"group empty", GroupCallParams{GroupID: "g", MediaType: 1}, CodeNoInvitees, "userIdList"},
		{"group bad entry", GroupCallParams{GroupID: "g", UserIDList: []string{"b", "c d"}, MediaType: 1}, CodeInvalidUserID, "userIdList[1]"},
		{"group duplicate counts once later", GroupCallParams{GroupID: "g", UserIDList: []string{"b", "b"}, MediaType: 1}, 0, ""},
		{"calls too many", CallsParams{UserIDList: tooMany, MediaType: 1}, CodeTooManyInvitees, "userIdList"},
		{"calls ok", CallsParams{UserIDList: []string{"b"}, MediaType: 1, Params: CallParams{ChatGroupID: "g"}}, 0, ""},
		{"accept empty", AcceptParams{}, 0, ""},
		{"accept audio", AcceptParams{MediaType: 1}, 0, ""},
		{"accept bad", AcceptParams{MediaType: 7}, CodeInvalidMediaType, "mediaType"},
		{"accept naming its call", AcceptParams{CallID: "c1"}, 0, ""},
		{"accept callId too long", AcceptParams{CallID: strings.Repeat("c", MaxCallIDLength+1)}, CodeInvalidParams, "callId"},
		{"hangup without callId", CallIDParams{}, 0, ""},
		{"hangup callId not UTF-8", CallIDParams{CallID: "\xff"}, CodeInvalidParams, "callId"},
		{"invite callId too long", InviteUserParams{UserIDList: []string{"d"}, CallID: strings.Repeat("c", MaxCallIDLength+1)}, CodeInvalidParams, "callId"},
		{"switch naming its call", SwitchCallMediaTypeParams{MediaType: 1, CallID: "c1"}, 0, ""},
		{"invite ok", InviteUserParams{UserIDList: []string{"d"}}, 0, ""},
		{"invite empty", InviteUserParams{}, CodeNoInvitees, "userIdList"},
		{"joinInGroupCall no room", JoinInGroupCallParams{GroupID: "g", MediaType: 1}, CodeInvalidParams, "roomId"},
		{"join ok", JoinParams{CallID: "c1"}, 0, ""},
		{"join empty", JoinParams{}, CodeInvalidParams, "callId"},
		{"switch bad", SwitchCallMediaTypeParams{MediaType: -1}, CodeInvalidMediaType, "mediaType"},
		{"query ok", QueryRecentCallsParams{Begin: 1.5, End: 2}, 0, ""},
		{"query unbounded", QueryRecentCallsParams{Begin: 100}, 0, ""},
		{"query reversed", QueryRecentCallsParams{Begin: 3, End: 2}, CodeInvalidParams, "end"},
		{"query negative", QueryRecentCallsParams{Begin: -1}, CodeInvalidParams, "begin"},
		{"query bad type", QueryRecentCallsParams{ResultType: 4}, CodeInvalidParams, "resultType"},
		{"delete empty", DeleteRecordCallsParams{}, CodeInvalidParams, "callIdList"},
		{"delete blank entry", DeleteRecordCallsParams{CallIDList: []string{"a", ""}}, CodeInvalidParams, "callIdList[1]"},
		{"joinRoom missing", JoinRoomParams{}, CodeInvalidParams, "roomId"},
		{"joinRoom int", JoinRoomParams{RoomID: IntRoom(7)}, 0, ""},
		{"joinRoom str", JoinRoomParams{RoomID: StrRoom("team sync")}, 0, ""},
		{"joinRoom too big", JoinRoomParams{RoomID: IntRoom(MaxIntRoomID + 1)}, CodeInvalidRoomID, "roomId"},
		{"joinRoom negative", JoinRoomParams{RoomID: IntRoom(-5)}, CodeInvalidRoomID, "roomId"},
		{"joinRoom bad char", JoinRoomParams{RoomID: StrRoom("a/b")}, CodeInvalidRoomID, "roomId"},
		{"joinRoom long str", JoinRoomParams{RoomID: StrRoom(strings.Repeat("r", 65))}, CodeInvalidRoomID, "roomId"},
		{"joinRoom grant", JoinRoomParams{RoomID: IntRoom(7), RoomGrant: "g.r.s"}, 0, ""},
		{"joinRoom grant at limit", JoinRoomParams{RoomID: IntRoom(7), RoomGrant: strings.Repeat("g", MaxRoomGrantBytes)}, 0, ""},
		{"joinRoom grant too long", JoinRoomParams{RoomID: IntRoom(7), RoomGrant: strings.Repeat("g", MaxRoomGrantBytes+1)}, CodeInvalidParams, "roomGrant"},
		{"joinRoom privateMapKey", JoinRoomParams{RoomID: IntRoom(7), PrivateMapKey: "g.r.s"}, 0, ""},
		{"joinRoom privateMapKey too long", JoinRoomParams{RoomID: IntRoom(7), PrivateMapKey: strings.Repeat("g", MaxRoomGrantBytes+1)}, CodeInvalidParams, "privateMapKey"},
		{"joinRoom both equal", JoinRoomParams{RoomID: IntRoom(7), RoomGrant: "g", PrivateMapKey: "g"}, 0, ""},
		{"joinRoom both differ", JoinRoomParams{RoomID: IntRoom(7), RoomGrant: "g", PrivateMapKey: "h"}, CodeInvalidParams, "privateMapKey"},
		{"joinRoom grant without room", JoinRoomParams{RoomGrant: "g"}, CodeInvalidParams, "roomId"},
		{"call bad room", CallMethodParams{UserID: "bob", MediaType: 1, Params: CallParams{RoomID: StrRoom("it's")}}, CodeInvalidRoomID, "params.roomId"},
		{"call str room", CallMethodParams{UserID: "bob", MediaType: 1, Params: CallParams{RoomID: StrRoom("x")}}, 0, ""},
		{"joinInGroupCall ok", JoinInGroupCallParams{RoomID: IntRoom(1), GroupID: "g", MediaType: 2}, 0, ""},
		{"view ok", StartRemoteViewParams{UserID: "bob", VideoQuality: VideoQuality{Resolution: Resolution1280x720}}, 0, ""},
		{"view bad res", StartRemoteViewParams{UserID: "bob", VideoQuality: VideoQuality{Resolution: 100}}, CodeInvalidParams, "resolution"},
		{"view bad width", StartRemoteViewParams{UserID: "bob", VideoQuality: VideoQuality{Width: -1}}, CodeInvalidParams, "width"},
		{"quality bad height", SetRemoteViewQualityParams{UserID: "bob", VideoQuality: VideoQuality{Height: MaxVideoDimension + 1}}, CodeInvalidParams, "height"},
		{"stop view no user", StopRemoteViewParams{}, CodeInvalidParams, "userId"},
		{"offer ok", OfferParams{Target: TargetPublisher, SDP: SessionDescription{Type: "offer", SDP: "v=0"}}, 0, ""},
		{"offer wrong target", OfferParams{Target: TargetSubscriber, SDP: SessionDescription{Type: "offer", SDP: "v=0"}}, CodeInvalidParams, "target"},
		{"offer wrong type", OfferParams{Target: TargetPublisher, SDP: SessionDescription{Type: "answer", SDP: "v=0"}}, CodeInvalidParams, "sdp.type"},
		{"offer empty sdp", OfferParams{Target: TargetPublisher, SDP: SessionDescription{Type: "offer"}}, CodeInvalidParams, "sdp.sdp"},
		{"answer ok", AnswerParams{Target: TargetSubscriber, SDP: SessionDescription{Type: "answer", SDP: "v=0"}}, 0, ""},
		{"answer wrong target", AnswerParams{Target: TargetPublisher, SDP: SessionDescription{Type: "answer", SDP: "v=0"}}, CodeInvalidParams, "target"},
		{"trickle ok", TrickleParams{Target: TargetSubscriber, Candidate: ICECandidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", SDPMLineIndex: &u16}}, 0, ""},
		{"trickle end of candidates", TrickleParams{Target: TargetPublisher}, 0, ""},
		{"trickle no target", TrickleParams{}, CodeInvalidParams, "target"},
		{"trickle huge", TrickleParams{Target: TargetPublisher, Candidate: ICECandidate{Candidate: strings.Repeat("a", MaxCandidateBytes+1)}}, CodeInvalidParams, "candidate.candidate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.params.Validate()
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			perr, ok := err.(*Error)
			if !ok {
				t.Fatalf("Validate() = %v (%T), want *Error code %d", err, err, tt.wantCode)
			}
			if perr.Code != tt.wantCode {
				t.Errorf("code = %d, want %d (%s)", perr.Code, tt.wantCode, perr.Message)
			}
			data, _ := perr.Data.(FieldErrorData)
			if data.Field != tt.wantField || !strings.HasPrefix(perr.Message, tt.wantField+":") {
				t.Errorf("field = %q, message %q; want field %q named first", data.Field, perr.Message, tt.wantField)
			}
		})
	}
}

func TestStrRoomIDCharset(t *testing.T) {
	allowed := 0
	for c := 0; c < 256; c++ {
		if strRoomIDChar(byte(c)) {
			allowed++
		}
	}
	if allowed != 89 {
		t.Fatalf("%d characters allowed in string room ids, want 89", allowed)
	}
	for _, c := range "\"'*/\\`" {
		if strRoomIDChar(byte(c)) {
			t.Errorf("%q allowed", c)
		}
	}
}

func TestResolutionSize(t *testing.T) {
	for _, tt := range []struct {
		r    Resolution
		w, h int
	}{{108, 640, 360}, {62, 640, 480}, {110, 960, 540}, {64, 960, 720}, {112, 1280, 720}, {114, 1920, 1080}, {0, 0, 0}, {5, 0, 0}} {
		if w, h := tt.r.Size(); w != tt.w || h != tt.h {
			t.Errorf("%d.Size() = %dx%d, want %dx%d", tt.r, w, h, tt.w, tt.h)
		}
	}
	if Resolution(5).Valid() || !ResolutionUnset.Valid() || !Resolution1920x1080.Valid() {
		t.Error("Valid() wrong")
	}
}

func TestTimeoutSeconds(t *testing.T) {
	if got := (CallParams{}).TimeoutSeconds(); got != 30 {
		t.Errorf("default = %d", got)
	}
	if got := (CallParams{Timeout: 45}).TimeoutSeconds(); got != 45 {
		t.Errorf("45 → %d", got)
	}
}
