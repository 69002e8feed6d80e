package testservers

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to become ready on a busy machine.
const startTimeout = 60 * time.Second

// errExited: the server process ended before it became ready (for example because the
// free port was taken in the meantime).
var errExited = errors.New("server exited before it was ready")

// missing skips the test (or fails it when CI=true) because a server binary is absent.
func missing(t testing.TB, what string) {
	t.Helper()
	msg := fmt.Sprintf("SKIPPING: %s not found — install it with scripts/ensure-test-deps.sh "+
		"(Debian packages redis-server, postgresql and haproxy)", what)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " [CI=true: a missing test server is a failure]")
	}
	t.Skip(msg)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago (the tests'
// one way to find one; it may be taken again by the time it is used).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testservers: free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("testservers: free port: %v", err)
	}
	return port
}

// SyncBuffer is a bytes.Buffer safe for a writer goroutine (a child process's output, a
// logger) and a reading test.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is one running server.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *SyncBuffer
	done chan struct{} // closed when cmd.Wait returned
	err  error         // cmd.Wait's result, readable after done
}

// command prepares a server command. The child gets the parent-death signal SIGKILL so
// that a test binary killed by its timeout leaves no server behind; cred, when not nil,
// is the user the child runs as.
func command(cred *syscall.Credential, out *SyncBuffer, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: cred}
	return cmd
}

// start runs cmd and returns once ready reports nil, or with an error when the process
// exits first or startTimeout passes (then the process is killed).
func start(name string, cmd *exec.Cmd, out *SyncBuffer, ready func() error) (*process, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		err := ready()
		if err == nil {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s: %w (%v); output:\n%s", name, errExited, p.err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("%s not ready after %v: %w; output:\n%s", name, startTimeout, err, out.String())
		}
	}
}

// stop sends sig and waits for the process to end; after stopTimeout it is killed.
func (p *process) stop(sig os.Signal) {
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		p.kill()
	}
}

// stopTimeout bounds a graceful stop before SIGKILL.
const stopTimeout = 30 * time.Second

// kill ends the process at once and waits for it.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// startRetrying calls try with a fresh free port until a server starts: the port can be
// taken between FreePort and the server's bind.
func startRetrying(t testing.TB, try func(port int) (*process, error)) (*process, int) {
	t.Helper()
	var err error
	for range 3 {
		port := FreePort(t)
		var p *process
		if p, err = try(port); err == nil {
			return p, port
		}
		if !errors.Is(err, errExited) {
			break
		}
	}
	t.Fatalf("testservers: %v", err)
	return nil, 0
}
