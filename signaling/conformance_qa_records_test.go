package signaling_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestQARecordsOrderAndFilters checks D22 with PROTOCOL.md §4.2 queryRecentCalls /
// deleteRecordCalls: records come newest first by beginTime (what the SQL store does and
// what the begin/end filter reads), also when a later call ended first; resultType, begin
// and end filter; a user deletes only its own records. A call that found the user busy is
// not among its records (D10: the busy user hears nothing of it; D109).
func TestQARecordsOrderAndFilters(t *testing.T) { qaRecordsOrderAndFilters(t, newStack) }

func qaRecordsOrderAndFilters(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations)
	ctx := ctxT(t, 60*time.Second)
	us := st.users(t, "qr", "alice", "bob", "carol", "dave", "erin")
	alice, bob, carol, dave, erin := us[0], us[1], us[2], us[3], us[4]

	t0 := st.clock.Now().Unix()
	long, err := alice.Call(ctx, dave.UserID(), audio, protocol.CallParams{})
	must(t, err)
	accepted(t, alice, dave)
	st.clock.Advance(3 * time.Second)
	// bob misses the long call (invited late, rejects): his record of it begins at t0.
	_, err = alice.InviteUser(ctx, []string{bob.UserID()}, protocol.CallParams{})
	must(t, err)
	waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
	must(t, bob.Reject(ctx))
	// carol's call to bob begins later and ends first: an incoming call of bob's.
	short, err := carol.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
	must(t, err)
	accepted(t, carol, bob)
	// erin's call finds bob busy: the call is erin's, not bob's.
	busy, err := erin.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
	must(t, err)
	waitFor[protocol.CallCancelledEvent](t, erin, protocol.EventCallCancelled, nil)
	must(t, carol.Hangup(ctx))
	waitFor[protocol.CallEndEvent](t, bob, protocol.EventCallEnd, nil)
	st.clock.Advance(3 * time.Second)
	must(t, alice.Hangup(ctx))
	waitFor[protocol.CallEndEvent](t, dave, protocol.EventCallEnd, nil)

	erinRecs, err := erin.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
	must(t, err)
	if len(erinRecs.Records) != 1 || erinRecs.Records[0].CallID != busy.CallID || !slices.Equal(erinRecs.Records[0].Invitees, []string{bob.UserID()}) {
		t.Fatalf("erin's records %+v, want her outgoing call to bob", erinRecs.Records)
	}
	query := func(p protocol.QueryRecentCallsParams) []string {
		t.Helper()
		res, err := bob.QueryRecentCalls(ctx, p)
		must(t, err)
		ids := make([]string, len(res.Records))
		for i, r := range res.Records {
			ids[i] = r.CallID
		}
		return ids
	}
	mid := float64(t0 + 1)
	tests := []struct {
		name string
		p    protocol.QueryRecentCallsParams
		want []string
	}{
		{"all, newest begin first, no busy call", protocol.QueryRecentCallsParams{}, []string{short.CallID, long.CallID}},
		{"missed", protocol.QueryRecentCallsParams{ResultType: protocol.CallResultMissed}, []string{long.CallID}},
		{"incoming", protocol.QueryRecentCallsParams{ResultType: protocol.CallResultIncoming}, []string{short.CallID}},
		{"outgoing", protocol.QueryRecentCallsParams{ResultType: protocol.CallResultOutgoing}, []string{}},
		{"begin after the first", protocol.QueryRecentCallsParams{Begin: mid}, []string{short.CallID}},
		{"end before the second", protocol.QueryRecentCallsParams{End: mid}, []string{long.CallID}},
		{"window on the first, inclusive", protocol.QueryRecentCallsParams{Begin: float64(t0), End: float64(t0)}, []string{long.CallID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := query(tc.p); !slices.Equal(got, tc.want) {
				t.Fatalf("records %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("delete own records only", func(t *testing.T) {
		res, err := bob.DeleteRecordCalls(ctx, []string{long.CallID, long.CallID, "qr-unknown"})
		must(t, err)
		if !slices.Equal(res.Deleted, []string{long.CallID}) {
			t.Fatalf("deleted %v, want [%s]", res.Deleted, long.CallID)
		}
		if got := query(protocol.QueryRecentCallsParams{}); !slices.Equal(got, []string{short.CallID}) {
			t.Fatalf("bob's records after delete %v", got)
		}
		res, err = alice.DeleteRecordCalls(ctx, []string{short.CallID})
		must(t, err)
		if len(res.Deleted) != 0 {
			t.Fatalf("alice deleted %v of a call she was not in", res.Deleted)
		}
		left, err := alice.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
		must(t, err)
		if len(left.Records) != 1 || left.Records[0].CallID != long.CallID || left.Records[0].Result != protocol.CallResultOutgoing {
			t.Fatalf("alice's records %+v, want her outgoing %s (bob's delete is his own)", left.Records, long.CallID)
		}
	})
}

// TestQARecordOfEachEnd checks D22 with PROTOCOL.md §4.2 queryRecentCalls for each way a
// call ends for a user (D163): the caller's record is outgoing whether anyone answered or
// not; an invitee or joiner that took part has an incoming record with the seconds it
// talked; one that did not (the caller cancelled, it rejected, ignored or did not answer)
// has a missed record of 0 seconds; every record names the call's caller, invitees,
// scene, media type, group and room.
func TestQARecordOfEachEnd(t *testing.T) { qaRecordOfEachEnd(t, newStack) }

func qaRecordOfEachEnd(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	st := newStack(t, manyInvitations, func(c *signalingConfig) { c.Call.DefaultTimeout = 1200 * time.Millisecond })
	ctx := ctxT(t, 60*time.Second)
	type want struct {
		role   protocol.Role
		result protocol.CallResult
		total  int64
	}
	out, in := protocol.CallResultOutgoing, protocol.CallResultIncoming
	miss := protocol.CallResultMissed
	caller, called := protocol.RoleCaller, protocol.RoleCalled
	type endFunc = func(t *testing.T, alice, bob, carol, dave *client.Conn, started protocol.CallStartResult)
	// ringing ends a 1v1 call with act once bob's invitation rings.
	ringing := func(act func(alice, bob *client.Conn) error) endFunc {
		return func(t *testing.T, alice, bob, _, _ *client.Conn, _ protocol.CallStartResult) {
			waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
			must(t, act(alice, bob))
		}
	}
	unanswered := map[string]want{"alice": {caller, out, 0}, "bob": {called, miss, 0}}
	tests := []struct {
		name  string
		group bool
		// end drives the call of alice to bob (and carol in a group; dave joins) to its end.
		end  endFunc
		want map[string]want // by user name: alice, bob, carol, dave (absent: no record)
	}{
		{"cancel", false, ringing(func(alice, _ *client.Conn) error { return alice.Hangup(ctx) }), unanswered},
		{"reject", false, ringing(func(_, bob *client.Conn) error { return bob.Reject(ctx) }), unanswered},
		{"ignore", false, ringing(func(_, bob *client.Conn) error { return bob.Ignore(ctx) }), unanswered},
		{"timeout", false, func(t *testing.T, alice, bob, _, _ *client.Conn, _ protocol.CallStartResult) {
			waitFor[protocol.CallCancelledEvent](t, alice, protocol.EventCallCancelled, nil)
			// A timer ended the call: its records are written on the service's background
			// queue after the events went out, so they may land after onCallCancelled.
			waitUntil(t, ctx, "the timeout's records", func() bool {
				for _, c := range []*client.Conn{alice, bob} {
					if res, err := c.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{}); err != nil || len(res.Records) == 0 {
						return false
					}
				}
				return true
			})
		}, unanswered},
		{"hangup after talking", false, func(t *testing.T, alice, bob, _, _ *client.Conn, _ protocol.CallStartResult) {
			accepted(t, alice, bob)
			st.clock.Advance(7 * time.Second)
			must(t, bob.Hangup(ctx))
		}, map[string]want{"alice": {caller, out, 7}, "bob": {called, in, 7}}},
		// Leaving without acting (D28), as a session whose reconnect grace ran out leaves:
		// the records are those of the matching action.
		{"ringing invitee logs out", false, ringing(func(_, bob *client.Conn) error { return logoutAndBack(ctx, t, bob) }), unanswered},
		{"logout while talking", false, func(t *testing.T, alice, bob, _, _ *client.Conn, _ protocol.CallStartResult) {
			accepted(t, alice, bob)
			st.clock.Advance(4 * time.Second)
			must(t, logoutAndBack(ctx, t, alice))
			waitFor[protocol.CallEndEvent](t, bob, protocol.EventCallEnd, nil)
		}, map[string]want{"alice": {caller, out, 4}, "bob": {called, in, 4}}},
		{"group: one talks, one rejects, one joins", true, func(t *testing.T, alice, bob, carol, dave *client.Conn, started protocol.CallStartResult) {
			accepted(t, alice, bob)
			must(t, carol.Reject(ctx)) // while she rings
			st.clock.Advance(2 * time.Second)
			_, err := dave.Join(ctx, started.CallID)
			must(t, err)
			st.clock.Advance(3 * time.Second)
			must(t, alice.Hangup(ctx))
			must(t, bob.Hangup(ctx)) // dave is left alone: the call ends
		}, map[string]want{"alice": {caller, out, 5}, "bob": {called, in, 5}, "carol": {called, miss, 0}, "dave": {called, in, 3}}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			us := st.users(t, "qx"+itoa(i), "alice", "bob", "carol", "dave")
			byName := map[string]*client.Conn{"alice": us[0], "bob": us[1], "carol": us[2], "dave": us[3]}
			alice, bob, carol := us[0], us[1], us[2]
			invitees := []string{bob.UserID()}
			var started protocol.CallStartResult
			var err error
			scene, group := protocol.SceneSingle, ""
			// Every end but the timeout acts while the invitations ring: they ring for the
			// shortest time a call may ask for (10 s), since on a loaded machine the
			// stack's 1.2 s did not leave room for an accept or a reject.
			params := protocol.CallParams{Timeout: protocol.MinCallTimeout}
			if tc.name == "timeout" {
				params = protocol.CallParams{} // the stack's 1.2 s
			}
			if tc.group {
				invitees = append(invitees, carol.UserID())
				scene, group = protocol.SceneGroup, "qxg"+itoa(i)
				started, err = alice.GroupCall(ctx, group, invitees, video, params)
			} else {
				started, err = alice.Call(ctx, bob.UserID(), video, params)
			}
			must(t, err)
			tc.end(t, alice, bob, carol, us[3], started)
			for name, c := range byName {
				res, err := c.QueryRecentCalls(ctx, protocol.QueryRecentCallsParams{})
				must(t, err)
				w, ok := tc.want[name]
				if !ok {
					if len(res.Records) != 0 {
						t.Fatalf("%s has records %+v, want none", name, res.Records)
					}
					continue
				}
				if len(res.Records) != 1 {
					t.Fatalf("%s has records %+v, want one", name, res.Records)
				}
				r := res.Records[0]
				if r.CallID != started.CallID || r.UserID != c.UserID() || r.Caller != alice.UserID() || !slices.Equal(r.Invitees, invitees) ||
					r.Scene != scene || r.MediaType != video || r.GroupID != group || r.RoomID != started.RoomID {
					t.Fatalf("%s's record %+v, want call %s of %s to %v, scene %d, group %q, room %s", name, r, started.CallID, alice.UserID(), invitees, scene, group, started.RoomID)
				}
				if r.Role != w.role || r.Result != w.result || r.TotalTime != w.total {
					t.Fatalf("%s's record: role %d result %d totalTime %d, want %d %d %d", name, r.Role, r.Result, r.TotalTime, w.role, w.result, w.total)
				}
			}
		})
	}
}

// logoutAndBack logs c out, which leaves its call without acting (D28), and logs the same
// user in again on the same socket (PROTOCOL.md §4.1 logout).
func logoutAndBack(ctx context.Context, t *testing.T, c *client.Conn) error {
	t.Helper()
	userID := c.UserID() // the client forgets it on logout
	if err := c.Logout(ctx); err != nil {
		return err
	}
	_, err := c.Login(ctx, protocolDevApp, userID, sig(t, userID, time.Hour))
	return err
}
