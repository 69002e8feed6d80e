package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on Linux).
const clockTicks = 100

// ServerSample is one look at the server: CPU time and memory from /proc (when the
// bench knows its pid) and counters from /metrics (when it serves them). A figure that
// could not be read is -1.
type ServerSample struct {
	At               time.Time `json:"at"`
	CPUSeconds       float64   `json:"cpu_seconds"`
	RSSBytes         int64     `json:"rss_bytes"`
	Threads          int64     `json:"threads"`
	Goroutines       int64     `json:"goroutines"`
	ForwardedPackets int64     `json:"forwarded_packets"`
	ForwardedBytes   int64     `json:"forwarded_bytes"`
	// ClusterNodes, AppsOwned and Relayed are the node's parley_cluster_nodes,
	// parley_cluster_apps_owned and parley_cluster_relayed_connections (both sides) gauges
	// (a node in a cluster only).
	ClusterNodes int64 `json:"cluster_nodes"`
	AppsOwned    int64 `json:"apps_owned"`
	Relayed      int64 `json:"relayed_connections"`
	// Timeline is the server's call step histogram (timeline.go); nil without one.
	Timeline stepBuckets `json:"-"`
}

// serverProbe samples a server by pid (/proc) and metrics URL; either may be unset.
type serverProbe struct {
	pid        int
	metricsURL string
	http       *http.Client
}

func newServerProbe(pid int, metricsURL string) *serverProbe {
	return &serverProbe{pid: pid, metricsURL: metricsURL, http: &http.Client{Timeout: 2 * time.Second}}
}

func (p *serverProbe) sample(ctx context.Context) ServerSample {
	s := ServerSample{At: time.Now(), CPUSeconds: -1, RSSBytes: -1, Threads: -1, Goroutines: -1, ForwardedPackets: -1, ForwardedBytes: -1, ClusterNodes: -1, AppsOwned: -1, Relayed: -1}
	if p.pid > 0 {
		if cpu, err := procCPUSeconds(p.pid); err == nil {
			s.CPUSeconds = cpu
		}
		if rss, threads, err := procStatus(p.pid); err == nil {
			s.RSSBytes, s.Threads = rss, threads
		}
	}
	if p.metricsURL != "" {
		if m, err := p.scrape(ctx); err == nil {
			for name, dst := range map[string]*int64{
				"go_goroutines": &s.Goroutines, "parley_forwarded_packets_total": &s.ForwardedPackets,
				"parley_forwarded_bytes_total": &s.ForwardedBytes, "parley_cluster_nodes": &s.ClusterNodes,
				"parley_cluster_apps_owned": &s.AppsOwned, "parley_cluster_relayed_connections": &s.Relayed,
			} {
				if v, ok := m.sum(name); ok {
					*dst = int64(v)
				}
			}
			s.Timeline = m.steps
			if s.CPUSeconds < 0 {
				if v, ok := m.sum("process_cpu_seconds_total"); ok {
					s.CPUSeconds = v
				}
			}
			if s.RSSBytes < 0 {
				if v, ok := m.sum("process_resident_memory_bytes"); ok {
					s.RSSBytes = int64(v)
				}
			}
		}
	}
	return s
}

// procCPUSeconds is utime+stime of pid.
func procCPUSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStat(string(data))
}

// parseProcStat reads utime and stime (fields 14 and 15) of a /proc/<pid>/stat line; the
// command name (field 2) may contain spaces and parentheses, so fields are counted from
// the last ')'.
func parseProcStat(line string) (float64, error) {
	end := strings.LastIndexByte(line, ')')
	if end < 0 {
		return 0, fmt.Errorf("bench: /proc stat without command name")
	}
	fields := strings.Fields(line[end+1:])
	// fields[0] is field 3 (state); utime is field 14, stime field 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("bench: /proc stat has %d fields", len(fields)+2)
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bench: /proc stat times %q %q", fields[11], fields[12])
	}
	return float64(utime+stime) / clockTicks, nil
}

// procStatus reads VmRSS and Threads of pid.
func procStatus(pid int) (rss, threads int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	return parseProcStatus(f)
}

func parseProcStatus(r io.Reader) (rss, threads int64, err error) {
	rss, threads = -1, -1
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}
		n, perr := strconv.ParseInt(fields[0], 10, 64)
		if perr != nil {
			continue
		}
		switch key {
		case "VmRSS":
			rss = n * 1024 // kB
		case "Threads":
			threads = n
		}
	}
	if rss < 0 {
		return 0, 0, fmt.Errorf("bench: no VmRSS in /proc status")
	}
	return rss, threads, sc.Err()
}

// metrics is a parsed Prometheus text exposition: metric name → sum over its series, and
// the buckets of the server's call step histogram by step (timeline.go).
type metrics struct {
	sums  map[string]float64
	steps stepBuckets
}

func (m *metrics) sum(name string) (float64, bool) {
	v, ok := m.sums[name]
	return v, ok
}

func (p *serverProbe) scrape(ctx context.Context) (*metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.metricsURL, nil)
	if err != nil {
		return nil, err
	}
	// Uncompressed: the probe scrapes once a second, and gzip would be work of the probe's
	// in the measured server's CPU (≈ 1.5 % of it on load b, docs/performance.md).
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("bench: %s: HTTP %d", p.metricsURL, resp.StatusCode)
	}
	return parseMetrics(io.LimitReader(resp.Body, 8<<20))
}

// parseMetrics sums every sample of each metric name (labels ignored) and keeps the
// call step buckets by their labels; comments and malformed lines are skipped.
func parseMetrics(r io.Reader) (*metrics, error) {
	m := &metrics{sums: map[string]float64{}, steps: stepBuckets{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, labels := line, "", ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if strings.HasPrefix(rest, "{") {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			labels, rest = rest[1:end], rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		m.sums[name] += v
		if name == timelineMetric {
			m.steps.addBucketLine(labels, v)
		}
	}
	return m, sc.Err()
}

// machineCPU reads the busy and total jiffies of all CPUs from /proc/stat.
func machineCPU() (busy, total uint64, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("bench: /proc/stat first line %q", line)
	}
	for i, f := range fields[1:] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bench: /proc/stat field %q", f)
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, nil
}
