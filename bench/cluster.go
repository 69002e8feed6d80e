package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Cluster runs (Config.Cluster): the nodes are one Parley cluster (docs/architecture.md,
// "cluster"), so the members of a call or a room are put on different nodes, which only a
// cluster can serve (docs/decisions.md D56).

// ErrNotCluster: Config.Cluster is set but the nodes do not form one cluster.
var ErrNotCluster = errors.New("bench: the nodes do not form a cluster")

// clusterWaitTimeout bounds how long the preflight waits for every node to see all the
// others (a node registers within a heartbeat, cluster.heartbeat, 1 s by default).
const clusterWaitTimeout = 15 * time.Second

// memberNode is the node index of member k of the i-th room or call: rooms and calls go
// to the nodes in turn; in a cluster their members do too, member k on the node after
// member k-1's, so a call's two parties (and a room's members, as far as there are
// nodes) are on different nodes. Without a cluster every member is on the room's node:
// independent nodes share no users (D37).
func (r *runner) memberNode(i, k int) int {
	if r.cfg.Cluster {
		return i + k
	}
	return i
}

// checkCluster waits until every node's /metrics reports parley_cluster_nodes of at
// least the number of nodes given (each sees all the others). A node without the gauge
// runs alone (no cluster.redis_url): calls across nodes could not ring, so the run stops
// before any load with ErrNotCluster.
func (r *runner) checkCluster(ctx context.Context) error {
	if !r.cfg.Cluster {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, clusterWaitTimeout)
	defer cancel()
	want := float64(len(r.cfg.Nodes))
	for {
		var waiting []string
		for i, p := range r.probe.nodes {
			url := r.cfg.Nodes[i].URL
			m, err := p.scrape(ctx)
			if err != nil {
				waiting = append(waiting, fmt.Sprintf("%s: %v (give its --metrics-url)", url, err))
				continue
			}
			seen, ok := m.sum("parley_cluster_nodes")
			if !ok {
				return fmt.Errorf("%w: %s runs alone (its /metrics has no parley_cluster_nodes: is cluster.redis_url set?)", ErrNotCluster, url)
			}
			if seen < want {
				waiting = append(waiting, fmt.Sprintf("%s sees %.0f live nodes", url, seen))
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w of %.0f nodes within %s: %s", ErrNotCluster, want, clusterWaitTimeout, strings.Join(waiting, "; "))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// clusterFormed: every node saw all the nodes at the window's end.
func clusterFormed(nodes []NodeStats) bool {
	for _, n := range nodes {
		if n.ClusterNodes < int64(len(nodes)) {
			return false
		}
	}
	return len(nodes) > 1
}

// clusterLine is the report's line about the cluster (Report.Cluster): whether the nodes
// formed one, how many live nodes each saw at the window's end and which node owned the
// app (D50).
func (rep *Report) clusterLine() string {
	var seen, owners []string
	for _, n := range rep.Nodes {
		seen = append(seen, fmt.Sprint(n.ClusterNodes))
		if n.AppsOwned > 0 {
			owners = append(owners, n.URL)
		}
	}
	state := "NOT a cluster"
	if rep.ClusterFormed {
		state = fmt.Sprintf("the %d nodes formed a cluster", len(rep.Nodes))
	}
	owner := "no node"
	if len(owners) > 0 {
		owner = strings.Join(owners, ", ")
	}
	return fmt.Sprintf("%s (live nodes each saw: %s); the app owned by %s", state, strings.Join(seen, "/"), owner)
}
