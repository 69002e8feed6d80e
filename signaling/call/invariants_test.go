package call

import (
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/parley-rtc/parley/signaling/protocol"
)

// checkInvariants verifies the machine's internal consistency:
//   - no user is in two calls, and the user index matches the members;
//   - an INVITING call has exactly its caller DIALING, ≥1 invitee RINGING, nobody IN_CALL;
//   - an ACTIVE call has nobody DIALING and ≥2 IN_CALL, or fewer with invitees ringing in
//     a group call (D216);
//   - a 1v1 call has at most two members;
//   - NextDeadline is the earliest ringing deadline.
func checkInvariants(t testing.TB, m *Machine) {
	t.Helper()
	seen := map[string]string{}
	var earliest time.Time
	ringingAnywhere := false
	rooms := 0
	for _, byID := range m.byRoom {
		rooms += len(byID)
	}
	if rooms != len(m.calls) {
		t.Fatalf("room index holds %d calls, machine %d", rooms, len(m.calls))
	}
	for id, c := range m.calls {
		if c.id != id || m.byRoom[c.room][id] != c {
			t.Fatalf("call %s badly indexed", id)
		}
		var dialing, ringing, inCall int
		for _, mem := range c.members {
			if other, dup := seen[mem.user]; dup {
				t.Fatalf("user %s in call %s and %s", mem.user, other, id)
			}
			seen[mem.user] = id
			if m.users[mem.user] != c {
				t.Fatalf("user index of %s does not point at %s", mem.user, id)
			}
			switch mem.state {
			case Dialing:
				dialing++
				if mem.user != c.caller.UserID {
					t.Fatalf("call %s: %s dialing but caller is %s", id, mem.user, c.caller.UserID)
				}
			case Ringing:
				ringing++
				if mem.deadline.IsZero() {
					t.Fatalf("call %s: %s ringing without deadline", id, mem.user)
				}
				if !ringingAnywhere || mem.deadline.Before(earliest) {
					earliest = mem.deadline
				}
				ringingAnywhere = true
			case InCall:
				inCall++
			default:
				t.Fatalf("call %s: member %s in state %v", id, mem.user, mem.state)
			}
		}
		switch c.state {
		case Inviting:
			if dialing != 1 || ringing < 1 || inCall != 0 {
				t.Fatalf("inviting call %s: dialing=%d ringing=%d inCall=%d", id, dialing, ringing, inCall)
			}
		case Active:
			if dialing != 0 || (inCall < 2 && (ringing == 0 || c.scene != protocol.SceneGroup)) {
				t.Fatalf("active call %s (scene %d): dialing=%d ringing=%d inCall=%d", id, c.scene, dialing, ringing, inCall)
			}
		default:
			t.Fatalf("call %s in state %v", id, c.state)
		}
		if c.scene == protocol.SceneSingle && len(c.members) > 2 {
			t.Fatalf("1v1 call %s has %d members", id, len(c.members))
		}
		if len(c.members) > m.cfg.MaxMembers {
			t.Fatalf("call %s has %d members, cap %d", id, len(c.members), m.cfg.MaxMembers)
		}
	}
	for u, c := range m.users {
		if m.calls[c.id] != c || c.member(u) == nil {
			t.Fatalf("user index: %s → call %s that does not hold it", u, c.id)
		}
	}
	next, ok := m.NextDeadline()
	if ok != ringingAnywhere || (ok && !next.Equal(earliest)) {
		t.Fatalf("NextDeadline = %v %v, want %v %v", next, ok, earliest, ringingAnywhere)
	}
}

// machineDump is a deep copy of everything a failed input must leave untouched.
type machineDump struct {
	Calls map[string]Snapshot
	Parts map[string][]participation
	Users map[string]string
}

func dump(m *Machine) machineDump {
	d := machineDump{Calls: map[string]Snapshot{}, Parts: map[string][]participation{}, Users: map[string]string{}}
	for id, c := range m.calls {
		d.Calls[id] = c.snapshot()
		for _, p := range c.parts {
			d.Parts[id] = append(d.Parts[id], *p)
		}
	}
	for u, c := range m.users {
		d.Users[u] = c.id
	}
	return d
}

// payloadCallID returns the callId of a call event payload.
func payloadCallID(t testing.TB, p any) string {
	switch v := p.(type) {
	case protocol.CallReceivedEvent:
		return v.CallID
	case protocol.CallCancelledEvent:
		return v.CallID
	case protocol.CallBeginEvent:
		return v.CallID
	case protocol.CallEndEvent:
		return v.CallID
	case protocol.CallMediaTypeChangedEvent:
		return v.CallID
	case protocol.UserEvent:
		return v.CallID
	case protocol.InviteeListUpdateEvent:
		return v.CallID
	}
	t.Fatalf("unexpected payload %T", p)
	return ""
}

// members returns callId → set of member user IDs.
func members(m *Machine) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for id, c := range m.calls {
		set := map[string]bool{}
		for _, mem := range c.members {
			set[mem.user] = true
		}
		out[id] = set
	}
	return out
}

// checkOutput verifies one successful input's Output against the state before and after:
// events only reach members of their call (before or after the input; for a call that
// ended at birth, its caller); ended calls are gone and have one record per user with the
// caller's record outgoing (busy invitees have none); room joins/leaves match the users' states.
func checkOutput(t testing.TB, m *Machine, before map[string]map[string]bool, out Output, newCaller string) {
	t.Helper()
	after := members(m)
	ended := map[string]bool{}
	for _, s := range out.Ended {
		ended[s.CallID] = true
		if m.calls[s.CallID] != nil {
			t.Fatalf("ended call %s still present", s.CallID)
		}
		users := map[string]protocol.CallRecord{}
		for _, r := range out.Records {
			if r.CallID == s.CallID {
				if _, dup := users[r.UserID]; dup {
					t.Fatalf("call %s: two records for %s", s.CallID, r.UserID)
				}
				users[r.UserID] = r
			}
		}
		if len(users) < 1 { // the caller's; a call whose invitees were all busy has no other (D109)
			t.Fatalf("ended call %s has %d records", s.CallID, len(users))
		}
		if len(s.Records) != len(users) {
			t.Fatalf("call %s: summary carries %d records, the output %d", s.CallID, len(s.Records), len(users))
		}
		for _, r := range s.Records {
			if !reflect.DeepEqual(users[r.UserID], r) {
				t.Fatalf("call %s: summary record %+v, output record %+v", s.CallID, r, users[r.UserID])
			}
		}
		if r, ok := users[s.Caller]; !ok || r.Result != protocol.CallResultOutgoing || r.Role != protocol.RoleCaller {
			t.Fatalf("call %s: caller record %+v", s.CallID, r)
		}
		for _, r := range users {
			if r.Role == protocol.RoleCalled && r.Result == protocol.CallResultOutgoing {
				t.Fatalf("call %s: invitee %s recorded outgoing", s.CallID, r.UserID)
			}
			if r.Result == protocol.CallResultMissed && r.TotalTime != 0 {
				t.Fatalf("call %s: missed record with talk time %+v", s.CallID, r)
			}
		}
	}
	for _, r := range out.Records {
		if !ended[r.CallID] {
			t.Fatalf("record for call %s that did not end", r.CallID)
		}
	}
	for _, e := range out.Events {
		id := payloadCallID(t, e.Payload)
		ok := before[id][e.To] || after[id][e.To] || (id == out.CallID && e.To == newCaller && before[id] == nil)
		if !ok {
			t.Fatalf("event %s to %s outside call %s\n%s", e.Name, e.To, id, describeEvents(out.Events))
		}
		if e.OnlySession != "" && e.ExceptSession != "" {
			t.Fatalf("event with both OnlySession and ExceptSession: %+v", e)
		}
	}
	for _, a := range out.Actions {
		st := m.UserState(a.UserID)
		inCall := st.State == InCall && st.CallID == a.CallID
		if (a.Kind == JoinRoom) != inCall {
			t.Fatalf("%v for %s in call %s but user is %v in %q", a.Kind, a.UserID, a.CallID, st.State, st.CallID)
		}
	}
}

// opSource yields small integers that drive a sequence of inputs.
type opSource interface {
	next(n int) (int, bool)
}

type randSource struct{ r *rand.Rand }

func (s randSource) next(n int) (int, bool) { return s.r.Intn(n), true }

type byteSource struct {
	data []byte
	pos  int
}

func (s *byteSource) next(n int) (int, bool) {
	if s.pos >= len(s.data) {
		return 0, false
	}
	b := s.data[s.pos]
	s.pos++
	return int(b) % n, true
}

var driveUsers = []Profile{alice, bob, carol, dave, erin, frank}

// drive runs up to steps inputs chosen by src and checks every invariant after each.
func drive(t testing.TB, src opSource, steps int) {
	ids := &fakeIDs{}
	cfg := DefaultConfig()
	cfg.MaxMembers = 4
	m := New(cfg, ids)
	now := t0
	pick := func(n int) int {
		v, _ := src.next(n)
		return v
	}
	user := func() Profile { return driveUsers[pick(len(driveUsers))] }
	users := func() []string {
		k := 1 + pick(3)
		out := make([]string, 0, k)
		for i := 0; i < k; i++ {
			out = append(out, user().UserID)
		}
		return out
	}
	sessions := []string{"", "s1", "s2"}
	medias := []protocol.MediaType{0, 1, 2, 3}
	timeouts := []int{0, 10, 15, 5}
	existingCall := func() (string, protocol.RoomID) {
		ids := make([]string, 0, len(m.calls))
		for id := range m.calls {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		if len(ids) == 0 || pick(5) == 0 {
			return "call-none", protocol.IntRoom(7)
		}
		c := m.calls[ids[pick(len(ids))]]
		return c.id, c.room
	}
	for step := 0; step < steps; step++ {
		op, more := src.next(13)
		if !more {
			return
		}
		now = now.Add(time.Duration(pick(12)) * time.Second)
		before := members(m)
		snap := dump(m)
		var out Output
		var err error
		newCaller := ""
		switch op {
		case 0, 1, 2:
			caller := user()
			newCaller = caller.UserID
			req := CallRequest{Caller: caller, Invitees: users(), MediaType: medias[1+pick(2)], Timeout: timeouts[pick(4)], Kind: Kind(op)}
			if pick(2) == 0 {
				req.GroupID, req.ChatGroupID = "g1", "g1"
			}
			if pick(3) == 0 {
				req.RoomID = protocol.IntRoom(7)
			}
			out, err = m.Call(now, req)
		case 3:
			out, err = m.Accept(now, user().UserID, sessions[pick(3)], medias[pick(4)])
		case 4:
			out, err = m.Reject(now, user().UserID, sessions[pick(3)])
		case 5:
			out, err = m.Ignore(now, user().UserID, sessions[pick(3)])
		case 6:
			out, err = m.Hangup(now, user().UserID)
		case 7:
			out, err = m.Disconnect(now, user().UserID, []string{"", "kicked"}[pick(2)])
		case 8:
			out, err = m.InviteUser(now, user(), users(), timeouts[pick(4)])
		case 9:
			id, _ := existingCall()
			out, err = m.Join(now, user(), "", id)
		case 10:
			_, room := existingCall()
			out, err = m.JoinInGroupCall(now, user(), "", room, []string{"g1", ""}[pick(2)], medias[pick(4)])
		case 11:
			out, err = m.SwitchMediaType(now, user().UserID, medias[pick(4)])
		case 12:
			now = now.Add(time.Duration(pick(40)) * time.Second)
			out = m.Tick(now)
			if next, ok := m.NextDeadline(); ok && !next.After(now) {
				t.Fatalf("after Tick(%v) NextDeadline is %v", now, next)
			}
		}
		if err != nil {
			if got := dump(m); !reflect.DeepEqual(got, snap) {
				t.Fatalf("step %d op %d failed with %v but changed the state", step, op, err)
			}
			if !reflect.DeepEqual(out, Output{}) {
				t.Fatalf("step %d op %d failed with %v but returned output %+v", step, op, err, out)
			}
			checkInvariants(t, m)
			continue
		}
		checkInvariants(t, m)
		checkOutput(t, m, before, out, newCaller)
	}
}

// TestRandomOperationSequences drives many seeded random input sequences and checks the
// invariants after every input.
func TestRandomOperationSequences(t *testing.T) {
	for seed := int64(1); seed <= 300; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			drive(t, randSource{rand.New(rand.NewSource(seed))}, 200)
		})
	}
}

// FuzzMachine decodes bytes into an input sequence and checks the invariants.
func FuzzMachine(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 3, 0, 1, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 2, 1, 2, 3, 2, 0, 1, 0, 8, 0, 1, 4, 1, 1, 6, 0, 0})
	f.Add([]byte{2, 1, 2, 2, 3, 4, 5, 12, 0, 39, 6, 0, 1, 9, 3, 1, 2})
	f.Add([]byte("the quick brown fox jumps over the lazy dog, again and again"))
	f.Fuzz(func(t *testing.T, data []byte) {
		drive(t, &byteSource{data: data}, 400)
	})
}
