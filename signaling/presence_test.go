package signaling_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// wantPresence waits until every node of the cluster reads userID as connected on the
// nodes want (sorted; nil: nowhere), each session run by the app's owner, n0.
func (st *stack) wantPresence(t *testing.T, userID string, want ...string) {
	t.Helper()
	ctx := ctxT(t, 20*time.Second)
	for _, n := range st.nodes {
		var got []string
		waitUntil(t, ctx, n.cl.ID()+" reads "+userID+" on ["+strings.Join(want, " ")+"]", func() bool {
			ps, err := n.service.Presence(ctx, signaling.DevSDKAppID, userID)
			if err != nil {
				t.Fatal(err)
			}
			got = got[:0]
			for _, p := range ps {
				if p.Owner != "n0" || !strings.HasPrefix(p.Conn, p.Node+"/") {
					t.Fatalf("%s reads %+v", n.cl.ID(), p)
				}
				got = append(got, p.Node)
			}
			slices.Sort(got)
			return slices.Equal(got, want)
		})
	}
}

// TestClusterPresence: a logged-in WebSocket is in Redis under the node that holds it
// (any node reads it) until it logs out or closes; a login refused for too many sessions
// adds nothing; a login on another node still kicks the older session (D4) and leaves the
// new one alone in the presence; a node that leaves takes its users' entries with it.
func TestClusterPresence(t *testing.T) {
	st := newClusterStack(t, func(c *signalingConfig) { c.Signaling.MaxSessionsPerUser = 2 })
	ctx := ctxT(t, 60*time.Second)
	const alice = "palice"
	a1 := st.login(t, alice) // n1
	st.wantPresence(t, alice, "n1")
	must(t, a1.EnableMultiDeviceAbility(ctx, true))
	a2 := st.login(t, alice) // n2
	st.wantPresence(t, alice, "n1", "n2")
	refused := st.dial(t) // n0, the owner
	_, err := refused.Login(ctx, signaling.DevSDKAppID, alice, sig(t, alice, time.Hour))
	wantCode(t, err, protocol.CodeTooManySessions)
	st.wantPresence(t, alice, "n1", "n2")

	must(t, a2.Logout(ctx))
	st.wantPresence(t, alice, "n1")
	_, err = a2.Login(ctx, signaling.DevSDKAppID, alice, sig(t, alice, time.Hour)) // again on n2
	must(t, err)
	st.wantPresence(t, alice, "n1", "n2")
	must(t, a2.Close())
	st.wantPresence(t, alice, "n1")

	must(t, a1.EnableMultiDeviceAbility(ctx, false))
	a3 := st.nodes[2].dial(t) // alice on n2 again: the session of n1 is kicked
	_, err = a3.Login(ctx, signaling.DevSDKAppID, alice, sig(t, alice, time.Hour))
	must(t, err)
	kicked(ctx, t, a1)
	st.wantPresence(t, alice, "n2")

	bob := st.nodes[1].dial(t)
	_, err = bob.Login(ctx, signaling.DevSDKAppID, "pbob", sig(t, "pbob", time.Hour))
	must(t, err)
	st.wantPresence(t, "pbob", "n1")
	if err := st.nodes[1].cl.Close(); err != nil { // n1 leaves the cluster
		t.Fatal(err)
	}
	st.nodes = slices.Delete(slices.Clone(st.nodes), 1, 2)
	st.wantPresence(t, "pbob")
	st.wantPresence(t, alice, "n2")
	for _, c := range []*client.Conn{a3, bob} {
		_ = c.Close()
	}
	st.wantPresence(t, alice)
}
