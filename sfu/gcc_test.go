package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor/pkg/twcc"
)

// linkSim drives a congestionController through a simulated downlink: the Sender's
// packets (recorded in the send history as the interceptor does) cross a bottleneck of
// capacity bits per second, either a queue (packets wait, up to maxQueue, then drop) or a
// policer (packets beyond what maxQueue would hold are lost, the others pass at once, as
// client.DownlinkShaper does), and pion's own TWCC recorder (what the test clients run)
// builds the feedback every 100 ms.
type linkSim struct {
	t        *testing.T
	cc       *congestionController
	rec      *twcc.Recorder
	start    time.Time
	sendNs   int64
	seq      uint16
	drainNs  int64 // when the bottleneck is empty again
	capacity int64 // bits per second, 0 unlimited
	policer  bool
	maxQueue time.Duration
	silent   bool // feedback is lost
}

const (
	simPacket     = 1200
	simPropagate  = 20 * time.Millisecond
	simFeedback   = 100 * time.Millisecond
	simClockShift = 5_000_000_000 // µs between the sender's and the receiver's clocks
)

func newLinkSim(t *testing.T) *linkSim {
	h := newSendHistory()
	h.allocate()
	return &linkSim{t: t, cc: newCongestionController(h), rec: twcc.NewRecorder(1), start: time.Unix(1000, 0), maxQueue: 200 * time.Millisecond}
}

// run sends at sendBps for d and returns the estimate at the end. With follow the
// sender sends no faster than the estimate (as the allocator steps layers down).
func (s *linkSim) run(d time.Duration, sendBps int64, follow bool) int64 {
	s.t.Helper()
	end := s.sendNs + int64(d)
	rate := sendBps
	nextFeedback := s.sendNs + int64(simFeedback)
	for s.sendNs < end {
		s.send()
		s.sendNs += int64(simPacket*8) * int64(time.Second) / rate
		if s.sendNs >= nextFeedback {
			s.feedback(nextFeedback)
			nextFeedback += int64(simFeedback)
			if follow {
				rate = min(sendBps, s.cc.target.Load())
			}
		}
	}
	return s.cc.target.Load()
}

func (s *linkSim) send() {
	s.cc.history.record(s.seq, simPacket, s.sendNs)
	arrival := s.sendNs + int64(simPropagate)
	if s.capacity > 0 {
		transmit := int64(simPacket*8) * int64(time.Second) / s.capacity
		begin := max(s.drainNs, s.sendNs)
		if time.Duration(begin+transmit-s.sendNs) > s.maxQueue {
			s.seq++ // lost
			return
		}
		s.drainNs = begin + transmit
		if !s.policer {
			arrival = s.drainNs + int64(simPropagate)
		}
	}
	s.rec.Record(1, s.seq, arrival/1000+simClockShift)
	s.seq++
}

func (s *linkSim) feedback(atNs int64) {
	for _, pkt := range s.rec.BuildFeedbackPacket() {
		raw, err := pkt.Marshal()
		if err != nil {
			s.t.Fatal(err)
		}
		if s.silent {
			continue
		}
		if err := s.cc.onFeedback(raw, s.start.Add(time.Duration(atNs)+simPropagate)); err != nil {
			s.t.Fatalf("feedback from pion's recorder refused: %v", err)
		}
	}
}

// The estimator's behaviour over simulated links: table of scenarios, each a sequence of
// phases (send rate, bottleneck) and the bounds the estimate must be within at the end of
// each phase.
func TestCongestionEstimatorScenarios(t *testing.T) {
	type phase struct {
		d          time.Duration
		sendBps    int64
		capacity   int64
		policer    bool
		deepQueue  bool // 5 s instead of 200 ms: delay, no loss
		follow     bool
		silent     bool
		minE, maxE int64 // bounds at the end of the phase
	}
	tests := []struct {
		name   string
		phases []phase
	}{
		{"steady: a link with room lets the estimate grow 8 %/s beyond what is sent", []phase{
			{d: 10 * time.Second, sendBps: 1_000_000, minE: 5_500_000, maxE: 6_600_000},
		}},
		{"congestion onset: a queue building at 1.5 Mbit/s brings it under the capacity", []phase{
			{d: 5 * time.Second, sendBps: 1_000_000, capacity: 1_500_000, minE: initialDownlinkEstimate},
			{d: 2 * time.Second, sendBps: 2_000_000, capacity: 1_500_000, minE: 700_000, maxE: 1_500_000},
		}},
		{"congestion onset without loss: the delay trend alone brings it under the capacity", []phase{
			{d: 5 * time.Second, sendBps: 1_000_000, capacity: 1_500_000, deepQueue: true, minE: initialDownlinkEstimate},
			{d: 2 * time.Second, sendBps: 2_000_000, capacity: 1_500_000, deepQueue: true, minE: 700_000, maxE: 1_500_000},
		}},
		{"congestion: a sender following the estimate stays near the capacity", []phase{
			{d: 20 * time.Second, sendBps: 2_500_000, capacity: 1_500_000, follow: true, minE: 900_000, maxE: 2_000_000},
		}},
		{"loss: a 700 kbit/s policer (no queueing delay) brings it under 1 Mbit/s, not far under 700k", []phase{
			{d: 3 * time.Second, sendBps: 2_000_000, capacity: 700_000, policer: true, minE: 400_000, maxE: 1_000_000},
		}},
		{"moderate loss (2-10 %) holds the estimate", []phase{
			{d: 3 * time.Second, sendBps: 2_000_000, capacity: 700_000, policer: true, maxE: 1_000_000},
			{d: 3 * time.Second, sendBps: 740_000, capacity: 700_000, policer: true, minE: 400_000, maxE: 1_000_000},
		}},
		{"recovery: after the loss ends the estimate climbs back within seconds", []phase{
			{d: 3 * time.Second, sendBps: 2_000_000, capacity: 700_000, policer: true, maxE: 1_000_000},
			{d: 10 * time.Second, sendBps: 600_000, minE: 2_000_000, maxE: 8_000_000},
		}},
		{"feedback gap: the estimate holds through it and grows no faster after it", []phase{
			{d: 4 * time.Second, sendBps: 1_000_000, minE: 4_000_000, maxE: 4_100_000}, // 3M x 1.08^3.9
			{d: 3 * time.Second, sendBps: 1_000_000, silent: true, minE: 4_000_000, maxE: 4_100_000},
			{d: 4 * time.Second, sendBps: 1_000_000, minE: 5_400_000, maxE: 5_600_000}, // x 1.08^3.9
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newLinkSim(t)
			for i, p := range tc.phases {
				s.capacity, s.policer, s.silent = p.capacity, p.policer, p.silent
				s.maxQueue = 200 * time.Millisecond
				if p.deepQueue {
					s.maxQueue = 5 * time.Second
				}
				got := s.run(p.d, p.sendBps, p.follow)
				if got < p.minE || p.maxE > 0 && got > p.maxE {
					t.Fatalf("phase %d: estimate %d bit/s, want within [%d, %d]", i, got, p.minE, p.maxE)
				}
				t.Logf("phase %d: estimate %d bit/s", i, got)
			}
		})
	}
}

// After a feedback gap the delay trend starts over: groups from before the gap are not
// compared with groups after it.
func TestCongestionEstimatorGapResetsTrend(t *testing.T) {
	var e gccEstimator
	e.init(gccConfig{Initial: 1_000_000, Min: 50_000, Max: 10_000_000})
	t0 := time.Unix(1000, 0)
	feed := func(at time.Duration, firstSendMs int64) {
		e.begin(t0.Add(at))
		for i := range int64(40) {
			send := (firstSendMs + 10*i) * int64(time.Millisecond)
			e.packet(send, send/1000+7_000_000, 1000, true)
		}
		e.end(t0.Add(at))
	}
	feed(0, 0)
	feed(400*time.Millisecond, 400)
	if e.trend.deltas == 0 {
		t.Fatal("no delay deltas after two feedback packets")
	}
	feed(3*time.Second, 3000) // after a 2.6 s silence
	if e.trend.deltas > 40 {
		t.Fatalf("%d deltas in the trend after a gap, want only the new feedback's", e.trend.deltas)
	}
}

// Feedback handling allocates nothing.
func TestCongestionFeedbackDoesNotAllocate(t *testing.T) {
	s := newLinkSim(t)
	s.run(time.Second, 1_000_000, false)
	var raws [][]byte
	for range 20 {
		for range 10 {
			s.send()
			s.sendNs += int64(10 * time.Millisecond)
		}
		for _, pkt := range s.rec.BuildFeedbackPacket() {
			raw, err := pkt.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			raws = append(raws, raw)
		}
	}
	i := 0
	allocs := testing.AllocsPerRun(len(raws)-1, func() {
		if err := s.cc.onFeedback(raws[i], s.start.Add(time.Duration(s.sendNs))); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per feedback packet, want 0", allocs)
	}
}
