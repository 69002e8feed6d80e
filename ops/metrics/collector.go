package metrics

import (
	"strconv"
	"sync"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-rtc/parley/turn"
)

// collector reads the live counters of the media plane, rooms, signaling and TURN at
// scrape time. The media counters are the Engine's totals (sfu.MediaTotals), into which
// Peers, Receivers and DownTracks fold their final counts when they end.
type collector struct {
	src     Sources
	metrics *Metrics

	mu sync.Mutex // serialises Collect

	rooms, participants, peers, published, subscribed *prometheus.Desc
	received, receivedBytes                           *prometheus.Desc
	forwarded, forwardedBytes, dropped, writes        *prometheus.Desc
	nacks, plis                                       *prometheus.Desc
	sessions, callsActive, draining                   *prometheus.Desc
	appSessions, appCalls                             *prometheus.Desc
	quality                                           *prometheus.Desc
	turnAllocations, turnAllocationsTotal             *prometheus.Desc
	turnRelayed, turnRefusals                         *prometheus.Desc
	limitRefusals, pipelineWaits                      *prometheus.Desc
}

func newCollector(src Sources, m *Metrics) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &collector{
		src:                  src,
		metrics:              m,
		rooms:                d("parley_rooms", "Open rooms."),
		participants:         d("parley_participants", "Participants in open rooms."),
		peers:                d("parley_peer_connections", "Server PeerConnections by role.", "role"),
		published:            d("parley_published_tracks", "Published tracks (Receivers) by kind.", "kind"),
		subscribed:           d("parley_subscribed_tracks", "Subscribed tracks (DownTracks) by kind.", "kind"),
		received:             d("parley_received_packets_total", "RTP packets received from publishers."),
		receivedBytes:        d("parley_received_bytes_total", "RTP bytes received from publishers."),
		forwarded:            d("parley_forwarded_packets_total", "RTP packets sent to subscribers, retransmissions included."),
		forwardedBytes:       d("parley_forwarded_bytes_total", "RTP payload bytes sent to subscribers."),
		writes:               d("parley_forward_writes_total", "Socket writes (sendto, sendmmsg, ICE-TCP frames) that carried the RTP packets Parley seals itself (rtc.own_srtp); with rtc.send_batch several per write."),
		dropped:              d("parley_dropped_packets_total", "Packets a slow subscriber dropped: its full queue refused them, or the publisher's buffer overwrote them before they were written."),
		nacks:                d("parley_nacks_total", "Packets subscribers asked for again (NACK)."),
		plis:                 d("parley_plis_total", "Keyframe requests (PLI and FIR) from subscribers."),
		sessions:             d("parley_signaling_sessions", "Logged-in signaling sessions."),
		callsActive:          d("parley_calls_active", "Calls ringing or in progress."),
		appSessions:          d("parley_app_sessions", "Logged-in sessions by app (SDKAppID).", "app"),
		appCalls:             d("parley_app_calls_active", "Calls ringing or in progress by app (SDKAppID).", "app"),
		draining:             d("parley_draining", "1 while the server drains (refuses new sessions and calls)."),
		quality:              d("parley_network_quality_participants", "Participants by their latest network quality.", "quality"),
		turnAllocations:      d("parley_turn_allocations", "TURN allocations alive."),
		turnAllocationsTotal: d("parley_turn_allocations_total", "TURN allocations made since start."),
		turnRelayed:          d("parley_turn_relayed_bytes_total", "Payload bytes relayed by TURN, by direction.", "direction"),
		turnRefusals:         d("parley_turn_refusals_total", "Refused TURN requests by reason.", "reason"),
		limitRefusals:        d("parley_limit_refusals_total", "Requests and candidates refused, and sockets closed, by the limit they crossed.", "limit"),
		pipelineWaits:        d("parley_signaling_pipeline_waits_total", "Answers that waited for a pipelining client to read (back-pressure)."),
	}
}

// Describe sends every descriptor (prometheus.Collector).
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, desc := range []*prometheus.Desc{
		c.rooms, c.participants, c.peers, c.published, c.subscribed, c.received, c.receivedBytes,
		c.forwarded, c.forwardedBytes, c.dropped, c.writes, c.nacks, c.plis, c.sessions, c.callsActive,
		c.draining, c.quality, c.turnAllocations, c.turnAllocationsTotal, c.turnRelayed, c.turnRefusals,
		c.limitRefusals, c.pipelineWaits, c.appSessions, c.appCalls,
	} {
		ch <- desc
	}
}

// Collect reads the current values (prometheus.Collector).
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	counter := func(desc *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), labels...)
	}
	if svc := c.src.Service; svc != nil {
		gauge(c.rooms, float64(svc.Rooms().Rooms()))
		gauge(c.participants, float64(svc.Rooms().Participants()))
		gauge(c.sessions, float64(svc.Sessions()))
		gauge(c.callsActive, float64(svc.ActiveCalls()))
		for _, a := range svc.Apps() {
			app := strconv.Itoa(a.SDKAppID)
			gauge(c.appSessions, float64(a.Sessions), app)
			gauge(c.appCalls, float64(a.Calls), app)
		}
		draining := 0.0
		if svc.Draining() {
			draining = 1
		}
		gauge(c.draining, draining)
		c.collectLimits(counter)
	}
	if c.src.Engine != nil {
		c.collectMedia(gauge, counter)
	}
	for level, n := range c.metrics.qualityDistribution() {
		gauge(c.quality, float64(n), qualityLevels[level])
	}
	if c.src.TURN != nil {
		st := c.src.TURN.Stats()
		gauge(c.turnAllocations, float64(st.AllocationsActive))
		counter(c.turnAllocationsTotal, st.AllocationsTotal)
		counter(c.turnRelayed, st.RelayedBytesToPeers, "to_peers")
		counter(c.turnRelayed, st.RelayedBytesFromPeers, "from_peers")
		for reason, n := range st.Refusals {
			counter(c.turnRefusals, n, turn.RefusalReason(reason).String())
		}
	}
}

// collectMedia counts the Engine's Peers and tracks and reports its totals.
func (c *collector) collectMedia(gauge func(*prometheus.Desc, float64, ...string), counter func(*prometheus.Desc, uint64, ...string)) {
	var publishers, subscribers int
	published := map[webrtc.RTPCodecType]int{webrtc.RTPCodecTypeAudio: 0, webrtc.RTPCodecTypeVideo: 0}
	subscribed := map[webrtc.RTPCodecType]int{webrtc.RTPCodecTypeAudio: 0, webrtc.RTPCodecTypeVideo: 0}
	for _, p := range c.src.Engine.Publishers() {
		publishers++
		for _, r := range p.Receivers() {
			published[r.Kind()]++
		}
	}
	for _, s := range c.src.Engine.Subscribers() {
		subscribers++
		for _, t := range s.DownlinkStats().Tracks {
			subscribed[t.Kind]++
		}
	}
	gauge(c.peers, float64(publishers), "publisher")
	gauge(c.peers, float64(subscribers), "subscriber")
	for kind, n := range published {
		gauge(c.published, float64(n), kind.String())
	}
	for kind, n := range subscribed {
		gauge(c.subscribed, float64(n), kind.String())
	}
	t := c.src.Engine.MediaTotals()
	counter(c.received, t.ReceivedPackets)
	counter(c.receivedBytes, t.ReceivedBytes)
	counter(c.forwarded, t.ForwardedPackets)
	counter(c.forwardedBytes, t.ForwardedBytes)
	counter(c.dropped, t.Dropped)
	counter(c.writes, t.ForwardWrites)
	counter(c.nacks, t.NACKed)
	counter(c.plis, t.PLIs)
}

// collectLimits reads the refusal counters of the signaling limits (signaling/limits.go),
// the rooms (room.max_pending_remote_views) and the media plane (ICE candidates).
func (c *collector) collectLimits(counter func(*prometheus.Desc, uint64, ...string)) {
	st := c.src.Service.LimitStats()
	for _, l := range []struct {
		name string
		n    uint64
	}{
		{"failed_logins", st.FailedLogins},
		{"invitations", st.Invitations},
		{"trickles", st.Trickles},
		{"media_switches", st.MediaSwitches},
		{"device_toggles", st.DeviceToggles},
		{"profile_writes", st.ProfileWrites},
		{"record_requests", st.RecordRequests},
		{"negotiations", st.Negotiations},
		{"room_joins", st.RoomJoins},
		{"logins", st.Logins},
		{"connection_logins", st.ConnectionLogins},
		{"login_timeout", st.LoginTimeouts},
		{"pending_logins", st.PendingLoginRefusals},
		{"ip_sockets", st.SocketRefusals},
		{"remote_views", c.src.Service.Rooms().RemoteViewRefusals()},
	} {
		counter(c.limitRefusals, l.n, l.name)
	}
	counter(c.pipelineWaits, st.PipelineWaits)
	if c.src.Engine != nil {
		cr := c.src.Engine.CandidateRefusals()
		counter(c.limitRefusals, cr.Pending, "pending_candidates")
		counter(c.limitRefusals, cr.Total, "remote_candidates")
		counter(c.limitRefusals, cr.Denied, "denied_candidates")
	}
}
