package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of one run (JSON-encoded with --out).
type Report struct {
	Scenario Scenario  `json:"scenario"`
	RunID    string    `json:"run_id"`
	URL      string    `json:"url"`
	Started  time.Time `json:"started"`
	Machine  Machine   `json:"machine"`

	Target      int            `json:"target_participants"`
	Attempts    int            `json:"join_attempts"`
	Joined      int            `json:"joined"`
	Failures    map[string]int `json:"failures,omitempty"`
	JoinTime    Summary        `json:"join_time"`           // socket open → media flowing
	FirstFrame  Summary        `json:"time_to_first_frame"` // startRemoteView → first keyframe
	Calls       *CallStats     `json:"calls,omitempty"`
	AudioTracks int            `json:"audio_tracks"`
	VideoTracks int            `json:"video_tracks"`

	// The measurement window (after ramp-up and settle).
	WindowSeconds   float64 `json:"window_seconds"`
	RxPackets       uint64  `json:"rx_packets"`
	RxPacketsPerSec float64 `json:"rx_packets_per_sec"`
	RxMbps          float64 `json:"rx_mbps"`
	// RxFrames counts received video frames (marker packets), RxKeyframes keyframe starts.
	RxFrames        uint64  `json:"rx_video_frames"`
	RxFramesPerSec  float64 `json:"rx_video_frames_per_sec"`
	RxKeyframes     uint64  `json:"rx_keyframes"`
	ExpectedPackets uint64  `json:"expected_packets"`
	LostPackets     uint64  `json:"lost_packets"`
	LossPercent     float64 `json:"loss_percent"`
	// Latencies come from the send time in synthetic payloads: with media files
	// (Scenario.VideoFile, AudioFile) that kind has none (Count 0, shown as n/a).
	LatencyAudio Summary `json:"latency_audio"`
	LatencyVideo Summary `json:"latency_video"`
	// Jitter is the RFC 3550 interarrival jitter from the RTP timestamps, the mean over
	// the tracks at the end of the run; -1 when no track of that kind had two packets.
	JitterAudioMs float64 `json:"jitter_audio_ms"`
	JitterVideoMs float64 `json:"jitter_video_ms"`

	// Server is the server's figures; with several nodes (Config.Nodes) the nodes' sums,
	// and Nodes each node's.
	Server ServerStats `json:"server"`
	Nodes  []NodeStats `json:"nodes,omitempty"`
	// Cluster: the run put the members of each call and room on different nodes
	// (Config.Cluster); ClusterFormed: every node saw all the nodes at the window's end.
	Cluster       bool `json:"cluster,omitempty"`
	ClusterFormed bool `json:"cluster_formed,omitempty"`
	// BenchCPUSeconds is this process's CPU time in the window (clients share the machine).
	BenchCPUSeconds float64 `json:"bench_cpu_seconds"`
	// MachineBusyPercent is how busy all cores of the machine were in the window (the
	// server, the bench and anything else running); near 100 the machine is saturated.
	MachineBusyPercent float64  `json:"machine_busy_percent"`
	Series             []Sample `json:"series,omitempty"`
}

// CallStats are the figures of a calls scenario. The times are over every call of the
// run (ramp-up included); the setups per second over the measurement window.
type CallStats struct {
	Attempted int `json:"attempted"`
	Succeeded int `json:"succeeded"`
	// Setup: call request → the other party's media reached both sides (signaling only:
	// → onCallBegin on both).
	Setup Summary `json:"setup_time"`
	// Cycle (signaling only): call request → onCallEnd on both after the hangup.
	Cycle Summary `json:"cycle_time"`
	// WindowSetups are the setups completed in the measurement window, SetupsPerSec
	// them per second of the window; -1 when calls cannot end in the window (media calls
	// without a hold time last to the end of the run).
	WindowSetups int64   `json:"window_setups"`
	SetupsPerSec float64 `json:"setups_per_sec"`
	// Accept → first media: from the callee's accept being sent to the first RTP packet of
	// the other party's audio, of its video, and of its first keyframe reaching each side
	// (two values per call: caller and callee). None in signaling-only runs.
	AcceptToAudio    Summary `json:"accept_to_first_audio"`
	AcceptToVideo    Summary `json:"accept_to_first_video"`
	AcceptToKeyframe Summary `json:"accept_to_first_keyframe"`
	// Where the time between the accept and the media went, per side: accept sent →
	// onCallBegin received, → the first subscriber offer received after the accept.
	AcceptToCallBegin  Summary `json:"accept_to_call_begin"`
	AcceptToFirstOffer Summary `json:"accept_to_first_offer"`
	// Timeline: where the time from the accept to the first decodable keyframe went, step
	// by step (timeline.go): the client steps the bench measured, the server's from its
	// parley_call_timeline_seconds (absent when /metrics has none).
	Timeline []TimelineStep `json:"timeline,omitempty"`
	// MediaBeforeAccept counts those first packets that arrived before the accept was
	// sent (recorded as 0 ms): the server forwarded media before the call began.
	MediaBeforeAccept int `json:"media_before_accept"`
	// Prepared (early media) counts sides that prepared the call before the accept
	// (prepareCall, startRemoteView, publisher connected).
	Prepared int `json:"prepared_sides"`
	// NotPreConnected (early media) counts sides whose subscriber PeerConnection was not
	// connected within 2 s of ringing after their publisher connected (accepted anyway).
	NotPreConnected int `json:"not_pre_connected"`
}

// ServerStats are the server's figures in the window; -1 (or "") when unknown.
type ServerStats struct {
	PID              int     `json:"pid,omitempty"`
	CPUSeconds       float64 `json:"cpu_seconds"`
	CPUPercent       float64 `json:"cpu_percent"` // of one core
	RSSStartMB       float64 `json:"rss_start_mb"`
	RSSMaxMB         float64 `json:"rss_max_mb"`
	RSSEndMB         float64 `json:"rss_end_mb"`
	Threads          int64   `json:"threads_end"`
	GoroutinesStart  int64   `json:"goroutines_start"`
	GoroutinesEnd    int64   `json:"goroutines_end"`
	ForwardedPackets float64 `json:"forwarded_packets"`
	ForwardedSource  string  `json:"forwarded_source"` // "metrics" or "subscribers" (received + lost)
	ForwardedPerSec  float64 `json:"forwarded_packets_per_sec"`
	ForwardedMbps    float64 `json:"forwarded_mbps"`
	// CPUSecondsPer1000 is server CPU-seconds per 1000 forwarded packets.
	CPUSecondsPer1000 float64 `json:"cpu_seconds_per_1000_forwarded"`
	// ForwardedPerCoreSecond is forwarded packets per second of one fully used core.
	ForwardedPerCoreSecond float64 `json:"forwarded_packets_per_core_second"`
}

// Sample is one second of the run.
type Sample struct {
	T               float64 `json:"t"`
	RxPacketsPerSec float64 `json:"rx_pps"`
	RxMbps          float64 `json:"rx_mbps"`
	LossPercent     float64 `json:"loss_percent"`
	ServerCPU       float64 `json:"server_cpu_percent"`
	RSSMB           float64 `json:"rss_mb"`
	Goroutines      int64   `json:"goroutines"`
}

// Machine describes where the bench ran.
type Machine struct {
	CPUModel  string `json:"cpu_model"`
	Cores     int    `json:"cores"`
	MemoryMB  int64  `json:"memory_mb"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
}

// DescribeMachine reads the CPU model and memory from /proc.
func DescribeMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, CPUModel: "unknown"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var kb int64
			if _, err := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); err == nil {
				m.MemoryMB = kb / 1024
				break
			}
		}
		_ = f.Close()
	}
	return m
}

func newReport(cfg Config, runID string) *Report {
	rep := &Report{
		Scenario: cfg.Scenario, RunID: runID, URL: nodeURLs(cfg.Nodes), Started: time.Now().UTC(),
		Machine: DescribeMachine(), Target: cfg.Scenario.participants(),
		Server: ServerStats{PID: cfg.Nodes[0].PID}, Cluster: cfg.Cluster,
	}
	if len(cfg.Nodes) > 1 {
		rep.Server.PID = 0
	}
	return rep
}

// finish fills the report from the meter, the failures and the window snapshots.
func (r *runner) finish(rep *Report, rc *recorder) {
	m := r.meter
	r.mu.Lock()
	rep.Joined, rep.Attempts = r.joined, r.attempts
	if r.cfg.Scenario.Kind == KindCalls {
		c := &r.calls
		rep.Calls = &CallStats{
			Attempted: c.attempted, Succeeded: c.succeeded, Setup: c.setup.Summary(), Cycle: c.cycle.Summary(),
			AcceptToAudio: c.acceptAudio.Summary(), AcceptToVideo: c.acceptVideo.Summary(),
			AcceptToKeyframe: c.acceptKeyframe.Summary(), MediaBeforeAccept: c.mediaBeforeAccept,
			AcceptToCallBegin: c.acceptBegin.Summary(), AcceptToFirstOffer: c.acceptOffer.Summary(),
			Prepared: c.prepared, NotPreConnected: c.notPreConnected,
			WindowSetups: -1, SetupsPerSec: -1,
		}
	}
	if len(r.failures) > 0 {
		rep.Failures = maps.Clone(r.failures)
	}
	r.mu.Unlock()
	rep.JoinTime, rep.FirstFrame = m.joinTime.Summary(), m.firstFrame.Summary()
	rep.LatencyAudio, rep.LatencyVideo = m.latencyAudio.Summary(), m.latencyVideo.Summary()
	ja, jv := m.jitter()
	rep.JitterAudioMs, rep.JitterVideoMs = jitterMs(ja), jitterMs(jv)
	rep.AudioTracks, rep.VideoTracks = m.trackCount()

	rc.mu.Lock()
	rep.Series = slices.Clone(rc.series)
	start, end, first, last := rc.windowStart, rc.windowEnd, rc.first, rc.lastServer
	final := rc.final
	rc.mu.Unlock()
	if rep.Calls != nil {
		rep.Calls.Timeline = r.calls.timeline(first.Timeline, final.Timeline)
	}
	srv := &rep.Server
	srv.CPUSeconds, srv.CPUPercent, srv.ForwardedPackets = -1, -1, -1
	srv.RSSStartMB, srv.RSSMaxMB, srv.RSSEndMB = mb(first.RSSBytes), -1, mb(last.RSSBytes)
	srv.Threads, srv.GoroutinesStart, srv.GoroutinesEnd = last.Threads, first.Goroutines, last.Goroutines
	for _, s := range rep.Series {
		srv.RSSMaxMB = max(srv.RSSMaxMB, s.RSSMB)
	}
	if start == nil || end == nil {
		return
	}
	win := end.counters.at.Sub(start.counters.at).Seconds()
	rep.WindowSeconds = win
	rep.Nodes = nodeStats(r.cfg.Nodes, start.nodes, end.nodes, win)
	rep.ClusterFormed = rep.Cluster && clusterFormed(rep.Nodes)
	if sc := r.cfg.Scenario; rep.Calls != nil && win > 0 && (sc.SignalingOnly || sc.Hold > 0) {
		rep.Calls.WindowSetups = int64(end.counters.setups - start.counters.setups)
		rep.Calls.SetupsPerSec = float64(rep.Calls.WindowSetups) / win
	}
	rep.RxPackets = end.counters.packets - start.counters.packets
	rxBytes := end.counters.bytes - start.counters.bytes
	rep.RxFrames = end.counters.frames - start.counters.frames
	rep.RxKeyframes = end.counters.keyframes - start.counters.keyframes
	rep.ExpectedPackets = end.counters.expected - start.counters.expected
	received := rep.RxPackets - (end.counters.padding - start.counters.padding)
	if rep.ExpectedPackets > received {
		rep.LostPackets = rep.ExpectedPackets - received
	}
	rep.LossPercent = lossPercent(start.counters, end.counters)
	rep.BenchCPUSeconds = end.selfCPU - start.selfCPU
	rep.MachineBusyPercent = -1
	if dt := end.machineTotal - start.machineTotal; dt > 0 && start.machineTotal > 0 {
		rep.MachineBusyPercent = float64(end.machineBusy-start.machineBusy) / float64(dt) * 100
	}
	if win <= 0 {
		return
	}
	rep.RxPacketsPerSec = float64(rep.RxPackets) / win
	rep.RxMbps = float64(rxBytes) * 8 / win / 1e6
	rep.RxFramesPerSec = float64(rep.RxFrames) / win

	// Forwarded packets: the server's own counter when /metrics has one, otherwise what
	// the subscribers received plus what they lost.
	fwdBytes := float64(rxBytes)
	if start.server.ForwardedPackets >= 0 && end.server.ForwardedPackets >= 0 {
		srv.ForwardedPackets = float64(end.server.ForwardedPackets - start.server.ForwardedPackets)
		srv.ForwardedSource = "metrics"
		if start.server.ForwardedBytes >= 0 && end.server.ForwardedBytes >= 0 {
			fwdBytes = float64(end.server.ForwardedBytes - start.server.ForwardedBytes)
		}
	} else {
		srv.ForwardedPackets = float64(rep.RxPackets + rep.LostPackets)
		srv.ForwardedSource = "subscribers"
	}
	srv.ForwardedPerSec = srv.ForwardedPackets / win
	srv.ForwardedMbps = fwdBytes * 8 / win / 1e6
	if start.server.CPUSeconds >= 0 && end.server.CPUSeconds >= 0 {
		srv.CPUSeconds = end.server.CPUSeconds - start.server.CPUSeconds
		srv.CPUPercent = srv.CPUSeconds / win * 100
		if srv.ForwardedPackets > 0 {
			srv.CPUSecondsPer1000 = srv.CPUSeconds / (srv.ForwardedPackets / 1000)
		}
		if srv.CPUSeconds > 0 {
			srv.ForwardedPerCoreSecond = srv.ForwardedPackets / srv.CPUSeconds
		}
	}
}

// jitterMs is a jitter in milliseconds, -1 when unknown (negative).
func jitterMs(d time.Duration) float64 {
	if d < 0 {
		return -1
	}
	return ms(d)
}

func mb(b int64) float64 {
	if b < 0 {
		return -1
	}
	return float64(b) / (1 << 20)
}

// WriteJSON writes the report to path.
func (rep *Report) WriteJSON(path string) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encode report: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: write report: %w", err)
	}
	return nil
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: read report: %w", err)
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("bench: report %s: %w", path, err)
	}
	return &rep, nil
}

// metric is one line of the table and of a comparison.
type metric struct {
	name  string
	value float64
	unit  string
	known bool
}

func (rep *Report) metrics() []metric {
	s := rep.Server
	km := func(name string, v float64, unit string) metric { return metric{name, v, unit, v >= 0} }
	// A percentile of an empty histogram is unknown, not 0.
	pm := func(name string, sum Summary, v float64) metric { return metric{name, v, "ms", sum.Count > 0} }
	out := []metric{
		km("participants joined", float64(rep.Joined), fmt.Sprintf("of %d", rep.Target)),
		km("join failures", float64(sumFailures(rep.Failures)), ""),
		pm("join time p50", rep.JoinTime, rep.JoinTime.P50),
		pm("join time p95", rep.JoinTime, rep.JoinTime.P95),
		pm("join time p99", rep.JoinTime, rep.JoinTime.P99),
		pm("first frame p50", rep.FirstFrame, rep.FirstFrame.P50),
		pm("first frame p95", rep.FirstFrame, rep.FirstFrame.P95),
		pm("first frame p99", rep.FirstFrame, rep.FirstFrame.P99),
	}
	if rep.Calls != nil {
		out = append(out, rep.callMetrics()...)
	}
	// File media carries no send time: its latency is absent, and the unit says why.
	audioLatency, videoLatency := "ms", "ms"
	if rep.Scenario.AudioFile != "" {
		audioLatency = "ms (file audio carries no send time)"
	}
	if rep.Scenario.VideoFile != "" {
		videoLatency = "ms (file video carries no send time)"
	}
	lm := func(name, unit string, sum Summary, v float64) metric { return metric{name, v, unit, sum.Count > 0} }
	out = append(out,
		km("window", rep.WindowSeconds, "s"),
		km("received bitrate", rep.RxMbps, "Mb/s"),
		km("received packets/s", rep.RxPacketsPerSec, "pkt/s"),
		km("received video frames/s", rep.RxFramesPerSec, "frames/s"),
		km("received keyframes", float64(rep.RxKeyframes), ""),
		km("loss", rep.LossPercent, "%"),
		lm("latency audio p50", audioLatency, rep.LatencyAudio, rep.LatencyAudio.P50),
		lm("latency audio p95", audioLatency, rep.LatencyAudio, rep.LatencyAudio.P95),
		lm("latency audio p99", audioLatency, rep.LatencyAudio, rep.LatencyAudio.P99),
		lm("latency video p50", videoLatency, rep.LatencyVideo, rep.LatencyVideo.P50),
		lm("latency video p95", videoLatency, rep.LatencyVideo, rep.LatencyVideo.P95),
		lm("latency video p99", videoLatency, rep.LatencyVideo, rep.LatencyVideo.P99),
		metric{"jitter audio", rep.JitterAudioMs, "ms", rep.JitterAudioMs >= 0 && rep.AudioTracks > 0},
		metric{"jitter video", rep.JitterVideoMs, "ms", rep.JitterVideoMs >= 0 && rep.VideoTracks > 0},
		km("server CPU", s.CPUPercent, "% of one core"),
		km("server RSS max", s.RSSMaxMB, "MiB"),
		km("server RSS end", s.RSSEndMB, "MiB"),
		km("server threads", float64(s.Threads), ""),
		km("server goroutines start", float64(s.GoroutinesStart), ""),
		km("server goroutines end", float64(s.GoroutinesEnd), ""),
		km("forwarded packets/s", s.ForwardedPerSec, "pkt/s ("+s.ForwardedSource+")"),
		km("forwarded bitrate", s.ForwardedMbps, "Mb/s"),
		metric{"CPU-s per 1000 forwarded", s.CPUSecondsPer1000, "s", s.CPUSeconds >= 0 && s.ForwardedPackets > 0},
		metric{"forwarded pkt/s per core", s.ForwardedPerCoreSecond, "pkt/s", s.CPUSeconds > 0},
		km("bench CPU", rep.BenchCPUSeconds/max(rep.WindowSeconds, 1)*100, "% of one core"),
		km("machine busy", rep.MachineBusyPercent, "% of all cores"),
	)
	return out
}

// callMetrics are the calls scenario's lines: counts, setups/s, setup (and, signaling
// only, cycle) times, accept → first media.
func (rep *Report) callMetrics() []metric {
	c, sc := rep.Calls, rep.Scenario
	setups := "setups/s (in the window)"
	if c.SetupsPerSec < 0 {
		setups = "setups/s (calls last to the end: set a hold time)"
	}
	out := []metric{
		{"calls attempted", float64(c.Attempted), "", true},
		{"calls succeeded", float64(c.Succeeded), "", true},
		{"call setups/s", c.SetupsPerSec, setups, c.SetupsPerSec >= 0},
	}
	quantiles := func(name string, sum Summary) {
		for _, q := range []struct {
			name string
			v    float64
		}{{"p50", sum.P50}, {"p95", sum.P95}, {"p99", sum.P99}, {"max", sum.Max}} {
			out = append(out, metric{name + " " + q.name, q.v, "ms", sum.Count > 0})
		}
	}
	quantiles("call setup", c.Setup)
	if sc.SignalingOnly {
		quantiles("call cycle", c.Cycle)
		return out
	}
	quantiles("accept→onCallBegin", c.AcceptToCallBegin)
	quantiles("accept→first subscriber offer", c.AcceptToFirstOffer)
	quantiles("accept→first audio", c.AcceptToAudio)
	if sc.CallVideo {
		quantiles("accept→first video", c.AcceptToVideo)
		quantiles("accept→first keyframe", c.AcceptToKeyframe)
	}
	for _, st := range c.Timeline {
		for _, q := range []struct {
			name string
			v    float64
		}{{"p50", st.P50}, {"p95", st.P95}, {"max", st.Max}} {
			out = append(out, metric{"timeline accept→" + st.Step + " (" + st.Source + ") " + q.name, q.v, "ms", true})
		}
	}
	out = append(out, metric{"media before accept", float64(c.MediaBeforeAccept), "first packets", true})
	if sc.EarlyMedia {
		out = append(out,
			metric{"prepared before accept", float64(c.Prepared), "sides", true},
			metric{"not pre-connected at accept", float64(c.NotPreConnected), "sides (subscriber PeerConnection)", true})
	}
	return out
}

func sumFailures(f map[string]int) int {
	n := 0
	for _, v := range f {
		n += v
	}
	return n
}

func formatValue(v float64) string {
	switch {
	case v == math.Trunc(v) && abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	case v < 0.1 && v > -0.1:
		return fmt.Sprintf("%.4f", v)
	case v < 100 && v > -100:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

// WriteTable prints the report as a table.
func (rep *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scenario %s (%s, video %s, audio %s)\t%s\n", rep.Scenario.Name, rep.Scenario.kindDescription(),
		rep.Scenario.videoDescription(), rep.Scenario.audioDescription(), rep.URL)
	for _, m := range rep.metrics() {
		v := "n/a"
		if m.known {
			v = formatValue(m.value)
		}
		fmt.Fprintf(tw, "%s\t%s %s\n", m.name, v, m.unit)
	}
	for _, n := range rep.Nodes {
		fmt.Fprintf(tw, "node %s\t%s\n", n.URL, n.summary())
	}
	if rep.Cluster {
		fmt.Fprintf(tw, "cluster\t%s\n", rep.clusterLine())
	}
	for _, cause := range slices.Sorted(maps.Keys(rep.Failures)) {
		fmt.Fprintf(tw, "failure\t%d × %s\n", rep.Failures[cause], cause)
	}
	return tw.Flush()
}

// WriteComparison prints old → new for every figure, with the relative change.
func WriteComparison(w io.Writer, old, cur *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "compare\t%s (%s)\t→ %s (%s)\tchange\n", old.Scenario.Name, old.Started.Format(time.DateTime), cur.Scenario.Name, cur.Started.Format(time.DateTime))
	olds := map[string]metric{}
	for _, m := range old.metrics() {
		olds[m.name] = m
	}
	for _, m := range cur.metrics() {
		o, ok := olds[m.name]
		ov, nv, change := "n/a", "n/a", ""
		if ok && o.known {
			ov = formatValue(o.value)
		}
		if m.known {
			nv = formatValue(m.value)
		}
		if ok && o.known && m.known {
			switch {
			case o.value != 0:
				change = fmt.Sprintf("%+.1f%%", (m.value-o.value)/abs(o.value)*100)
			case m.value != 0:
				change = "new"
			default:
				change = "="
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t→ %s %s\t%s\n", m.name, ov, nv, m.unit, change)
	}
	return tw.Flush()
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
