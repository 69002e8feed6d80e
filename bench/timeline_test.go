package bench

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-rtc/parley/room"
)

// TestBucketSummary: the server steps' p50/p95/max from the difference of two scrapes
// of cumulative buckets (seconds) come out in milliseconds, interpolated within the
// bucket; 0 for steps before the accept (the le="0" bucket, counted in BeforeAccept);
// the last finite bound for values beyond it; end alone after a server restart.
func TestBucketSummary(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name       string
		start, end map[float64]float64
		want       TimelineStep
	}{
		{"no scrape", nil, nil, TimelineStep{}},
		{"nothing new", map[float64]float64{0: 2, 0.01: 3, inf: 3}, map[float64]float64{0: 2, 0.01: 3, inf: 3}, TimelineStep{}},
		{"all before the accept", nil, map[float64]float64{0: 4, 0.01: 4, inf: 4},
			TimelineStep{Count: 4, P50: 0, P95: 0, Max: 0, BeforeAccept: 4}},
		{"one in (10, 20] ms", nil, map[float64]float64{0: 0, 0.01: 0, 0.02: 1, inf: 1},
			TimelineStep{Count: 1, P50: 15, P95: 19.5, Max: 20}},
		{"start subtracted", map[float64]float64{0: 5, 0.01: 5, 0.02: 5, 0.05: 5, inf: 5}, map[float64]float64{0: 5, 0.01: 7, 0.02: 9, 0.05: 9, inf: 9},
			TimelineStep{Count: 4, P50: 10, P95: 19, Max: 20}},
		{"half before, half in (0, 10] ms", nil, map[float64]float64{0: 2, 0.01: 4, inf: 4},
			TimelineStep{Count: 4, P50: 0, P95: 9, Max: 10, BeforeAccept: 2}},
		{"beyond the last bound", nil, map[float64]float64{0: 0, 30: 1, inf: 2},
			TimelineStep{Count: 2, P50: 30000, P95: 30000, Max: 30000}},
		{"server restarted", map[float64]float64{0: 0, 0.1: 50, inf: 50}, map[float64]float64{0: 0, 0.1: 2, inf: 2},
			TimelineStep{Count: 2, P50: 50, P95: 95, Max: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := bucketSummary("first_rtp_out", tt.start, tt.end)
			tt.want.Step, tt.want.Source = "first_rtp_out", timelineSourceServer
			if !closeSteps(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func closeSteps(a, b TimelineStep) bool {
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-6 }
	return a.Step == b.Step && a.Source == b.Source && a.Count == b.Count && a.BeforeAccept == b.BeforeAccept &&
		near(a.P50, b.P50) && near(a.P95, b.P95) && near(a.Max, b.Max)
}

// TestTimelineFromScrapes: the timeline of a run is the client steps the bench recorded
// and the server steps of the nodes' /metrics (summed), in the calls' order; steps
// without values are left out, and other series and labels do not count.
func TestTimelineFromScrapes(t *testing.T) {
	scrape := func(text string) stepBuckets {
		t.Helper()
		m, err := parseMetrics(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		return m.steps
	}
	before := scrape(`parley_call_timeline_seconds_bucket{step="room_join",le="0"} 1
parley_call_timeline_seconds_bucket{step="room_join",le="0.01"} 1
parley_call_timeline_seconds_bucket{step="room_join",le="+Inf"} 1
`)
	nodeA := scrape(`# TYPE parley_call_timeline_seconds histogram
parley_call_timeline_seconds_bucket{step="room_join",le="0"} 1
parley_call_timeline_seconds_bucket{step="room_join",le="0.01"} 3
parley_call_timeline_seconds_bucket{step="room_join",le="+Inf"} 3
parley_call_timeline_seconds_bucket{le="0.05",step="first_rtp_out"} 0
parley_call_timeline_seconds_bucket{le="0.1",step="first_rtp_out"} 2
parley_call_timeline_seconds_bucket{le="+Inf",step="first_rtp_out"} 2
parley_call_timeline_seconds_sum{step="first_rtp_out"} 0.15
parley_call_timeline_seconds_count{step="first_rtp_out"} 2
parley_call_timeline_seconds_bucket{step="first_rtp_in",le="0.1"} 0
parley_call_timeline_seconds_bucket{step="first_rtp_in",le="+Inf"} 0
parley_call_timeline_seconds_bucket{step="x,\"y",le="0.1"} 9
parley_call_timeline_seconds_bucket{step="activated"} 9
parley_other_bucket{step="activated",le="0.1"} 9
`)
	nodeB := scrape(`parley_call_timeline_seconds_bucket{step="first_rtp_out",le="0.05"} 2
parley_call_timeline_seconds_bucket{step="first_rtp_out",le="0.1"} 2
parley_call_timeline_seconds_bucket{step="first_rtp_out",le="+Inf"} 2
`)
	var c callMeter
	c.acceptBegin.Record(2 * time.Millisecond)
	c.acceptFirstRTP.Record(80 * time.Millisecond)
	got := c.timeline(before, nodeA.add(nodeB))
	want := []TimelineStep{
		{Step: StepCallBegin, Source: timelineSourceClient, Count: 1},
		{Step: "room_join", Source: timelineSourceServer, Count: 2, P50: 5, P95: 9.5, Max: 10},
		{Step: "first_rtp_out", Source: timelineSourceServer, Count: 4, P50: 50, P95: 95, Max: 100},
		{Step: StepFirstRTPReceived, Source: timelineSourceClient, Count: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("timeline %+v, want steps %+v", got, want)
	}
	for i := range want {
		if want[i].Source == timelineSourceClient { // the Histogram's own figures
			want[i].P50, want[i].P95, want[i].Max = got[i].P50, got[i].P95, got[i].Max
			if got[i].Max <= 0 {
				t.Errorf("%s: max %v", got[i].Step, got[i].Max)
			}
		}
		if !closeSteps(got[i], want[i]) {
			t.Errorf("step %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestServerStepsAreTheRoomsSteps: the bench names the server's steps itself (it may
// not import room); they are room.CallSteps, in order.
func TestServerStepsAreTheRoomsSteps(t *testing.T) {
	if !slices.Equal(serverSteps, room.CallSteps[:]) {
		t.Errorf("bench's server steps %q, room's %q", serverSteps, room.CallSteps)
	}
}

// TestKeyframeAssembly: a keyframe counts as complete at its marker only when every
// packet from its first on came in sequence (padding included); one with a gap waits
// for the next keyframe.
func TestKeyframeAssembly(t *testing.T) {
	type pkt struct {
		seq              uint16
		keyStart, marker bool
	}
	tests := []struct {
		name    string
		packets []pkt
		want    int // index of the packet that completes a keyframe, -1 none
	}{
		{"one packet", []pkt{{7, true, true}}, 0},
		{"three packets", []pkt{{1, false, true}, {2, true, false}, {3, false, false}, {4, false, true}}, 3},
		{"gap", []pkt{{2, true, false}, {4, false, true}}, -1},
		{"gap, then the next keyframe whole", []pkt{{2, true, false}, {4, false, true}, {5, false, true}, {6, true, false}, {7, false, true}}, 4},
		{"wrap around", []pkt{{65535, true, false}, {0, false, true}}, 1},
		{"delta frames only", []pkt{{1, false, false}, {2, false, true}}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var k keyframeAssembly
			got := -1
			for i, p := range tt.packets {
				k.next(p.seq)
				if k.frame(p.keyStart, p.marker, p.seq) && got < 0 {
					got = i
				}
			}
			if got != tt.want {
				t.Errorf("complete at packet %d, want %d", got, tt.want)
			}
		})
	}
}
