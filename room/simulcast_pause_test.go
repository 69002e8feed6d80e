package room_test

import (
	"testing"
	"time"
)

// TestSimulcastUnusedLayersPause: with one subscriber asking for 320×180, the
// publisher is told that only q is needed; when a second subscriber asks for 1280×720,
// f is needed again (h stays unneeded); when that subscriber stops viewing, f is not.
func TestSimulcastUnusedLayersPause(t *testing.T) {
	events := &recordingListener{}
	m, id, alice := simulcastRoom(t, "simulcast-pause", events)
	bob := join(t, m, id, "bob", wireOptions{})
	if err := bob.part.SetRemoteViewQuality("alice", 320, 180); err != nil {
		t.Fatal(err)
	}
	if err := bob.part.StartRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	onlyQ := id.String() + " layers alice q:true h:false f:false"
	defer func() {
		if t.Failed() {
			t.Logf("events: %q; bob's video of alice: %+v", events.snapshot(), bob.videoLayers("alice"))
		}
	}()
	waitFor(t, 15*time.Second, "alice to be told that only q is needed", func() bool {
		return events.has(onlyQ) && bob.videoLayers("alice").Frames[0] >= 30
	})

	carol := join(t, m, id, "carol", wireOptions{})
	if err := carol.part.SetRemoteViewQuality("alice", 1280, 720); err != nil {
		t.Fatal(err)
	}
	asked, before := time.Now(), len(events.snapshot())
	if err := carol.part.StartRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	withF := id.String() + " layers alice q:true h:false f:true"
	waitFor(t, 5*time.Second, "alice to be told that f is needed again", func() bool {
		return lastIndex(events, withF) >= before
	})
	t.Logf("f wanted again %s after carol's startRemoteView", time.Since(asked).Round(time.Millisecond))
	waitFor(t, 15*time.Second, "carol to receive f", func() bool {
		st := carol.videoLayers("alice")
		return st.Layer == 2 && st.Frames[2] >= 30
	})

	if err := carol.part.StopRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "alice to be told that f is no longer needed", func() bool {
		return lastIndex(events, onlyQ) > lastIndex(events, withF)
	})
	for _, w := range []*wire{alice, bob, carol} {
		w.checkNoErrors(t)
	}
}

// lastIndex is the position of the last occurrence of event, -1 when absent.
func lastIndex(l *recordingListener, event string) int {
	last := -1
	for i, e := range l.snapshot() {
		if e == event {
			last = i
		}
	}
	return last
}
