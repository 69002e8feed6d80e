package signaling_test

// Black-box checks that the party a call ends for hears the one who left it leave first:
// onUserLeave(X), then onCallEnd, each exactly once (D240). See spec_conformance_test.go
// for the helpers.

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestSpecLeaveBeforeCallEnd: for each way a user X leaves a call in progress (hangup,
// logout, kicked by a newer login, socket lost past the reconnect grace), in a 1v1 call
// and as the last but one of a group call, the party the call ends for gets
// onUserLeave(X) and then onCallEnd, and no second onUserLeave(X) when the room later
// reports the leave; in the group the others heard the earlier leaver once too.
func TestSpecLeaveBeforeCallEnd(t *testing.T)        { specLeaveBeforeCallEnd(t, newStack) }
func TestClusterSpecLeaveBeforeCallEnd(t *testing.T) { specLeaveBeforeCallEnd(t, newClusterStack) }

func specLeaveBeforeCallEnd(t *testing.T, newStack func(testing.TB, ...stackOption) *stack) {
	top := t
	st := newStack(t, manyInvitations, func(c *signalingConfig) { c.Signaling.ReconnectGrace = 300 * time.Millisecond })
	ctx := ctxT(t, 240*time.Second)
	ways := []struct {
		name  string
		leave func(t *testing.T, c *client.Conn)
	}{
		{"hangup", func(t *testing.T, c *client.Conn) { must(t, c.Hangup(ctx)) }},
		{"logout", func(t *testing.T, c *client.Conn) { must(t, c.Logout(ctx)) }},
		{"kicked", func(t *testing.T, c *client.Conn) {
			st.login(top, c.UserID())
			kicked(ctx, t, c)
		}},
		{"socket lost", func(t *testing.T, c *client.Conn) { c.Abort() }},
	}
	// inCall starts audio media on every member and waits until each heard every other
	// join the room (D15): only then does a leave reach the others as onUserLeave.
	inCall := func(t *testing.T, members ...*client.Conn) {
		t.Helper()
		for _, c := range members {
			must(t, c.StartMedia(ctx, client.MediaOptions{Audio: true}))
		}
		for _, me := range members {
			for _, other := range members {
				if me != other {
					waitFor(t, me, protocol.EventUserJoin, func(e protocol.UserJoinEvent) bool { return e.UserID == other.UserID() })
				}
			}
		}
	}
	// settled waits until the call's room is gone, so the room reported every leave, and
	// makes a round trip on each still connected member.
	settled := func(t *testing.T, conns ...*client.Conn) {
		t.Helper()
		testwait.For(t, 30*time.Second, "the call's room closed", func() bool { return st.service.Rooms().Rooms() == 0 })
		for _, c := range conns {
			barrier(t, c)
		}
	}
	for w, way := range ways {
		p := "lo" + itoa(w)
		t.Run(way.name+"/1v1", func(t *testing.T) {
			us := st.users(top, p+"s", "alice", "bob")
			alice, bob := us[0], us[1]
			_, err := alice.Call(ctx, bob.UserID(), audio, protocol.CallParams{})
			must(t, err)
			waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
			accepted(t, alice, bob)
			inCall(t, alice, bob)
			leaver := alice.UserID() // "" after a logout
			way.leave(t, alice)
			waitFor(t, bob, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.UserID == leaver })
			settled(t, bob)
			wantLeaveThenEnd(t, bob, leaver)
			if way.name == "hangup" {
				barrier(t, alice)
				wantLeaves(t, alice, bob.UserID(), 0)
			}
		})
		t.Run(way.name+"/group", func(t *testing.T) {
			us := st.users(top, p+"g", "alice", "bob", "carol")
			alice, bob, carol := us[0], us[1], us[2]
			_, err := alice.GroupCall(ctx, p, []string{bob.UserID(), carol.UserID()}, audio, protocol.CallParams{})
			must(t, err)
			for _, c := range []*client.Conn{bob, carol} {
				waitFor[protocol.CallReceivedEvent](t, c, protocol.EventCallReceived, nil)
			}
			accepted(t, alice, bob)
			must(t, carol.Accept(ctx, 0))
			waitFor[protocol.CallBeginEvent](t, carol, protocol.EventCallBegin, nil)
			inCall(t, alice, bob, carol)
			must(t, carol.Hangup(ctx)) // the call goes on with alice and bob
			for _, c := range []*client.Conn{alice, bob} {
				waitFor(t, c, protocol.EventUserLeave, func(e protocol.UserLeaveEvent) bool { return e.UserID == carol.UserID() })
			}
			leaver := bob.UserID()
			way.leave(t, bob) // the last but one: the call ends for alice
			waitFor(t, alice, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.UserID == leaver })
			settled(t, alice)
			wantLeaveThenEnd(t, alice, leaver)
			wantLeaves(t, alice, carol.UserID(), 1)
			if way.name == "hangup" {
				barrier(t, bob)
				wantLeaves(t, bob, carol.UserID(), 1)
				wantLeaves(t, bob, alice.UserID(), 0)
			}
		})
	}
}

// wantLeaveThenEnd checks c's log: exactly one onUserLeave(leaver) and one onCallEnd, the
// leave first, and no onUserLeave of anyone after the onCallEnd.
func wantLeaveThenEnd(t *testing.T, c *client.Conn, leaver string) {
	t.Helper()
	leaveAt, endAt, leaves, ends := -1, -1, 0, 0
	for i, e := range c.Events() {
		switch e.Name {
		case protocol.EventUserLeave:
			if endAt >= 0 {
				t.Fatalf("%s: onUserLeave%s after onCallEnd\nevents: %s", c.UserID(), e.Params, eventNames(c))
			}
			if leftUser(t, e) == leaver {
				leaveAt = i
				leaves++
			}
		case protocol.EventCallEnd:
			endAt = i
			ends++
		}
	}
	if leaves != 1 || ends != 1 || leaveAt > endAt {
		t.Fatalf("%s: %d onUserLeave(%s) and %d onCallEnd, the leave at #%d and the end at #%d; want one of each, the leave first\nevents: %s",
			c.UserID(), leaves, leaver, ends, leaveAt, endAt, eventNames(c))
	}
}

// wantLeaves checks that c got onUserLeave(userID) exactly n times.
func wantLeaves(t *testing.T, c *client.Conn, userID string, n int) {
	t.Helper()
	got := 0
	for _, e := range c.Events() {
		if e.Name == protocol.EventUserLeave && leftUser(t, e) == userID {
			got++
		}
	}
	if got != n {
		t.Fatalf("%s: %d onUserLeave(%s), want %d\nevents: %s", c.UserID(), got, userID, n, eventNames(c))
	}
}

func leftUser(t *testing.T, e client.Event) string {
	t.Helper()
	var p protocol.UserLeaveEvent
	if err := json.Unmarshal(e.Params, &p); err != nil {
		t.Fatalf("onUserLeave %s: %v", e.Params, err)
	}
	return p.UserID
}
