package cluster

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a real redis-server child process on 127.0.0.1 (stopped at cleanup).
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

// startRedis starts redis-server on a free loopback port; the test is skipped loudly when
// it is not installed (scripts/ensure-test-deps.sh installs it).
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("SKIPPED LOUDLY: redis-server is not installed (run scripts/ensure-test-deps.sh)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &redisServer{t: t, port: port, dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// start runs the server and waits until it answers PING.
func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer c.Close()
	waitFor(r.t, "redis-server answers PING", func() bool {
		return c.Ping(context.Background()).Err() == nil
	})
}

// stop kills the server and waits for it to exit; stopping a stopped server does nothing.
func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// waitFor polls cond until it holds, failing the test after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testConfig is a fast cluster config on r.
func testConfig(r *redisServer, id, region string) Config {
	return Config{RedisURL: r.url(), NodeID: id, Region: region, Heartbeat: 100 * time.Millisecond, NodeTTL: 500 * time.Millisecond}
}

// startNode starts a node (closed at cleanup) with a fixed load and inbox handler h.
func startNode(t *testing.T, cfg Config, load Load, h func(Message)) *Cluster {
	t.Helper()
	c, err := New(cfg, Self{SignalingURL: "ws://" + cfg.NodeID + "/ws", Load: func() Load { return load }}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// freeze stops c's goroutines without deregistering: the node stops heart-beating as a
// killed process would.
func freeze(c *Cluster) {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	cancel()
	c.wg.Wait()
}
