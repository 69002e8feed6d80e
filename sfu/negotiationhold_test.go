package sfu

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestHoldNegotiationOneOfferForTracksAddedTogether: DownTracks added while a subscriber
// Peer's negotiation is held start no offer; the release starts one that carries all of
// them. Without the hold the first AddDownTrack queues an offer of its own at once.
func TestHoldNegotiationOneOfferForTracksAddedTogether(t *testing.T) {
	e := newTestEngine(t)
	sub, err := e.NewSubscriber(SubscriberOptions{ID: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	offers := make(chan webrtc.SessionDescription, 4)
	sub.OnNegotiationNeeded(func() {
		offer, err := sub.CreateOffer()
		if err != nil {
			t.Error(err)
			return
		}
		offers <- offer
	})

	release := sub.HoldNegotiation()
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		r := testReceiver(kind, nil)
		r.trackID = kind.String()
		if _, err := sub.AddDownTrack(r); err != nil {
			t.Fatal(err)
		}
		sub.mu.Lock()
		queued := sub.negotiationQueued || sub.offerPending
		sub.mu.Unlock()
		if queued {
			t.Fatalf("an offer was started for the %s DownTrack while negotiation was held", kind)
		}
	}
	release()
	release() // idempotent
	select {
	case offer := <-offers:
		if !strings.Contains(offer.SDP, "m=audio") || !strings.Contains(offer.SDP, "m=video") {
			t.Fatalf("the offer after the release does not carry both DownTracks:\n%s", offer.SDP)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no offer after the release")
	}
	sub.mu.Lock()
	holds := sub.negotiationHolds
	sub.mu.Unlock()
	if holds != 0 {
		t.Fatalf("negotiationHolds = %d after the release", holds)
	}
}
