package sfu

import "testing"

// A DownTrack added between keyframes starts at once from the layer's buffered keyframe
// when it is recent, and waits for the next keyframe when it is not.
func TestSimulcastNewDownTrackStartsFromBufferedKeyframe(t *testing.T) {
	tests := []struct {
		name       string
		framesBef  int // frames sent before the DownTrack is added
		wantReplay bool
		firstFrame uint32 // the first frame of layer f the subscriber receives
	}{
		// f's keyframes are at frames 0, 10, 40, 70, ...: keyframeAt(2, n).
		{name: "keyframe 5 frames ago", framesBef: 5, wantReplay: true, firstFrame: 0},
		{name: "keyframe 25 frames (833 ms) ago", framesBef: 65, wantReplay: false, firstFrame: 70},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSimFixture(t)
			for n := 0; n < tc.framesBef; n++ {
				f.step()
			}
			s, w := newSender(1024), &fakeTrackWriter{}
			dt := bindTestDownTrack(f.receiver, s, w)
			dt.SetWantedSize(1280, 720)
			for n := 0; n < 10; n++ {
				f.step()
			}
			drainSender(s)
			got := w.snapshot()
			if len(got) == 0 {
				t.Fatal("nothing forwarded")
			}
			checkContinuity(t, tc.name, got)
			layer, frame, _ := sentLayer(t, got[0].payload)
			if layer != 2 || frame != tc.firstFrame || got[0].payload[0]&0x10 == 0 {
				t.Fatalf("first packet: layer %d frame %d, want layer 2 frame %d (a keyframe start)", layer, frame, tc.firstFrame)
			}
			if replayed := dt.Replays() == 1; replayed != tc.wantReplay {
				t.Fatalf("Replays() = %d, want replay %v", dt.Replays(), tc.wantReplay)
			}
			if tc.wantReplay && len(got) != 2*(tc.framesBef+10) {
				t.Fatalf("%d packets forwarded, want every packet since frame 0 (%d)", len(got), 2*(tc.framesBef+10))
			}
		})
	}
}
