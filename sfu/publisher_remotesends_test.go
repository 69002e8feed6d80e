package sfu

import (
	"reflect"
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestRemoteSendsLeavesPionsDescriptionAlone: RemoteSends answers from the applied offer
// (audio sent, video not) without writing into the description pion holds: pion's
// SessionDescription.Unmarshal caches its parse in the description, and pion reads that
// cache on its own goroutines (handleIncomingSSRC), so calling it raced with them.
func TestRemoteSendsLeavesPionsDescriptionAlone(t *testing.T) {
	e := newTestEngine(t)
	pub, _ := publish(t, e)
	desc := pub.pc.RemoteDescription()
	if desc == nil {
		t.Fatal("no remote description after the offer")
	}
	before := parsedCache(desc)
	if !pub.RemoteSends(webrtc.RTPCodecTypeAudio) {
		t.Fatal("RemoteSends(audio) = false for an offer that sends audio")
	}
	if pub.RemoteSends(webrtc.RTPCodecTypeVideo) {
		t.Fatal("RemoteSends(video) = true for an offer without video")
	}
	if after := parsedCache(desc); after != before {
		t.Fatalf("RemoteSends replaced pion's cached parse of its remote description (%#x → %#x)", before, after)
	}
}

// parsedCache is the address of the parse a pion SessionDescription caches (0 if none).
func parsedCache(desc *webrtc.SessionDescription) uintptr {
	return reflect.ValueOf(desc).Elem().FieldByName("parsed").Pointer()
}
