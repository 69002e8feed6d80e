package main

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-rtc/parley/cluster"
)

// newCluster joins the node to the cluster of cfg.Cluster (nil when cluster.redis_url is
// empty: one node, no Redis). Messages and dead nodes go to the signaling Service, set on
// s before start.
func (s *server) newCluster() (*cluster.Cluster, error) {
	if !s.cfg.Cluster.Enabled() {
		return nil, nil
	}
	probe := &loadProbe{s: s}
	cl, err := cluster.New(s.cfg.Cluster, cluster.Self{Load: probe.load},
		func(m cluster.Message) { s.signaling.HandleClusterMessage(m) }, s.logger.With("component", "cluster"))
	if err != nil {
		return nil, err
	}
	cl.OnNodeGone(func(id string) { s.signaling.NodeGone(id) })
	s.registerClusterMetrics(cl)
	s.metrics.Registry().MustRegister(clusterNodesCollector{cl})
	return cl, nil
}

// registerClusterMetrics adds the cluster gauges to /metrics (read at scrape time).
func (s *server) registerClusterMetrics(cl *cluster.Cluster) {
	gauge := func(name, help string, labels prometheus.Labels, f func() float64) {
		s.metrics.Registry().MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, f))
	}
	gauge("parley_cluster_nodes", "Live cluster nodes this node sees, itself included.", nil,
		func() float64 { return float64(cl.Stats().Nodes) })
	gauge("parley_cluster_apps_owned", "Apps (SDKAppIDs) whose calls and rooms run on this node.", nil,
		func() float64 { return float64(cl.Stats().AppsOwned) })
	gauge("parley_cluster_redis_up", "1 when the last heartbeat reached Redis within cluster.node_ttl.", nil, func() float64 {
		if cl.Stats().RedisUp {
			return 1
		}
		return 0
	})
	for _, side := range []string{"front", "owner"} {
		gauge("parley_cluster_relayed_connections", "Connections relayed to another node (front: the socket is here; owner: the session runs here).",
			prometheus.Labels{"side": side}, func() float64 {
				front, owner := s.signaling.RelayedConnections()
				if side == "front" {
					return float64(front)
				}
				return float64(owner)
			})
	}
	for _, side := range []string{"remote", "hosted"} {
		gauge("parley_cluster_room_participants", "Participants of rooms placed on another node than their session's (remote: the session is here; hosted: the room is here), D95.",
			prometheus.Labels{"side": side}, func() float64 {
				st := s.signaling.PlacementStats()
				if side == "remote" {
					return float64(st.Remote)
				}
				return float64(st.Hosted)
			})
	}
}

// startCluster registers the node with its bound addresses and starts its heartbeat.
func (s *server) startCluster() error {
	if s.cluster == nil {
		return nil
	}
	media := ""
	if a := s.engine.UDPAddr(); a != nil {
		media = a.String()
	}
	signalingURL, reachable := s.cfg.Cluster.SignalingURL(s.listener.Addr().String())
	if !reachable { // D137: a warning, not a refusal
		s.logger.Warn("cluster.advertise_url is empty and http.address binds all interfaces: other nodes redirect "+
			"clients (WHIP/WHEP to a room placed here, recordings of this node) to "+signalingURL+", which no client "+
			"can reach; set cluster.advertise_url (PARLEY_CLUSTER_ADVERTISE_URL) to this node's published http(s) URL",
			"advertised", signalingURL)
	}
	s.cluster.Advertise(signalingURL, media)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.cluster.Start(ctx); err != nil {
		return fmt.Errorf("cluster.redis_url: %w", err)
	}
	s.logger.Info("cluster joined", "node", s.cluster.ID(), "region", s.cluster.Region(), "advertised", signalingURL)
	return nil
}

// clusterReady is nil when the node is alone or reaches Redis.
func (s *server) clusterReady(ctx context.Context) error {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.Ready(ctx)
}

// loadProbe measures the load a node reports with its heartbeats (heartbeat goroutine).
type loadProbe struct {
	s *server

	mu      sync.Mutex
	lastCPU time.Duration
	lastAt  time.Time
}

func (p *loadProbe) load() cluster.Load {
	l := cluster.Load{Rooms: p.s.signaling.Rooms().Rooms(), Sessions: p.s.signaling.Sessions()}
	l.Connections = p.s.cluster.PresenceHeld()
	l.Relayed, _ = p.s.signaling.RelayedConnections()
	for _, pub := range p.s.engine.Publishers() {
		l.Tracks += len(pub.Receivers())
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		now := time.Now()
		p.mu.Lock()
		if !p.lastAt.IsZero() {
			if wall := now.Sub(p.lastAt); wall > 0 {
				l.CPU = float64(cpu-p.lastCPU) / float64(wall)
			}
		}
		p.lastCPU, p.lastAt = cpu, now
		p.mu.Unlock()
	}
	return l
}
