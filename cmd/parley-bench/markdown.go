package main

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parley-rtc/parley/bench"
)

func num(v float64, format string) string {
	if v < 0 {
		return "n/a"
	}
	return fmt.Sprintf(format, v)
}

// writeMarkdown renders docs/benchmarks.md from the suite's runs.
func writeMarkdown(w *strings.Builder, o suiteOptions, runs []suiteRun, load string, took time.Duration) {
	m := bench.DescribeMachine()
	fmt.Fprintf(w, "# Parley benchmarks\n\n")
	fmt.Fprintf(w, "Written by `make bench` (`parley-bench suite`) on %s; the suite took %s.\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second))
	fmt.Fprintf(w, "Every run starts its own `parley` server (bin/parley, TURN off, log level warn, invitation limit\n")
	fmt.Fprintf(w, "raised so that a signaling-only pair may call as fast as it can) on free\n")
	fmt.Fprintf(w, "loopback ports and drives it with simulated users from the same machine: each user has its\n")
	fmt.Fprintf(w, "own WebSocket and its own pair of DTLS-SRTP PeerConnections (pion), so the bench's clients\n")
	fmt.Fprintf(w, "compete with the server for the same cores. JSON reports are in `%s/`.\n\n", o.outDir)
	fmt.Fprintf(w, "## Machine\n\n| | |\n|---|---|\n")
	fmt.Fprintf(w, "| CPU | %s |\n| cores | %d |\n| RAM | %d MiB |\n| Go | %s (%s) |\n| load average at start | %s |\n\n",
		m.CPUModel, m.Cores, m.MemoryMB, m.GoVersion, runtime.GOOS+"/"+runtime.GOARCH, load)
	fmt.Fprintf(w, "Other engineers' builds and tests ran on this machine at the same time, so the figures are\n")
	fmt.Fprintf(w, "noisy; \"machine busy\" is how busy all cores were during the window (server + bench + others).\n\n")

	fmt.Fprintf(w, "## Commands\n\n```sh\nmake bench   # = make build && go build -o bin/parley-bench ./cmd/parley-bench && bin/parley-bench suite\n")
	fmt.Fprintf(w, "bin/parley-bench suite --doc docs/benchmarks.md --out-dir %s --duration %s --other-duration %s --search-duration %s\n",
		o.outDir, o.duration, o.otherDuration, o.searchDuration)
	fmt.Fprintf(w, "# one reference load (60 s window as in the reference), against a server it starts:\n")
	fmt.Fprintf(w, "bin/parley-bench --start-server --scenario c --subscribers 90 --out c90.json\n")
	fmt.Fprintf(w, "# a1 with H.264 video instead of VP8:\n")
	fmt.Fprintf(w, "bin/parley-bench --start-server --scenario a1 --codec h264 --out a1-h264.json\n")
	fmt.Fprintf(w, "# 1v1 video calls of 3 s with media ready before the answer (prepareCall), and signaling-only calls:\n")
	fmt.Fprintf(w, "bin/parley-bench --start-server --scenario calls --calls 6 --call-video --hold 3s --early-media --out calls-early.json\n")
	fmt.Fprintf(w, "bin/parley-bench --start-server --scenario calls --signaling-only --calls 32 --call-rate 50 --duration 20s\n")
	fmt.Fprintf(w, "# the call setup section alone (early media off/on, signaling-only setups/s at 1, 8, 32 pairs):\n")
	fmt.Fprintf(w, "bin/parley-bench callsetup --duration 20s\n")
	fmt.Fprintf(w, "# c with a CPU profile of the server during the window (go tool pprof -top bin/parley c.pprof):\n")
	fmt.Fprintf(w, "bin/parley-bench --start-server --scenario c --cpuprofile c.pprof --out c.json\n")
	fmt.Fprintf(w, "# signaling-only calls with a CPU profile of parley-bench itself, i.e. its clients (the Go SDK):\n")
	fmt.Fprintf(w, "bin/parley-bench --start-server --scenario calls --signaling-only --calls 8 --duration 15s --bench-cpuprofile bench.pprof\n")
	fmt.Fprintf(w, "# calls over two independent servers (both parties of a call on one node), per-node CPU in the report:\n")
	fmt.Fprintf(w, "bin/parley-bench --start-server --nodes 2 --scenario calls --calls 20 --call-video --hold 3s\n")
	fmt.Fprintf(w, "bin/parley-bench --url ws://10.0.0.1:7880/ws --url ws://10.0.0.2:7880/ws --scenario calls --calls 20 --hold 3s\n")
	fmt.Fprintf(w, "# calls over a cluster (a redis-server and 3 nodes it starts; the parties of each call on different nodes):\n")
	fmt.Fprintf(w, "bin/parley-bench --start-server --nodes 3 --cluster --scenario calls --signaling-only --calls 16 --duration 20s\n")
	fmt.Fprintf(w, "# against a running server, comparing with an earlier report:\n")
	fmt.Fprintf(w, "bin/parley-bench --url ws://127.0.0.1:7880/ws --server-pid $(pidof parley) --scenario a1 --compare a1.json\n```\n\n")

	fmt.Fprintf(w, "## How figures are measured\n\n")
	fmt.Fprintf(w, "- **Forwarded packets**: the server's `parley_forwarded_packets_total` from `/metrics` (every RTP packet\n")
	fmt.Fprintf(w, "  sent to subscribers, retransmissions included); without it, what the subscribers received plus what\n")
	fmt.Fprintf(w, "  they lost (column *source*). Forwarded Mb/s counts RTP payload bytes (the server's counter).\n")
	fmt.Fprintf(w, "- **Server CPU**: server user+system CPU seconds (`/proc/<pid>/stat`) in the window per second of it, in\n")
	fmt.Fprintf(w, "  %% of one core (200 %% = two cores busy).\n")
	fmt.Fprintf(w, "- **CPU-s / 1000 pkts**: those CPU seconds divided by forwarded packets / 1000; **pkts/s per core** is\n")
	fmt.Fprintf(w, "  its inverse scaled to one core-second.\n")
	fmt.Fprintf(w, "- **Congestion control**: the bench's clients negotiate transport-wide congestion control as browsers\n")
	fmt.Fprintf(w, "  do (transport-wide-cc numbers on what they send, TWCC feedback on what they receive), so the\n")
	fmt.Fprintf(w, "  server's feedback and estimators run and are part of its CPU (`--no-transport-cc` turns it off).\n")
	fmt.Fprintf(w, "- **Loss**: from each received track's RTP sequence numbers (expected − received) in the window.\n")
	fmt.Fprintf(w, "- **Latency**: receive time − send time carried in every synthetic payload (same clock), p50/p95/p99;\n")
	fmt.Fprintf(w, "  n/a for media files, which carry no send time. **Jitter** (table and JSON): RFC 3550 interarrival\n")
	fmt.Fprintf(w, "  jitter from the RTP timestamps.\n")
	fmt.Fprintf(w, "- **Join**: socket open → media flowing (first packet received; publishers: sending). **First frame**:\n")
	fmt.Fprintf(w, "  startRemoteView → first keyframe of that video. **Setup** (calls): call request → media both ways.\n")
	fmt.Fprintf(w, "- **Setups/s** (calls): call setups completed in the window per second (media calls need a hold time\n")
	fmt.Fprintf(w, "  to end and start again). **Accept → first media**: from the callee's `accept` being sent to the first\n")
	fmt.Fprintf(w, "  RTP packet of the other party's audio, of its video and of its first keyframe reaching each side\n")
	fmt.Fprintf(w, "  (two values per call), over every call of the run, and where the time went: accept → `onCallBegin`,\n")
	fmt.Fprintf(w, "  → the first subscriber `offer` after the accept; *before accept* counts first packets that came\n")
	fmt.Fprintf(w, "  before it. **Early media**: both sides `prepareCall`, publish and view each other while it rings;\n")
	fmt.Fprintf(w, "  the callee accepts once both publishers and subscribers are connected (*not pre-connected*: sides\n")
	fmt.Fprintf(w, "  whose subscriber was not connected 2 s after their publisher; accepted anyway).\n")
	fmt.Fprintf(w, "- **Timeline** (calls with media, D135, D136): per step p50/p95/max ms from the accept. The bench\n")
	fmt.Fprintf(w, "  measures the client steps from the callee's `accept` sent, per side: `onCallBegin` received, the\n")
	fmt.Fprintf(w, "  other party's first RTP packet, the first packet of its first keyframe and that keyframe complete\n")
	fmt.Fprintf(w, "  (all its packets in sequence: decodable). The server steps (room join, activated, ICE and DTLS of\n")
	fmt.Fprintf(w, "  each PeerConnection, first RTP in and out) come from the server's `parley_call_timeline_seconds`\n")
	fmt.Fprintf(w, "  buckets on `/metrics`, timed from the server's accept, per participant (interpolated in the bucket;\n")
	fmt.Fprintf(w, "  max = bucket bound; *n before*: done before the accept, counted as 0).\n\n")

	fmt.Fprintf(w, "## Media model (synthetic, no encoders)\n\n")
	fmt.Fprintf(w, "- Video: VP8 (default) or H.264 (`--codec h264`, YAML `codec: h264`; Constrained Baseline 42e01f,\n")
	fmt.Fprintf(w, "  packetization mode 1: a keyframe starts with a STAP-A of SPS, PPS and an SEI, the slice goes as one\n")
	fmt.Fprintf(w, "  NAL unit or FU-A fragments). Simulcast sends three layers, each on its own clock: q 320×180 @15 fps\n")
	fmt.Fprintf(w, "  ≈ 150 kb/s, h 640×360 @20 fps ≈ 500 kb/s, f 1280×720 @30 fps ≈ 1.7 Mb/s; `--no-simulcast` sends one\n")
	fmt.Fprintf(w, "  1280×720 @30 fps stream at 1.5 Mb/s. A keyframe (3× a frame) every 120 frames of a layer, RTP\n")
	fmt.Fprintf(w, "  timestamps from the elapsed time, payloads ≤ 1188 bytes, all packets of a frame in one burst.\n")
	fmt.Fprintf(w, "- Audio: one Opus-framed packet every 20 ms with the ssrc-audio-level extension; an 80-byte payload\n")
	fmt.Fprintf(w, "  (32 kb/s) of which 26 bytes are the send time, sequence and CRC.\n")
	fmt.Fprintf(w, "- Every synthetic packet carries one block with its send time and sequence, so subscribers measure\n")
	fmt.Fprintf(w, "  latency and loss whatever the codec (client/payload.go says where the block sits).\n")
	fmt.Fprintf(w, "- Subscribers view the first publisher at 1280×720 and the others at 320×180 (`startRemoteView` with\n")
	fmt.Fprintf(w, "  that size), and ask for a keyframe (PLI) until one arrives. Parley sends every publisher's audio to\n")
	fmt.Fprintf(w, "  everyone in the room, so publishers also receive the other publishers' audio; that counts as forwarded.\n\n")
	writeFileMediaSection(w)
	fmt.Fprintf(w, "## Reference loads and the standard suite\n\n")
	fmt.Fprintf(w, "Window %s each for the reference loads (a1 also with H.264 as a1-h264; c also with 90 and 130 subscribers as c-90 and c-130), %s for calls and churn.\n\n", o.duration, o.otherDuration)
	fmt.Fprintf(w, "| load | users | fwd pkt/s | fwd Mb/s | server CPU (%% of one core) | CPU-s / 1000 pkts | pkts/s per core | RSS max | loss | audio p50/p95/p99 ms | video p50/p95/p99 ms | join p50/p95 ms | first frame p50/p95 ms | machine busy | source |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		if r.group != "reference" && r.group != "calls" && r.group != "churn" {
			continue
		}
		row(w, r)
	}
	fmt.Fprintf(w, "\nEvery figure above was measured in this run; the report compares nothing with figures of other\n")
	fmt.Fprintf(w, "runs or other servers.\n\n")
	var callReps []*bench.Report
	for _, r := range runs {
		if r.group == "calls" && r.rep != nil && r.rep.Calls != nil {
			fmt.Fprintf(w, "Calls (%s): %s.\n", r.rep.Scenario.Name, callsSummary(r.rep))
			callReps = append(callReps, r.rep)
		}
		if r.group == "churn" && r.rep != nil {
			s := r.rep.Server
			fmt.Fprintf(w, "Churn: %d users joined and left (failures: %v); server goroutines %s at start, %s after everyone left; RSS %s → %s MiB.\n",
				r.rep.Joined, failures(r.rep), num(float64(s.GoroutinesStart), "%.0f"), num(float64(s.GoroutinesEnd), "%.0f"),
				num(s.RSSStartMB, "%.0f"), num(s.RSSEndMB, "%.0f"))
		}
	}
	writeTimelineTable(w, callReps)
	writeCallSetupSection(w, o, runs)
	fmt.Fprintf(w, "\n## Largest load sustained with < 1 %% loss\n\n")
	fmt.Fprintf(w, "Step up until loss ≥ 1 %% or a join fails (or the time budget ends), %s window per step; \"machine busy\" shows saturation.\n\n", o.searchDuration)
	for _, sr := range searches(o.searchDuration) {
		var steps []suiteRun
		for _, r := range runs {
			if r.group == sr.name {
				steps = append(steps, r)
			}
		}
		sort.Slice(steps, func(i, j int) bool { return steps[i].step < steps[j].step })
		best := 0
		var stopReason string
		for _, r := range steps {
			if r.rep != nil && sustained(r.rep) {
				best = r.step
				continue
			}
			stopReason = stopCause(r)
			break
		}
		if stopReason == "" {
			stopReason = "the step list or the time budget ended first; the limit is higher"
		}
		fmt.Fprintf(w, "### %s\n\n**Sustained: %d %s** (stopped: %s).\n\n", sr.name, best, sr.unit, stopReason)
		fmt.Fprintf(w, "| load | users | fwd pkt/s | fwd Mb/s | server CPU (%% of one core) | CPU-s / 1000 pkts | pkts/s per core | RSS max | loss | audio p50/p95/p99 ms | video p50/p95/p99 ms | join p50/p95 ms | first frame p50/p95 ms | machine busy | source |\n")
		fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range steps {
			row(w, r)
		}
		fmt.Fprintln(w)
	}
}

// writeCallSetupSection renders the suite's call setup runs (callSetupPlan).
func writeCallSetupSection(w *strings.Builder, o suiteOptions, runs []suiteRun) {
	var setup []suiteRun
	for _, r := range runs {
		if r.group == callSetupGroup {
			setup = append(setup, r)
		}
	}
	if len(setup) == 0 {
		return
	}
	p := defaultCallSetupPlan(o.otherDuration)
	fmt.Fprintf(w, "\n## Call setup\n\n")
	fmt.Fprintf(w, "%d concurrent 1v1 audio+video calls (500 kbit/s VP8 each way) of %s, cycling, with early media off and on;\n", p.calls, p.hold)
	fmt.Fprintf(w, "then signaling-only calls (no PeerConnection: call → accept → onCallBegin on both → hangup → onCallEnd on both,\n")
	fmt.Fprintf(w, "each pair logged in once) at %s concurrent pairs. Window %s each (`parley-bench callsetup` runs these alone).\n\n",
		joinCounts(p.pairs), o.otherDuration)
	writeCallSetupTables(w, setup)
}

// joinCounts renders 1, 8, 32.
func joinCounts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ", ")
}

// callsSummary is one sentence of a calls run's figures: counts, setups/s, setup time
// and accept → first media (p50/p95/p99/max).
func callsSummary(rep *bench.Report) string {
	c := rep.Calls
	out := fmt.Sprintf("%d attempted, %d set up; %s setups/s; setup p50/p95/p99 %.0f/%.0f/%.0f ms",
		c.Attempted, c.Succeeded, num(c.SetupsPerSec, "%.1f"), c.Setup.P50, c.Setup.P95, c.Setup.P99)
	if rep.Scenario.SignalingOnly {
		return out + fmt.Sprintf("; cycle p50/p95/p99 %.0f/%.0f/%.0f ms", c.Cycle.P50, c.Cycle.P95, c.Cycle.P99)
	}
	out += "; accept → first audio p50/p95/p99/max " + quantiles(c.AcceptToAudio) + " ms"
	if rep.Scenario.CallVideo {
		out += ", video " + quantiles(c.AcceptToVideo) + " ms, keyframe " + quantiles(c.AcceptToKeyframe) + " ms"
	}
	out += fmt.Sprintf(" (%d first packets before the accept", c.MediaBeforeAccept)
	if rep.Scenario.EarlyMedia {
		out += fmt.Sprintf("; %d sides not pre-connected", c.NotPreConnected)
	}
	return out + ")"
}

// timelineNames are the timeline steps as the markdown shows them (bench.TimelineStep).
var timelineNames = map[string]string{
	bench.StepCallBegin: "`onCallBegin` received", "room_join": "room join", "activated": "activated (media may flow)",
	"publisher_ice_connected": "publisher ICE connected", "publisher_dtls_connected": "publisher DTLS connected",
	"subscriber_ice_connected": "subscriber ICE connected", "subscriber_dtls_connected": "subscriber DTLS connected",
	"first_rtp_in": "first RTP in (publisher's first packet)", "first_rtp_out": "first RTP out (forwarded to the viewer)",
	bench.StepFirstRTPReceived: "first RTP received", bench.StepKeyframeReceived: "first keyframe received (first packet)",
	bench.StepKeyframeDecodable: "first keyframe decodable (all its packets)",
}

// writeTimelineTable renders the calls' timeline of the runs with one (D135): one row per
// step in the calls' order, one column per run with p50/p95/max ms from the accept and
// how many of the values came before it (server steps).
func writeTimelineTable(w *strings.Builder, reps []*bench.Report) {
	var with []*bench.Report
	var order []string
	seen := map[string]string{} // step → source
	for _, rep := range reps {
		if rep == nil || rep.Calls == nil || len(rep.Calls.Timeline) == 0 {
			continue
		}
		with = append(with, rep)
		for _, st := range rep.Calls.Timeline {
			if _, ok := seen[st.Step]; !ok {
				seen[st.Step] = st.Source
				order = append(order, st.Step)
			}
		}
	}
	if len(with) == 0 {
		return
	}
	fmt.Fprintf(w, "\nWhere the time from the accept goes (p50/p95/max ms; *client*: from the callee's `accept` sent, per side;\n")
	fmt.Fprintf(w, "*server*: from the server's accept, per participant, its `parley_call_timeline_seconds` buckets, max = bucket bound;\n")
	fmt.Fprintf(w, "(*n* before): values before the accept, counted as 0):\n\n| step | by |")
	for _, rep := range with {
		fmt.Fprintf(w, " %s |", rep.Scenario.Name)
	}
	fmt.Fprintf(w, "\n|---|---|%s\n", strings.Repeat("---|", len(with)))
	for _, step := range order {
		name := timelineNames[step]
		if name == "" {
			name = step
		}
		fmt.Fprintf(w, "| %s | %s |", name, seen[step])
		for _, rep := range with {
			cell := "–"
			for _, st := range rep.Calls.Timeline {
				if st.Step != step {
					continue
				}
				cell = fmt.Sprintf("%s/%s/%s", msCell(st.P50), msCell(st.P95), msCell(st.Max))
				if st.BeforeAccept > 0 {
					cell += fmt.Sprintf(" (%d of %d before)", st.BeforeAccept, st.Count)
				}
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

// msCell renders milliseconds: one decimal below 10 ms, none above.
func msCell(v float64) string {
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// quantiles renders p50/p95/p99/max of a summary, "–" when it has no values.
func quantiles(s bench.Summary) string {
	if s.Count == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f/%.0f/%.0f/%.0f", s.P50, s.P95, s.P99, s.Max)
}

func stopCause(r suiteRun) string {
	switch {
	case r.rep == nil:
		return fmt.Sprintf("step %d failed: %v", r.step, r.err)
	case r.rep.Joined != r.rep.Target || len(r.rep.Failures) > 0:
		return fmt.Sprintf("at %d, %d of %d joined (%s)", r.step, r.rep.Joined, r.rep.Target, failures(r.rep))
	case r.rep.LossPercent >= 1:
		return fmt.Sprintf("at %d, loss %.2f %%", r.step, r.rep.LossPercent)
	default:
		return fmt.Sprintf("at %d", r.step)
	}
}

func failures(rep *bench.Report) string {
	if len(rep.Failures) == 0 {
		return "none"
	}
	var parts []string
	for k, v := range rep.Failures {
		parts = append(parts, fmt.Sprintf("%d × %s", v, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func row(w *strings.Builder, r suiteRun) {
	if r.rep == nil {
		fmt.Fprintf(w, "| %s | | failed: %v | | | | | | | | | | | | |\n", r.group, r.err)
		return
	}
	rep, s := r.rep, r.rep.Server
	cpuPer := "n/a"
	if s.CPUSecondsPer1000 > 0 {
		cpuPer = fmt.Sprintf("%.4f", s.CPUSecondsPer1000)
	}
	fmt.Fprintf(w, "| %s | %d/%d | %s | %s | %s | %s | %s | %s | %.2f %% | %s | %s | %s | %s | %s | %s |\n",
		rep.Scenario.Name, rep.Joined, rep.Target, num(s.ForwardedPerSec, "%.0f"), num(s.ForwardedMbps, "%.1f"),
		num(s.CPUPercent, "%.0f %%"), cpuPer, num(s.ForwardedPerCoreSecond, "%.0f"), num(s.RSSMaxMB, "%.0f MiB"),
		rep.LossPercent, pct(rep.LatencyAudio, true), pct(rep.LatencyVideo, true), pct(rep.JoinTime, false),
		pct(rep.FirstFrame, false), num(rep.MachineBusyPercent, "%.0f %%"), s.ForwardedSource)
}

// pct renders p50/p95(/p99) of a summary, "–" when it has no values.
func pct(s bench.Summary, p99 bool) string {
	if s.Count == 0 {
		return "–"
	}
	if p99 {
		return fmt.Sprintf("%.1f/%.1f/%.1f", s.P50, s.P95, s.P99)
	}
	return fmt.Sprintf("%.0f/%.0f", s.P50, s.P95)
}

// fileMediaSection documents --video-file and --audio-file (docs/benchmarks.md).
const fileMediaSection = `## Media files instead of synthetic media

- ` + "`--video-file F.ivf`" + ` (YAML ` + "`video_file:`" + `) makes every video publisher send a VP8 IVF file, and
  ` + "`--audio-file F.ogg`" + ` (YAML ` + "`audio_file:`" + `) every publisher's audio an Opus Ogg file, in the room,
  calls and churn scenarios. Frames go at the file's pace (the IVF time base; each Opus packet's
  duration, which is what the granule positions count) and loop; RTP timestamps and sequence numbers
  keep increasing across loops. A keyframe request makes the next frame the file's next keyframe
  (the first frame of an IVF file is one). Each file is loaded once per run and shared.
- Checked before any load: a file that cannot be read or is not VP8 IVF / Opus Ogg (mono or stereo)
  stops the bench with a message naming it, and so does a video file with simulcast (one file is one
  stream: add ` + "`--no-simulcast`" + ` to a1 or c) or with ` + "`--codec h264`" + `.
- Receivers decide per track from its first packets whether it carries synthetic blocks (the block's
  CRC must verify, so real media that happens to hold the magic is not mistaken for a block). File
  media carries no send time: its latency is n/a. Loss (RTP sequence numbers), jitter, bitrate, frames,
  keyframes (VP8 frame tag) and time to first frame are measured as for synthetic media.

` + "```sh" + `
# e.g. files made with ffmpeg:
#   ffmpeg -i in.mp4 -an -c:v libvpx -b:v 1500k -g 120 -s 1280x720 clip.ivf
#   ffmpeg -i in.wav -c:a libopus -b:a 32k -frame_duration 20 speech.ogg
bin/parley-bench --start-server --scenario room --video-publishers 2 --publisher-audio --subscribers 10 \
  --views 2 --high-views 1 --video-file clip.ivf --audio-file speech.ogg --out room-files.json
bin/parley-bench --start-server --scenario calls --calls 10 --call-video --video-file clip.ivf --audio-file speech.ogg
` + "```" + `

`

func writeFileMediaSection(w *strings.Builder) { w.WriteString(fileMediaSection) }
