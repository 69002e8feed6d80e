package sfu

import (
	"testing"

	"github.com/pion/webrtc/v4"
)

// A cancelled OnClose function is forgotten at once and does not run when the track
// ends; the others still run, once each. (A WHEP viewer registers one per session: a
// track that lives for hours must not keep every past viewer's.)
func TestReceiverOnCloseCancel(t *testing.T) {
	r := testReceiver(webrtc.RTPCodecTypeVideo, nil)
	ran := map[string]int{}
	keep := r.OnClose(func() { ran["keep"]++ })
	var cancels []func()
	for range 100 {
		cancels = append(cancels, r.OnClose(func() { ran["cancelled"]++ }))
	}
	for _, c := range cancels {
		c()
		c() // twice is a no-op
	}
	if n := r.CloseHooks(); n != 1 {
		t.Fatalf("CloseHooks() = %d after cancelling 100 of 101, want 1", n)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	keep() // after the run: a no-op
	if ran["keep"] != 1 || ran["cancelled"] != 0 {
		t.Fatalf("ran %v, want keep once and no cancelled one", ran)
	}
	if n := r.CloseHooks(); n != 0 {
		t.Fatalf("CloseHooks() = %d after Close", n)
	}
	late := 0
	r.OnClose(func() { late++ })() // after the end: runs at once, cancel is a no-op
	if late != 1 {
		t.Fatalf("OnClose after the end ran %d times", late)
	}
}
