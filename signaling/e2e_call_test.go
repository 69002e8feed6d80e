package signaling_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestVideoCall1v1 is the whole 1v1 flow over real WebSockets and PeerConnections: alice
// calls bob (video), bob accepts, each receives the other's audio and video, alice hangs
// up, both get onCallEnd with the right totalTime, and the call is in both histories.
func TestVideoCall1v1(t *testing.T) { videoCall1v1(t, newStack) }

// TestClusterVideoCall1v1 is TestVideoCall1v1 with alice and bob on two nodes and the call
// and the room on a third (D50).
func TestClusterVideoCall1v1(t *testing.T) { videoCall1v1(t, newClusterStack) }

func videoCall1v1(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	ctx := ctxT(t, 60*time.Second)
	st.wantSessionsOnOwner(t, 2)

	if err := alice.SetSelfInfo(ctx, "Alice", "https://example.com/alice.png"); err != nil {
		t.Fatal(err)
	}
	started, err := alice.Call(ctx, "bob", protocol.MediaTypeVideo, protocol.CallParams{UserData: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	inv := waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
	if inv.CallID != started.CallID || inv.CallerID != "alice" || inv.MediaType != protocol.MediaTypeVideo ||
		inv.UserData != "hello" || inv.CallerNickname != "Alice" || inv.RoomID != started.RoomID || inv.Scene != protocol.SceneSingle {
		t.Fatalf("invitation %+v does not match call %+v", inv, started)
	}
	if err := bob.Accept(ctx, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{alice, bob} {
		begin := waitFor[protocol.CallBeginEvent](t, c, protocol.EventCallBegin, nil)
		if begin.CallID != started.CallID || begin.RoomID != started.RoomID {
			t.Fatalf("%s: onCallBegin %+v", c.UserID(), begin)
		}
	}
	waitFor(t, alice, protocol.EventUserAccept, func(e protocol.UserEvent) bool { return e.UserID == "bob" })

	for _, c := range []*client.Conn{alice, bob} {
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}); err != nil {
			t.Fatalf("%s: start media: %v", c.UserID(), err)
		}
	}
	if err := alice.StartRemoteView(ctx, "bob", protocol.VideoQuality{}); err != nil {
		t.Fatal(err)
	}
	if err := bob.StartRemoteView(ctx, "alice", protocol.VideoQuality{}); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]*client.Conn{{alice, bob}, {bob, alice}} {
		me, other := pair[0], pair[1]
		waitFor(t, me, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool { return e.UserID == other.UserID() })
		waitFor(t, me, protocol.EventUserVideoAvailable, func(e protocol.UserVideoAvailableEvent) bool {
			return e.UserID == other.UserID() && e.IsVideoAvailable
		})
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			tr, err := me.WaitRemoteTrack(ctx, other.UserID(), kind, 50)
			if err != nil {
				t.Fatalf("%s: %v", me.UserID(), err)
			}
			if tr.PayloadErrors != 0 {
				t.Fatalf("%s: %s from %s has %d corrupted payloads", me.UserID(), kind, other.UserID(), tr.PayloadErrors)
			}
		}
	}

	st.clock.Advance(7 * time.Second) // the call "lasted" 7 s more than it did
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{alice, bob} {
		end := waitFor[protocol.CallEndEvent](t, c, protocol.EventCallEnd, nil)
		if end.CallID != started.CallID || end.TotalTime < 7 || end.TotalTime > 30 {
			t.Fatalf("%s: onCallEnd %+v, want totalTime ≈ 7..30 s", c.UserID(), end)
		}
	}
	waitFor(t, bob, protocol.EventUserLeave, func(e protocol.UserLeaveEvent) bool { return e.UserID == "alice" })

	for _, tc := range []struct {
		c      *client.Conn
		result protocol.CallResult
	}{{alice, protocol.CallResultOutgoing}, {bob, protocol.CallResultIncoming}} {
		recs, err := tc.c.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs.Records) != 1 || recs.Records[0].CallID != started.CallID || recs.Records[0].Result != tc.result {
			t.Fatalf("%s records: %+v", tc.c.UserID(), recs.Records)
		}
	}
	del, err := bob.DeleteRecordCalls(ctx, []string{started.CallID})
	if err != nil || !slices.Equal(del.Deleted, []string{started.CallID}) {
		t.Fatalf("delete: %+v %v", del, err)
	}
	if recs, _ := bob.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{}); len(recs.Records) != 0 {
		t.Fatalf("bob's record survived deletion: %+v", recs.Records)
	}
	if recs, _ := alice.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{}); len(recs.Records) != 1 {
		t.Fatalf("bob's deletion removed alice's record: %+v", recs.Records)
	}
}

// TestGroupCallInviteRejectTimeoutJoin covers a group call: invite, reject, no response
// (short default timeout), inviteUser, and joinInGroupCall / join by callId.
func TestGroupCallInviteRejectTimeoutJoin(t *testing.T) {
	groupCallInviteRejectTimeoutJoin(t, newStack)
}
func TestClusterGroupCallInviteRejectTimeoutJoin(t *testing.T) {
	groupCallInviteRejectTimeoutJoin(t, newClusterStack)
}

func groupCallInviteRejectTimeoutJoin(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	alice, bob, carol, dave := st.login(t, "alice"), st.login(t, "bob"), st.login(t, "carol"), st.login(t, "dave")
	ctx := ctxT(t, 60*time.Second)
	// Invitations ring for the shortest time a call may ask for (10 s): bob's accept and
	// carol's reject and accept must land while they ring, which on a loaded machine a
	// shorter default (1.5 s) did not leave room for; dave's timeout takes that long.
	ring := protocol.CallParams{Timeout: protocol.MinCallTimeout}

	started, err := alice.GroupCall(ctx, "team", []string{"bob", "carol", "dave"}, protocol.MediaTypeAudio, ring)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{bob, carol, dave} {
		inv := waitFor[protocol.CallReceivedEvent](t, c, protocol.EventCallReceived, nil)
		if inv.GroupID != "team" || inv.Scene != protocol.SceneGroup || len(inv.CalleeIDList) != 3 {
			t.Fatalf("%s: invitation %+v", c.UserID(), inv)
		}
	}
	if err := bob.Accept(ctx, 0); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallBeginEvent](t, alice, protocol.EventCallBegin, nil)
	waitFor[protocol.CallBeginEvent](t, bob, protocol.EventCallBegin, nil)
	for _, c := range []*client.Conn{alice, carol, dave} {
		waitFor(t, c, protocol.EventUserAccept, func(e protocol.UserEvent) bool { return e.UserID == "bob" })
	}

	if err := carol.Reject(ctx); err != nil {
		t.Fatal(err)
	}
	cancelled := waitFor[protocol.CallCancelledEvent](t, carol, protocol.EventCallCancelled, nil)
	if cancelled.UserID != "carol" || cancelled.Reason != protocol.CancelReasonReject {
		t.Fatalf("carol: %+v", cancelled)
	}
	for _, c := range []*client.Conn{alice, bob, dave} {
		waitFor(t, c, protocol.EventUserReject, func(e protocol.UserEvent) bool { return e.UserID == "carol" })
	}

	// dave never answers: after his 10 s, everyone else hears onUserNoResponse.
	for _, c := range []*client.Conn{alice, bob} {
		if _, err := client.WaitFor(ctx, c, protocol.EventUserNoResponse, func(e protocol.UserEvent) bool { return e.UserID == "dave" }); err != nil {
			t.Fatalf("%s: no onUserNoResponse of dave: %v", c.UserID(), err)
		}
	}
	if c := waitFor[protocol.CallCancelledEvent](t, dave, protocol.EventCallCancelled, nil); c.Reason != protocol.CancelReasonTimeout {
		t.Fatalf("dave: %+v", c)
	}

	// bob invites carol again; alice and bob see the invitee list.
	res, err := bob.InviteUser(ctx, []string{"carol"}, ring)
	if err != nil || !slices.Equal(res.UserIDList, []string{"carol"}) {
		t.Fatalf("inviteUser: %+v %v", res, err)
	}
	inv := waitFor[protocol.CallReceivedEvent](t, carol, protocol.EventCallReceived, nil)
	if inv.CallerID != "bob" || inv.CallID != started.CallID || inv.RoomID != started.RoomID {
		t.Fatalf("carol's second invitation: %+v", inv)
	}
	for _, c := range []*client.Conn{alice, bob} {
		waitFor(t, c, protocol.EventGroupCallInviteeListUpdate, func(e protocol.InviteeListUpdateEvent) bool {
			return slices.Equal(e.UserIDList, []string{"carol"})
		})
	}
	if err := carol.Accept(ctx, 0); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallBeginEvent](t, carol, protocol.EventCallBegin, nil)

	// dave joins the active call without an invitation, by room and group; erin by callId.
	joined, err := dave.JoinInGroupCall(ctx, started.RoomID, "team", protocol.MediaTypeAudio)
	if err != nil || joined.CallID != started.CallID {
		t.Fatalf("joinInGroupCall: %+v %v", joined, err)
	}
	waitFor[protocol.CallBeginEvent](t, dave, protocol.EventCallBegin, nil)
	erin := st.login(t, "erin")
	if j, err := erin.Join(ctx, started.CallID); err != nil || j.RoomID != started.RoomID {
		t.Fatalf("join by callId: %+v %v", j, err)
	}
	waitFor[protocol.CallBeginEvent](t, erin, protocol.EventCallBegin, nil)
	_, err = st.login(t, "frank").Join(ctx, "no-such-call")
	wantCode(t, err, protocol.CodeNoSuchCall)

	// Everybody hangs up; the last two get onCallEnd, the group call is over.
	for _, c := range []*client.Conn{alice, bob, carol, dave, erin} {
		if err := c.Hangup(ctx); err != nil {
			t.Fatalf("%s hangup: %v", c.UserID(), err)
		}
		waitFor[protocol.CallEndEvent](t, c, protocol.EventCallEnd, nil)
		if c == dave {
			break // erin alone remains: the call ends for her too (D16)
		}
	}
	waitFor[protocol.CallEndEvent](t, erin, protocol.EventCallEnd, nil)
	if n := st.service.ActiveCalls(); n != 0 {
		t.Fatalf("%d calls still active", n)
	}
}

// TestBusyCancelIgnore covers D10 (busy), D11 (ignore) and D12 (cancel) across sessions.
func TestBusyCancelIgnore(t *testing.T)        { busyCancelIgnore(t, newStack) }
func TestClusterBusyCancelIgnore(t *testing.T) { busyCancelIgnore(t, newClusterStack) }

func busyCancelIgnore(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	alice, bob, carol := st.login(t, "alice"), st.login(t, "bob"), st.login(t, "carol")
	ctx := ctxT(t, 30*time.Second)

	// D12: alice cancels before bob answers.
	if _, err := alice.Call(ctx, "bob", protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{alice, bob} {
		waitFor(t, c, protocol.EventCallCancelled, func(e protocol.CallCancelledEvent) bool {
			return e.UserID == "alice" && e.Reason == protocol.CancelReasonCancel
		})
	}

	// D10: bob is in a call with alice; carol calls bob and gets line busy + cancelled.
	if _, err := alice.Call(ctx, "bob", protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
	if err := bob.Accept(ctx, 0); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallBeginEvent](t, bob, protocol.EventCallBegin, nil)
	invitations := bob.EventCount(protocol.EventCallReceived)
	if _, err := carol.Call(ctx, "bob", protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, carol, protocol.EventUserLineBusy, func(e protocol.UserEvent) bool { return e.UserID == "bob" })
	waitFor(t, carol, protocol.EventCallCancelled, func(e protocol.CallCancelledEvent) bool { return e.UserID == "carol" })
	time.Sleep(100 * time.Millisecond)
	if n := bob.EventCount(protocol.EventCallReceived); n != invitations {
		t.Fatalf("busy bob received carol's invitation (%d invitations, want %d)", n, invitations)
	}
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallEndEvent](t, bob, protocol.EventCallEnd, nil)

	// D11: carol calls bob, bob ignores: carol hears line busy, bob is cancelled (ignore).
	if _, err := carol.Call(ctx, "bob", protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
	if err := bob.Ignore(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, carol, protocol.EventUserLineBusy, func(e protocol.UserEvent) bool { return e.UserID == "bob" })
	waitFor(t, bob, protocol.EventCallCancelled, func(e protocol.CallCancelledEvent) bool {
		return e.UserID == "bob" && e.Reason == protocol.CancelReasonIgnore
	})
}

// TestMediaTypeSwitchAndVoiceAnswer covers D18.
func TestMediaTypeSwitchAndVoiceAnswer(t *testing.T) { mediaTypeSwitchAndVoiceAnswer(t, newStack) }
func TestClusterMediaTypeSwitchAndVoiceAnswer(t *testing.T) {
	mediaTypeSwitchAndVoiceAnswer(t, newClusterStack)
}

func mediaTypeSwitchAndVoiceAnswer(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	ctx := ctxT(t, 30*time.Second)
	if _, err := alice.Call(ctx, "bob", protocol.MediaTypeVideo, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
	if err := bob.Accept(ctx, protocol.MediaTypeAudio); err != nil { // voice answer
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{alice, bob} {
		waitFor(t, c, protocol.EventCallMediaTypeChanged, func(e protocol.CallMediaTypeChangedEvent) bool {
			return e.OldMediaType == protocol.MediaTypeVideo && e.NewMediaType == protocol.MediaTypeAudio
		})
	}
	if err := alice.SwitchCallMediaType(ctx, protocol.MediaTypeVideo); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{alice, bob} {
		waitFor(t, c, protocol.EventCallMediaTypeChanged, func(e protocol.CallMediaTypeChangedEvent) bool {
			return e.NewMediaType == protocol.MediaTypeVideo
		})
	}
}

// TestKickAndMultiDevice covers D4.
func TestKickAndMultiDevice(t *testing.T)        { kickAndMultiDevice(t, newStack) }
func TestClusterKickAndMultiDevice(t *testing.T) { kickAndMultiDevice(t, newClusterStack) }

func kickAndMultiDevice(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 30*time.Second)
	first := st.login(t, "alice")
	second := st.login(t, "alice") // multi-device off: kicks the first
	waitFor[protocol.KickedOfflineEvent](t, first, protocol.EventKickedOffline, nil)
	select {
	case <-first.Done():
	case <-ctx.Done():
		t.Fatal("kicked session's socket stayed open")
	}
	if err := second.EnableMultiDeviceAbility(ctx, true); err != nil {
		t.Fatal(err)
	}
	third := st.login(t, "alice") // multi-device on: both stay
	bob := st.login(t, "bob")
	if _, err := bob.Call(ctx, "alice", protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, second, protocol.EventCallReceived, nil)
	waitFor[protocol.CallReceivedEvent](t, third, protocol.EventCallReceived, nil)
	if err := third.Accept(ctx, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, second, protocol.EventCallCancelled, func(e protocol.CallCancelledEvent) bool {
		return e.UserID == "alice" && e.Reason == protocol.CancelReasonAnsweredElsewhere
	})
	waitFor[protocol.CallBeginEvent](t, third, protocol.EventCallBegin, nil)
	waitFor[protocol.CallBeginEvent](t, bob, protocol.EventCallBegin, nil)
	if err := second.Accept(ctx, 0); err == nil {
		t.Fatal("the losing device could still accept")
	}
}

// TestOfflineInviteeGetsInvitationOnLogin covers D9.
func TestOfflineInviteeGetsInvitationOnLogin(t *testing.T) {
	offlineInviteeGetsInvitationOnLogin(t, newStack)
}
func TestClusterOfflineInviteeGetsInvitationOnLogin(t *testing.T) {
	offlineInviteeGetsInvitationOnLogin(t, newClusterStack)
}

func offlineInviteeGetsInvitationOnLogin(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 30*time.Second)
	alice := st.login(t, "alice")
	started, err := alice.Call(ctx, "bob", protocol.MediaTypeAudio, protocol.CallParams{Timeout: 60})
	if err != nil {
		t.Fatal(err)
	}
	bob := st.login(t, "bob")
	inv := waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
	if inv.CallID != started.CallID || inv.Timeout <= 0 || inv.Timeout > 60 {
		t.Fatalf("late invitation %+v", inv)
	}
}

// audioCallBegun has caller call callee (audio), callee accept, and waits until the
// call began for caller.
func audioCallBegun(t *testing.T, ctx context.Context, caller, callee *client.Conn) {
	t.Helper()
	if _, err := caller.Call(ctx, callee.UserID(), protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, callee, protocol.EventCallReceived, nil)
	if err := callee.Accept(ctx, 0); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallBeginEvent](t, caller, protocol.EventCallBegin, nil)
}

// TestResumeKeepsTheCall: a dropped socket resumes within the grace period with its
// resumeToken; the call goes on and events sent meanwhile are delivered.
func TestResumeKeepsTheCall(t *testing.T)        { resumeKeepsTheCall(t, newStack) }
func TestClusterResumeKeepsTheCall(t *testing.T) { resumeKeepsTheCall(t, newClusterStack) }

func resumeKeepsTheCall(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 30*time.Second)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	login, _ := bob.LoginResult()
	audioCallBegun(t, ctx, alice, bob)
	_ = bob.Close() // the socket drops

	if err := alice.SwitchCallMediaType(ctx, protocol.MediaTypeVideo); err != nil {
		t.Fatal(err)
	}
	bob2 := st.dial(t)
	if _, err := bob2.Resume(ctx, protocolDevApp, "bob", sig(t, "bob", time.Hour), login.ResumeToken, bob.LastSeq()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob2, protocol.EventCallMediaTypeChanged, func(e protocol.CallMediaTypeChangedEvent) bool {
		return e.NewMediaType == protocol.MediaTypeVideo
	})
	if err := bob2.Hangup(ctx); err != nil {
		t.Fatalf("resumed session is not in the call: %v", err)
	}
	waitFor[protocol.CallEndEvent](t, alice, protocol.EventCallEnd, nil)
}

// TestResumeReplaysAfterLastSeq: a resume replays exactly the kept notifications after the
// client's lastSeq (here: the socket "lost" the last event before the drop), and nothing it
// already had; periodic reports are not replayed.
func TestResumeReplaysAfterLastSeq(t *testing.T) { resumeReplaysAfterLastSeq(t, newStack) }
func TestClusterResumeReplaysAfterLastSeq(t *testing.T) {
	resumeReplaysAfterLastSeq(t, newClusterStack)
}

func resumeReplaysAfterLastSeq(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 30*time.Second)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	login, _ := bob.LoginResult()
	audioCallBegun(t, ctx, alice, bob)
	if err := alice.SwitchCallMediaType(ctx, protocol.MediaTypeVideo); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallMediaTypeChangedEvent](t, bob, protocol.EventCallMediaTypeChanged, nil)
	switchSeq := bob.LastSeq()
	if switchSeq == 0 {
		t.Fatal("notifications carry no seq")
	}

	// bob pretends the socket lost the media type change: it resumes from the seq before.
	bob2 := st.dial(t)
	if _, err := bob2.Resume(ctx, protocolDevApp, "bob", sig(t, "bob", time.Hour), login.ResumeToken, switchSeq-1); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallMediaTypeChangedEvent](t, bob2, protocol.EventCallMediaTypeChanged, nil)
	waitFor[protocol.SdkReadyEvent](t, bob2, protocol.EventSdkReady, nil)
	for _, name := range []string{protocol.EventCallReceived, protocol.EventCallBegin} {
		if n := bob2.EventCount(name); n != 0 {
			t.Errorf("%s replayed %d times although bob had it", name, n)
		}
	}
	if bob2.LastSeq() <= switchSeq {
		t.Errorf("seq went from %d to %d: not increasing across the resume", switchSeq, bob2.LastSeq())
	}

	// A second resume that saw everything gets nothing again.
	bob3 := st.dial(t)
	if _, err := bob3.Resume(ctx, protocolDevApp, "bob", sig(t, "bob", time.Hour), login.ResumeToken, bob2.LastSeq()); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.SdkReadyEvent](t, bob3, protocol.EventSdkReady, nil)
	if n := bob3.EventCount(protocol.EventCallMediaTypeChanged); n != 0 {
		t.Errorf("onCallMediaTypeChanged replayed to a client that had it (%d)", n)
	}
	if err := bob3.Hangup(ctx); err != nil {
		t.Fatalf("resumed session is not in the call: %v", err)
	}
	waitFor[protocol.CallEndEvent](t, alice, protocol.EventCallEnd, nil)
}

// TestDisconnectEndsTheCallAfterGrace: without a resume, the call ends for the user.
func TestDisconnectEndsTheCallAfterGrace(t *testing.T) { disconnectEndsTheCallAfterGrace(t, newStack) }
func TestClusterDisconnectEndsTheCallAfterGrace(t *testing.T) {
	disconnectEndsTheCallAfterGrace(t, newClusterStack)
}

func disconnectEndsTheCallAfterGrace(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, func(c *signalingConfig) { c.Signaling.ReconnectGrace = 300 * time.Millisecond })
	ctx := ctxT(t, 30*time.Second)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	audioCallBegun(t, ctx, alice, bob)
	_ = bob.Close()
	end := waitFor[protocol.CallEndEvent](t, alice, protocol.EventCallEnd, nil)
	if end.UserID != "bob" {
		t.Fatalf("onCallEnd %+v, want ended by bob", end)
	}
}

// TestUserSigExpiryAndRelogin covers D2: onUserSigExpired, then a fresh login in the grace
// keeps the session; without it the session is closed.
func TestUserSigExpiryAndRelogin(t *testing.T)        { userSigExpiryAndRelogin(t, newStack) }
func TestClusterUserSigExpiryAndRelogin(t *testing.T) { userSigExpiryAndRelogin(t, newClusterStack) }

func userSigExpiryAndRelogin(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, func(c *signalingConfig) { c.Auth.SigExpiryGrace = shortSigGrace })
	ctx := ctxT(t, 2*time.Minute)

	short := st.dial(t)
	if _, err := short.Login(ctx, protocolDevApp, "alice", sig(t, "alice", shortSigTTL)); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.UserSigExpiredEvent](t, short, protocol.EventUserSigExpired, nil)
	if _, err := short.Login(ctx, protocolDevApp, "alice", sig(t, "alice", time.Hour)); err != nil {
		t.Fatalf("re-login in grace: %v", err)
	}
	time.Sleep(shortSigGrace + time.Second) // past the grace: the fresh userSig keeps it alive
	if _, err := short.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{}); err != nil {
		t.Fatalf("session closed despite a fresh userSig: %v", err)
	}

	lapsed := st.dial(t)
	if _, err := lapsed.Login(ctx, protocolDevApp, "bob", sig(t, "bob", shortSigTTL)); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.UserSigExpiredEvent](t, lapsed, protocol.EventUserSigExpired, nil)
	select {
	case <-lapsed.Done():
	case <-ctx.Done():
		t.Fatal("session outlived its userSig grace")
	}
}

// TestCallsEntryPoint covers D7's calls(): one callee and no chatGroupId is 1v1; a
// chatGroupId (top level or in params) makes a group call.
func TestCallsEntryPoint(t *testing.T)        { callsEntryPoint(t, newStack) }
func TestClusterCallsEntryPoint(t *testing.T) { callsEntryPoint(t, newClusterStack) }

func callsEntryPoint(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t)
	ctx := ctxT(t, 30*time.Second)
	alice, bob, carol := st.login(t, "alice"), st.login(t, "bob"), st.login(t, "carol")

	if _, err := alice.Calls(ctx, []string{"bob"}, protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	if inv := waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil); inv.Scene != protocol.SceneSingle {
		t.Fatalf("calls([bob]) scene %d, want single", inv.Scene)
	}
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallCancelledEvent](t, bob, protocol.EventCallCancelled, nil)

	err := alice.Request(ctx, protocol.MethodCalls, map[string]any{
		"userIdList": []string{"carol"}, "mediaType": 1, "chatGroupId": "team",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	inv := waitFor[protocol.CallReceivedEvent](t, carol, protocol.EventCallReceived, nil)
	if inv.Scene != protocol.SceneGroup || inv.GroupID != "team" {
		t.Fatalf("calls with a top-level chatGroupId: %+v", inv)
	}
}
