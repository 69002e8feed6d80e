package sfu

import (
	"errors"
	"testing"

	"github.com/pion/webrtc/v4"
)

// clientAnswer applies a server offer on the client PeerConnection and returns its answer,
// set as the client's local description.
func clientAnswer(t testing.TB, client *webrtc.PeerConnection, offer webrtc.SessionDescription) webrtc.SessionDescription {
	t.Helper()
	if err := client.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := client.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	return answer
}

func TestEngineLifecycle(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UDPPort = 0
	e, err := NewEngine(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.UDPAddr() != nil {
		t.Fatal("UDPAddr before Start must be nil: NewEngine opens nothing")
	}
	if _, err := e.NewPublisher("a"); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("NewPublisher before Start: %v, want ErrNotStarted", err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	p, err := e.NewPublisher("a")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil { // closes the peer too
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := p.AddICECandidate(webrtc.ICECandidateInit{Candidate: "x"}); !errors.Is(err, ErrPeerClosed) {
		t.Fatalf("peer not closed by the engine: %v", err)
	}
	if err := e.Start(); !errors.Is(err, ErrEngineClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	if _, err := NewEngine(Config{}, nil); err == nil {
		t.Fatal("NewEngine accepted an invalid config")
	}
}

func TestSubscriberNegotiationIsCoalescedAndWaitsForAnswer(t *testing.T) {
	e := newTestEngine(t)
	sub, fired, candidates := newRecordingSubscriber(t, e)
	client := newClientPC(t)

	audio := testReceiver(webrtc.RTPCodecTypeAudio, nil)
	video := testReceiver(webrtc.RTPCodecTypeVideo, nil)
	video.trackID = "cam"
	dAudio, err := sub.AddDownTrack(audio)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.AddDownTrack(video); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return fired.Load() >= 1 })

	offer, err := sub.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.CreateOffer(); !errors.Is(err, ErrOfferPending) {
		t.Fatalf("second CreateOffer: %v, want ErrOfferPending", err)
	}
	// A change while the offer is out: nothing fires now...
	firedBefore := fired.Load()
	if err := sub.RemoveDownTrack(dAudio); err != nil {
		t.Fatal(err)
	}
	if err := sub.RemoveDownTrack(dAudio); err != nil {
		t.Fatalf("second RemoveDownTrack: %v", err)
	}
	sub.mu.Lock()
	queued := sub.negotiationQueued
	sub.mu.Unlock()
	if queued || fired.Load() != firedBefore {
		t.Fatal("negotiation requested while an offer awaits its answer")
	}
	early := len(candidates())
	if early != 0 {
		t.Fatalf("%d local candidates delivered before MarkLocalDescriptionSent", early)
	}

	answer := clientAnswer(t, client, offer)
	sub.MarkLocalDescriptionSent()
	waitFor(t, func() bool {
		return len(candidates()) > 0
	})
	// ...and it fires once the answer is in.
	if err := sub.HandleAnswer(answer); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return fired.Load() == firedBefore+1 })
	if err := sub.HandleAnswer(answer); !errors.Is(err, ErrNoOfferPending) {
		t.Fatalf("HandleAnswer without an offer: %v", err)
	}
	// A renegotiation completes and the removed track's m-line is inactive.
	offer, err = sub.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	answer = clientAnswer(t, client, offer)
	if err := sub.HandleAnswer(answer); err != nil {
		t.Fatal(err)
	}
	if err := audio.Close(); err != nil {
		t.Fatal(err)
	}
	if err := video.Close(); err != nil { // removes its DownTrack from bob
		t.Fatal(err)
	}
	sub.mu.Lock()
	left := len(sub.downTracks)
	sub.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d DownTracks left after their Receivers closed", left)
	}
}
