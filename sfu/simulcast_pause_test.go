package sfu

import (
	"sync"
	"testing"
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
