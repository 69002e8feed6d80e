package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// redisServer is the redis-server child process of --start-server --cluster: the nodes'
// cluster.redis_url. internal/testservers starts the tests' redis-server, but it is bound
// to a testing.TB and architecture_test.go keeps it out of binaries, so the bench starts
// its own with the same settings (loopback, no persistence) (docs/decisions.md D57).
type redisServer struct {
	cmd    *exec.Cmd
	url    string
	dir    string
	exited chan error
}

// startRedis runs redis-server on a free loopback port and waits until it accepts connections.
func startRedis(ctx context.Context) (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("--cluster --start-server needs redis-server on $PATH (scripts/ensure-test-deps.sh installs it)")
	}
	port, err := freeTCPPort()
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	dir, err := os.MkdirTemp("", "parley-bench-redis-*")
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes")
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	r := &redisServer{cmd: cmd, url: "redis://" + addr + "/0", dir: dir, exited: make(chan error, 1)}
	go func() { r.exited <- cmd.Wait() }()
	deadline := time.Now().Add(serverStartTimeout)
	for {
		err := redisAccepts(addr)
		if err == nil {
			return r, nil
		}
		select {
		case werr := <-r.exited:
			r.exited <- werr
			r.stop()
			return nil, fmt.Errorf("redis-server exited at start (%v)", werr)
		case <-ctx.Done():
			r.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("redis-server on %s did not accept connections within %s: %v", addr, serverStartTimeout, err)
		}
	}
}

// redisAccepts dials addr: redis-server accepts connections once it serves (nothing to load: no
// persistence). The nodes retry Redis on their own after that.
func redisAccepts(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return conn.Close()
}

// stop ends redis-server (SIGTERM, SIGKILL after 10 s) and removes its directory.
func (r *redisServer) stop() {
	defer os.RemoveAll(r.dir)
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.exited:
		r.exited <- err
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		r.exited <- <-r.exited
	}
}
