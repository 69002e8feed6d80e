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
