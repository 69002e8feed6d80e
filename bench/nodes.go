package bench

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Node is one server the load goes to (Config.Nodes): its signaling WebSocket URL and,
// to measure it, its pid (/proc) and /metrics URL ("" derives http://host:port/metrics
// from URL).
type Node struct {
	URL        string `json:"url"`
	PID        int    `json:"pid,omitempty"`
	MetricsURL string `json:"metrics_url,omitempty"`
}

// NodeStats are one node's server figures in the window (Report.Nodes, with several
// nodes); -1 when unknown.
type NodeStats struct {
	URL              string  `json:"url"`
	PID              int     `json:"pid,omitempty"`
	CPUSeconds       float64 `json:"cpu_seconds"`
	CPUPercent       float64 `json:"cpu_percent"` // of one core
	RSSEndMB         float64 `json:"rss_end_mb"`
	ForwardedPackets float64 `json:"forwarded_packets"` // from its /metrics; -1 without
	// CPUSecondsPer1000 is the node's CPU-seconds per 1000 packets it forwarded.
	CPUSecondsPer1000 float64 `json:"cpu_seconds_per_1000_forwarded"`
	// ClusterNodes is how many live cluster nodes the node saw at the window's end,
	// AppsOwned how many apps it owned (D50) and Relayed how many connections it relayed
	// (as front or owner); -1 for a node not in a cluster.
	ClusterNodes int64 `json:"cluster_nodes"`
	AppsOwned    int64 `json:"apps_owned"`
	Relayed      int64 `json:"relayed_connections"`
}

// metricsURLFor derives http(s)://host:port/metrics from a ws(s):// URL.
func metricsURLFor(wsURL string) (string, error) {
	u, err := url.Parse(wsURL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return "", fmt.Errorf("bench: URL %q is not ws://host:port/path: %w", wsURL, ErrInvalidScenario)
	}
	scheme := "http"
	if u.Scheme == "wss" {
		scheme = "https"
	}
	return scheme + "://" + u.Host + "/metrics", nil
}

// checkNodes fills Config.Nodes: the one node of URL, ServerPID and MetricsURL when
// Nodes is empty; each node's metrics URL. Nodes and URL are exclusive; a cluster has at
// least two nodes.
func (c *Config) checkNodes() error {
	if len(c.Nodes) == 0 {
		c.Nodes = []Node{{URL: c.URL, PID: c.ServerPID, MetricsURL: c.MetricsURL}}
	} else if c.URL != "" || c.ServerPID != 0 || c.MetricsURL != "" {
		return fmt.Errorf("bench: give the servers either as Nodes or as URL, ServerPID and MetricsURL, not both: %w", ErrInvalidScenario)
	}
	if c.Cluster && len(c.Nodes) < 2 {
		return fmt.Errorf("bench: a cluster run needs at least two nodes, got %d: %w", len(c.Nodes), ErrInvalidScenario)
	}
	seen := map[string]bool{}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		m, err := metricsURLFor(n.URL)
		if err != nil {
			return err
		}
		if seen[n.URL] {
			return fmt.Errorf("bench: node %s given twice: %w", n.URL, ErrInvalidScenario)
		}
		seen[n.URL] = true
		if n.MetricsURL == "" {
			n.MetricsURL = m
		}
	}
	return nil
}

// nodeURLs is the nodes' URLs, space-separated (Report.URL).
func nodeURLs(nodes []Node) string {
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = n.URL
	}
	return strings.Join(urls, " ")
}

// clusterProbe samples every node; the run's server figures are their sums.
type clusterProbe struct {
	nodes []*serverProbe
}

func newClusterProbe(nodes []Node) *clusterProbe {
	c := &clusterProbe{}
	for _, n := range nodes {
		c.nodes = append(c.nodes, newServerProbe(n.PID, n.MetricsURL))
	}
	return c
}

// sample looks at every node and returns the sum and each node's sample. A figure is
// known in the sum only when it is known on every node.
func (c *clusterProbe) sample(ctx context.Context) (ServerSample, []ServerSample) {
	per := make([]ServerSample, len(c.nodes))
	for i, p := range c.nodes {
		per[i] = p.sample(ctx)
	}
	if len(per) == 1 {
		return per[0], per
	}
	sum := per[0]
	for _, s := range per[1:] {
		sum.CPUSeconds = addKnown(sum.CPUSeconds, s.CPUSeconds)
		sum.RSSBytes = addKnown(sum.RSSBytes, s.RSSBytes)
		sum.Threads = addKnown(sum.Threads, s.Threads)
		sum.Goroutines = addKnown(sum.Goroutines, s.Goroutines)
		sum.ForwardedPackets = addKnown(sum.ForwardedPackets, s.ForwardedPackets)
		sum.ForwardedBytes = addKnown(sum.ForwardedBytes, s.ForwardedBytes)
		sum.Timeline = sum.Timeline.add(s.Timeline)
	}
	return sum, per
}

// addKnown is a+b, or -1 when either is unknown (negative).
func addKnown[T int64 | float64](a, b T) T {
	if a < 0 || b < 0 {
		return -1
	}
	return a + b
}

// nodeStats are each node's figures between the window's edges.
func nodeStats(nodes []Node, start, end []ServerSample, win float64) []NodeStats {
	if len(nodes) < 2 || len(start) != len(nodes) || len(end) != len(nodes) {
		return nil
	}
	out := make([]NodeStats, len(nodes))
	for i, n := range nodes {
		st := NodeStats{URL: n.URL, PID: n.PID, CPUSeconds: -1, CPUPercent: -1, ForwardedPackets: -1, CPUSecondsPer1000: -1,
			RSSEndMB: mb(end[i].RSSBytes), ClusterNodes: end[i].ClusterNodes, AppsOwned: end[i].AppsOwned, Relayed: end[i].Relayed}
		if start[i].CPUSeconds >= 0 && end[i].CPUSeconds >= 0 && win > 0 {
			st.CPUSeconds = end[i].CPUSeconds - start[i].CPUSeconds
			st.CPUPercent = st.CPUSeconds / win * 100
		}
		if start[i].ForwardedPackets >= 0 && end[i].ForwardedPackets >= 0 {
			st.ForwardedPackets = float64(end[i].ForwardedPackets - start[i].ForwardedPackets)
			if st.CPUSeconds >= 0 && st.ForwardedPackets > 0 {
				st.CPUSecondsPer1000 = st.CPUSeconds / (st.ForwardedPackets / 1000)
			}
		}
		out[i] = st
	}
	return out
}

// summary is the node's line of the table: CPU (% of one core), forwarded packets and
// CPU-seconds per 1000 of them, RSS; n/a for what is unknown.
func (n NodeStats) summary() string {
	known := func(v float64, format string) string {
		if v < 0 {
			return "n/a"
		}
		return fmt.Sprintf(format, v)
	}
	line := fmt.Sprintf("CPU %s of one core, forwarded %s packets, CPU-s per 1000 forwarded %s, RSS end %s",
		known(n.CPUPercent, "%.0f %%"), known(n.ForwardedPackets, "%.0f"), known(n.CPUSecondsPer1000, "%.4f s"), known(n.RSSEndMB, "%.0f MiB"))
	if n.Relayed >= 0 {
		line += fmt.Sprintf(", %d relayed connections", n.Relayed)
	}
	if n.AppsOwned > 0 {
		line += ", owns the app"
	}
	return line
}
