package signaling_test

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// TestResumeWaitsForTheOldConnectionsOffer: the socket drops while the server still
// handles a publisher offer read from it (the first offer builds the PeerConnections: it
// takes a while on a busy machine), and the client, which took that offer back, resumes
// at once and sends its next offer, with new ICE credentials, on the new connection (D340). The new offer runs after the old
// one, never beside it or before it, and the publisher connects with the answer the
// client got. Before, both offers ran at once on the same PeerConnection: the old one,
// applied last, restarted ICE to credentials the client had taken back, and the
// publisher never connected (a headless Chromium test failed that way now and then).
func TestResumeWaitsForTheOldConnectionsOffer(t *testing.T) {
	st := newStack(t)
	var (
		offers   atomic.Int32 // alice's offers that reached their turn
		inFirst  atomic.Bool  // the first offer holds its turn
		overlap  atomic.Bool  // the second offer ran while the first held its turn
		entered  = make(chan struct{})
		release  = make(chan struct{})
		released sync.Once
	)
	free := func() { released.Do(func() { close(release) }) }
	st.service.SetBeforeRequest(func(userID, method string) {
		if userID != "alice" || method != protocol.MethodOffer {
			return
		}
		switch offers.Add(1) {
		case 1:
			inFirst.Store(true)
			close(entered)
			<-release
			inFirst.Store(false)
		case 2:
			overlap.Store(inFirst.Load())
			free()
		}
	})
	t.Cleanup(free)

	alice := st.login(t, "alice")
	ctx := ctxT(t, 60*time.Second)
	must(t, joinRoomGranted(ctx, t, alice, protocol.StrRoom("resume-order")))
	pub, err := client.NewPublisher(client.PublisherConfig{Peer: client.PeerConfig{Loopback: true}, StreamID: "alice", NoVideo: true})
	must(t, err)
	t.Cleanup(func() { _ = pub.Close() })
	var conn atomic.Pointer[client.Conn] // the connection alice's candidates go out on
	conn.Store(alice)
	pub.OnICECandidate(func(c webrtc.ICECandidateInit) {
		cand := protocol.ICECandidate{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
		_ = conn.Load().Notify(protocol.MethodTrickle, protocol.TrickleParams{Target: protocol.TargetPublisher, Candidate: cand})
	})

	// The client's offer now (pion takes no offer back) and, as the one it took back, the
	// same with the ICE credentials of an earlier generation.
	offer, err := pub.CreateOffer()
	must(t, err)
	takenBack := strings.NewReplacer("a=ice-ufrag:"+iceAttr(offer.SDP, "ufrag"), "a=ice-ufrag:earliergen",
		"a=ice-pwd:"+iceAttr(offer.SDP, "pwd"), "a=ice-pwd:earliergenerationpassword1").Replace(offer.SDP)
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- alice.Request(ctx, protocol.MethodOffer, protocol.OfferParams{Target: protocol.TargetPublisher,
			SDP: protocol.SessionDescription{Type: "offer", SDP: takenBack}}, nil)
	}()
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("the first offer never reached the server")
	}
	_ = alice.Close() // the socket drops with the offer's answer
	if err := <-firstDone; err == nil {
		t.Fatal("the first offer was answered on a closed socket")
	}

	again := resumeSession(ctx, t, st, alice)
	conn.Store(again)
	go func() { // the server's candidates, as the SDK applies them
		for {
			ev, err := again.WaitEvent(ctx, protocol.MethodTrickle, nil)
			if err != nil {
				return
			}
			var p protocol.TrickleParams
			if json.Unmarshal(ev.Params, &p) != nil || p.Target != protocol.TargetPublisher {
				continue
			}
			_ = pub.AddICECandidate(webrtc.ICECandidateInit{Candidate: p.Candidate.Candidate, SDPMid: p.Candidate.SDPMid,
				SDPMLineIndex: p.Candidate.SDPMLineIndex, UsernameFragment: p.Candidate.UsernameFragment})
		}
	}()
	// The first offer goes on when the second reaches its turn, or after a while when
	// the second waits for it (as it must).
	timer := time.AfterFunc(2*time.Second, free)
	defer timer.Stop()
	var res protocol.OfferResult
	must(t, again.Request(ctx, protocol.MethodOffer, protocol.OfferParams{Target: protocol.TargetPublisher,
		SDP: protocol.SessionDescription{Type: "offer", SDP: offer.SDP}}, &res))
	if overlap.Load() {
		t.Fatal("the new connection's offer ran while the old connection's was still running")
	}
	must(t, pub.SetAnswer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: res.SDP.SDP}))
	must(t, pub.Start())
	testwait.Until(t, ctx, "alice's publisher connected after the resume", func() bool {
		return pub.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
}

// iceAttr is the value of sdp's first a=ice-<name> line.
func iceAttr(sdp, name string) string {
	_, rest, _ := strings.Cut(sdp, "a=ice-"+name+":")
	v, _, _ := strings.Cut(rest, "\r\n")
	return v
}
