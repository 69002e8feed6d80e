package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/cluster"
	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// childServeEnv makes the test binary run as a parley server (TestMain).
const childServeEnv = "PARLEY_TEST_CHILD_SERVE"

// childNode is a parley server in a child process (this test binary), in a cluster.
type childNode struct {
	cmd    *exec.Cmd
	out    *testservers.SyncBuffer
	addr   string
	exited chan struct{} // closed when the process ended and was reaped
}

// startChildNode starts node id of the cluster on redisURL as a child process and waits
// until it serves; it is killed at cleanup if still running. env (KEY=value) overrides
// its settings.
func startChildNode(t *testing.T, redisURL, id string, env ...string) *childNode {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	return startChild(t, id, addr, nil, append([]string{
		"PARLEY_HTTP_ADDRESS=" + addr, "PARLEY_RTC_UDP_PORT=0", "PARLEY_TURN_ENABLED=false",
		"PARLEY_RECORDS_SQLITE_PATH=" + filepath.Join(t.TempDir(), "parley.db"),
		"PARLEY_CLUSTER_REDIS_URL=" + redisURL, "PARLEY_CLUSTER_NODE_ID=" + id, "PARLEY_CLUSTER_REGION=region-" + id,
		"PARLEY_CLUSTER_HEARTBEAT=200ms", "PARLEY_CLUSTER_NODE_TTL=1500ms",
		"PARLEY_SIGNALING_RECONNECT_GRACE=500ms"}, env...)...)
}

// startChild starts this test binary as parley server id (TestMain) with the command-line
// args and env (KEY=value after this process's environment: the last value of a key
// wins), and waits until its /readyz at addr (its http.address) answers 200; it is killed
// at cleanup if still running, its output logged if the test failed.
func startChild(t *testing.T, id, addr string, args []string, env ...string) *childNode {
	t.Helper()
	n := &childNode{out: &testservers.SyncBuffer{}, addr: addr, exited: make(chan struct{})}
	n.cmd = exec.Command(os.Args[0], args...)
	n.cmd.Env = append(append(os.Environ(), childServeEnv+"=1"), env...)
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("node %s output:\n%s", id, n.out.String())
		}
	})
	eventually(t, 30*time.Second, "child node "+id+" ready", func() bool {
		return httpStatus(t, "http://"+n.addr+"/readyz", nil) == http.StatusOK
	})
	return n
}

func (n *childNode) wsURL() string { return "ws://" + n.addr + "/ws" }

// kill ends the node with SIGKILL (no deregistration, no goodbye) and waits until it is
// reaped; idempotent.
func (n *childNode) kill() {
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// clusterNode starts an in-process node of the cluster on redisURL; edits change its
// config.
func clusterNode(t *testing.T, redisURL, id string, edits ...func(*configs.Config)) *running {
	t.Helper()
	cfg := testConfig(t)
	cfg.Cluster.RedisURL, cfg.Cluster.NodeID, cfg.Cluster.Region = redisURL, id, "region-"+id
	cfg.Cluster.Heartbeat, cfg.Cluster.NodeTTL = 200*time.Millisecond, 1500*time.Millisecond
	cfg.Signaling.ReconnectGrace = 500 * time.Millisecond
	cfg.Admin.APIKey = testAdminKey
	for _, edit := range edits {
		edit(&cfg)
	}
	return startServe(t, cfg)
}

// roomsOnOwner keeps an in-process node's rooms on the app's owner (cluster.room_placement
// owner, explicit since load is the default, D126); ownerPlacementEnv does it for a child.
func roomsOnOwner(cfg *configs.Config) { cfg.Cluster.RoomPlacement = cluster.PlacementOwner }

const ownerPlacementEnv = "PARLEY_CLUSTER_ROOM_PLACEMENT=" + cluster.PlacementOwner

// TestClusterNodeKilled kills (SIGKILL) a parley process of a cluster of two while a call
// with media runs across them, and checks the survivors within a bounded time (rooms on
// the app's owner, except for the media node's case):
//   - the owner (the app's calls, rooms and media) killed: both users, relayed through the
//     surviving node, get onCallEnd and close 4012, log in again and call each other;
//   - a node that only relayed one user's signaling killed: the other user, on the owner,
//     gets onCallEnd once signaling.reconnect_grace has passed.
func TestClusterNodeKilled(t *testing.T) {
	t.Run("owner", func(t *testing.T) {
		redis := testservers.RunRedis(t)
		owner := startChildNode(t, redis.URL, "a", ownerPlacementEnv)
		front := clusterNode(t, redis.URL, "b", roomsOnOwner)
		alice, bob, started := callAcross(t, front, owner.wsURL(), front.wsURL(), front.wsURL())

		owner.kill()
		killed := time.Now()
		ctx := ctxFor(t, 20*time.Second)
		for _, c := range []*client.Conn{alice, bob} {
			if _, err := client.WaitFor(ctx, c, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == started.CallID }); err != nil {
				t.Fatalf("%s: no onCallEnd after the owner was killed: %v", c.UserID(), err)
			}
			<-c.Done()
			if code, _ := c.CloseStatus(); code != 4012 {
				t.Fatalf("%s: close %d, want 4012", c.UserID(), code)
			}
		}
		t.Logf("calls ended %v after the kill (cluster.node_ttl 1.5 s)", time.Since(killed).Round(10*time.Millisecond))
		alice, bob = login(t, front.wsURL(), "alice"), login(t, front.wsURL(), "bob")
		startCall(t, alice, bob)
		mediaFlows(t, alice, bob)
	})
	t.Run("media", func(t *testing.T) { // D95, D96: the node a call's room was placed on
		owner, media := placedPair(t, nil, nil)
		alice, bob, started := callAcross(t, owner, owner.wsURL(), owner.wsURL(), owner.wsURL()) // sessions on a
		if got := scrape(t, owner)[`parley_cluster_room_participants{side="remote"}`]; got != 2 {
			t.Fatalf("participants of the owner's sessions on another node: %v, want 2 (the room on m); nodes %+v", got, owner.srv.cluster.Nodes())
		}

		media.kill()
		killed := time.Now()
		ctx := ctxFor(t, 20*time.Second)
		for _, c := range []*client.Conn{alice, bob} {
			if _, err := client.WaitFor(ctx, c, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == started.CallID }); err != nil {
				t.Fatalf("%s: no onCallEnd after the media node was killed: %v", c.UserID(), err)
			}
		}
		t.Logf("calls ended %v after the kill (cluster.node_ttl 1.5 s)", time.Since(killed).Round(10*time.Millisecond))
		for _, c := range []*client.Conn{alice, bob} {
			if err := c.StopMedia(); err != nil {
				t.Fatal(err)
			}
		}
		startCall(t, alice, bob) // its room on a, the only node left
		mediaFlows(t, alice, bob)
	})
	t.Run("front", func(t *testing.T) {
		redis := testservers.RunRedis(t)
		owner := clusterNode(t, redis.URL, "a", roomsOnOwner)
		front := startChildNode(t, redis.URL, "b", ownerPlacementEnv)
		_, bob, started := callAcross(t, owner, owner.wsURL(), front.wsURL(), owner.wsURL())
		wantPresence(t, owner, "alice", "b")

		front.kill()
		killed := time.Now()
		wantPresence(t, owner, "alice") // its entry goes with its heartbeat
		t.Logf("alice's presence gone %v after the kill", time.Since(killed).Round(10*time.Millisecond))
		end, err := client.WaitFor(ctxFor(t, 20*time.Second), bob, protocol.EventCallEnd, func(e protocol.CallEndEvent) bool { return e.CallID == started.CallID })
		if err != nil {
			t.Fatalf("bob: no onCallEnd after alice's node was killed: %v", err)
		}
		if end.UserID != "alice" {
			t.Fatalf("bob's onCallEnd %+v, want ended by alice", end)
		}
	})
}

// placedPair starts a cluster of two nodes with cluster.room_placement load on a new
// redis-server: owner, in process, owns the app (a first login there; edit changes its
// config), and media, a child process in the owner's region (env overrides its
// settings), is idle and seen by the owner as less loaded, so the next room is placed on
// media (D95). logger (nil: quiet) is the owner's.
func placedPair(t *testing.T, logger *slog.Logger, edit func(*configs.Config), env ...string) (owner *running, media *childNode) {
	t.Helper()
	redis := testservers.RunRedis(t)
	cfg := testConfig(t)
	cfg.Cluster.RedisURL, cfg.Cluster.NodeID, cfg.Cluster.Region = redis.URL, "a", "region-a"
	cfg.Cluster.Heartbeat, cfg.Cluster.NodeTTL = 200*time.Millisecond, 1500*time.Millisecond
	cfg.Cluster.RoomPlacement = cluster.PlacementLoad
	if edit != nil {
		edit(&cfg)
	}
	if logger == nil {
		logger = quietLogger()
	}
	owner = startServeLogged(t, cfg, logger)
	login(t, owner.wsURL(), "first") // a alone: the app is a's
	media = startChildNode(t, redis.URL, "m", append([]string{"PARLEY_CLUSTER_REGION=region-a"}, env...)...)
	eventually(t, 20*time.Second, "the owner sees the idle media node less loaded than itself", func() bool {
		m, ok := owner.srv.cluster.Node("m")
		return ok && m.Load.CPU < 0.01 && m.Load.Rooms+m.Load.Sessions+m.Load.Tracks == 0
	})
	return owner, media
}

// callAcross waits until in-process node n sees both nodes, gives the app to the node at
// ownerURL (a first login there: the node of the asking node's region takes a free app,
// D51; each node has its own region), logs alice in at aliceURL and bob at bobURL, and has
// alice call bob with audio flowing both ways.
func callAcross(t *testing.T, n *running, ownerURL, aliceURL, bobURL string) (alice, bob *client.Conn, started protocol.CallStartResult) {
	t.Helper()
	eventually(t, 10*time.Second, "both nodes registered", func() bool { return len(n.srv.cluster.Nodes()) == 2 })
	login(t, ownerURL, "first")
	alice, bob = login(t, aliceURL, "alice"), login(t, bobURL, "bob")
	started = startCall(t, alice, bob)
	mediaFlows(t, alice, bob)
	return alice, bob, started
}

// mediaFlows starts audio on both clients and waits until each hears the other.
func mediaFlows(t *testing.T, a, b *client.Conn) {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	for _, c := range []*client.Conn{a, b} {
		if err := c.StartMedia(ctx, client.MediaOptions{Audio: true}); err != nil {
			t.Fatalf("%s: start media: %v", c.UserID(), err)
		}
	}
	for _, p := range [][2]*client.Conn{{a, b}, {b, a}} {
		if _, err := p[0].WaitRemoteTrack(ctx, p[1].UserID(), webrtc.RTPCodecTypeAudio, 20); err != nil {
			t.Fatalf("%s: %v", p[0].UserID(), err)
		}
	}
}
