package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-rtc/parley/cluster"
)

// clusterNodesCollector shows, on every node's /metrics, each live node's load as its
// last heartbeat registered it (so one scrape shows the whole cluster), and this node's
// presence entries.
type clusterNodesCollector struct{ cl *cluster.Cluster }

var (
	clusterNodeSessions = prometheus.NewDesc("parley_cluster_node_sessions",
		"Sessions each live node runs (the apps it owns), as its last heartbeat registered.", []string{"node"}, nil)
	clusterNodeConnections = prometheus.NewDesc("parley_cluster_node_connections",
		"Logged-in WebSockets each live node holds (its presence entries), as its last heartbeat registered.", []string{"node"}, nil)
	clusterNodeRelayed = prometheus.NewDesc("parley_cluster_node_relayed_connections",
		"WebSockets each live node holds whose session runs on another node, as its last heartbeat registered.", []string{"node"}, nil)
	clusterPresence = prometheus.NewDesc("parley_cluster_presence_connections",
		"Logged-in WebSockets this node holds and records in the cluster's presence now.", nil, nil)
)

func (c clusterNodesCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- clusterNodeSessions
	ch <- clusterNodeConnections
	ch <- clusterNodeRelayed
	ch <- clusterPresence
}

func (c clusterNodesCollector) Collect(ch chan<- prometheus.Metric) {
	for _, n := range c.cl.Nodes() {
		ch <- prometheus.MustNewConstMetric(clusterNodeSessions, prometheus.GaugeValue, float64(n.Load.Sessions), n.ID)
		ch <- prometheus.MustNewConstMetric(clusterNodeConnections, prometheus.GaugeValue, float64(n.Load.Connections), n.ID)
		ch <- prometheus.MustNewConstMetric(clusterNodeRelayed, prometheus.GaugeValue, float64(n.Load.Relayed), n.ID)
	}
	ch <- prometheus.MustNewConstMetric(clusterPresence, prometheus.GaugeValue, float64(c.cl.PresenceHeld()))
}
