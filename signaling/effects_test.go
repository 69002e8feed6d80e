package signaling_test

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestSlowJoinDelaysNobodyElse: while bob's room join hangs (a PeerConnection build that
// takes as long as the test wants), every other user logs in, calls, rings, accepts and
// hangs up as usual; bob's accept answers once his own join is done (issue 14).
func TestSlowJoinDelaysNobodyElse(t *testing.T) {
	st := newStack(t)
	joining := make(chan struct{})
	release := make(chan struct{})
	st.service.SetBeforeJoin(func(userID string) {
		if userID == "bob" {
			close(joining)
			<-release
		}
	})
	ctx := ctxT(t, 60*time.Second)
	alice, bob := st.login(t, "alice"), st.login(t, "bob")
	if _, err := alice.Call(ctx, "bob", protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallReceivedEvent](t, bob, protocol.EventCallReceived, nil)
	accepted := make(chan error, 1)
	go func() { accepted <- bob.Accept(ctx, 0) }()
	select {
	case <-joining:
	case <-ctx.Done():
		t.Fatal("bob's join never started")
	}

	// Bob's join hangs. Others go through a whole call, and alice hears of the accept.
	carol, dave := st.login(t, "carol"), st.login(t, "dave")
	for i := 0; i < 3; i++ {
		if _, err := carol.Call(ctx, "dave", protocol.MediaTypeAudio, protocol.CallParams{}); err != nil {
			t.Fatal(err)
		}
		waitFor[protocol.CallReceivedEvent](t, dave, protocol.EventCallReceived, nil)
		if err := dave.Accept(ctx, 0); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*client.Conn{carol, dave} {
			waitFor[protocol.CallBeginEvent](t, c, protocol.EventCallBegin, nil)
		}
		if err := carol.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor[protocol.CallEndEvent](t, dave, protocol.EventCallEnd, nil)
	}
	waitFor[protocol.CallBeginEvent](t, alice, protocol.EventCallBegin, nil)
	select {
	case err := <-accepted:
		t.Fatalf("bob's accept answered (%v) before his room was joined", err)
	default:
	}
	if n := bob.EventCount(protocol.EventCallBegin); n != 0 {
		t.Fatal("bob got onCallBegin before his room was joined")
	}

	close(release)
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallBeginEvent](t, bob, protocol.EventCallBegin, nil)
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor[protocol.CallEndEvent](t, bob, protocol.EventCallEnd, nil)
}
