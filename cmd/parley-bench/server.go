package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// serverStartTimeout bounds how long a started server may take to answer /healthz.
const serverStartTimeout = 20 * time.Second

// server is a parley process the bench started on free loopback ports.
type server struct {
	cmd        *exec.Cmd
	pid        int
	wsURL      string
	metricsURL string
	logPath    string
	logFile    *os.File
	dataDir    string // its records database, removed at stop
	exited     chan error
}

// findServerBinary is bin, or parley next to this executable, or parley on $PATH.
func findServerBinary(bin string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	if exe, err := os.Executable(); err == nil {
		candidate := filepath.Join(filepath.Dir(exe), "parley")
		if st, err := os.Stat(candidate); err == nil && !st.IsDir() {
			return candidate, nil
		}
	}
	if p, err := exec.LookPath("parley"); err == nil {
		return p, nil
	}
	return "", errors.New("no parley binary: build it (make build puts it in bin/) or pass --server-bin")
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeUDPPort is a UDP port that is free on TCP too: the server's media socket takes it
// and its ICE-TCP listener the same number.
func freeUDPPort() (int, error) {
	for range 20 {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		l, terr := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		_ = c.Close()
		if terr == nil {
			_ = l.Close()
			return port, nil
		}
	}
	return 0, errors.New("no port free on both UDP and TCP in 20 tries")
}

// errPortTaken: a port chosen free was taken by another process before the server bound it.
var errPortTaken = errors.New("a port chosen free was taken before the server bound it")

// portAttempts bounds the fresh choices of ports when one is taken meanwhile.
const portAttempts = 5

// startServer runs the parley binary on free ports (TURN off, warnings logged to a
// temporary file, its own records database in a temporary directory rather than
// ./parley.db, the per-user invitation limit raised) and waits for /healthz. A port is
// free when chosen but another process may take it before the server binds it (the media
// port is free for UDP, its ICE-TCP listener wants the same number on TCP): then it starts
// again on other ports.
func startServer(ctx context.Context, bin string, extraArgs ...string) (*server, error) {
	for attempt := 1; ; attempt++ {
		s, err := startServerOnce(ctx, bin, extraArgs...)
		if !errors.Is(err, errPortTaken) || attempt == portAttempts {
			return s, err
		}
	}
}

func startServerOnce(ctx context.Context, bin string, extraArgs ...string) (*server, error) {
	bin, err := findServerBinary(bin)
	if err != nil {
		return nil, err
	}
	httpPort, err := freeTCPPort()
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	udpPort, err := freeUDPPort()
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	dataDir, err := os.MkdirTemp("", "parley-bench-data-*")
	if err != nil {
		return nil, err
	}
	logFile, err := os.CreateTemp("", "parley-bench-server-*.log")
	if err != nil {
		_ = os.RemoveAll(dataDir)
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", httpPort)
	cmd := exec.Command(bin,
		"--http.address="+addr, fmt.Sprintf("--rtc.udp_port=%d", udpPort),
		"--turn.enabled=false", "--log.level=warn", "--records.sqlite_path="+filepath.Join(dataDir, "parley.db"),
		// One signaling-only pair repeats calls far faster than a user's invitation
		// limit (60 a minute) allows: raise it to its maximum.
		"--limits.invitations_per_minute=100000", "--limits.invitations_burst=100000")
	cmd.Args = append(cmd.Args, extraArgs...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		_ = os.RemoveAll(dataDir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{
		cmd: cmd, pid: cmd.Process.Pid, wsURL: "ws://" + addr + "/ws", metricsURL: "http://" + addr + "/metrics",
		logPath: logFile.Name(), logFile: logFile, dataDir: dataDir, exited: make(chan error, 1),
	}
	go func() { s.exited <- cmd.Wait() }()
	deadline := time.Now().Add(serverStartTimeout)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.exited:
			s.exited <- err
			_ = logFile.Close()
			_ = os.RemoveAll(dataDir)
			if log, rerr := os.ReadFile(s.logPath); rerr == nil && bytes.Contains(log, []byte("address already in use")) {
				_ = os.Remove(s.logPath)
				return nil, fmt.Errorf("server %s exited at start: %w", bin, errPortTaken)
			}
			return nil, fmt.Errorf("server %s exited at start (%v); log: %s", bin, err, s.logPath)
		case <-ctx.Done():
			_ = s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.stop()
			return nil, fmt.Errorf("server %s did not answer /healthz within %s; log: %s", bin, serverStartTimeout, s.logPath)
		}
	}
}

// stop sends SIGTERM, waits for the exit (SIGKILL after 10 s), closes the log and removes
// the records database.
func (s *server) stop() error {
	defer os.RemoveAll(s.dataDir)
	defer s.logFile.Close()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			return err
		}
		return nil
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return errors.New("server did not stop within 10s after SIGTERM; killed")
	}
}
