package signaling_test

// Scenario checks of 1v1 calls, busy users and late requests (QA round "qacall"). See
// spec_conformance_test.go for the tracer.

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestQACallBusyUsers checks D10 and the one-call-per-user rule of spec §5.1 for each way a
// user can be busy: dialing, ringing, or in a call on one of its devices. The caller of the
// busy user gets onUserLineBusy and onCallCancelled(reason "busy"); the busy user, on every
// session, hears nothing, and the user's idle session cannot start or join another call
// (3006).
func TestQACallBusyUsers(t *testing.T)        { qaCallBusyUsers(t, newStack) }
func TestClusterQACallBusyUsers(t *testing.T) { qaCallBusyUsers(t, newClusterStack) }

func qaCallBusyUsers(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qbu", "alice", "bob", "carol", "dave", "erin")
	alice, bob1, carol, dave, erin := us[0], us[1], us[2], us[3], us[4]
	must(t, bob1.EnableMultiDeviceAbility(ctx, true))
	bob2 := st.login(t, bob1.UserID())
	tr := newTracer(t)
	group, err := dave.GroupCall(ctx, "qbu-g", []string{erin.UserID()}, audio, protocol.CallParams{})
	must(t, err)
	accepted(t, dave, erin)
	tr.expect(dave, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin))
	tr.expect(erin, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin))

	states := []struct {
		name  string
		setup func(t *testing.T) (busy *client.Conn, done func())
	}{
		{"dialing", func(t *testing.T) (*client.Conn, func()) {
			_, err := alice.Call(ctx, carol.UserID(), video, protocol.CallParams{})
			must(t, err)
			return alice, func() { must(t, alice.Hangup(ctx)) }
		}},
		{"ringing on both devices", func(t *testing.T) (*client.Conn, func()) {
			_, err := alice.Call(ctx, bob1.UserID(), video, protocol.CallParams{})
			must(t, err)
			return bob1, func() { must(t, alice.Hangup(ctx)) }
		}},
		{"in a call on the other device", func(t *testing.T) (*client.Conn, func()) {
			_, err := alice.Call(ctx, bob1.UserID(), video, protocol.CallParams{})
			must(t, err)
			accepted(t, alice, bob1)
			return bob2, func() { must(t, alice.Hangup(ctx)) }
		}},
	}
	for _, s := range states {
		t.Run(s.name, func(t *testing.T) {
			busy, done := s.setup(t)
			for _, c := range []*client.Conn{alice, bob1, bob2, carol} {
				barrier(t, c)
				tr.seen[c] = c.LastSeq()
			}
			caller := carol
			if busy == alice { // carol rings for alice: bob calls her
				caller = bob1
			}
			started, err := caller.Call(ctx, busy.UserID(), audio, protocol.CallParams{})
			must(t, err)
			tr.expect(caller, ev(protocol.EventUserLineBusy, "callId", started.CallID, "userId", busy.UserID()),
				ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", caller.UserID(), "reason", "busy"))
			if busy == bob1 || busy == bob2 {
				tr.expect(bob1)
				tr.expect(bob2)
				// The idle session of a busy user starts and joins nothing.
				_, err = bob2.Call(ctx, dave.UserID(), audio, protocol.CallParams{})
				wantCode(t, err, protocol.CodeAlreadyInCall)
				_, err = bob2.Join(ctx, group.CallID)
				wantCode(t, err, protocol.CodeAlreadyInCall)
				_, err = bob2.JoinInGroupCall(ctx, group.RoomID, "qbu-g", audio)
				wantCode(t, err, protocol.CodeAlreadyInCall)
			} else {
				tr.expect(busy)
			}
			done()
		})
	}
	must(t, dave.Hangup(ctx))
	waitFor[protocol.CallEndEvent](t, erin, protocol.EventCallEnd, nil)
}

// TestQACallMediaSwitchRules checks D18 beyond the basics: a switch to the call's current
// type is accepted and changes nothing (no event); the dialing caller may switch, and the
// call then begins, is recorded and ends with the new type; accept with video answers an
// audio call with video.
func TestQACallMediaSwitchRules(t *testing.T)        { qaCallMediaSwitchRules(t, newStack) }
func TestClusterQACallMediaSwitchRules(t *testing.T) { qaCallMediaSwitchRules(t, newClusterStack) }

func qaCallMediaSwitchRules(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	alice, bob, tr := qaDuo(t, newStack, "qms")
	ctx := ctxT(t, 60*time.Second)
	started, err := alice.Call(ctx, bob.UserID(), video, protocol.CallParams{})
	must(t, err)
	must(t, alice.SwitchCallMediaType(ctx, video)) // the current type: nothing happens
	must(t, alice.SwitchCallMediaType(ctx, audio))
	tr.expect(alice, ev(protocol.EventCallMediaTypeChanged, "callId", started.CallID, "oldMediaType", 2, "newMediaType", 1))
	tr.expect(bob, ev(protocol.EventCallReceived, "mediaType", 2),
		ev(protocol.EventCallMediaTypeChanged, "callId", started.CallID, "oldMediaType", 2, "newMediaType", 1))
	must(t, bob.Accept(ctx, 0))
	tr.expect(bob, ev(protocol.EventCallBegin, "mediaType", 1, "role", 2))
	tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin, "mediaType", 1, "role", 1))
	must(t, bob.SwitchCallMediaType(ctx, audio))
	tr.expect(alice)
	tr.expect(bob)
	must(t, bob.Hangup(ctx))
	tr.expect(alice, ev(protocol.EventCallEnd, "mediaType", 1))
	tr.expect(bob, ev(protocol.EventCallEnd, "mediaType", 1))
	recs, err := alice.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
	must(t, err)
	if len(recs.Records) != 1 || recs.Records[0].MediaType != audio {
		t.Fatalf("alice's records %+v, want the call as audio", recs.Records)
	}

	started, err = alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
	must(t, err)
	must(t, bob.Accept(ctx, video))
	changed := ev(protocol.EventCallMediaTypeChanged, "callId", started.CallID, "oldMediaType", 1, "newMediaType", 2)
	tr.expect(bob, ev(protocol.EventCallReceived, "mediaType", 1), changed, ev(protocol.EventCallBegin, "mediaType", 2))
	tr.expect(alice, ev(protocol.EventUserAccept), changed, ev(protocol.EventCallBegin, "mediaType", 2))
	must(t, alice.Hangup(ctx))
}

// TestQACallLateRequests checks what a request gets once its moment passed, as a slow UI
// sends them: hangup twice, reject and accept after a cancel, ignore after an accept,
// switch after the end, all with the documented codes and no events to anyone.
func TestQACallLateRequests(t *testing.T)        { qaCallLateRequests(t, newStack) }
func TestClusterQACallLateRequests(t *testing.T) { qaCallLateRequests(t, newClusterStack) }

func qaCallLateRequests(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	alice, bob, tr := qaDuo(t, newStack, "qlr")
	ctx := ctxT(t, 60*time.Second)
	_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
	must(t, err)
	must(t, alice.Hangup(ctx))
	wantCode(t, alice.Hangup(ctx), protocol.CodeNotInCall)
	wantCode(t, bob.Reject(ctx), protocol.CodeNoCallRinging)
	wantCode(t, bob.Accept(ctx, 0), protocol.CodeNoCallRinging)
	wantCode(t, bob.Ignore(ctx), protocol.CodeNoCallRinging)
	tr.expect(alice, ev(protocol.EventCallCancelled, "reason", "cancel"))
	tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallCancelled, "userId", alice.UserID(), "reason", "cancel"))

	_, err = alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
	must(t, err)
	accepted(t, alice, bob)
	wantCode(t, bob.Ignore(ctx), protocol.CodeNoCallRinging)
	wantCode(t, bob.Reject(ctx), protocol.CodeNoCallRinging)
	wantCode(t, bob.Accept(ctx, 0), protocol.CodeNoCallRinging)
	wantCode(t, alice.Accept(ctx, 0), protocol.CodeNoCallRinging)
	must(t, bob.Hangup(ctx))
	wantCode(t, bob.Hangup(ctx), protocol.CodeNotInCall)
	wantCode(t, alice.Hangup(ctx), protocol.CodeNotInCall)
	wantCode(t, alice.SwitchCallMediaType(ctx, video), protocol.CodeNotInCall)
	tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin), ev(protocol.EventCallEnd, "userId", bob.UserID()))
	tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin), ev(protocol.EventCallEnd, "userId", bob.UserID()))
}

// qaDuo starts a stack with the users prefix+"alice" and prefix+"bob" and a tracer.
func qaDuo(t *testing.T, newStack func(testing.TB, ...stackOption) *stack, prefix string) (alice, bob *client.Conn, tr *tracer) {
	t.Helper()
	us := newStack(t, manyInvitations).users(t, prefix, "alice", "bob")
	return us[0], us[1], newTracer(t)
}

// TestQACallLostSocketIsOffline checks D9 for an invitee whose only session lost its socket
// and waits for a resume (a phone that went to the background): the user is not online, so
// the invitation is reported to the invitee-offline hook (an app server pushes it) as well
// as kept for the resume, which then delivers it. An invitee with another session online
// is not reported.
func TestQACallLostSocketIsOffline(t *testing.T) { qaCallLostSocketIsOffline(t, newStack) }
func TestClusterQACallLostSocketIsOffline(t *testing.T) {
	qaCallLostSocketIsOffline(t, newClusterStack)
}

func qaCallLostSocketIsOffline(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qlo", "alice", "bob", "carol")
	alice, bob, carol := us[0], us[1], us[2]
	tr := newTracer(t)
	must(t, carol.EnableMultiDeviceAbility(ctx, true))
	carol2 := st.login(t, carol.UserID())
	for _, c := range []*client.Conn{bob, carol} {
		c.Abort()
	}
	testwait.For(t, 10*time.Second, "the server to see both sockets lost", func() bool { return st.detachedSessions() == 2 })

	started, err := alice.GroupCall(ctx, "qlo-g", []string{bob.UserID(), carol.UserID()}, audio, protocol.CallParams{})
	must(t, err)
	if !st.offlineReported(started.CallID, bob.UserID()) {
		t.Fatalf("no invitee-offline report for %s, whose only session lost its socket", bob.UserID())
	}
	if st.offlineReported(started.CallID, carol.UserID()) {
		t.Fatalf("invitee-offline report for %s, who has a session online", carol.UserID())
	}
	tr.expect(carol2, ev(protocol.EventCallReceived, "callId", started.CallID))

	bob2 := resumeSession(ctx, t, st, bob)
	tr.expect(bob2, ev(protocol.EventCallReceived, "callId", started.CallID))
	must(t, bob2.Accept(ctx, 0))
	must(t, alice.Hangup(ctx))
	must(t, bob2.Hangup(ctx))
	tr.expect(carol2, ev(protocol.EventUserAccept, "userId", bob.UserID()))
}

// detachedSessions sums the sessions waiting for a resume over st's nodes.
func (st *stack) detachedSessions() int { return st.detachedSessionsOf("") }

// detachedSessionsOf is detachedSessions of one user ("": of everyone) over st's nodes.
func (st *stack) detachedSessionsOf(userID string) int {
	n := 0
	for _, node := range st.all() {
		n += node.service.DetachedSessionsOf(userID)
	}
	return n
}

// offlineReported reports whether a node of st reported invitee offline in callID (D9).
func (st *stack) offlineReported(callID, invitee string) bool {
	return st.offlineReports(callID, invitee) > 0
}

// offlineReports counts the reports of invitee offline in callID over st's nodes.
func (st *stack) offlineReports(callID, invitee string) int {
	n := 0
	for _, node := range st.all() {
		n += node.offline.reports(callID, invitee)
	}
	return n
}

// TestQACallSigGraceEndsTheRinging checks D28 for the way the spec-conformance tests of
// leaving do not take: a userSig that expired and was not renewed within
// auth.sig_expiry_grace (D2). A dialing caller's call is cancelled for its invitee, a
// ringing invitee's is rejected for its caller, each with reason "disconnect"; the leaving
// session hears its own end and closes with 4003.
func TestQACallSigGraceEndsTheRinging(t *testing.T) {
	st := newStack(t, manyInvitations, func(c *signalingConfig) { c.Auth.SigExpiryGrace = shortSigGrace })
	ctx := ctxT(t, 60*time.Second)
	short := func(userID string) *client.Conn {
		c := st.dial(t)
		_, err := c.Login(ctx, protocolDevApp, userID, sig(t, userID, shortSigTTL))
		must(t, err)
		return c
	}
	alice, dave := short("qsgalice"), short("qsgdave")
	us := st.users(t, "qsg", "bob", "carol")
	bob, carol := us[0], us[1]
	tr := newTracer(t)
	dialed, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{Timeout: protocol.MaxCallTimeout})
	must(t, err)
	rang, err := carol.Call(ctx, dave.UserID(), video, protocol.CallParams{Timeout: protocol.MaxCallTimeout})
	must(t, err)
	tr.expect(bob, ev(protocol.EventCallReceived, "callId", dialed.CallID))
	for _, c := range []*client.Conn{alice, dave} {
		closedWith(ctx, t, c, 4003)
	}
	tr.check(alice, ev(protocol.EventCallCancelled, "callId", dialed.CallID, "userId", alice.UserID(), "reason", "disconnect", "role", 1))
	tr.expect(bob, ev(protocol.EventCallCancelled, "callId", dialed.CallID, "userId", alice.UserID(), "reason", "disconnect", "role", 2))
	tr.check(dave, ev(protocol.EventCallReceived, "callId", rang.CallID),
		ev(protocol.EventCallCancelled, "callId", rang.CallID, "userId", dave.UserID(), "reason", "disconnect", "role", 2))
	tr.expect(carol, ev(protocol.EventUserReject, "callId", rang.CallID, "userId", dave.UserID()),
		ev(protocol.EventCallCancelled, "callId", rang.CallID, "userId", carol.UserID(), "reason", "disconnect", "role", 1))
}
