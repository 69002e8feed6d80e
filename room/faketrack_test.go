package room_test

import (
	"slices"
	"sync"
	"time"

	"github.com/parley-rtc/parley/sfu"
	"github.com/pion/webrtc/v4"
)

// fakeTrack is a published track with the statistics and volume the test sets.
type fakeTrack struct {
	id, stream string
	kind       webrtc.RTPCodecType
	simulcast  bool

	mu      sync.Mutex
	closed  bool
	hooks   []*func()
	volume  int
	muted   bool
	statsFn func() sfu.UplinkStats
	layers  func([]sfu.WantedLayer) // the room's OnWantedLayers
	downs   []*fakeDown
}

func (t *fakeTrack) TrackID() string           { return t.id }
func (t *fakeTrack) StreamID() string          { return t.stream }
func (t *fakeTrack) Kind() webrtc.RTPCodecType { return t.kind }
func (t *fakeTrack) Simulcast() bool           { return t.simulcast }
func (t *fakeTrack) OnWantedLayers(f func([]sfu.WantedLayer)) {
	t.mu.Lock()
	t.layers = f
	t.mu.Unlock()
}

// wantLayers tells the room which layers the subscribers' wishes need, as the sfu's
// Receiver does.
func (t *fakeTrack) wantLayers(wanted ...sfu.WantedLayer) {
	t.mu.Lock()
	f := t.layers
	t.mu.Unlock()
	if f != nil {
		f(wanted)
	}
}

// Stats is what statsFn says; none without it.
func (t *fakeTrack) Stats() sfu.UplinkStats {
	t.mu.Lock()
	f := t.statsFn
	t.mu.Unlock()
	if f == nil {
		return sfu.UplinkStats{Kind: t.kind}
	}
	return f()
}

func (t *fakeTrack) setStats(f func() sfu.UplinkStats) {
	t.mu.Lock()
	t.statsFn = f
	t.mu.Unlock()
}

// Volume is the volume the test set, 0 while muted (as the sfu's meter).
func (t *fakeTrack) Volume(time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.muted {
		return 0
	}
	return t.volume
}

func (t *fakeTrack) setVolume(v int) {
	t.mu.Lock()
	t.volume = v
	t.mu.Unlock()
}

func (t *fakeTrack) isMuted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.muted
}

func (t *fakeTrack) SetMuted(muted bool) {
	t.mu.Lock()
	t.muted = muted
	t.mu.Unlock()
}

func (t *fakeTrack) OnClose(f func()) (cancel func()) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		f()
		return func() {}
	}
	hook := &f
	t.hooks = append(t.hooks, hook)
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.hooks = slices.DeleteFunc(t.hooks, func(h *func()) bool { return h == hook })
	}
}

// Close ends the track: its down tracks stop, then the OnClose hooks run (as a Receiver).
func (t *fakeTrack) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	hooks, downs := t.hooks, t.downs
	t.hooks, t.downs = nil, nil
	t.mu.Unlock()
	for _, d := range downs {
		d.sub.drop(d)
	}
	for _, h := range hooks {
		(*h)()
	}
	return nil
}

func (t *fakeTrack) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// fakeDown is one track sent to one fakeSubscriber.
type fakeDown struct {
	track *fakeTrack
	sub   *fakeSubscriber

	mu                   sync.Mutex
	width, height        int
	current, targetLayer int
}

func (d *fakeDown) StreamID() string { return d.track.stream }
func (d *fakeDown) SetWantedSize(width, height int) {
	d.mu.Lock()
	d.width, d.height = width, height
	d.mu.Unlock()
}
func (d *fakeDown) CurrentLayer() int { d.mu.Lock(); defer d.mu.Unlock(); return d.current }
func (d *fakeDown) TargetLayer() int  { d.mu.Lock(); defer d.mu.Unlock(); return d.targetLayer }

// OnFirstPacketSent: fake tracks carry no packets (timeline_test.go tests real ones).
func (d *fakeDown) OnFirstPacketSent(func(at time.Time)) {}

func (d *fakeDown) setLayers(current, target int) {
	d.mu.Lock()
	d.current, d.targetLayer = current, target
	d.mu.Unlock()
}

func (d *fakeDown) wanted() (int, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.width, d.height
}
