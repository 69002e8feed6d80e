package bench

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Summary() != (Summary{}) {
		t.Fatal("empty histogram is not zero")
	}
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	h.Record(-time.Second) // counts as 0
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.95, 950 * time.Millisecond}, {0.99, 990 * time.Millisecond}}
	for _, tt := range tests {
		got := h.Quantile(tt.q)
		if rel := math.Abs(float64(got-tt.want)) / float64(tt.want); rel > 1.0/16 {
			t.Errorf("q%.2f = %s, want %s ± 6%%", tt.q, got, tt.want)
		}
	}
	s := h.Summary()
	if s.Count != 1001 || s.Max != 1000 || s.Mean < 499 || s.Mean > 501 {
		t.Errorf("summary %+v", s)
	}
}

func TestHistogramBucketsAreOrdered(t *testing.T) {
	prev := uint64(0)
	for i := 1; i < histBuckets; i++ {
		lo := histLower(i)
		if lo <= prev && i > 0 {
			t.Fatalf("bucket %d starts at %d, previous at %d", i, lo, prev)
		}
		if got := histIndex(lo); got != i {
			t.Fatalf("histIndex(histLower(%d) = %d) = %d", i, lo, got)
		}
		prev = lo
	}
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name, line string
		want       float64
		ok         bool
	}{
		{"plain", "123 (parley) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 1000 0 0", 3, true},
		{"name with spaces and parens", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 1 0 0", 0.03, true},
		{"truncated", "7 (x) R 1 2", 0, false},
		{"no name", "7 x R", 0, false},
		{"bad number", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 a 2 0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat(tt.line)
			if (err == nil) != tt.ok || math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("parseProcStat = %v, %v; want %v ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
	if cpu, err := procCPUSeconds(os.Getpid()); err != nil || cpu < 0 {
		t.Errorf("own CPU seconds %v, %v", cpu, err)
	}
}

func TestParseProcStatus(t *testing.T) {
	rss, threads, err := parseProcStatus(strings.NewReader("Name:\tparley\nVmRSS:\t  2048 kB\nThreads:\t9\n"))
	if err != nil || rss != 2048*1024 || threads != 9 {
		t.Fatalf("got %d, %d, %v", rss, threads, err)
	}
	if _, _, err := parseProcStatus(strings.NewReader("Name: x\n")); err == nil {
		t.Fatal("status without VmRSS accepted")
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP parley_forwarded_packets_total RTP packets sent.
# TYPE parley_forwarded_packets_total counter
parley_forwarded_packets_total{kind="audio"} 100
parley_forwarded_packets_total{kind="video",label="a}b"} 2.5e3
go_goroutines 42
broken_line{ 7
no_value
process_cpu_seconds_total 1.5 1700000000000
`
	m, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.sum("parley_forwarded_packets_total"); v != 2600 {
		t.Errorf("forwarded = %v, want 2600", v)
	}
	if v, _ := m.sum("go_goroutines"); v != 42 {
		t.Errorf("goroutines = %v", v)
	}
	if v, _ := m.sum("process_cpu_seconds_total"); v != 1.5 {
		t.Errorf("cpu = %v", v)
	}
	if _, ok := m.sum("no_value"); ok {
		t.Error("a line without a value was counted")
	}
}

func TestLossPercent(t *testing.T) {
	tests := []struct {
		a, b counters
		want float64
	}{
		{counters{}, counters{packets: 99, expected: 100}, 1},
		{counters{packets: 10, expected: 10}, counters{packets: 110, expected: 110}, 0},
		{counters{}, counters{packets: 105, expected: 100}, 0}, // duplicates
		{counters{}, counters{packets: 100, padding: 10, expected: 100}, 10},
		{counters{}, counters{}, 0},
	}
	for _, tt := range tests {
		if got := lossPercent(tt.a, tt.b); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("lossPercent(%+v, %+v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestReferenceLoads(t *testing.T) {
	tests := []struct {
		name         string
		subscribers  int
		participants int
		simulcast    bool
	}{
		{"a1", 0, 12, true}, {"a2", 0, 12, false}, {"b", 0, 30, false}, {"c", 0, 64, true}, {"c", 130, 134, true},
	}
	for _, tt := range tests {
		s, err := Reference(tt.name, tt.subscribers)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if s.participants() != tt.participants || s.Simulcast != tt.simulcast || s.Ramp != 5 || s.Duration != time.Minute {
			t.Errorf("%s: %+v", tt.name, s)
		}
	}
	if _, err := Reference("d", 0); err == nil {
		t.Error("unknown reference load accepted")
	}
}

func TestScenarioCodec(t *testing.T) {
	tests := []struct {
		codec, want string
		ok          bool
	}{
		{"", "vp8", true}, {"vp8", "vp8", true}, {"h264", "h264", true},
		{"H264", "", false}, {"av1", "", false}, {"h265", "", false},
	}
	for _, tt := range tests {
		s := Scenario{Kind: KindRoom, AudioPublishers: 1, Codec: tt.codec}
		s.SetDefaults()
		err := s.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("codec %q: %v, want ok=%v", tt.codec, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidScenario) || !strings.Contains(err.Error(), "unknown codec") {
				t.Errorf("codec %q: error %v", tt.codec, err)
			}
			continue
		}
		if s.Codec != tt.want {
			t.Errorf("codec %q became %q, want %q", tt.codec, s.Codec, tt.want)
		}
	}
}

func TestVideoDescription(t *testing.T) {
	tests := []struct {
		s    Scenario
		want string
	}{
		{Scenario{Kind: KindRoom, VideoPublishers: 1, Simulcast: true, Codec: "h264"}, "h264 simulcast"},
		{Scenario{Kind: KindRoom, VideoPublishers: 1}, "vp8"},
		{Scenario{Kind: KindRoom, AudioPublishers: 3, Codec: "h264"}, "none"},
		{Scenario{Kind: KindCalls, CallVideo: true, Simulcast: true, Codec: "vp8"}, "vp8"},
	}
	for _, tt := range tests {
		if got := tt.s.videoDescription(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestLoadScenario(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("name: fan\nkind: room\nvideo_publishers: 1\nsubscribers: 5\nviews: 1\nduration: 30s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadScenario(good)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "fan" || s.Subscribers != 5 || s.Duration != 30*time.Second || s.Ramp != DefaultRamp || s.Codec != "vp8" || s.Validate() != nil {
		t.Errorf("loaded %+v (%v)", s, s.Validate())
	}
	h264 := filepath.Join(dir, "h264.yaml")
	if err := os.WriteFile(h264, []byte("kind: room\nvideo_publishers: 1\nsimulcast: true\ncodec: h264\nsubscribers: 1\nviews: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadScenario(h264); err != nil || s.Codec != "h264" || s.Validate() != nil {
		t.Errorf("codec h264: %+v, %v", s, err)
	}
	vp9 := filepath.Join(dir, "vp9.yaml")
	if err := os.WriteFile(vp9, []byte("kind: room\naudio_publishers: 1\ncodec: vp9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := LoadScenario(vp9); err != nil || !errors.Is(s.Validate(), ErrInvalidScenario) {
		t.Errorf("codec vp9: %v, validate %v", err, s.Validate())
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("kind: room\nsubscriberz: 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadScenario(bad); err == nil || !strings.Contains(err.Error(), "subscriberz") {
		t.Errorf("unknown key: %v", err)
	}
}

// TestCallModes: early_media and signaling_only are validated with the other options:
// calls only, not both, no media files without media; YAML reaches both keys.
func TestCallModes(t *testing.T) {
	calls := Scenario{Kind: KindCalls, Calls: 2}
	video, _ := writeSampleMedia(t, t.TempDir()) // a real file: only the mode can be wrong
	tests := []struct {
		name string
		mod  func(*Scenario)
		err  string // "" = valid
	}{
		{"plain calls", func(*Scenario) {}, ""},
		{"early media", func(s *Scenario) { s.EarlyMedia, s.CallVideo = true, true }, ""},
		{"signaling only", func(s *Scenario) { s.SignalingOnly = true }, ""},
		{"signaling only video call", func(s *Scenario) { s.SignalingOnly, s.CallVideo = true, true }, ""},
		{"both", func(s *Scenario) { s.EarlyMedia, s.SignalingOnly = true, true }, "choose one"},
		{"signaling only with a video file", func(s *Scenario) { s.SignalingOnly, s.VideoFile = true, video }, "drop video_file"},
		{"early media with a video file", func(s *Scenario) { s.EarlyMedia, s.CallVideo, s.VideoFile = true, true, video }, ""},
		{"early media in a room", func(s *Scenario) { s.Kind, s.AudioPublishers, s.EarlyMedia = KindRoom, 1, true }, "options of the calls kind, not room"},
		{"signaling only in churn", func(s *Scenario) { s.Kind, s.SignalingOnly = KindChurn, true }, "options of the calls kind, not churn"},
		{"early media without calls", func(s *Scenario) { s.Calls, s.EarlyMedia = 0, true }, "no calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := calls
			tt.mod(&s)
			s.SetDefaults()
			err := s.Validate()
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidScenario) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Validate = %v, want %q", err, tt.err)
			}
		})
	}

	dir := t.TempDir()
	for _, tt := range []struct {
		yaml          string
		early, signal bool
		kind          string
	}{
		{"kind: calls\ncalls: 4\ncall_video: true\nearly_media: true\nhold: 3s\n", true, false, "calls, early media"},
		{"kind: calls\ncalls: 8\nsignaling_only: true\n", false, true, "calls, signaling only"},
	} {
		path := filepath.Join(dir, "calls.yaml")
		if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := LoadScenario(path)
		if err != nil || s.Validate() != nil || s.EarlyMedia != tt.early || s.SignalingOnly != tt.signal || s.kindDescription() != tt.kind {
			t.Errorf("%q: %+v, %v, %v", tt.yaml, s, err, s.Validate())
		}
	}
}
