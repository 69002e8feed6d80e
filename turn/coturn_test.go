package turn

import (
	"context"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/parley-rtc/parley/internal/testservers"
)

// These tests drive the server with coturn's turnutils_uclient and turnutils_peer
// (Debian package coturn), a TURN client and peer nobody here wrote.

func coturnTools(t *testing.T) (uclient, peer string) {
	t.Helper()
	uclient, err1 := exec.LookPath("turnutils_uclient")
	peer, err2 := exec.LookPath("turnutils_peer")
	if err1 != nil || err2 != nil {
		t.Skip("SKIPPING coturn interop: turnutils_uclient/turnutils_peer not found " +
			"(install Debian's coturn: scripts/ensure-test-deps.sh or apt-get install -y coturn)")
	}
	return uclient, peer
}

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	if err := pc.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// startCoturnPeer runs turnutils_peer (a UDP echo peer) on 127.0.0.1; stopped at test end.
func startCoturnPeer(t *testing.T, binary string) int {
	t.Helper()
	port := freeUDPPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary, "-L", "127.0.0.1", "-p", strconv.Itoa(port))
	var out testservers.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start turnutils_peer: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("turnutils_peer output:\n%s", out.String())
		}
	})
	// Wait until the peer echoes.
	probe, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	peerAddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	buf := make([]byte, 64)
	waitFor(t, "turnutils_peer to echo", func() bool {
		if _, err := probe.WriteTo([]byte("ping"), peerAddr); err != nil {
			return false
		}
		_ = probe.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := probe.ReadFrom(buf)
		return err == nil && string(buf[:n]) == "ping"
	})
	return port
}

var (
	uclientLost     = regexp.MustCompile(`Total lost packets (\d+) \(`)
	uclientReceived = regexp.MustCompile(`Total transmit time is \d+`)
)

// uclientArgs are turnutils_uclient's arguments for 2 clients × 50 messages of 200 bytes
// to the peer on 127.0.0.1:peerPort through the TURN server on 127.0.0.1:port; extra
// (credentials, transport) go first.
func uclientArgs(peerPort, port int, extra ...string) []string {
	args := append([]string{}, extra...)
	return append(args,
		"-e", "127.0.0.1", "-r", strconv.Itoa(peerPort),
		"-n", "50", "-m", "2", "-l", "200", "-X",
		"-p", strconv.Itoa(port), "127.0.0.1")
}

// runUclient runs turnutils_uclient with args and returns its combined output.
func runUclient(t *testing.T, binary string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, args...).CombinedOutput()
	return string(out), err
}

func TestCoturnClientInterop(t *testing.T) {
	uclient, peerBinary := coturnTools(t)
	s := startServer(t, allowLoopbackPeers)
	peerPort := startCoturnPeer(t, peerBinary)
	addrs := s.Addrs()
	now := time.Now()
	user, pass, _ := s.Credentials("coturn-user", now)

	base := func(port int, extra ...string) []string { return uclientArgs(peerPort, port, extra...) }
	relayed := []struct {
		name string
		args []string
	}{
		{"udp", base(portOf(addrs.UDP), "-u", user, "-w", pass)},
		{"tcp", base(portOf(addrs.TCP), "-t", "-u", user, "-w", pass)},
		{"tls", base(portOf(addrs.TLS), "-t", "-S", "-u", user, "-w", pass)},
		// -W: uclient derives the REST username and password from the secret itself.
		{"udp rest secret", base(portOf(addrs.UDP), "-u", "coturn-rest", "-W", testSecret)},
	}
	for _, tc := range relayed {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Stats()
			out, err := runUclient(t, uclient, tc.args...)
			if err != nil {
				t.Fatalf("turnutils_uclient %v: %v\n%s", tc.args, err, out)
			}
			lost := uclientLost.FindStringSubmatch(out)
			if lost == nil || !uclientReceived.MatchString(out) {
				t.Fatalf("turnutils_uclient did not report a finished run:\n%s", out)
			}
			if lost[1] != "0" {
				t.Errorf("turnutils_uclient lost %s packets:\n%s", lost[1], out)
			}
			after := s.Stats()
			// 2 clients × 50 messages × 200 bytes each way (uclient also makes RTCP allocations).
			if got := after.RelayedBytesToPeers - before.RelayedBytesToPeers; got < 2*50*200 {
				t.Errorf("relayed %d bytes to the peer, want >= %d", got, 2*50*200)
			}
			if got := after.RelayedBytesFromPeers - before.RelayedBytesFromPeers; got < 2*50*200 {
				t.Errorf("relayed %d bytes from the peer, want >= %d", got, 2*50*200)
			}
			if after.AllocationsTotal-before.AllocationsTotal < 2 {
				t.Errorf("allocations made %d, want >= 2", after.AllocationsTotal-before.AllocationsTotal)
			}
		})
	}

	expiredUser, expiredPass, _ := s.Credentials("coturn-user", now.Add(-s.cfg.CredentialTTL-time.Minute))
	refused := []struct {
		name   string
		args   []string
		reason RefusalReason
	}{
		{"wrong password", base(portOf(addrs.UDP), "-u", user, "-w", "wrong-password"), RefusedBadCredentials},
		{"expired username", base(portOf(addrs.UDP), "-u", expiredUser, "-w", expiredPass), RefusedExpired},
		{"wrong secret", base(portOf(addrs.TCP), "-t", "-u", "coturn-rest", "-W", "not-the-secret-0123456789"), RefusedBadCredentials},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Stats()
			out, err := runUclient(t, uclient, tc.args...)
			if err == nil && uclientReceived.MatchString(out) {
				t.Fatalf("turnutils_uclient relayed with refused credentials:\n%s", out)
			}
			after := s.Stats()
			if after.Refusals[tc.reason] <= before.Refusals[tc.reason] {
				t.Errorf("%s refusals stayed at %d; uclient output:\n%s", tc.reason, after.Refusals[tc.reason], out)
			}
			if after.AllocationsTotal != before.AllocationsTotal {
				t.Errorf("an allocation was made with refused credentials")
			}
		})
	}
}

// TestCoturnClientMediaPortOnly: the server's own IP (127.0.0.1 here) is reachable only on
// its media ports. coturn's client relays to the peer when the peer is the UDP media port
// ("127.0.0.1:<peer>/udp"), and not a single datagram when the media port is another one.
func TestCoturnClientMediaPortOnly(t *testing.T) {
	uclient, peerBinary := coturnTools(t)
	peerPort := startCoturnPeer(t, peerBinary)
	tests := []struct {
		name    string
		media   int
		relayed bool
	}{
		{"peer is the media port", peerPort, true},
		{"peer is another port", freeUDPPort(t), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, func(c *Config) {
				c.ServerMediaAddresses = []string{"127.0.0.1:" + strconv.Itoa(tc.media) + "/udp"}
			})
			user, pass, _ := s.Credentials("coturn-user", time.Now())
			// -c: no RTCP allocations (they would send to peer port + 1).
			out, err := runUclient(t, uclient, uclientArgs(peerPort, portOf(s.Addrs().UDP), "-c", "-u", user, "-w", pass)...)
			st := s.Stats()
			if tc.relayed {
				if err != nil {
					t.Fatalf("turnutils_uclient: %v\n%s", err, out)
				}
				if lost := uclientLost.FindStringSubmatch(out); lost == nil || lost[1] != "0" {
					t.Fatalf("turnutils_uclient lost packets or did not finish:\n%s", out)
				}
				if st.RelayedBytesToPeers < 2*50*200 || st.RelayedBytesFromPeers < 2*50*200 {
					t.Errorf("relayed %d bytes to and %d from the peer, want >= %d each", st.RelayedBytesToPeers, st.RelayedBytesFromPeers, 2*50*200)
				}
				return
			}
			if st.RelayedBytesToPeers != 0 || st.RelayedBytesFromPeers != 0 {
				t.Errorf("relayed %d bytes to and %d from a non-media port, want 0:\n%s", st.RelayedBytesToPeers, st.RelayedBytesFromPeers, out)
			}
			if st.Refusals[RefusedRelayPacket] < 2*50 {
				t.Errorf("relay packet refusals %d, want >= %d (every datagram)", st.Refusals[RefusedRelayPacket], 2*50)
			}
		})
	}
}
