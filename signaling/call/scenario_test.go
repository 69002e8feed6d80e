package call

import (
	"reflect"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// scenario is one table row: setup brings the machine to the pre-state, act is the input
// under test, and the output must match exactly.
type scenario struct {
	name    string
	setup   func(h *harness)
	act     func(m *Machine) (Output, error)
	err     error
	events  []Event
	actions []RoomAction
	check   func(t *testing.T, h *harness, out Output)
}

func runScenarios(t *testing.T, cases []scenario) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.setup != nil {
				tc.setup(h)
			}
			before := dump(h.m)
			members := members(h.m)
			out, err := tc.act(h.m)
			wantErr(t, err, tc.err)
			checkInvariants(t, h.m)
			if tc.err != nil {
				if !reflect.DeepEqual(dump(h.m), before) {
					t.Errorf("failed input changed the state")
				}
				if !reflect.DeepEqual(out, Output{}) {
					t.Errorf("failed input returned output %+v", out)
				}
			} else {
				checkOutput(t, h.m, members, out, bornEndedCaller(out))
			}
			wantEvents(t, out.Events, tc.events)
			wantActions(t, out.Actions, tc.actions)
			if tc.check != nil {
				tc.check(t, h, out)
			}
		})
	}
}

// bornEndedCaller names the caller of a call that ended at birth (for checkOutput): the
// caller recorded for out.CallID in out's records, if any.
func bornEndedCaller(o Output) string {
	for _, r := range o.Records {
		if r.CallID == o.CallID && r.Role == protocol.RoleCaller {
			return r.UserID
		}
	}
	return ""
}

// wantRecords compares the records of out exactly.
func wantRecords(t *testing.T, got, want []protocol.CallRecord) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records differ\ngot:  %+v\nwant: %+v", got, want)
	}
}

// wantDeadline checks NextDeadline.
func wantDeadline(t *testing.T, m *Machine, want time.Time) {
	t.Helper()
	got, ok := m.NextDeadline()
	if want.IsZero() {
		if ok {
			t.Errorf("NextDeadline = %v, want none", got)
		}
		return
	}
	if !ok || !got.Equal(want) {
		t.Errorf("NextDeadline = %v %v, want %v", got, ok, want)
	}
}

// record is a CallRecord of a call1-style call for user u.
func record(c cx, u, caller string, invitees []string, role protocol.Role, result protocol.CallResult, begin time.Time, total int64) protocol.CallRecord {
	return protocol.CallRecord{
		CallID: c.id, UserID: u, Caller: caller, Invitees: invitees, Scene: c.scene, MediaType: c.media,
		GroupID: c.group, RoomID: c.room, Role: role, Result: result, BeginTime: begin.Unix(), TotalTime: total,
	}
}

// accept is a setup step: u accepts at sec on session.
func (h *harness) accept(sec float64, u, session string) Output {
	h.t.Helper()
	return h.ok(h.m.Accept(at(sec), u, session, 0))
}

// hangup is a setup step.
func (h *harness) hangup(sec float64, u string) Output {
	h.t.Helper()
	return h.ok(h.m.Hangup(at(sec), u))
}
