package sfu

import (
	"sync"
	"testing"
	"time"
)

// wantedRecorder keeps every OnWantedLayers report as "q:true h:false ..." strings.
type wantedRecorder struct {
	mu      sync.Mutex
	reports []string
}

func (w *wantedRecorder) record(layers []WantedLayer) {
	s := ""
	for _, l := range layers {
		if s != "" {
			s += " "
		}
		if l.Wanted {
			s += l.RID + ":on"
		} else {
			s += l.RID + ":off"
		}
	}
	w.mu.Lock()
	w.reports = append(w.reports, s)
	w.mu.Unlock()
}

func (w *wantedRecorder) last() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.reports) == 0 {
		return ""
	}
	return w.reports[len(w.reports)-1]
}

// Layers no wish needs are reported unwanted (the lowest never is), also when that was
// already so before the function was set; wishes bring them back.
func TestSimulcastWantedLayers(t *testing.T) {
	f := newSimFixture(t)
	f.step() // every layer sends its first keyframe: sizes known
	rec := &wantedRecorder{}
	f.receiver.OnWantedLayers(rec.record) // no DownTrack yet: only q is needed
	if got := rec.last(); got != "q:on h:off f:off" {
		t.Fatalf("after OnWantedLayers: %q", got)
	}
	s := newSender(1024)
	dt := bindTestDownTrack(f.receiver, s, &fakeTrackWriter{}) // no wish: f
	if got := rec.last(); got != "q:on h:off f:on" {
		t.Fatalf("after a DownTrack without a wish: %q", got)
	}
	dt.SetWantedSize(640, 360)
	if got := rec.last(); got != "q:on h:on f:off" {
		t.Fatalf("after a 640x360 wish: %q", got)
	}
	dt.SetTargetLayer(0)
	if got := rec.last(); got != "q:on h:off f:off" {
		t.Fatalf("after pinning q: %q", got)
	}
	n := len(rec.reports)
	dt.SetTargetLayer(0)
	if len(rec.reports) != n {
		t.Fatalf("reported without a change: %q", rec.reports)
	}
	if wl := f.receiver.WantedLayers(); len(wl) != 3 || !wl[0].Wanted || wl[1].Wanted || wl[2].Wanted {
		t.Fatalf("WantedLayers() = %+v", wl)
	}
	f.receiver.removeDownTrack(dt)
	if got := rec.last(); got != "q:on h:off f:off" || len(rec.reports) != n {
		t.Fatalf("after removing the DownTrack: %q (%d reports, want %d)", got, len(rec.reports), n)
	}
}

// A layer that comes back is chosen again at once when the server had paused it (no
// wish needed it), and only after layerSettle when the publisher stopped it on its own.
func TestSimulcastResumedLayerSettles(t *testing.T) {
	tests := []struct {
		name      string
		wishWhile [2]int // the wish while f is stopped (1280×720 after it)
		settles   bool
	}{
		{"paused by the server", [2]int{320, 180}, false},
		{"stopped by the publisher", [2]int{1280, 720}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, dt := wishingFixture(t, 1280, 720)
			dt.setWantedSize(tc.wishWhile[0], tc.wishWhile[1], f.now)
			all := f.sources
			f.sources = all[:2] // f stops
			for n := 0; n < 45; n++ {
				f.step()
			}
			if dt.TargetLayer() == 2 {
				t.Fatal("f still the target 1.5 s after it stopped")
			}
			dt.setWantedSize(1280, 720, f.now)
			f.sources = all
			f.step()
			if got := dt.TargetLayer() == 2; got == tc.settles {
				t.Fatalf("target %d right after f came back; layers %+v", dt.TargetLayer(), f.receiver.Layers())
			}
			if settling := f.receiver.Layers()[2].Settling; settling != tc.settles {
				t.Fatalf("Layers()[2].Settling = %v, want %v", settling, tc.settles)
			}
			for n := 0; n < int(layerSettle/(33*time.Millisecond))+9; n++ {
				f.step()
			}
			if dt.TargetLayer() != 2 {
				t.Fatalf("target %d after f sent for layerSettle", dt.TargetLayer())
			}
		})
	}
}

// A layer back after a gap of just over layerInactiveAfter settles only when another
// layer kept sending meanwhile (D123): when the whole track paused for a little less than
// that (the publisher stalled), the top layer's last frame, one frame earlier than the
// others', put its gap over the limit, and it is chosen again at once.
func TestSimulcastResumeAfterWholeTrackPause(t *testing.T) {
	tests := []struct {
		name       string
		othersSend bool // q and h send while f is silent
		settles    bool
	}{
		{"the whole track paused", false, false},
		{"f stopped alone", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, dt := wishingFixture(t, 1280, 720)
			f.stopped[2] = true
			f.step() // f's last frame came one frame before q's and h's
			if tc.othersSend {
				for n := 0; n < 29; n++ { // f silent 1.023 s, q and h every 33 ms
					f.step()
				}
			} else {
				f.now = f.now.Add(950 * time.Millisecond) // everything silent: q and h 983 ms, f 1.016 s
			}
			f.stopped[2] = false
			f.step()
			if got := dt.TargetLayer() == 2; got == tc.settles {
				t.Fatalf("target %d right after f came back; layers %+v", dt.TargetLayer(), f.receiver.Layers())
			}
			if settling := f.receiver.Layers()[2].Settling; settling != tc.settles {
				t.Fatalf("Layers()[2].Settling = %v, want %v", settling, tc.settles)
			}
		})
	}
}

// A layer the publisher stopped on its own (Chromium encodes fewer layers when its
// capture gets smaller) is no longer available for wishes: the layer below it, which the
// server had paused, is wanted again so the viewer gets more than the lowest layer.
func TestSimulcastStoppedLayerWantsItsReplacement(t *testing.T) {
	f := newSimFixture(t)
	f.step() // every layer sends its first keyframe: sizes known
	rec := &wantedRecorder{}
	f.receiver.OnWantedLayers(rec.record)
	dt := bindTestDownTrack(f.receiver, newSender(4096), &fakeTrackWriter{})
	dt.setWantedSize(1280, 720, f.now)
	if got := rec.last(); got != "q:on h:off f:on" {
		t.Fatalf("after a 1280x720 wish: %q", got)
	}
	f.stopped[1] = true // h: paused by the server, the publisher stops it
	for n := 0; n < 10; n++ {
		f.step()
	}
	f.stopped[2] = true // f: the publisher stops it on its own
	for n := 0; n < 45; n++ {
		f.step()
	}
	// h is wanted (f too, as the layer still forwarded until the switch: harmless).
	if got := rec.last(); got != "q:on h:on f:on" {
		t.Fatalf("1.5 s after the publisher stopped f: %q (reports %q)", got, rec.reports)
	}
	f.stopped[1] = false // the publisher follows: h sends again, a keyframe within 30 frames
	for n := 0; n < 35; n++ {
		f.step()
	}
	if dt.TargetLayer() != 1 || dt.CurrentLayer() != 1 {
		t.Fatalf("target %d, current %d once h sends again, want 1; layers %+v", dt.TargetLayer(), dt.CurrentLayer(), f.receiver.Layers())
	}
	if got := rec.last(); got != "q:on h:on f:off" {
		t.Fatalf("after the switch to h: %q", got)
	}
}

// TestSimulcastFirstLayerBackAfterAStallLeavesTheOthersActive: after a stall of the whole
// track (publisher or server) of more than layerInactiveAfter, the layer read first makes
// the others' last packets look old; they stay selectable, since no layer sent through
// their silence, and the subscriber keeps its layer. A layer silent while another sends
// for layerInactiveAfter is inactive as before. Under load, room's
// TestSimulcastBandwidthAdaptation saw bob, held to h by his downlink, put on f for a
// moment after such a stall (q and h inactive: f the only layer left).
func TestSimulcastFirstLayerBackAfterAStallLeavesTheOthersActive(t *testing.T) {
	tests := []struct {
		name   string
		stall  time.Duration // the whole track silent
		fAlone int           // then f's frames (33 ms apart) without q and h
		active bool          // q and h after them
	}{
		{"f read first after a stall of 1.2 s", 1200 * time.Millisecond, 1, true},
		{"f alone 0.5 s after a stall of 1.2 s", 1200 * time.Millisecond, 16, true},
		{"f alone 1 s after a stall of 1.2 s", 1200 * time.Millisecond, 32, false},
		{"f alone 1 s", 0, 32, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, dt := wishingFixture(t, 320, 180)
			if dt.TargetLayer() != 0 {
				t.Fatalf("target %d before the stall, want 0", dt.TargetLayer())
			}
			f.stopped[0], f.stopped[1] = true, true
			f.now = f.now.Add(tc.stall)
			for n := 0; n < tc.fAlone; n++ {
				f.step()
			}
			layers := f.receiver.Layers()
			if layers[0].Active != tc.active || layers[1].Active != tc.active {
				t.Fatalf("layers %+v: q and h active %v, want %v", layers, !tc.active, tc.active)
			}
			if want := map[bool]int{true: 0, false: 2}[tc.active]; dt.TargetLayer() != want {
				t.Fatalf("target %d, want %d; layers %+v", dt.TargetLayer(), want, layers)
			}
		})
	}
}

// wishingFixture is a simulcast fixture whose one DownTrack wishes w×h, after 10 frames
// of every layer.
func wishingFixture(t *testing.T, w, h int) (*simFixture, *DownTrack) {
	f := newSimFixture(t)
	dt := bindTestDownTrack(f.receiver, newSender(4096), &fakeTrackWriter{})
	dt.setWantedSize(w, h, f.now)
	for n := 0; n < 10; n++ {
		f.step()
	}
	return f, dt
}
