package web

import (
	"fmt"
	"testing"
	"time"
)

// TestBrowserSDKCallParams: the SDK accepts TUICallEngine's spellings — setSelfInfo's
// nickName, calls' top-level chatGroupId (chatGroupID), userIDList and type, and the Web
// SDK's flat call params roomID, strRoomID, timeout, userData and offlinePushInfo — and
// the invitee's onCallReceived shows that the server got them; a member of params wins over
// its flat form.
func TestBrowserSDKCallParams(t *testing.T) {
	alice, bob := openExamplePages(t, sdkExamplePage)
	e := `window.parleyExample.engine`
	eval[bool](alice, e+`.setSelfInfo({nickName: 'Alice A.'}).then(() => true)`)
	tests := []struct {
		name, call string
		want       string // onCallReceived as callReceivedJS reports it
	}{
		{
			name: "calls with a top-level chat group and flat params",
			call: `.calls({userIdList: ['bob'], mediaType: 1, chatGroupId: 'team-1', strRoomID: 'standup-7', timeout: 20, userData: 'u1', offlinePushInfo: {title: 'hi'}})`,
			want: `Alice A.|group team-1|scene 0|room "standup-7"|timeout 20|data u1|media 1`,
		},
		{
			name: "calls in the Web SDK's names, nested params win",
			call: `.calls({userIDList: ['bob'], type: 2, chatGroupID: 'team-2', roomID: 4242, userData: 'flat', params: {userData: 'nested'}})`,
			want: `Alice A.|group team-2|scene 0|room 4242|timeout 30|data nested|media 2`,
		},
		{
			name: "1v1 call, strRoomID wins over roomID",
			call: `.call({userId: 'bob', mediaType: 1, roomID: 99, strRoomID: 's-room', timeout: 15})`,
			want: `Alice A.|group |scene 2|room "s-room"|timeout 15|data |media 1`,
		},
	}
	const callReceivedJS = `(() => { const r = window.parleyExample.events.filter((e) => e.name === 'onCallReceived');
	  if (r.length < %d) return '';
	  const p = r[%d].payload;
	  return [p.callerNickname, 'group ' + p.groupId, 'scene ' + p.scene, 'room ' + JSON.stringify(p.roomId), 'timeout ' + p.timeout, 'data ' + p.userData, 'media ' + p.mediaType].join('|'); })()`
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eval[bool](alice, e+tt.call+`.then(() => true)`)
			got := waitFor[string](bob, "onCallReceived", fmt.Sprintf(callReceivedJS, i+1, i), 20*time.Second)
			if got != tt.want {
				t.Errorf("bob's onCallReceived: %s, want %s", got, tt.want)
			}
			eval[bool](alice, e+`.hangup().then(() => true)`)
			waitFor[int](bob, "onCallCancelled", fmt.Sprintf(`window.parleyExample.events.filter((e) => e.name === 'onCallCancelled').length >= %d ? 1 : 0`, i+1), 20*time.Second)
		})
	}
	checkNoErrors(t, withExampleEvents(alice), withExampleEvents(bob))
}
