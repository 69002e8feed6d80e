package cluster

import (
	"context"
	"testing"

	"github.com/parley-rtc/parley/internal/testservers"
)

// TestPlaceRoom: a room goes to the least loaded live node that is not draining, in the
// region asked for when a node there takes work, else anywhere (D95).
func TestPlaceRoom(t *testing.T) {
	r := testservers.RunRedis(t)
	a := startNode(t, testConfig(r, "a", "eu"), Load{Sessions: 50}, nil)
	startNode(t, testConfig(r, "b", "eu"), Load{Rooms: 10}, nil)
	startNode(t, testConfig(r, "c", "us"), Load{Tracks: 5}, nil)
	d := startNode(t, testConfig(r, "d", "us"), Load{}, nil)
	if err := d.SetDraining(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a sees d draining", func() bool { n, ok := a.Node("d"); return ok && n.Draining })
	tests := []struct {
		region, want string
	}{
		{"eu", "b"}, // b (10) beats a (50) in eu
		{"us", "c"}, // d (0) drains
		{"", "c"},   // no preference: the least loaded of all
		{"ap", "c"}, // nobody in ap
	}
	for _, tt := range tests {
		n, ok := a.PlaceRoom(tt.region)
		if !ok || n.ID != tt.want {
			t.Errorf("PlaceRoom(%q) = %s, %v; want %s", tt.region, n.ID, ok, tt.want)
		}
	}
}
