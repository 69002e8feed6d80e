package signaling_test

// Black-box conformance checks of what happens when two requests cross: two answers at
// once, a hangup during an accept, an invitation during the end, an answer at the ringing
// deadline. Whichever request the server takes first, every party must see one consistent
// story made of the events of D8–D17 (no mix of both outcomes, nothing twice). See
// spec_conformance_test.go for the tracer.

import (
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// raceRounds is how often each race is run: the order the server takes the two requests
// in changes from round to round.
const raceRounds = 4

// together runs the functions at once and returns their errors in order.
func together(fns ...func() error) []error {
	errs := make([]error, len(fns))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn()
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWins checks that of two crossing requests of a and b (errs in that order) exactly one
// succeeded and the other failed with code, and returns the winner first.
func oneWins(t *testing.T, errs []error, a, b *client.Conn, code int) (won, lost *client.Conn) {
	t.Helper()
	switch {
	case codeOf(errs[0]) == 0 && codeOf(errs[1]) == code:
		return a, b
	case codeOf(errs[1]) == 0 && codeOf(errs[0]) == code:
		return b, a
	}
	t.Fatalf("%s answered %v, %s %v: want one success and one %d", a.UserID(), errs[0], b.UserID(), errs[1], code)
	return nil, nil
}

// codeOf returns err's protocol error code, 0 for nil and -1 for another error.
func codeOf(err error) int {
	if err == nil {
		return 0
	}
	if p, ok := protocolError(err); ok {
		return p.Code
	}
	return -1
}

// ringingCall logs in prefix+"alice" and prefix+"bob", has alice call bob with params
// and checks bob's invitation.
func ringingCall(t *testing.T, st *stack, prefix string, media protocol.MediaType, params protocol.CallParams) (alice, bob *client.Conn, tr *tracer, started protocol.CallStartResult) {
	t.Helper()
	us := st.users(t, prefix, "alice", "bob")
	alice, bob = us[0], us[1]
	tr = newTracer(t)
	started, err := alice.Call(ctxT(t, 10*time.Second), bob.UserID(), media, params)
	must(t, err)
	tr.expect(bob, ev(protocol.EventCallReceived, "callId", started.CallID, "callerId", alice.UserID(), "mediaType", int(media)))
	return alice, bob, tr, started
}

// TestSpecDeadlineEndsTheRinging checks D8 at the deadline itself: an invitation rings for
// exactly its timeout. A request that reaches the server once the timeout has run out
// finds the invitation gone, even when the server's timer has not fired yet (a busy
// machine runs it late): the answer fails with 3002 (the caller's hangup with 3003), and
// everyone gets the no-response events of the timeout, never an accept.
func TestSpecDeadlineEndsTheRinging(t *testing.T) { specDeadlineEndsTheRinging(t, newStack) }
func TestClusterSpecDeadlineEndsTheRinging(t *testing.T) {
	specDeadlineEndsTheRinging(t, newClusterStack)
}

func specDeadlineEndsTheRinging(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	tests := []struct {
		name string
		act  func(caller, callee *client.Conn, callID string) error
		code int
	}{
		{"accept", func(_, callee *client.Conn, _ string) error { return callee.Accept(ctx, 0) }, protocol.CodeNoCallRinging},
		{"voice answer", func(_, callee *client.Conn, _ string) error { return callee.Accept(ctx, audio) }, protocol.CodeNoCallRinging},
		{"reject", func(_, callee *client.Conn, _ string) error { return callee.Reject(ctx) }, protocol.CodeNoCallRinging},
		{"ignore", func(_, callee *client.Conn, _ string) error { return callee.Ignore(ctx) }, protocol.CodeNoCallRinging},
		{"the callee's hangup", func(_, callee *client.Conn, _ string) error { return callee.Hangup(ctx) }, protocol.CodeNotInCall},
		{"the caller's hangup", func(caller, _ *client.Conn, _ string) error { return caller.Hangup(ctx) }, protocol.CodeNotInCall},
		{"a switch of the media", func(caller, _ *client.Conn, _ string) error { return caller.SwitchCallMediaType(ctx, audio) }, protocol.CodeNotInCall},
		{"media ready before the answer", func(_, callee *client.Conn, callID string) error {
			_, err := callee.PrepareCall(ctx, callID)
			return err
		}, protocol.CodeNoSuchCall},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alice, bob, tr, started := ringingCall(t, st, "dl"+itoa(i), video, protocol.CallParams{Timeout: 10})
			st.clock.Advance(10 * time.Second) // the server's timer is still 10 real seconds away
			wantCode(t, tc.act(alice, bob, started.CallID), tc.code)
			tr.expect(alice, ev(protocol.EventUserNoResponse, "callId", started.CallID, "userId", bob.UserID()),
				ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", alice.UserID(), "reason", "timeout", "role", 1, "mediaType", 2))
			tr.expect(bob, ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob.UserID(), "reason", "timeout", "role", 2, "mediaType", 2))
		})
	}

	t.Run("an invitee of a group call answers late, the call goes on", func(t *testing.T) {
		us := st.users(t, "dlg", "alice", "bob", "carol")
		alice, bob, carol := us[0], us[1], us[2]
		tr := newTracer(t)
		started, err := alice.GroupCall(ctx, "dlg", []string{bob.UserID()}, audio, protocol.CallParams{})
		must(t, err)
		accepted(t, alice, bob)
		_, err = bob.InviteUser(ctx, []string{carol.UserID()}, protocol.CallParams{Timeout: 10})
		must(t, err)
		tr.expect(carol, ev(protocol.EventCallReceived, "callId", started.CallID, "timeout", 10))
		tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin), ev(protocol.EventGroupCallInviteeListUpdate))
		tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin), ev(protocol.EventGroupCallInviteeListUpdate))
		st.clock.Advance(10 * time.Second)
		wantCode(t, carol.Accept(ctx, 0), protocol.CodeNoCallRinging)
		tr.expect(carol, ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", carol.UserID(), "reason", "timeout"))
		for _, c := range []*client.Conn{alice, bob} {
			tr.expect(c, ev(protocol.EventUserNoResponse, "callId", started.CallID, "userId", carol.UserID()))
		}
		must(t, alice.Hangup(ctx))
		tr.expect(bob, ev(protocol.EventCallEnd, "callId", started.CallID, "userId", alice.UserID()))
	})

	t.Run("an invitee logging in at the deadline is not invited", func(t *testing.T) {
		alice := st.login(t, "dlo_alice")
		tr := newTracer(t)
		_, err := alice.Call(ctx, "dlo_bob", audio, protocol.CallParams{Timeout: 10})
		must(t, err)
		st.clock.Advance(10 * time.Second)
		bob := st.login(t, "dlo_bob")
		tr.expect(bob)
		tr.expect(alice, ev(protocol.EventUserNoResponse, "userId", "dlo_bob"), ev(protocol.EventCallCancelled, "reason", "timeout"))
		if _, err := bob.Call(ctx, alice.UserID(), audio, protocol.CallParams{}); err != nil {
			t.Fatalf("the invitee is still taken by the expired invitation: %v", err)
		}
		must(t, bob.Hangup(ctx))
	})
}

// TestSpecRaces runs two requests at once, in each of the ways two parties of a call can
// cross, and checks that each party's events tell the outcome the request results say.
func TestSpecRaces(t *testing.T)        { specRaces(t, newStack) }
func TestClusterSpecRaces(t *testing.T) { specRaces(t, newClusterStack) }

func specRaces(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 120*time.Second)

	t.Run("D4 two sessions of the callee accept at once", func(t *testing.T) {
		for round := range raceRounds {
			alice, bob1, bob2, tr, started := callMultiDevice(ctx, t, st, "ra"+itoa(round), audio)
			tr.expect(bob1, ev(protocol.EventCallReceived, "callId", started.CallID))
			tr.expect(bob2, ev(protocol.EventCallReceived, "callId", started.CallID))
			errs := together(func() error { return bob1.Accept(ctx, 0) }, func() error { return bob2.Accept(ctx, 0) })
			winner, loser := oneWins(t, errs, bob1, bob2, protocol.CodeNoCallRinging)
			tr.expect(winner, ev(protocol.EventCallBegin, "callId", started.CallID, "role", 2))
			tr.expect(loser, ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob1.UserID(), "reason", "answeredElsewhere"))
			tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob1.UserID()), ev(protocol.EventCallBegin, "callId", started.CallID, "role", 1))
			wantCode(t, loser.Hangup(ctx), protocol.CodeNotInCall)
			must(t, winner.Hangup(ctx))
			tr.expect(alice, ev(protocol.EventCallEnd, "userId", bob1.UserID()))
			tr.expect(loser)
		}
	})

	t.Run("D14 two invitees of a group call accept at once", func(t *testing.T) {
		for round := range raceRounds {
			us := st.users(t, "rg"+itoa(round), "alice", "bob", "carol")
			alice, bob, carol := us[0], us[1], us[2]
			started, err := alice.GroupCall(ctx, "rg", []string{bob.UserID(), carol.UserID()}, video, protocol.CallParams{})
			must(t, err)
			for _, c := range []*client.Conn{bob, carol} {
				waitFor[protocol.CallReceivedEvent](t, c, protocol.EventCallReceived, nil)
			}
			errs := together(func() error { return bob.Accept(ctx, 0) }, func() error { return carol.Accept(ctx, 0) })
			must(t, errs[0])
			must(t, errs[1])
			for _, c := range us {
				barrier(t, c)
			}
			counts := func(c *client.Conn) map[string]int {
				n := map[string]int{}
				for _, e := range c.Events() {
					if callEventNames[e.Name] {
						n[e.Name]++
					}
				}
				return n
			}
			if n := counts(alice); n[protocol.EventCallBegin] != 1 || n[protocol.EventUserAccept] != 2 || len(n) != 2 {
				t.Fatalf("round %d: the caller's call events %v, want one onCallBegin and two onUserAccept", round, n)
			}
			for _, c := range []*client.Conn{bob, carol} {
				if n := counts(c); n[protocol.EventCallReceived] != 1 || n[protocol.EventCallBegin] != 1 || n[protocol.EventUserAccept] != 1 || len(n) != 3 {
					t.Fatalf("round %d: %s's call events %v, want the invitation, one onCallBegin and the other's onUserAccept", round, c.UserID(), n)
				}
			}
			begin := waitFor[protocol.CallBeginEvent](t, alice, protocol.EventCallBegin, nil)
			if begin.CallID != started.CallID || begin.Role != protocol.RoleCaller {
				t.Fatalf("round %d: caller's onCallBegin %+v", round, begin)
			}
			must(t, alice.Hangup(ctx))
			must(t, bob.Hangup(ctx))
			waitFor[protocol.CallEndEvent](t, carol, protocol.EventCallEnd, nil)
		}
	})

	t.Run("D12 D14 the caller hangs up while the callee accepts", func(t *testing.T) {
		for round := range raceRounds {
			alice, bob, tr, started := ringingCall(t, st, "rh"+itoa(round), audio, protocol.CallParams{})
			errs := together(func() error { return bob.Accept(ctx, 0) }, func() error { return alice.Hangup(ctx) })
			id := started.CallID
			switch accept, hangup := codeOf(errs[0]), codeOf(errs[1]); {
			case accept == 0 && hangup == 0: // accepted, then hung up
				tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob.UserID()), ev(protocol.EventCallBegin, "callId", id),
					ev(protocol.EventCallEnd, "callId", id, "userId", alice.UserID(), "role", 1))
				tr.expect(bob, ev(protocol.EventCallBegin, "callId", id), ev(protocol.EventCallEnd, "callId", id, "userId", alice.UserID(), "role", 2))
			case accept == protocol.CodeNoCallRinging && hangup == 0: // cancelled first
				tr.expect(alice, ev(protocol.EventCallCancelled, "callId", id, "userId", alice.UserID(), "reason", "cancel"))
				tr.expect(bob, ev(protocol.EventCallCancelled, "callId", id, "userId", alice.UserID(), "reason", "cancel"))
			default:
				t.Fatalf("round %d: accept answered %v, hangup %v", round, errs[0], errs[1])
			}
			wantCode(t, alice.Hangup(ctx), protocol.CodeNotInCall)
			wantCode(t, bob.Hangup(ctx), protocol.CodeNotInCall)
		}
	})

	t.Run("D12 D13 the callee rejects while the caller hangs up", func(t *testing.T) {
		for round := range raceRounds {
			alice, bob, tr, started := ringingCall(t, st, "rr"+itoa(round), audio, protocol.CallParams{})
			errs := together(func() error { return bob.Reject(ctx) }, func() error { return alice.Hangup(ctx) })
			id := started.CallID
			switch reject, hangup := codeOf(errs[0]), codeOf(errs[1]); {
			case reject == 0 && hangup == protocol.CodeNotInCall:
				tr.expect(alice, ev(protocol.EventUserReject, "userId", bob.UserID()),
					ev(protocol.EventCallCancelled, "callId", id, "userId", alice.UserID(), "reason", "reject"))
				tr.expect(bob, ev(protocol.EventCallCancelled, "callId", id, "userId", bob.UserID(), "reason", "reject"))
			case reject == protocol.CodeNoCallRinging && hangup == 0:
				tr.expect(alice, ev(protocol.EventCallCancelled, "callId", id, "userId", alice.UserID(), "reason", "cancel"))
				tr.expect(bob, ev(protocol.EventCallCancelled, "callId", id, "userId", alice.UserID(), "reason", "cancel"))
			default:
				t.Fatalf("round %d: reject answered %v, hangup %v", round, errs[0], errs[1])
			}
		}
	})

	t.Run("D16 D17 an invitation while the other side hangs up", func(t *testing.T) {
		for round := range raceRounds {
			us := st.users(t, "ri"+itoa(round), "alice", "bob", "carol")
			alice, bob, carol := us[0], us[1], us[2]
			tr := newTracer(t)
			started, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
			must(t, err)
			accepted(t, alice, bob)
			tr.expect(alice, ev(protocol.EventUserAccept), ev(protocol.EventCallBegin))
			tr.expect(bob, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin))
			var invited protocol.InviteUserResult
			errs := together(func() error {
				var err error
				invited, err = bob.InviteUser(ctx, []string{carol.UserID()}, protocol.CallParams{})
				return err
			}, func() error { return alice.Hangup(ctx) })
			id := started.CallID
			must(t, errs[1])
			switch codeOf(errs[0]) {
			case 0: // invited into the call first: a group call now, bob waits for carol
				if len(invited.UserIDList) != 1 {
					t.Fatalf("round %d: invited %v", round, invited.UserIDList)
				}
				update := ev(protocol.EventGroupCallInviteeListUpdate, "callId", id, "userIdList", []string{carol.UserID()})
				tr.expect(alice, update, ev(protocol.EventCallEnd, "callId", id, "userId", alice.UserID()))
				tr.expect(bob, update)
				tr.expect(carol, ev(protocol.EventCallReceived, "callId", id, "callerId", bob.UserID(), "scene", 0))
				must(t, bob.Hangup(ctx))
				tr.expect(bob, ev(protocol.EventCallEnd, "callId", id, "userId", bob.UserID()))
				tr.expect(carol) // still ringing in the emptied group call (D216)
				must(t, carol.Reject(ctx))
				tr.expect(carol, ev(protocol.EventCallCancelled, "callId", id, "userId", carol.UserID(), "reason", "reject"))
			case protocol.CodeNotInCall: // the call had ended
				tr.expect(alice, ev(protocol.EventCallEnd, "callId", id, "userId", alice.UserID()))
				tr.expect(bob, ev(protocol.EventCallEnd, "callId", id, "userId", alice.UserID()))
				tr.expect(carol)
			default:
				t.Fatalf("round %d: inviteUser answered %v", round, errs[0])
			}
			wantCode(t, bob.Hangup(ctx), protocol.CodeNotInCall)
			wantCode(t, carol.Accept(ctx, 0), protocol.CodeNoCallRinging)
		}
	})

	t.Run("D10 two callers ring one user at once", func(t *testing.T) {
		for round := range raceRounds {
			us := st.users(t, "rb"+itoa(round), "alice", "bob", "carol")
			alice, bob, carol := us[0], us[1], us[2]
			tr := newTracer(t)
			results := make([]protocol.CallStartResult, 2)
			errs := together(func() error {
				var err error
				results[0], err = alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
				return err
			}, func() error {
				var err error
				results[1], err = carol.Call(ctx, bob.UserID(), video, protocol.CallParams{})
				return err
			})
			must(t, errs[0])
			must(t, errs[1])
			barrier(t, bob)
			got := waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
			ringing, busy := alice, carol
			if got.CallID == results[1].CallID {
				ringing, busy = carol, alice
			}
			busyID := results[0].CallID
			if busy == carol {
				busyID = results[1].CallID
			}
			tr.expect(bob, ev(protocol.EventCallReceived, "callerId", ringing.UserID()))
			tr.expect(busy, ev(protocol.EventUserLineBusy, "callId", busyID, "userId", bob.UserID()),
				ev(protocol.EventCallCancelled, "callId", busyID, "userId", busy.UserID(), "reason", "busy"))
			tr.expect(ringing)
			must(t, ringing.Hangup(ctx))
		}
	})

	t.Run("D4 one session accepts while the other rejects", func(t *testing.T) {
		for round := range raceRounds {
			alice, bob1, bob2, tr, started := callMultiDevice(ctx, t, st, "mc"+itoa(round), video)
			tr.expect(bob1, ev(protocol.EventCallReceived))
			tr.expect(bob2, ev(protocol.EventCallReceived))
			errs := together(func() error { return bob1.Accept(ctx, 0) }, func() error { return bob2.Reject(ctx) })
			id, bob := started.CallID, bob1.UserID()
			switch accept, reject := codeOf(errs[0]), codeOf(errs[1]); {
			case accept == 0 && reject == protocol.CodeNoCallRinging:
				tr.expect(bob1, ev(protocol.EventCallBegin, "callId", id))
				tr.expect(bob2, ev(protocol.EventCallCancelled, "callId", id, "userId", bob, "reason", "answeredElsewhere"))
				tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob), ev(protocol.EventCallBegin, "callId", id))
				must(t, alice.Hangup(ctx))
			case accept == protocol.CodeNoCallRinging && reject == 0:
				tr.expect(bob1, ev(protocol.EventCallCancelled, "callId", id, "userId", bob, "reason", "rejectedElsewhere"))
				tr.expect(bob2, ev(protocol.EventCallCancelled, "callId", id, "userId", bob, "reason", "reject"))
				tr.expect(alice, ev(protocol.EventUserReject, "userId", bob), ev(protocol.EventCallCancelled, "callId", id, "reason", "reject"))
			default:
				t.Fatalf("round %d: accept answered %v, reject %v", round, errs[0], errs[1])
			}
		}
	})

	t.Run("two users call each other at once", func(t *testing.T) {
		for round := range raceRounds {
			us := st.users(t, "rx"+itoa(round), "alice", "bob")
			alice, bob := us[0], us[1]
			tr := newTracer(t)
			errs := together(func() error {
				_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
				return err
			}, func() error {
				_, err := bob.Call(ctx, alice.UserID(), audio, protocol.CallParams{})
				return err
			})
			// The second request finds its caller ringing: a user is in one call at a time.
			caller, callee := oneWins(t, errs, alice, bob, protocol.CodeAlreadyInCall)
			tr.expect(callee, ev(protocol.EventCallReceived, "callerId", caller.UserID()))
			tr.expect(caller)
			accepted(t, caller, callee)
			must(t, callee.Hangup(ctx))
		}
	})
}

// TestSpecRingingTimerRacesAnAnswer checks D8 and D215 with the real timer: an accept sent
// around the moment the ringing time runs out either begins the call or fails with 3002
// after the timeout's events, never both and never neither.
func TestSpecRingingTimerRacesAnAnswer(t *testing.T) {
	const ring = 300 * time.Millisecond
	st := newStack(t, manyInvitations, func(c *signalingConfig) { c.Call.DefaultTimeout = ring })
	ctx := ctxT(t, 60*time.Second)
	for round := range 2 * raceRounds {
		alice, bob, tr, started := ringingCall(t, st, "rt"+itoa(round), audio, protocol.CallParams{})
		time.Sleep(ring - 40*time.Millisecond + time.Duration(round)*10*time.Millisecond)
		switch err := bob.Accept(ctx, 0); codeOf(err) {
		case 0:
			tr.expect(alice, ev(protocol.EventUserAccept, "userId", bob.UserID()), ev(protocol.EventCallBegin, "callId", started.CallID))
			tr.expect(bob, ev(protocol.EventCallBegin, "callId", started.CallID))
			must(t, bob.Hangup(ctx))
		case protocol.CodeNoCallRinging:
			tr.expect(bob, ev(protocol.EventCallCancelled, "callId", started.CallID, "userId", bob.UserID(), "reason", "timeout"))
			tr.expect(alice, ev(protocol.EventUserNoResponse, "userId", bob.UserID()),
				ev(protocol.EventCallCancelled, "callId", started.CallID, "reason", "timeout"))
		default:
			t.Fatalf("round %d: accept at the deadline: %v", round, err)
		}
	}
}

// TestSpecMultiDeviceCombinations checks D4 where a multi-device user's sessions act at
// once or one of them is in a call: the user is in one call at a time and never twice in
// its room, and its sessions' crossing answers give one outcome.
func TestSpecMultiDeviceCombinations(t *testing.T) { specMultiDeviceCombinations(t, newStack) }
func TestClusterSpecMultiDeviceCombinations(t *testing.T) {
	specMultiDeviceCombinations(t, newClusterStack)
}

func specMultiDeviceCombinations(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)

	t.Run("the other session of a user in a call", func(t *testing.T) {
		alice, bob1, bob2, tr, started := callMultiDevice(ctx, t, st, "mcx", audio)
		carol := st.login(t, "mcxcarol")
		accepted(t, alice, bob1)
		tr.expect(bob2, ev(protocol.EventCallReceived), ev(protocol.EventCallCancelled, "reason", "answeredElsewhere"))
		// Never twice in one room, never in two calls.
		wantCode(t, bob2.JoinRoom(ctx, started.RoomID), protocol.CodeAlreadyInRoom)
		_, err := bob2.Call(ctx, carol.UserID(), audio, protocol.CallParams{})
		wantCode(t, err, protocol.CodeAlreadyInCall)
		_, err = bob2.Join(ctx, started.CallID)
		wantCode(t, err, protocol.CodeNoSuchCall) // a 1v1 call is not joined
		// The user is busy for everyone (D10): carol hears line busy, no session of bob rings.
		busy, err := carol.Call(ctx, bob1.UserID(), video, protocol.CallParams{})
		must(t, err)
		tr.expect(carol, ev(protocol.EventUserLineBusy, "callId", busy.CallID, "userId", bob1.UserID()),
			ev(protocol.EventCallCancelled, "callId", busy.CallID, "userId", carol.UserID(), "reason", "busy"))
		tr.expect(bob1, ev(protocol.EventCallReceived), ev(protocol.EventCallBegin))
		tr.expect(bob2)
		tr.expect(carol)
		must(t, alice.Hangup(ctx))
		tr.expect(bob1, ev(protocol.EventCallEnd, "callId", started.CallID, "userId", alice.UserID()))
		tr.expect(bob2)
		// Free again: both sessions ring.
		_, err = carol.Call(ctx, bob1.UserID(), video, protocol.CallParams{})
		must(t, err)
		tr.expect(bob1, ev(protocol.EventCallReceived, "callerId", carol.UserID()))
		tr.expect(bob2, ev(protocol.EventCallReceived, "callerId", carol.UserID()))
		must(t, carol.Hangup(ctx))
	})
}
