package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parley-rtc/parley/bench"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(bench.Scenario) bool
		err   string
	}{
		{"reference c with 90", []string{"--scenario", "c", "--subscribers", "90"}, func(s bench.Scenario) bool {
			return s.Name == "c-90" && s.Subscribers == 90 && s.VideoPublishers == 4 && s.Simulcast && s.Duration == time.Minute
		}, ""},
		{"a1 without simulcast", []string{"--scenario", "a1", "--no-simulcast", "--duration", "10s"}, func(s bench.Scenario) bool {
			return !s.Simulcast && s.Duration == 10*time.Second && s.Views == 2
		}, ""},
		{"room sizes", []string{"--video-publishers", "2", "--subscribers", "4", "--views", "2", "--high-views", "1", "--low-size", "640x360"}, func(s bench.Scenario) bool {
			return s.Kind == bench.KindRoom && s.Rooms == 1 && s.LowWidth == 640 && s.LowHeight == 360 && s.HighWidth == 1280
		}, ""},
		{"calls", []string{"--scenario", "calls", "--calls", "3", "--call-video", "--hold", "2s"}, func(s bench.Scenario) bool {
			return s.Kind == bench.KindCalls && s.Calls == 3 && s.CallVideo && s.Hold == 2*time.Second && s.CallRate == 2.5
		}, ""},
		{"a1 in h264", []string{"--scenario", "a1", "--codec", "h264"}, func(s bench.Scenario) bool {
			return s.Name == "a1" && s.Codec == "h264" && s.Simulcast && s.Duration == time.Minute
		}, ""},
		{"default codec", []string{"--scenario", "c"}, func(s bench.Scenario) bool { return s.Codec == "vp8" }, ""},
		{"unknown codec", []string{"--scenario", "a2", "--codec", "vp9"}, nil, "unknown codec \"vp9\""},
		{"impossible", []string{"--subscribers", "0", "--views", "1", "--video-publishers", "1"}, nil, "no subscribers"},
		{"negative", []string{"--scenario", "calls", "--calls", "-1"}, nil, "negative calls"},
		{"bad size", []string{"--low-size", "big"}, nil, "WIDTHxHEIGHT"},
		{"start-server and url", []string{"--start-server", "--url", "ws://x/ws", "--audio-publishers", "1", "--subscribers", "1"}, nil, "drop --url"},
		{"unknown reference", []string{"--scenario", "z"}, nil, "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseFlags(tt.args, &stderr)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o.cfg.Scenario) {
				t.Fatalf("scenario %+v", o.cfg.Scenario)
			}
		})
	}
}

// TestRunUnreachable: the command fails at once with a clear message and exit code 1.
func TestRunUnreachable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--url", "ws://127.0.0.1:1/ws", "--audio-publishers", "1", "--subscribers", "1", "--quiet"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "cannot reach the server") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}
