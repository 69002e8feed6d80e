package sfu

import "testing"

// A DownTrack added between keyframes starts at once from the layer's buffered keyframe
// when it is recent. When it is not, or the layer sends nothing, the DownTrack starts on a
// smaller layer whose keyframe is at hand and switches to its layer at the next keyframe.
func TestSimulcastNewDownTrackStartsFromBufferedKeyframe(t *testing.T) {
	tests := []struct {
		name       string
		framesBef  int  // frames sent before the DownTrack is added
		stopF      int  // f sends nothing from this frame on (0: it keeps sending)
		wantReplay bool // from a buffered keyframe (of the first layer)
		wantBelow  bool // started below f
		firstLayer byte
		firstFrame uint32 // the first frame the subscriber receives
		fFrom      uint32 // the first frame of f it receives (with wantBelow)
	}{
		// Keyframes: q at frames 0, 30, 60, 90; h at 0, 20, 50, 80; f at 0, 10, 40, 70
		// (keyframeAt).
		{name: "keyframe 5 frames ago", framesBef: 5, wantReplay: true, firstLayer: 2, firstFrame: 0},
		{name: "keyframe 25 frames (833 ms) ago: q first", framesBef: 65, wantReplay: true, wantBelow: true, firstLayer: 0, firstFrame: 60, fFrom: 70},
		{name: "f stopped 10 frames ago: q first", framesBef: 65, stopF: 55, wantReplay: true, wantBelow: true, firstLayer: 0, firstFrame: 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newSimFixture(t)
			for n := 0; n < tc.framesBef; n++ {
				f.stopped[2] = tc.stopF > 0 && f.frame >= tc.stopF
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
			layers := checkContinuity(t, tc.name, got)
			layer, frame, _ := sentLayer(t, got[0].payload)
			if layer != tc.firstLayer || frame != tc.firstFrame || got[0].payload[0]&0x10 == 0 {
				t.Fatalf("first packet: layer %d frame %d, want layer %d frame %d (a keyframe start)", layer, frame, tc.firstLayer, tc.firstFrame)
			}
			if replayed := dt.Replays() == 1; replayed != tc.wantReplay {
				t.Fatalf("Replays() = %d, want replay %v", dt.Replays(), tc.wantReplay)
			}
			if below := dt.StartsBelow() == 1; below != tc.wantBelow {
				t.Fatalf("StartsBelow() = %d, want %v", dt.StartsBelow(), tc.wantBelow)
			}
			if tc.fFrom > 0 {
				for _, p := range got {
					if l, fr, _ := sentLayer(t, p.payload); l == 2 {
						if fr != tc.fFrom {
							t.Fatalf("first frame of f: %d, want %d (its next keyframe)", fr, tc.fFrom)
						}
						break
					}
				}
				if layers[len(layers)-1] != 2 {
					t.Fatalf("layers forwarded %v, want to end on f", layers)
				}
			}
			if tc.firstLayer == 2 && tc.wantReplay && len(got) != 2*(tc.framesBef+10) {
				t.Fatalf("%d packets forwarded, want every packet since frame 0 (%d)", len(got), 2*(tc.framesBef+10))
			}
		})
	}
}
