package room_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/internal/testwait"
	"github.com/parley-rtc/parley/room"
	"github.com/pion/webrtc/v4"
)

// publishSimulcast gives w a Publisher that sends audio and three simulcast video layers
// (q 320×180, h 640×360, f 1280×720), negotiates it and starts sending.
func publishSimulcast(t *testing.T, w *wire) {
	t.Helper()
	pub, err := client.NewPublisher(client.PublisherConfig{
		Peer: client.PeerConfig{Loopback: true}, StreamID: w.userID, AudioLevel: 30,
		Simulcast: client.DefaultSimulcastLayers(), KeyframeInterval: 150,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.pub = pub // before the offer: the server's candidates for it follow the answer
	t.Cleanup(func() {
		if err := pub.Close(); err != nil {
			t.Errorf("simulcast publisher close: %v", err)
		}
	})
	w.negotiatePublisher(t)
	waitFor(t, 10*time.Second, "the simulcast publisher to connect", func() bool {
		return pub.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
}

// simulcastRoom starts an engine and a room manager reporting to events, and has alice
// join room name and publish three simulcast layers (publishSimulcast).
func simulcastRoom(t *testing.T, name string, events room.Listener) (*room.Manager, room.ID, *wire) {
	t.Helper()
	m := newManager(t, room.DefaultConfig(), startEngine(t), events)
	id, err := room.NewStringID(name)
	if err != nil {
		t.Fatal(err)
	}
	alice := join(t, m, id, "alice", wireOptions{})
	publishSimulcast(t, alice)
	return m, id, alice
}

// waitVideoPublished waits until the room's one participant, its publisher, has its video
// published.
func waitVideoPublished(t *testing.T, m *room.Manager, id room.ID) {
	t.Helper()
	r, _ := m.Room(id)
	waitFor(t, 10*time.Second, "alice's video to be published", func() bool {
		infos := r.Participants()
		return len(infos) == 1 && infos[0].VideoPublished
	})
}

// videoLayers returns the simulcast stats of the video w receives from publisher.
func (w *wire) videoLayers(publisher string) client.LayerStats {
	tr, _ := w.track(publisher, webrtc.RTPCodecTypeVideo)
	return tr.Simulcast
}

// checkCleanVideo fails when w's video from publisher had a sequence gap, a layer switch
// that was not at a keyframe, or a break in picture ID / TL0PICIDX numbering. A packet
// lost on the loopback (the kernel drops datagrams when a starved process does not read
// its socket in time) is a gap until its retransmission arrives, a NACK round trip later:
// the check waits for the gaps to be filled, and only a gap that stays fails.
func checkCleanVideo(t *testing.T, w *wire, publisher string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	testwait.Poll(ctx, func() bool {
		tr, _ := w.track(publisher, webrtc.RTPCodecTypeVideo)
		return tr.SeqGaps == 0
	})
	tr, _ := w.track(publisher, webrtc.RTPCodecTypeVideo)
	st := tr.Simulcast
	if tr.SeqGaps != 0 || tr.PayloadErrors != 0 || !tr.FirstKeyframe || st.BadSwitches != 0 || st.PictureIDBreaks != 0 || st.TL0Breaks != 0 {
		t.Errorf("%s's video of %s: seq gaps %d, payload errors %d, first keyframe %v, layer stats %+v",
			w.userID, publisher, tr.SeqGaps, tr.PayloadErrors, tr.FirstKeyframe, st)
	}
}

// TestSimulcastLayersFollowWishes: a publisher sends three layers; subscribers asking
// for 640×360, 1280×720 and nothing receive h, f and f (from the media: the VP8
// keyframe size and the synthetic layer tag); a changed wish switches at a keyframe
// with no sequence gap and no break in the picture ID sequence.
func TestSimulcastLayersFollowWishes(t *testing.T) {
	m, id, alice := simulcastRoom(t, "simulcast", &recordingListener{})
	waitVideoPublished(t, m, id)

	type viewer struct {
		w          *wire
		wantW      int
		wantH      int
		wantLayer  int
		width      int
		height     int
		started    time.Time
		firstFrame time.Duration
	}
	viewers := []*viewer{
		{w: join(t, m, id, "bob", wireOptions{}), wantW: 640, wantH: 360, wantLayer: 1, width: 640, height: 360},
		{w: join(t, m, id, "carol", wireOptions{}), wantW: 1280, wantH: 720, wantLayer: 2, width: 1280, height: 720},
		{w: join(t, m, id, "dave", wireOptions{}), wantLayer: 2, width: 1280, height: 720},
	}
	watchReceivedLayers(t, "alice", viewers[0].w, viewers[1].w, viewers[2].w)
	for _, v := range viewers {
		if v.wantW != 0 {
			if err := v.w.part.SetRemoteViewQuality("alice", v.wantW, v.wantH); err != nil {
				t.Fatal(err)
			}
		}
		v.started = time.Now()
		if err := v.w.part.StartRemoteView("alice"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 15*time.Second, "every viewer to receive its layer", func() bool {
		done := true
		for _, v := range viewers {
			st := v.w.videoLayers("alice")
			if st.Packets > 0 && v.firstFrame == 0 {
				v.firstFrame = time.Since(v.started)
			}
			done = done && st.Layer == v.wantLayer && st.Frames[v.wantLayer] >= 30
		}
		return done
	})
	for _, v := range viewers {
		st := v.w.videoLayers("alice")
		if st.Width != v.width || st.Height != v.height {
			t.Errorf("%s decodes %d×%d, want %d×%d", v.w.userID, st.Width, st.Height, v.width, v.height)
		}
		if cur, _, ok := v.w.part.RemoteVideoLayer("alice"); !ok || cur != v.wantLayer {
			t.Errorf("%s: RemoteVideoLayer = %d %v, want %d", v.w.userID, cur, ok, v.wantLayer)
		}
		checkCleanVideo(t, v.w, "alice")
		t.Logf("%s: first video packet %s after StartRemoteView", v.w.userID, v.firstFrame.Round(time.Millisecond))
	}

	// dave's start may have passed through a smaller layer (a DownTrack whose target
	// cannot start at once starts below it, sfu/fastfirst.go; on a busy machine that
	// happens): from here on, while bob and carol change their wishes, his stays put.
	daveBefore := viewers[2].w.videoLayers("alice")

	// bob now wants 1280×720, carol 320×180.
	switches := []struct {
		v         *viewer
		w, h      int
		wantLayer int
	}{{viewers[0], 1280, 720, 2}, {viewers[1], 320, 180, 0}}
	for _, s := range switches {
		before := s.v.w.videoLayers("alice")
		asked := time.Now()
		if err := s.v.w.part.SetRemoteViewQuality("alice", s.w, s.h); err != nil {
			t.Fatal(err)
		}
		var switched time.Duration
		waitFor(t, 15*time.Second, fmt.Sprintf("%s to switch to layer %d", s.v.w.userID, s.wantLayer), func() bool {
			st := s.v.w.videoLayers("alice")
			if st.Layer == s.wantLayer && switched == 0 {
				switched = time.Since(asked)
			}
			return st.Layer == s.wantLayer && st.Frames[s.wantLayer] >= before.Frames[s.wantLayer]+30
		})
		st := s.v.w.videoLayers("alice")
		if st.LayerChanges != before.LayerChanges+1 {
			t.Errorf("%s: %d layer changes for one wish (before %d)", s.v.w.userID, st.LayerChanges, before.LayerChanges)
		}
		checkCleanVideo(t, s.v.w, "alice")
		t.Logf("%s: layer switch %d→%d took %s", s.v.w.userID, before.Layer, s.wantLayer, switched.Round(time.Millisecond))
	}
	if st := viewers[2].w.videoLayers("alice"); st.Layer != 2 || st.LayerChanges != daveBefore.LayerChanges {
		t.Errorf("dave's layer changed without a wish: before the others' wishes %+v, after %+v", daveBefore, st)
	}
	t.Logf("publisher layers: %+v", alice.pub.SimulcastStats())
	for _, v := range append(viewers, &viewer{w: alice}) {
		v.w.checkNoErrors(t)
	}
}

// layerHistory polls the video layer each wire receives from publisher (every 20 ms,
// until the test ends) and logs its changes with the time since the start when the test
// ends: a layer that moved says when and where to.
type layerHistory struct {
	mu    sync.Mutex
	start time.Time
	lines []string
}

func watchReceivedLayers(t *testing.T, publisher string, wires ...*wire) *layerHistory {
	h := &layerHistory{start: time.Now()}
	stop, done := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() {
		close(stop)
		<-done
		t.Logf("layers received from %s: %s", publisher, h)
	})
	go func() {
		defer close(done)
		last := make([]int, len(wires))
		for i := range last {
			last[i] = -1
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for i, w := range wires {
				st := w.videoLayers(publisher)
				if st.Packets > 0 && st.Layer != last[i] {
					h.mu.Lock()
					h.lines = append(h.lines, fmt.Sprintf("%s %s→%d (frames %v)",
						time.Since(h.start).Round(time.Millisecond), w.userID, st.Layer, st.Frames))
					h.mu.Unlock()
					last[i] = st.Layer
				}
			}
		}
	}()
	return h
}

func (h *layerHistory) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.lines, "; ")
}
