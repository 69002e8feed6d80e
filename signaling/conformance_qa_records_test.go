package signaling_test

import (
	"slices"
	"testing"
	"time"

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
