package bench

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	opsmetrics "github.com/parley-rtc/parley/ops/metrics"
)

// checkLoopbackLoss fails when the window lost more than 3 % of its packets. Loopback
// loses nothing by itself, but the kernel drops datagrams a starved process does not read
// in time (`RcvbufErrors`), and a packet lost in the window's last NACK round trip is
// repaired only after the window's end: with two hogs beside the suite, 4 of 1,444
// packets (0.28 %) counted as lost that way, with 166 datagrams dropped by the kernel;
// with three other suites beside it (a browser suite among them, the machine 100 % busy)
// 16 of 1,536 (1.04 %). A server that stopped repairing loss loses far more; repair
// itself is checked by sfu's TestLeanClientsSendFeedback (clients that drop packets).
func checkLoopbackLoss(t *testing.T, rep *Report) {
	t.Helper()
	if rep.LossPercent > 3 || rep.LostPackets*100 > 3*rep.ExpectedPackets {
		t.Errorf("loss on loopback: %d packets (%.3f %%), want ≤ 3 %%", rep.LostPackets, rep.LossPercent)
	}
}

// checkMedia fails unless the report shows media received without loss (beyond what
// checkLoopbackLoss allows) and positive latencies, and server figures derived from /proc
// and the subscribers.
func checkMedia(t *testing.T, rep *Report, audioTracks, videoTracks int) {
	t.Helper()
	if len(rep.Failures) != 0 {
		t.Errorf("failures: %v", rep.Failures)
	}
	if rep.AudioTracks != audioTracks || rep.VideoTracks != videoTracks {
		t.Errorf("tracks: %d audio, %d video; want %d, %d", rep.AudioTracks, rep.VideoTracks, audioTracks, videoTracks)
	}
	if rep.WindowSeconds < 1 || rep.RxPackets == 0 || rep.RxMbps <= 0 || rep.ExpectedPackets == 0 {
		t.Errorf("no media in the window: %.1f s, %d packets, %.2f Mb/s, %d expected",
			rep.WindowSeconds, rep.RxPackets, rep.RxMbps, rep.ExpectedPackets)
	}
	checkLoopbackLoss(t, rep)
	if rep.LatencyAudio.Count == 0 || rep.LatencyAudio.P50 <= 0 || rep.LatencyAudio.P99 < rep.LatencyAudio.P50 {
		t.Errorf("audio latency %+v", rep.LatencyAudio)
	}
	if videoTracks > 0 && (rep.LatencyVideo.Count == 0 || rep.LatencyVideo.P50 <= 0 || rep.LatencyVideo.P99 < rep.LatencyVideo.P50) {
		t.Errorf("video latency %+v", rep.LatencyVideo)
	}
	if rep.JoinTime.Count == 0 || rep.JoinTime.P50 <= 0 {
		t.Errorf("join time %+v", rep.JoinTime)
	}
	s := rep.Server
	if s.CPUSeconds <= 0 || s.ForwardedPackets <= 0 || s.CPUSecondsPer1000 <= 0 || s.ForwardedPerCoreSecond <= 0 || s.RSSMaxMB <= 0 {
		t.Errorf("server figures %+v", s)
	}
	if s.ForwardedSource == "subscribers" && s.ForwardedPackets != float64(rep.RxPackets+rep.LostPackets) {
		t.Errorf("forwarded %v, received %d + lost %d", s.ForwardedPackets, rep.RxPackets, rep.LostPackets)
	}
	var table bytes.Buffer
	err := rep.WriteTable(&table)
	t.Logf("report:\n%s", table.String())
	if err != nil || !strings.Contains(table.String(), "CPU-s per 1000 forwarded") {
		t.Errorf("table (%v):\n%s", err, table.String())
	}
}

// runTinyRoom runs a room of one video publisher with audio and three subscribers viewing
// its video at 720p, for 3 s, and checks what every tiny room must show.
func runTinyRoom(t *testing.T, url string, simulcast bool, codec string) *Report {
	t.Helper()
	// No transport-wide feedback: the check below needs the 720p layer, and with feedback
	// the server's GCC may step a subscriber down when a busy test machine delays
	// packets (the layer then follows the estimate, not the wish; sfu/allocator.go).
	// TestClientsNegotiateTransportCC and the calls and churn tests run with it.
	s := Scenario{
		Name: "tiny", Kind: KindRoom, VideoPublishers: 1, PublisherAudio: true, Simulcast: simulcast, Codec: codec,
		Subscribers: 3, Views: 1, HighViews: 1, NoTransportCC: true, Ramp: 20, Settle: time.Second, Duration: 3 * time.Second,
	}
	rep, err := Run(runCtx(t, 2*time.Minute), devConfig(url, s))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Joined != 4 || rep.Target != 4 {
		t.Errorf("joined %d of %d, want 4 of 4", rep.Joined, rep.Target)
	}
	checkMedia(t, rep, 3, 3)
	if rep.FirstFrame.Count != 3 || rep.FirstFrame.P50 <= 0 {
		t.Errorf("time to first frame %+v, want 3 values", rep.FirstFrame)
	}
	// The subscribers asked for 1280×720: each gets the 720p layer (or the one 720p
	// stream), whose frames are 57 kbit (1.7 Mb/s at 30 fps; 50 kbit single-stream at
	// 1.5 Mb/s) where the 360p layer's are 25 kbit, none of it taken for padding (the
	// receiver found every packet's block). Bits per frame, not per second: a publisher
	// starved on a busy machine sends fewer frames, of the same size.
	if rep.RxFrames == 0 || rep.RxFramesPerSec <= 0 {
		t.Errorf("no video frame received in the window")
	} else if perFrame := rep.RxMbps * 1e6 / rep.RxFramesPerSec; perFrame < 40_000 {
		t.Errorf("received %.0f bit a video frame (%.2f Mb/s, %.1f frames/s), want ≥ 40,000 (the 720p layer)",
			perFrame, rep.RxMbps, rep.RxFramesPerSec)
	}
	var table bytes.Buffer
	_ = rep.WriteTable(&table)
	if !strings.Contains(table.String(), "video "+codec) {
		t.Errorf("table does not show the codec %s:\n%s", codec, table.String())
	}
	return rep
}

// TestRoomTiny: one publisher (audio + simulcast VP8 video), three subscribers viewing its
// video at 720p, for 3 s against an in-process server; the report survives JSON.
func TestRoomTiny(t *testing.T) {
	url := startServer(t)
	rep := runTinyRoom(t, url, true, "vp8")
	path := filepath.Join(t.TempDir(), "report.json")
	if err := rep.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	old, err := ReadReport(path)
	if err != nil {
		t.Fatal(err)
	}
	var cmp bytes.Buffer
	if err := WriteComparison(&cmp, old, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cmp.String(), "loss") || !strings.Contains(cmp.String(), "+0.0%") {
		t.Errorf("comparison of a report with itself:\n%s", cmp.String())
	}
}

// TestRoomTinyH264: the tiny room with H.264 video through the real server, simulcast
// and single-stream: every packet arrives (checkLoopbackLoss), latencies and first frames
// measured.
func TestRoomTinyH264(t *testing.T) {
	url := startServer(t)
	for _, simulcast := range []bool{true, false} {
		t.Run(fmt.Sprintf("simulcast=%v", simulcast), func(t *testing.T) {
			runTinyRoom(t, url, simulcast, "h264")
		})
	}
}

// TestCallsTiny: two concurrent 1v1 video calls set up through the call layer, media
// published after the accept; accept → first audio, video and keyframe measured on both
// sides of each call, none of it before the accept.
func TestCallsTiny(t *testing.T) {
	url := startServerMetrics(t)
	s := Scenario{
		Name: "tiny-calls", Kind: KindCalls, Calls: 2, CallVideo: true, VideoBitrate: 300_000,
		CallRate: 10, Settle: time.Second, Duration: 3 * time.Second,
	}
	rep := runTinyCalls(t, devConfig(url, s))
	if rep.Calls.Attempted != 2 || rep.Calls.Succeeded != 2 {
		t.Fatalf("calls %+v", rep.Calls)
	}
	if rep.Calls.SetupsPerSec != -1 || rep.Calls.WindowSetups != -1 {
		t.Errorf("setups/s %v (%d in the window) for calls held to the end, want unknown (-1)", rep.Calls.SetupsPerSec, rep.Calls.WindowSetups)
	}
	checkMedia(t, rep, 4, 4)
	checkTimeline(t, rep)
}

// TestCallsTinyEarlyMedia: 1v1 video calls of 1 s, cycling, with early media (both sides
// prepareCall, view and publish before the accept): calls succeed, setups/s counts the
// window's setups, accept → first media is measured for every side and kind, and no
// media reaches anyone before the accept.
func TestCallsTinyEarlyMedia(t *testing.T) {
	url := startServerMetrics(t)
	s := Scenario{
		Name: "tiny-early", Kind: KindCalls, Calls: 2, CallVideo: true, VideoBitrate: 300_000, EarlyMedia: true,
		Hold: time.Second, CallRate: 10, Settle: time.Second, Duration: 4 * time.Second,
	}
	rep := runTinyCalls(t, devConfig(url, s))
	c := rep.Calls
	if c.Succeeded < 2 || c.WindowSetups < 1 || c.SetupsPerSec <= 0 {
		t.Errorf("%d calls set up, %d in the window (%.2f/s)", c.Succeeded, c.WindowSetups, c.SetupsPerSec)
	}
	if c.Prepared < 2*c.Succeeded || c.NotPreConnected > c.Prepared {
		t.Errorf("%d sides prepared (%d not pre-connected) for %d calls, want both sides of each", c.Prepared, c.NotPreConnected, c.Succeeded)
	}
	if len(rep.Failures) != 0 {
		t.Errorf("failures: %v", rep.Failures)
	}
	var table bytes.Buffer
	_ = rep.WriteTable(&table)
	checkTimeline(t, rep)
	for _, want := range []string{"calls, early media", "call setups/s", "accept→first video p95", "not pre-connected at accept",
		"timeline accept→first_rtp_out (server) p95", "timeline accept→first_keyframe_decodable (client) max"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table without %q:\n%s", want, table.String())
		}
	}
	t.Logf("report:\n%s", table.String())
}

// runTinyCalls runs a calls scenario with media and checks what every such run shows:
// each succeeded call measured accept → first audio (and video and keyframe in a video
// call) on both sides, nothing before the accept, and the JSON report keeps the figures.
func runTinyCalls(t *testing.T, cfg Config) *Report {
	t.Helper()
	rep, err := Run(runCtx(t, 2*time.Minute), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Calls
	if c == nil || c.Setup.P50 <= 0 {
		t.Fatalf("calls %+v", c)
	}
	sides := uint64(2 * c.Succeeded)
	checks := []struct {
		name string
		sum  Summary
	}{{"audio", c.AcceptToAudio}, {"video", c.AcceptToVideo}, {"keyframe", c.AcceptToKeyframe}}
	for _, ch := range checks {
		if ch.sum.Count != sides || ch.sum.P50 <= 0 || ch.sum.Max > c.Setup.Max { // quantiles are bucket midpoints; the max is exact
			t.Errorf("accept → first %s %+v: want %d values in (0, setup max %.0f ms]", ch.name, ch.sum, sides, c.Setup.Max)
		}
	}
	if c.AcceptToCallBegin.Count != sides || c.AcceptToCallBegin.Max > c.Setup.Max || c.AcceptToFirstOffer.Count > sides {
		t.Errorf("accept → onCallBegin %+v, → first subscriber offer %+v: want %d values", c.AcceptToCallBegin, c.AcceptToFirstOffer, sides)
	}
	if c.MediaBeforeAccept != 0 {
		t.Errorf("%d first packets arrived before the accept", c.MediaBeforeAccept)
	}
	path := filepath.Join(t.TempDir(), "calls.json")
	if err := rep.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(path)
	if err != nil || back.Calls == nil || back.Calls.AcceptToVideo != c.AcceptToVideo || back.Calls.SetupsPerSec != c.SetupsPerSec {
		t.Errorf("JSON report: %+v, %v", back, err)
	}
	return rep
}

// TestCallsSignalingOnly: pairs without media repeat call → accept → onCallBegin →
// hangup → onCallEnd; setups/s counts the window's setups, no PeerConnection is made
// (no track, no packet).
func TestCallsSignalingOnly(t *testing.T) {
	url := startServer(t)
	s := Scenario{
		Name: "tiny-signaling", Kind: KindCalls, Calls: 2, SignalingOnly: true,
		CallRate: 20, Settle: 200 * time.Millisecond, Duration: 2 * time.Second,
	}
	rep, err := Run(runCtx(t, 2*time.Minute), devConfig(url, s))
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Calls
	if len(rep.Failures) != 0 || rep.Joined != 4 {
		t.Errorf("failures %v, %d joined", rep.Failures, rep.Joined)
	}
	if c.WindowSetups < 2 || c.SetupsPerSec <= 0 || c.Succeeded < int(c.WindowSetups) || c.Attempted < c.Succeeded {
		t.Errorf("calls %+v", c)
	}
	if c.Setup.Count != uint64(c.Succeeded) || c.Cycle.Count == 0 || c.Cycle.P50 < c.Setup.P50 || c.AcceptToAudio.Count != 0 {
		t.Errorf("setup %+v, cycle %+v, accept → audio %+v", c.Setup, c.Cycle, c.AcceptToAudio)
	}
	if rep.AudioTracks+rep.VideoTracks != 0 || rep.RxPackets != 0 {
		t.Errorf("signaling only received %d tracks, %d packets", rep.AudioTracks+rep.VideoTracks, rep.RxPackets)
	}
	var table bytes.Buffer
	_ = rep.WriteTable(&table)
	for _, want := range []string{"calls, signaling only", "call setups/s", "call cycle p50"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table without %q:\n%s", want, table.String())
		}
	}
	t.Logf("report:\n%s", table.String())
}

// TestChurnTiny: users join and leave; every join succeeds and the window sees media.
func TestChurnTiny(t *testing.T) {
	url := startServer(t)
	s := Scenario{
		Name: "tiny-churn", Kind: KindChurn, ChurnRate: 4, Hold: time.Second,
		Settle: 100 * time.Millisecond, Duration: 2 * time.Second,
	}
	rep, err := Run(runCtx(t, 2*time.Minute), devConfig(url, s))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Joined < 6 || rep.Joined != rep.Attempts || len(rep.Failures) != 0 {
		t.Errorf("joined %d of %d attempts, failures %v", rep.Joined, rep.Attempts, rep.Failures)
	}
	if rep.RxPackets == 0 || rep.JoinTime.Count != uint64(rep.Joined) {
		t.Errorf("churn: %d packets received, join times %+v", rep.RxPackets, rep.JoinTime)
	}
}

// TestBadInputFailsFast: an unreachable URL, a wrong secret and impossible scenarios
// fail before any load, with a message that says what is wrong.
func TestBadInputFailsFast(t *testing.T) {
	url := startServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "ws://" + l.Addr().String() + "/ws"
	_ = l.Close()
	good := Scenario{Kind: KindRoom, AudioPublishers: 1, Subscribers: 1, Duration: time.Second}
	with := func(mod func(*Scenario)) Scenario {
		s := good
		mod(&s)
		return s
	}
	tests := []struct {
		name    string
		cfg     Config
		want    error
		message string
	}{
		{"unreachable", devConfig(deadURL, good), ErrUnreachable, "cannot reach the server"},
		{"wrong secret", func() Config { c := devConfig(url, good); c.Secret = "not-the-secret-of-this-app-0123456789"; return c }(), ErrWrongSecret, "wrong secret"},
		{"unknown app", func() Config { c := devConfig(url, good); c.AppID = 42; return c }(), ErrWrongSecret, "wrong secret"},
		{"not a ws URL", devConfig("http://127.0.0.1:1/ws", good), ErrInvalidScenario, "not ws://"},
		{"no secret", func() Config { c := devConfig(url, good); c.Secret = ""; return c }(), ErrInvalidScenario, "secret"},
		{"views without subscribers", devConfig(url, with(func(s *Scenario) { s.VideoPublishers, s.Subscribers, s.Views = 1, 0, 1 })), ErrInvalidScenario, "no subscribers"},
		{"more views than publishers", devConfig(url, with(func(s *Scenario) { s.VideoPublishers, s.Views = 1, 3 })), ErrInvalidScenario, "3 videos"},
		{"negative size", devConfig(url, with(func(s *Scenario) { s.Subscribers = -2 })), ErrInvalidScenario, "negative subscribers"},
		{"short duration", devConfig(url, with(func(s *Scenario) { s.Duration = 500 * time.Millisecond })), ErrInvalidScenario, "shorter than 1s"},
		{"no publishers", devConfig(url, with(func(s *Scenario) { s.AudioPublishers = 0 })), ErrInvalidScenario, "no publishers"},
		{"nothing to receive", devConfig(url, with(func(s *Scenario) { s.AudioPublishers, s.VideoPublishers = 0, 1 })), ErrInvalidScenario, "receive nothing"},
		{"no calls", devConfig(url, Scenario{Kind: KindCalls, Duration: time.Second}), ErrInvalidScenario, "no calls"},
		{"unknown kind", devConfig(url, Scenario{Kind: "party", Duration: time.Second}), ErrInvalidScenario, "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			rep, err := Run(runCtx(t, time.Minute), tt.cfg)
			if rep != nil || !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("Run = %v, %v; want %v mentioning %q", rep, err, tt.want, tt.message)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %s to fail", d)
			}
		})
	}
}

// checkTimeline checks a video calls run's timeline against a server with /metrics: every
// step is there, the client's once per side of each call set up, the server's at least
// once per participant of those calls; p50 ≤ p95 ≤ max; per side the first packet, the
// first keyframe's first packet and that keyframe complete come in that order; the
// server forwards nothing before the accept; with early media every join came before
// it (0 ms), without it none; the server's first packet out comes before the client's
// first packet received (its accept is later than the one the bench sent, so the
// server's time cannot be longer, but for bucket resolution: max bound vs exact max).
func checkTimeline(t *testing.T, rep *Report) {
	t.Helper()
	c := rep.Calls
	sides := uint64(2 * c.Succeeded)
	steps := map[string]TimelineStep{}
	var order []string
	for _, st := range c.Timeline {
		steps[st.Step] = st
		order = append(order, st.Step)
	}
	want := append(append([]string{StepCallBegin}, serverSteps...), StepFirstRTPReceived, StepKeyframeReceived, StepKeyframeDecodable)
	if !slices.Equal(order, want) {
		t.Fatalf("timeline steps %q, want %q", order, want)
	}
	for _, st := range c.Timeline {
		switch {
		case st.Source == timelineSourceClient && st.Count != sides:
			t.Errorf("%s (client) has %d values, want %d (both sides of each call)", st.Step, st.Count, sides)
		case st.Source == timelineSourceServer && st.Count < sides:
			t.Errorf("%s (server) has %d values, want at least %d", st.Step, st.Count, sides)
		case st.P50 < 0 || st.P50 > st.P95 || st.P95 > st.Max*1.07: // client quantiles are bucket midpoints (±6 %)
			t.Errorf("%s: p50 %.1f, p95 %.1f, max %.1f ms out of order", st.Step, st.P50, st.P95, st.Max)
		}
	}
	for _, pair := range [][2]string{{StepFirstRTPReceived, StepKeyframeReceived}, {StepKeyframeReceived, StepKeyframeDecodable}} {
		a, b := steps[pair[0]], steps[pair[1]]
		if a.P50 > b.P50 || a.Max > b.Max {
			t.Errorf("%s (p50 %.1f, max %.1f ms) after %s (p50 %.1f, max %.1f ms)", pair[0], a.P50, a.Max, pair[1], b.P50, b.Max)
		}
	}
	out, join := steps["first_rtp_out"], steps["room_join"]
	if out.BeforeAccept != 0 || out.P50 <= 0 {
		t.Errorf("server's first packet out %+v: want all after the accept", out)
	}
	if early := rep.Scenario.EarlyMedia; (early && join.BeforeAccept != join.Count) || (!early && join.BeforeAccept != 0) {
		t.Errorf("room join %+v: %d of %d before the accept (early media %v)", join, join.BeforeAccept, join.Count, early)
	}
	// The server's p50 is interpolated within its histogram bucket, so it may lie above
	// every value observed (up to the bucket's upper bound): what must come before the
	// clients' last first packet received is the bucket's lower bound.
	if rx := steps[StepFirstRTPReceived]; timelineBucketFloor(out.P50) >= rx.Max {
		t.Errorf("server's first packet out p50 %.1f ms (bucket above %.0f ms) after the clients' last first packet received (%.1f ms)",
			out.P50, timelineBucketFloor(out.P50), rx.Max)
	}
	t.Logf("timeline: %+v", c.Timeline)
}

// timelineBucketFloor is the lower bound (ms) of the server's call timeline bucket that
// holds ms: the largest bucket bound below it.
func timelineBucketFloor(ms float64) float64 {
	floor := 0.0
	for _, b := range opsmetrics.CallTimelineBuckets {
		if b*1000 < ms {
			floor = b * 1000
		}
	}
	return floor
}
