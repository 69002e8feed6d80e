package sfu

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestICEUfrag(t *testing.T) {
	for _, tc := range []struct{ name, sdp, want string }{
		{"none", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", ""},
		{"crlf", "v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:x\r\n", "abcd"},
		{"lf", "v=0\na=ice-ufrag:efgh\na=ice-pwd:x\n", "efgh"},
		{"first of several", "a=ice-ufrag:one\r\nm=audio\r\na=ice-ufrag:two\r\n", "one"},
		{"at the end", "v=0\r\na=ice-ufrag:tail", "tail"},
		{"empty value", "a=ice-ufrag:\r\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := iceUfrag(tc.sdp); got != tc.want {
				t.Fatalf("iceUfrag = %q, want %q", got, tc.want)
			}
		})
	}
}

// newRecordingSubscriber makes a subscriber Peer of e (closed at the end of the test) that
// counts its OnNegotiationNeeded calls and records the local candidates it delivers.
func newRecordingSubscriber(t *testing.T, e *Engine) (sub *Subscriber, fired *atomic.Int32, candidates func() []webrtc.ICECandidateInit) {
	t.Helper()
	sub, err := e.NewSubscriber(SubscriberOptions{ID: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	fired = &atomic.Int32{}
	sub.OnNegotiationNeeded(func() { fired.Add(1) })
	return sub, fired, recordCandidates(sub)
}

// recordCandidates records the local candidates peer delivers; the function returns them.
func recordCandidates(peer candidatePeer) func() []webrtc.ICECandidateInit {
	var mu sync.Mutex
	var delivered []webrtc.ICECandidateInit
	peer.OnICECandidate(func(c webrtc.ICECandidateInit) {
		mu.Lock()
		delivered = append(delivered, c)
		mu.Unlock()
	})
	return func() []webrtc.ICECandidateInit {
		mu.Lock()
		defer mu.Unlock()
		return append([]webrtc.ICECandidateInit(nil), delivered...)
	}
}

// TestSubscriberRestartICE: RestartICE asks for an offer with new ICE credentials, holds
// the new candidates until that offer is on the wire, and the client's answer completes it.
func TestSubscriberRestartICE(t *testing.T) {
	e := newTestEngine(t)
	sub, fired, recorded := newRecordingSubscriber(t, e)
	candidateCount := func() int { return len(recorded()) }
	client := newClientPC(t)
	if _, err := sub.AddDownTrack(testReceiver(webrtc.RTPCodecTypeAudio, nil)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return fired.Load() == 1 })

	negotiate := func() webrtc.SessionDescription {
		t.Helper()
		offer, err := sub.CreateOffer()
		if err != nil {
			t.Fatal(err)
		}
		clientAnswer(t, client, offer)
		return offer
	}
	first := negotiate()
	sub.MarkLocalDescriptionSent()
	if err := sub.HandleAnswer(*client.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	// Every candidate of the first ICE generation is out once its gathering completed.
	waitFor(t, func() bool {
		return candidateCount() > 0 && sub.pc.ICEGatheringState() == webrtc.ICEGatheringStateComplete
	})
	before := candidateCount()

	sub.RestartICE()
	waitFor(t, func() bool { return fired.Load() == 2 })
	restart := negotiate()
	if iceUfrag(restart.SDP) == "" || iceUfrag(restart.SDP) == iceUfrag(first.SDP) {
		t.Fatalf("restart offer ufrag %q, first offer %q: want a new one", iceUfrag(restart.SDP), iceUfrag(first.SDP))
	}
	if got := candidateCount(); got != before {
		t.Fatalf("%d candidates of the restart went out before its offer", got-before)
	}
	sub.MarkLocalDescriptionSent()
	if err := sub.HandleAnswer(*client.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return candidateCount() > before })
	// The next plain renegotiation keeps the credentials.
	sub.requestNegotiation()
	waitFor(t, func() bool { return fired.Load() == 3 })
	if again := negotiate(); iceUfrag(again.SDP) != iceUfrag(restart.SDP) {
		t.Fatalf("a renegotiation after the restart changed ufrag %q to %q", iceUfrag(restart.SDP), iceUfrag(again.SDP))
	}
}

// TestPublisherRestartICEHoldsCandidates: an offer that restarts ICE gets an answer
// whose new candidates all wait for MarkLocalDescriptionSent, also those pion gathers
// while it applies the offer (a client drops a candidate whose ufrag it does not know yet,
// and one gathered after the answer was made is in no description): none goes out
// before, and they go out after it with the restart's ufrag.
func TestPublisherRestartICEHoldsCandidates(t *testing.T) {
	e := newTestEngine(t)
	pub, err := e.NewPublisher("alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	recorded := recordCandidates(pub)
	client, offer := publishingClient(t)
	answerOffer(t, client, pub, offer)
	gathered := func() bool { return pub.pc.ICEGatheringState() == webrtc.ICEGatheringStateComplete }
	waitFor(t, func() bool { return len(recorded()) > 0 && gathered() })
	before := len(recorded())

	restart, err := client.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SetLocalDescription(restart); err != nil {
		t.Fatal(err)
	}
	answer, err := pub.HandleOffer(restart)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, gathered)
	if got := len(recorded()); got != before {
		t.Fatalf("%d candidates of the restart went out before its answer", got-before)
	}
	pub.MarkLocalDescriptionSent()
	waitFor(t, func() bool { return len(recorded()) > before })
	for _, c := range recorded()[before:] {
		if !strings.Contains(c.Candidate, " ufrag "+iceUfrag(answer.SDP)) {
			t.Fatalf("candidate %q after the restart, want ufrag %s", c.Candidate, iceUfrag(answer.SDP))
		}
	}
}
