package signaling

import (
	"testing"

	"github.com/parley-rtc/parley/signaling/protocol"
)

func TestWantedSize(t *testing.T) {
	tests := []struct {
		name string
		q    protocol.VideoQuality
		w, h int
	}{
		{"none", protocol.VideoQuality{}, 0, 0},
		{"resolution 108", protocol.VideoQuality{Resolution: protocol.Resolution640x360}, 640, 360},
		{"resolution 114", protocol.VideoQuality{Resolution: protocol.Resolution1920x1080}, 1920, 1080},
		{"explicit size wins", protocol.VideoQuality{Resolution: protocol.Resolution1280x720, Width: 320, Height: 180}, 320, 180},
		{"width only", protocol.VideoQuality{Width: 480}, 480, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if w, h := wantedSize(tc.q); w != tc.w || h != tc.h {
				t.Fatalf("wantedSize = %d×%d, want %d×%d", w, h, tc.w, tc.h)
			}
		})
	}
}
