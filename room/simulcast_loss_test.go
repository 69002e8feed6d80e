package room_test

import (
	"testing"
	"time"
)

// TestSimulcastLossyViewerCleanVideo: a viewer that loses 5 % of the packets on the SFU →
// subscriber path gets its layer clean all the same: each lost packet comes back by NACK,
// so once the retransmissions arrived (checkCleanVideo waits for them) its video has no
// sequence gap, no bad switch and no picture ID break. It is what a busy machine does to
// the other simulcast tests when the kernel drops datagrams, made certain.
func TestSimulcastLossyViewerCleanVideo(t *testing.T) {
	m, id, _ := simulcastRoom(t, "simulcast-lossy", &recordingListener{})
	waitVideoPublished(t, m, id)
	bob := join(t, m, id, "bob", wireOptions{dropRate: 0.05})
	if err := bob.part.StartRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		before := bob.videoLayers("alice").Packets
		waitFor(t, 15*time.Second, "bob to receive 30 more packets", func() bool {
			return bob.videoLayers("alice").Packets >= before+30
		})
		checkCleanVideo(t, bob, "alice")
	}
	bob.checkNoErrors(t)
}
