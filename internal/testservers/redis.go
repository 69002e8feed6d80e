package testservers

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Redis is a redis-server child process on 127.0.0.1 with persistence off. Stop and
// Restart let a test take Redis away and bring it back on the same address.
type Redis struct {
	// URL is the go-redis URL of database 0, e.g. redis://127.0.0.1:6379/0.
	URL string
	// Addr is host:port.
	Addr string

	bin, dir string
	port     int

	mu sync.Mutex
	p  *process // nil while stopped
}

// StartRedis starts a redis-server for the test and returns its URL; it is stopped at
// t.Cleanup.
func StartRedis(t testing.TB) string {
	t.Helper()
	return RunRedis(t).URL
}

// RunRedis starts a redis-server for the test; it is stopped at t.Cleanup.
func RunRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		missing(t, "redis-server")
	}
	r := &Redis{bin: bin, dir: t.TempDir()}
	var p *process
	p, r.port = startRetrying(t, r.start)
	r.p = p
	r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port))
	r.URL = "redis://" + r.Addr + "/0"
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.p != nil {
			r.p.stop(syscall.SIGTERM)
			if t.Failed() {
				t.Logf("redis-server output:\n%s", r.p.out.String())
			}
			r.p = nil
		}
		waitRedisProbes(redisProbeWait)
	})
	return r
}

// redisProbeFunc is go-redis's dial probe (internal/pool.(*ConnPool).tryDial): after
// PoolSize failed dials (Redis stopped or restarting) a client's pool starts it; it sleeps
// 1 s between dials and returns at its first wake after the client closed, or at the first
// dial that works. Nothing outside go-redis can stop it early.
const redisProbeFunc = "internal/pool.(*ConnPool).tryDial("

// redisProbeWait bounds waitRedisProbes: a probe ends within its 1 s sleep plus one dial
// (the clients' dial timeout) after its client closed, later on a starved machine.
const redisProbeWait = 15 * time.Second

// waitRedisProbes waits, at most d, until no goroutine is in go-redis's dial probe. The
// Redis cleanup calls it: the test's clients were closed before (t.Cleanup runs last in,
// first out), so their probes end by themselves, and the test leaves no go-redis goroutine
// for goleak to find in the next test or in TestMain. Past d it gives up quietly and
// goleak reports what is left.
func waitRedisProbes(d time.Duration) {
	for deadline := time.Now().Add(d); redisProbing() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}

// redisProbing reports whether a goroutine is in go-redis's dial probe.
func redisProbing() bool {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	for n == len(buf) {
		buf = make([]byte, 2*len(buf))
		n = runtime.Stack(buf, true)
	}
	return bytes.Contains(buf[:n], []byte(redisProbeFunc))
}

func (r *Redis) start(port int) (*process, error) {
	out := &SyncBuffer{}
	cmd := command(nil, out, r.bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", r.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return start("redis-server", cmd, out, func() error { return ping(addr) })
}

// Stop ends the server (SIGTERM, no snapshot: the data is gone). Idempotent.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		r.p.stop(syscall.SIGTERM)
		r.p = nil
	}
}

// Kill ends the server with SIGKILL, as a crash would. Idempotent.
func (r *Redis) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		r.p.kill()
		r.p = nil
	}
}

// Restart starts a stopped server again on the same address (empty). The port was free
// while it was stopped, so another process may have taken it: then the test fails.
func (r *Redis) Restart(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		t.Fatal("testservers: Restart of a running redis-server")
	}
	p, err := r.start(r.port)
	if err != nil {
		t.Fatalf("testservers: restart: %v", err)
	}
	r.p = p
}

// ping sends PING over RESP and expects +PONG.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("redis PING answered %q", strings.TrimSpace(line))
	}
	return nil
}
