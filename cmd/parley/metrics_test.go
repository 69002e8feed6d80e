package main

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// scrape GETs /metrics and returns every sample by its series ("name" or
// "name{labels}" as exposed).
func scrape(t *testing.T, r *running) map[string]float64 {
	t.Helper()
	return scrapeURL(t, r.url("/metrics"))
}

// scrapeURL is scrape of the metrics at url (a metrics.address listener).
func scrapeURL(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	out := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMetricsMoveDuringACall: /metrics exposes every parley_ family of issue 9 and the
// Go runtime's, and the values follow a real 1v1 video call with media.
func TestMetricsMoveDuringACall(t *testing.T) {
	cfg := testConfig(t)
	cfg.Room.QualityInterval = 500 * time.Millisecond
	r := startServe(t, cfg)

	idle := scrape(t, r)
	for _, series := range []string{
		"parley_rooms", "parley_participants", `parley_published_tracks{kind="audio"}`, `parley_subscribed_tracks{kind="video"}`,
		"parley_forwarded_packets_total", "parley_forwarded_bytes_total", "parley_received_packets_total",
		"parley_nacks_total", "parley_plis_total", "parley_dropped_packets_total", "parley_signaling_sessions",
		`parley_calls_ended_total{result="answered"}`, `parley_calls_ended_total{result="unanswered"}`,
		"parley_call_setup_seconds_count", `parley_network_quality_participants{quality="excellent"}`,
		"parley_turn_allocations", `parley_turn_relayed_bytes_total{direction="to_peers"}`, "parley_calls_active",
		"parley_draining", "go_goroutines", "go_memstats_heap_alloc_bytes",
	} {
		if _, ok := idle[series]; !ok {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	if idle["parley_rooms"] != 0 || idle["parley_forwarded_packets_total"] != 0 || idle["parley_signaling_sessions"] != 0 {
		t.Fatalf("idle server: rooms %v forwarded %v sessions %v", idle["parley_rooms"], idle["parley_forwarded_packets_total"], idle["parley_signaling_sessions"])
	}

	alice, bob := login(t, r.wsURL(), "alice"), login(t, r.wsURL(), "bob")
	startCall(t, alice, bob)
	ctx := ctxFor(t, 60*time.Second)
	for _, c := range []*client.Conn{alice, bob} {
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true, Video: true}); err != nil {
			t.Fatalf("%s: start media: %v", c.UserID(), err)
		}
	}
	for _, pair := range [][2]*client.Conn{{alice, bob}, {bob, alice}} {
		if err := pair[0].StartRemoteView(ctx, pair[1].UserID(), protocol.VideoQuality{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, pair := range [][2]*client.Conn{{alice, bob}, {bob, alice}} {
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
			if _, err := pair[0].WaitRemoteTrack(ctx, pair[1].UserID(), kind, 20); err != nil {
				t.Fatalf("%s: %v", pair[0].UserID(), err)
			}
		}
	}

	var during map[string]float64
	eventually(t, 20*time.Second, "quality reports for both users", func() bool {
		during = scrape(t, r)
		n := 0.0
		for _, q := range []string{"excellent", "good", "poor", "bad", "vbad", "down", "unknown"} {
			n += during[`parley_network_quality_participants{quality="`+q+`"}`]
		}
		return n == 2
	})
	want := map[string]float64{
		"parley_rooms": 1, "parley_participants": 2, "parley_signaling_sessions": 2, "parley_calls_active": 1,
		`parley_published_tracks{kind="audio"}`: 2, `parley_published_tracks{kind="video"}`: 2,
		`parley_subscribed_tracks{kind="audio"}`: 2, `parley_subscribed_tracks{kind="video"}`: 2,
		`parley_peer_connections{role="publisher"}`: 2, "parley_calls_began_total": 1, "parley_call_setup_seconds_count": 1,
		`parley_app_sessions{app="` + strconv.Itoa(signaling.DevSDKAppID) + `"}`:     2,
		`parley_app_calls_active{app="` + strconv.Itoa(signaling.DevSDKAppID) + `"}`: 1,
	}
	for series, v := range want {
		if during[series] != v {
			t.Errorf("during the call %s = %v, want %v", series, during[series], v)
		}
	}
	for _, series := range []string{"parley_forwarded_packets_total", "parley_forwarded_bytes_total", "parley_received_packets_total", "parley_received_bytes_total"} {
		if during[series] <= 0 {
			t.Errorf("during the call %s = %v, want > 0", series, during[series])
		}
	}
	eventually(t, 20*time.Second, "forwarded packets to grow", func() bool {
		return scrape(t, r)["parley_forwarded_packets_total"] > during["parley_forwarded_packets_total"]
	})

	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	var after map[string]float64
	eventually(t, 20*time.Second, "the call to be counted as ended", func() bool {
		after = scrape(t, r)
		return after[`parley_calls_ended_total{result="answered"}`] == 1 && after["parley_calls_active"] == 0
	})
	eventually(t, 20*time.Second, "the participants to leave", func() bool {
		after = scrape(t, r)
		return after["parley_participants"] == 0 && after[`parley_subscribed_tracks{kind="video"}`] == 0
	})
	if after["parley_forwarded_packets_total"] < during["parley_forwarded_packets_total"] {
		t.Fatalf("forwarded packets went down after the peers closed: %v < %v",
			after["parley_forwarded_packets_total"], during["parley_forwarded_packets_total"])
	}
}

// TestLimitMetrics: /metrics has parley_limit_refusals_total for every limit from the
// start, and the series count what the limits refuse.
func TestLimitMetrics(t *testing.T) {
	cfg := testConfig(t)
	cfg.Limits.FailedLoginsBurst = 1
	cfg.Room.MaxPendingRemoteViews = 1
	cfg.Limits.ProfileWritesBurst = 1
	r := startServe(t, cfg)
	series := func(limit string) string { return `parley_limit_refusals_total{limit="` + limit + `"}` }
	idle := scrape(t, r)
	for _, limit := range []string{"failed_logins", "invitations", "trickles", "login_timeout", "remote_views",
		"pending_candidates", "remote_candidates", "denied_candidates",
		"media_switches", "device_toggles", "profile_writes", "record_requests", "negotiations", "room_joins",
		"logins", "connection_logins", "pending_logins"} {
		if v, ok := idle[series(limit)]; !ok || v != 0 {
			t.Errorf("idle server: %s = %v (present %v), want 0", series(limit), v, ok)
		}
	}
	if _, ok := idle["parley_signaling_pipeline_waits_total"]; !ok {
		t.Error("/metrics lacks parley_signaling_pipeline_waits_total")
	}

	ctx := ctxFor(t, 30*time.Second)
	alice := login(t, r.wsURL(), "alice")
	grant, err := signaling.MintRoomGrant(signaling.DevSDKAppID, []byte(signaling.DevSecret), "alice", protocol.StrRoom("limits"),
		protocol.RoomRights{Publish: true, Subscribe: true}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.JoinRoomWithGrant(ctx, protocol.StrRoom("limits"), grant); err != nil {
		t.Fatal(err)
	}
	if err := alice.StartRemoteView(ctx, "ghost1", protocol.VideoQuality{}); err != nil {
		t.Fatal(err)
	}
	if err := alice.StartRemoteView(ctx, "ghost2", protocol.VideoQuality{}); !isCode(err, protocol.CodeTooManyRemoteViews) {
		t.Fatalf("second pending wish: %v, want 4009", err)
	}
	if err := alice.SetSelfInfo(ctx, "alice", ""); err != nil {
		t.Fatal(err)
	}
	if err := alice.EnableMultiDeviceAbility(ctx, true); !isCode(err, protocol.CodeRateLimited) {
		t.Fatalf("second profile write: %v, want 6001", err)
	}
	metadata := protocol.ICECandidate{Candidate: "candidate:1 1 udp 2130706431 169.254.169.254 80 typ host"}
	err = alice.Request(ctx, protocol.MethodTrickle, protocol.TrickleParams{Target: protocol.TargetPublisher, Candidate: metadata}, nil)
	if !isCode(err, protocol.CodeNegotiationFailed) {
		t.Fatalf("metadata candidate: %v, want 4004", err)
	}
	mallory, err := client.Dial(ctx, r.wsURL(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mallory.Close()
	for _, want := range []int{protocol.CodeUserSigInvalid, protocol.CodeRateLimited} {
		if _, err := mallory.Login(ctx, signaling.DevSDKAppID, "mallory", "forged"); !isCode(err, want) {
			t.Fatalf("forged login: %v, want %d", err, want)
		}
	}
	after := scrape(t, r)
	for limit, want := range map[string]float64{"failed_logins": 1, "remote_views": 1, "denied_candidates": 1, "invitations": 0, "profile_writes": 1} {
		if got := after[series(limit)]; got != want {
			t.Errorf("%s = %v, want %v", series(limit), got, want)
		}
	}
}
