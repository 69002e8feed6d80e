package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/parley-rtc/parley/room"
	"github.com/parley-rtc/parley/sfu"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/call"
	"github.com/parley-rtc/parley/signaling/protocol"
	"github.com/parley-rtc/parley/turn"
)

// Sources are the parts whose counters are read at scrape time. TURN may be nil.
type Sources struct {
	Engine  *sfu.Engine
	Service *signaling.Service
	TURN    *turn.Server
}

// Metrics is the registry behind /metrics. It implements signaling.Hooks and room.Listener
// (pass it in signaling.Deps before the Service exists, then Attach the Service).
type Metrics struct {
	room.NopListener

	registry       *prometheus.Registry
	callsBegan     prometheus.Counter
	callsEnded     *prometheus.CounterVec
	callSetup      prometheus.Histogram
	inviteeOffline prometheus.Counter
	// callSteps: parley_call_timeline_seconds by step, resolved once (CallStep, D135).
	callSteps map[string]prometheus.Observer

	qualityMu sync.Mutex
	quality   map[room.ID][]room.UserQuality // latest report per open room

	scrapesRefused atomic.Uint64 // parley_metrics_scrapes_refused_total (limit.go)
}

var (
	_ signaling.Hooks   = (*Metrics)(nil)
	_ room.Listener     = (*Metrics)(nil)
	_ room.StepObserver = (*Metrics)(nil)
)

// CallTimelineBuckets are the upper bounds (seconds) of parley_call_timeline_seconds:
// 0 holds the steps done before the accept (early media), then fine enough from 1 ms to
// 30 s for percentiles of a call's setup (parley-bench reads them, D135).
var CallTimelineBuckets = []float64{0, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2,
	0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30}

// New builds the registry with the Go runtime and process collectors and the call
// metrics; it starts nothing.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		callsBegan: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_calls_began_total", Help: "Calls that became active (someone accepted).",
		}),
		callsEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_calls_ended_total", Help: "Calls that ended, by result (answered, cancelled, unanswered).",
		}, []string{"result"}),
		callSetup: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parley_call_setup_seconds",
			Help:    "Time from a call's invitation to its first accept.",
			Buckets: []float64{0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60},
		}),
		inviteeOffline: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_invitees_offline_total", Help: "Invitations to users with no session (kept for their next login).",
		}),
		quality:   make(map[room.ID][]room.UserQuality),
		callSteps: make(map[string]prometheus.Observer, len(room.CallSteps)),
	}
	callTimeline := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "parley_call_timeline_seconds",
		Help: "Time from a call's accept (as this server handled it) to each step of a call participant's media setup, " +
			"once per participant and step (room_join, activated, publisher/subscriber ICE and DTLS connected, " +
			"first_rtp_in: its first packet reached the server, first_rtp_out: the first packet forwarded to it); 0: before the accept (early media).",
		Buckets: CallTimelineBuckets,
	}, []string{"step"})
	for _, step := range room.CallSteps {
		m.callSteps[step] = callTimeline.WithLabelValues(step) // present at 0 from the start
	}
	for _, outcome := range []call.Outcome{call.OutcomeAnswered, call.OutcomeCancelled, call.OutcomeUnanswered} {
		m.callsEnded.WithLabelValues(string(outcome)) // present at 0 from the start
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.callsBegan, m.callsEnded, m.callSetup, m.inviteeOffline, callTimeline,
		m.scrapesRefusedCounter(),
	)
	return m
}

// Attach registers the scrape-time collector over src. Call it once.
func (m *Metrics) Attach(src Sources) {
	m.registry.MustRegister(newCollector(src, m))
}

// Registry is the underlying registry (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// CallBegan counts the call and observes its setup time (signaling.Hooks; non-blocking).
func (m *Metrics) CallBegan(c call.CallSummary) {
	m.callsBegan.Inc()
	if !c.BeganAt.IsZero() && !c.CreatedAt.IsZero() && c.BeganAt.After(c.CreatedAt) {
		m.callSetup.Observe(c.BeganAt.Sub(c.CreatedAt).Seconds())
	} else if !c.BeganAt.IsZero() {
		m.callSetup.Observe(0)
	}
}

// CallStep observes a call participant's step (room.StepObserver: lock-free, from any
// goroutine).
func (m *Metrics) CallStep(_ room.ID, _ string, step string, sinceAccept time.Duration) {
	if o, ok := m.callSteps[step]; ok {
		o.Observe(sinceAccept.Seconds())
	}
}

// CallEnded counts the call by its result (signaling.Hooks; non-blocking).
func (m *Metrics) CallEnded(c call.CallSummary) {
	result := string(c.Outcome)
	if result == "" {
		result = "unknown"
	}
	m.callsEnded.WithLabelValues(result).Inc()
}

// InviteeOffline counts an invitation to an offline user (signaling.Hooks).
func (m *Metrics) InviteeOffline(int, string, string, protocol.CallReceivedEvent) {
	m.inviteeOffline.Inc()
}

// NetworkQuality keeps the room's latest report (room.Listener).
func (m *Metrics) NetworkQuality(id room.ID, list []room.UserQuality) {
	m.qualityMu.Lock()
	m.quality[id] = list
	m.qualityMu.Unlock()
}

// ParticipantLeft drops the user from the room's latest report (room.Listener).
func (m *Metrics) ParticipantLeft(id room.ID, userID string) {
	m.qualityMu.Lock()
	defer m.qualityMu.Unlock()
	old := m.quality[id]
	kept := make([]room.UserQuality, 0, len(old))
	for _, q := range old {
		if q.UserID != userID {
			kept = append(kept, q)
		}
	}
	m.quality[id] = kept
}

// RoomClosed forgets the room's report (room.Listener).
func (m *Metrics) RoomClosed(id room.ID) {
	m.qualityMu.Lock()
	delete(m.quality, id)
	m.qualityMu.Unlock()
}

// qualityLevels are the label values of parley_network_quality_participants, by the
// 0..6 enum (spec §3.1).
var qualityLevels = [...]string{"unknown", "excellent", "good", "poor", "bad", "vbad", "down"}

// qualityDistribution counts participants by their latest quality level.
func (m *Metrics) qualityDistribution() [len(qualityLevels)]int {
	var out [len(qualityLevels)]int
	m.qualityMu.Lock()
	defer m.qualityMu.Unlock()
	for _, list := range m.quality {
		for _, q := range list {
			if q.Quality >= 0 && q.Quality < len(qualityLevels) {
				out[q.Quality]++
			}
		}
	}
	return out
}
