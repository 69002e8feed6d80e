package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCallHooks(t *testing.T) {
	m := New()
	t0 := time.Unix(1_700_000_000, 0)
	m.CallBegan(call.CallSummary{CallID: "c1", CreatedAt: t0, BeganAt: t0.Add(1500 * time.Millisecond)})
	m.CallEnded(call.CallSummary{CallID: "c1", Outcome: call.OutcomeAnswered})
	m.CallEnded(call.CallSummary{CallID: "c2", Outcome: call.OutcomeUnanswered})
	m.CallEnded(call.CallSummary{CallID: "c3", Outcome: call.OutcomeUnanswered})
	m.InviteeOffline(1400000001, "c2", "bob", protocol.CallReceivedEvent{CallID: "c2"})

	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"began", testutil.ToFloat64(m.callsBegan), 1},
		{"answered", testutil.ToFloat64(m.callsEnded.WithLabelValues("answered")), 1},
		{"unanswered", testutil.ToFloat64(m.callsEnded.WithLabelValues("unanswered")), 2},
		{"cancelled", testutil.ToFloat64(m.callsEnded.WithLabelValues("cancelled")), 0},
		{"offline", testutil.ToFloat64(m.inviteeOffline), 1},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "parley_call_setup_seconds" {
			h := f.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() != 1 || h.GetSampleSum() != 1.5 {
				t.Fatalf("setup histogram count %d sum %v, want 1 and 1.5", h.GetSampleCount(), h.GetSampleSum())
			}
			return
		}
	}
	t.Fatal("parley_call_setup_seconds not gathered")
}

func TestQualityDistributionFollowsRooms(t *testing.T) {
	m := New()
	r1, _ := room.NewIntID(1)
	r2, _ := room.NewStringID("two")
	m.NetworkQuality(r1, []room.UserQuality{{UserID: "a", Quality: 1}, {UserID: "b", Quality: 3}})
	m.NetworkQuality(r2, []room.UserQuality{{UserID: "c", Quality: 1}})
	m.NetworkQuality(r1, []room.UserQuality{{UserID: "a", Quality: 2}, {UserID: "b", Quality: 3}}) // replaces r1's
	if got := m.qualityDistribution(); got != [7]int{0, 1, 1, 1, 0, 0, 0} {
		t.Fatalf("distribution %v", got)
	}
	m.ParticipantLeft(r1, "b")
	m.RoomClosed(r2)
	if got := m.qualityDistribution(); got != [7]int{0, 0, 1, 0, 0, 0, 0} {
		t.Fatalf("after leave and close: %v", got)
	}
}

// TestCallStepsHistogram: each call step goes to its own series of
// parley_call_timeline_seconds, a step before the accept (0) into the bucket le="0";
// a step the room does not name is ignored.
func TestCallStepsHistogram(t *testing.T) {
	m := New()
	id, _ := room.NewIntID(7)
	m.CallStep(id, "alice", room.CallStepRoomJoin, 0)
	m.CallStep(id, "alice", room.CallStepFirstRTPOut, 40*time.Millisecond)
	m.CallStep(id, "bob", room.CallStepFirstRTPOut, 60*time.Millisecond)
	m.CallStep(id, "bob", "not a step", time.Second)
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	type series struct {
		count      uint64
		sum        float64
		beforeZero uint64 // the le="0" bucket
	}
	got := map[string]series{}
	for _, f := range families {
		if f.GetName() != "parley_call_timeline_seconds" {
			continue
		}
		for _, metric := range f.GetMetric() {
			h := metric.GetHistogram()
			s := series{count: h.GetSampleCount(), sum: h.GetSampleSum()}
			for _, b := range h.GetBucket() {
				if b.GetUpperBound() == 0 {
					s.beforeZero = b.GetCumulativeCount()
				}
			}
			got[metric.GetLabel()[0].GetValue()] = s
		}
	}
	tests := []struct {
		step string
		want series
	}{
		{room.CallStepRoomJoin, series{1, 0, 1}},
		{room.CallStepFirstRTPOut, series{2, 0.1, 0}},
		{room.CallStepActivated, series{0, 0, 0}},
	}
	for _, tt := range tests {
		g := got[tt.step]
		if g.count != tt.want.count || g.beforeZero != tt.want.beforeZero || g.sum < tt.want.sum-1e-9 || g.sum > tt.want.sum+1e-9 {
			t.Errorf("%s: %+v, want %+v", tt.step, g, tt.want)
		}
	}
	if len(got) != len(room.CallSteps) {
		t.Errorf("%d step series, want one per room.CallSteps (%d): %v", len(got), len(room.CallSteps), got)
	}
}
