package sfu

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// OnFirstPacketSent reports the first packet queued for the subscriber once, with its
// time, whether it was set before that packet or after.
func TestFirstPacketSentReportedOnce(t *testing.T) {
	tests := []struct {
		name     string
		setAfter int // packets forwarded before OnFirstPacketSent
	}{
		{"set before the first packet", 0},
		{"set after packets went", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testReceiver(webrtc.RTPCodecTypeAudio, nil)
			d := bindTestDownTrack(r, newSender(16), &fakeTrackWriter{})
			reports := make(chan time.Time, 4)
			watch := func() { d.OnFirstPacketSent(func(at time.Time) { reports <- at }) }
			for seq := uint16(1); seq <= 6; seq++ {
				if int(seq) == tc.setAfter+1 {
					watch()
				}
				now := testNow.Add(time.Duration(seq) * 20 * time.Millisecond)
				if err := r.writePacket(rtpBytes(seq, uint32(seq)*960, false, false, []byte{1}), now); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case at := <-reports:
				if want := testNow.Add(20 * time.Millisecond); !at.Equal(want) {
					t.Errorf("first packet sent at %v, want %v (the first packet's)", at, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("first packet sent never reported")
			}
			watch() // set again: nothing more
			select {
			case at := <-reports:
				t.Fatalf("reported again (%v)", at)
			case <-time.After(50 * time.Millisecond):
			}
		})
	}
}
