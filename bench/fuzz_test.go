package bench

import (
	"bytes"
	"testing"
)

// The server's /metrics and /proc files are input the bench does not control.

func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte("parley_forwarded_packets_total{kind=\"video\"} 12\ngo_goroutines 3\n"))
	f.Add([]byte("# HELP x\n{}\nx{a=\"}\"} NaN\ny +Inf\n"))
	f.Add([]byte("\x00{ \n"))
	f.Add([]byte("parley_call_timeline_seconds_bucket{step=\"room_join\",le=\"0.01\"} 3\nparley_call_timeline_seconds_bucket{le=\"+Inf\",step=\"a\\\",b\"} 4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseMetrics(bytes.NewReader(data))
		if err == nil && m == nil {
			t.Fatal("nil map without error")
		}
		if m == nil {
			return
		}
		if len(m.steps) > maxScrapedSteps {
			t.Fatalf("%d steps kept", len(m.steps))
		}
		for step, b := range m.steps {
			if len(b) > maxScrapedBuckets {
				t.Fatalf("step %q kept %d buckets", step, len(b))
			}
			_ = bucketSummary(step, nil, b)
		}
	})
}

func FuzzParseProcStat(f *testing.F) {
	f.Add("123 (parley) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 1000 0 0")
	f.Add("1 ()) ) ) 1 2 3")
	f.Add("")
	f.Fuzz(func(t *testing.T, line string) {
		cpu, err := parseProcStat(line)
		if err == nil && cpu < 0 {
			t.Fatalf("negative CPU %v", cpu)
		}
	})
}

func FuzzParseProcStatus(f *testing.F) {
	f.Add([]byte("VmRSS:\t 10 kB\nThreads: 3\n"))
	f.Add([]byte(":\n::\nVmRSS:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rss, _, err := parseProcStatus(bytes.NewReader(data))
		if err == nil && rss < 0 {
			t.Fatalf("negative RSS %d", rss)
		}
	})
}
