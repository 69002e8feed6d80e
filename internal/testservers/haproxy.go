package testservers

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// HAProxy is an haproxy child process in the foreground (-db) on a configuration the test
// wrote. Its log (the configuration's `log stdout` lines) is kept in memory: Log reads it.
type HAProxy struct {
	// Addr is host:port of the frontend's bind on 127.0.0.1.
	Addr string

	p *process
}

// RunHAProxy writes config(port) (the configuration with its frontend bound to
// 127.0.0.1:port) into a private directory, checks it (haproxy -c), starts haproxy on it
// and waits until the port accepts connections; haproxy is stopped and its files removed
// at t.Cleanup. haproxy comes from Debian's haproxy package, on PATH or in /usr/sbin.
func RunHAProxy(t testing.TB, config func(port int) string) *HAProxy {
	t.Helper()
	bin := haproxyBinary()
	if bin == "" {
		missing(t, "haproxy")
	}
	dir := t.TempDir()
	h := &HAProxy{}
	var port int
	h.p, port = startRetrying(t, func(port int) (*process, error) {
		path := filepath.Join(dir, "haproxy.cfg")
		if err := os.WriteFile(path, []byte(config(port)), 0o600); err != nil {
			return nil, err
		}
		if out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("haproxy -c: %v\n%s", err, out)
		}
		out := &SyncBuffer{}
		cmd := command(nil, out, bin, "-db", "-f", path)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		return start("haproxy", cmd, out, func() error {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
	})
	h.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	t.Cleanup(func() {
		h.p.stop(syscall.SIGTERM) // hard stop: closes every connection at once
		if t.Failed() {
			t.Logf("haproxy output:\n%s", h.p.out.String())
		}
	})
	return h
}

// Log is what haproxy wrote so far (stdout and stderr).
func (h *HAProxy) Log() string { return h.p.out.String() }

// haproxyBinary finds haproxy on PATH, else Debian's /usr/sbin/haproxy (not on a normal
// user's PATH); "" when there is none.
func haproxyBinary() string {
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p
	}
	if isExecutable("/usr/sbin/haproxy") {
		return "/usr/sbin/haproxy"
	}
	return ""
}
