package room_test

import (
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
)

// TestSimulcastBandwidthAdaptation: two subscribers send transport-wide congestion
// control feedback and receive the top layer of a three-layer publisher. When bob's
// downlink is limited to 700 kbit/s (a client-side bottleneck before his TWCC feedback,
// client.DownlinkShaper), the server's GCC estimate falls and bob drops to a lower layer
// within a few seconds while carol keeps hers; when the limit is lifted, bob's layer
// comes back (by probing: the estimate can only grow with what is sent). The limits are
// generous: on a CPU-starved machine the test's own clients stamp arrivals late, which the
// delay-based estimate reads as a queue, so the climb back takes longer (seen: > 30 s at a
// load average of 30 on 2 cores); the test is about adaptation, not its speed.
func TestSimulcastBandwidthAdaptation(t *testing.T) {
	m, id, alice := simulcastRoom(t, "simulcast-bwe", &recordingListener{})
	waitVideoPublished(t, m, id)
	bobLink, carolLink := &client.DownlinkShaper{}, &client.DownlinkShaper{}
	bob := join(t, m, id, "bob", wireOptions{downlink: bobLink})
	carol := join(t, m, id, "carol", wireOptions{downlink: carolLink})
	for _, w := range []*wire{bob, carol} {
		if err := w.part.StartRemoteView("alice"); err != nil {
			t.Fatal(err)
		}
	}
	watchReceivedLayers(t, "alice", bob, carol)
	waitFor(t, 60*time.Second, "bob and carol to receive the top layer", func() bool {
		b, c := bob.videoLayers("alice"), carol.videoLayers("alice")
		return b.Layer == 2 && b.Frames[2] >= 60 && c.Layer == 2 && c.Frames[2] >= 60
	})
	carolBefore := carol.videoLayers("alice")

	bobLink.SetLimit(700_000)
	limited := time.Now()
	var down time.Duration
	waitFor(t, 60*time.Second, "bob to drop below the top layer", func() bool {
		st := bob.videoLayers("alice")
		if st.Layer < 2 && down == 0 {
			down = time.Since(limited)
		}
		return st.Layer < 2 && st.Frames[st.Layer] >= 30
	})
	t.Logf("bob limited to 700 kbit/s: left the top layer after %s (%d packets dropped by the bottleneck)",
		down.Round(time.Millisecond), bobLink.Dropped())

	// While the limit holds, bob stays below the top layer (a probe may try h, never f).
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if st := bob.videoLayers("alice"); st.Layer == 2 {
			t.Fatalf("bob back on the top layer while limited to 700 kbit/s: %+v", st)
		}
	}

	bobLink.SetLimit(0)
	lifted := time.Now()
	var up time.Duration
	waitFor(t, 120*time.Second, "bob to return to the top layer", func() bool {
		st := bob.videoLayers("alice")
		if st.Layer == 2 && up == 0 {
			up = time.Since(lifted)
		}
		return st.Layer == 2 && st.Frames[2] >= 60
	})
	t.Logf("limit lifted: bob back on the top layer after %s", up.Round(time.Millisecond))

	carolAfter := carol.videoLayers("alice")
	if carolAfter.Layer != 2 || carolAfter.LayerChanges != carolBefore.LayerChanges {
		t.Errorf("carol's layer moved while only bob's link was limited: before %+v, after %+v", carolBefore, carolAfter)
	}
	checkCleanVideo(t, carol, "alice")
	// bob's own counters are not checked for clean switches: his link lost packets (the
	// first packet of a keyframe, repaired by NACK, can arrive after its successors).
	t.Logf("bob's layers: %+v", bob.videoLayers("alice"))
	for _, w := range []*wire{alice, bob, carol} {
		w.checkNoErrors(t)
	}
}
