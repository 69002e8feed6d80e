package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-rtc/parley/client"
	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/internal/testservers"
	"github.com/parley-rtc/parley/ops/pgrecords"
	"github.com/parley-rtc/parley/ops/recording"
	"github.com/parley-rtc/parley/signaling"
	"github.com/parley-rtc/parley/signaling/protocol"
)

// The app of the production sample, with the secret mountedProductionConfig gives it.
const (
	prodApp    = 1400000001
	prodSecret = "prod-app-secret-0123456789-0123456789"
)

// composeCluster is docker-compose.cluster.yaml run without Docker: its three parley
// services as child processes, redis-server, PostgreSQL and haproxy on
// haproxy.cluster.cfg, all on 127.0.0.1.
type composeCluster struct {
	lb         *testservers.HAProxy
	nodes      map[string]*childNode // by compose service name (= cluster.node_id)
	advertised map[string]string     // each node's cluster.advertise_url, by name
	dsn        string                // the records database
}

// startComposeCluster starts the services of docker-compose.cluster.yaml as one host runs
// them. Each node is configured as its compose service is (the production sample as its
// --config, the service's environment with the operator's variables, PARLEY_PUBLIC_IP
// 127.0.0.1); only what a compose network gives each container is rewritten:
//   - the DNS names redis and postgres in PARLEY_CLUSTER_REDIS_URL and
//     PARLEY_RECORDS_POSTGRES_DSN become the test servers' 127.0.0.1 ports (the DSN keeps
//     its user and password; the test server trusts loopback);
//   - each container's own address: http.address 0.0.0.0:7880 and its host port 789N in
//     cluster.advertise_url (the host, localhost, stays), the media ports 7882-7884
//     published on the host, and the sample's metrics.address 127.0.0.1:7881 (a port of
//     each container's loopback) become free ports of 127.0.0.1; the sample's
//     rtc.bind_address 0.0.0.0 and rtc.node_ip 10.0.0.5 (the host's private IP) become
//     127.0.0.1;
//   - the sample's rtc.deny_candidate_cidrs loses loopback (no client runs on a server
//     host in production; here every client does).
//
// haproxy.cluster.cfg is used as it is but for its bind (:7880 → 127.0.0.1:port) and the
// server addresses: parley1:7880… are compose DNS names, which exist only on the compose
// network (haproxy would start with those servers disabled). Its resolvers section, Docker's
// DNS at 127.0.0.11, cannot work outside Docker; it stays, unused: haproxy resolves no IP
// literal (strace showed no query sent).
func startComposeCluster(t *testing.T) *composeCluster {
	t.Helper()
	redis := testservers.RunRedis(t)
	pgDSN := testservers.RunPostgres(t).NewDatabase(t)
	config := mountedProductionConfig(t)
	prod, err := configs.Load(config, nil)
	if err != nil {
		t.Fatal(err)
	}
	deny := slices.DeleteFunc(slices.Clone(prod.RTC.DenyCandidateCIDRs), func(c string) bool { return c == "127.0.0.0/8" || c == "::1/128" })
	vars := map[string]string{"PARLEY_PUBLIC_IP": "127.0.0.1"}
	for k, v := range composeTestVars {
		vars[k] = v
	}
	cl := &composeCluster{nodes: make(map[string]*childNode), advertised: make(map[string]string)}
	addrs := make(map[string]string)
	for _, svc := range composeClusterNodes(t, vars) {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		dsn := rewriteHost(t, svc.env["PARLEY_RECORDS_POSTGRES_DSN"], pgDSN)
		cl.dsn = dsn
		cl.advertised[svc.name] = rewritePort(t, svc.env["PARLEY_CLUSTER_ADVERTISE_URL"], addr)
		rewrites := map[string]string{
			"PARLEY_HTTP_ADDRESS":          addr,
			"PARLEY_CLUSTER_ADVERTISE_URL": cl.advertised[svc.name],
			"PARLEY_RTC_UDP_PORT":          fmt.Sprint(freePort(t)),
			"PARLEY_CLUSTER_REDIS_URL":     rewriteHost(t, svc.env["PARLEY_CLUSTER_REDIS_URL"], redis.URL),
			"PARLEY_RECORDS_POSTGRES_DSN":  dsn,
		}
		env := []string{
			fmt.Sprintf("PARLEY_METRICS_ADDRESS=127.0.0.1:%d", freePort(t)),
			"PARLEY_RTC_BIND_ADDRESS=127.0.0.1", "PARLEY_RTC_NODE_IP=127.0.0.1",
			"PARLEY_RTC_DENY_CANDIDATE_CIDRS=" + strings.Join(deny, ","),
		}
		for k, v := range svc.env {
			if r, ok := rewrites[k]; ok {
				v = r
				delete(rewrites, k)
			}
			env = append(env, k+"="+v)
		}
		if len(rewrites) != 0 {
			t.Fatalf("%s: docker-compose.cluster.yaml no longer sets %v", svc.name, rewrites)
		}
		addrs[svc.name] = addr
		cl.nodes[svc.name] = startChild(t, svc.name, addr, []string{"--config", config}, env...)
	}
	cfg, err := os.ReadFile("../../configs/haproxy.cluster.cfg")
	if err != nil {
		t.Fatal(err)
	}
	cl.lb = testservers.RunHAProxy(t, func(port int) string {
		out := replaceOnce(t, string(cfg), "bind :7880\n", fmt.Sprintf("bind 127.0.0.1:%d\n", port))
		for name, addr := range addrs {
			out = replaceOnce(t, out, fmt.Sprintf("server %s %s:7880 ", name, name), fmt.Sprintf("server %s %s ", name, addr))
		}
		return out
	})
	return cl
}

// rewriteHost is rawURL with the host (and, when to has one, the path) of to.
func rewriteHost(t *testing.T, rawURL, to string) string {
	t.Helper()
	u, err1 := url.Parse(rawURL)
	v, err2 := url.Parse(to)
	if err1 != nil || err2 != nil || u.Host == "" {
		t.Fatalf("rewrite %q to %q: %v %v", rawURL, to, err1, err2)
	}
	u.Host, u.Path = v.Host, v.Path
	return u.String()
}

// rewritePort is rawURL with the port of addr (host:port): the compose file's advertised
// URL (http://localhost:789N, PARLEY_PUBLIC_HOST unset) on the port the test node listens on.
func rewritePort(t *testing.T, rawURL, addr string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	_, port, err2 := net.SplitHostPort(addr)
	if err != nil || err2 != nil || u.Hostname() == "" {
		t.Fatalf("rewrite the port of %q to %s's: %v %v", rawURL, addr, err, err2)
	}
	u.Host = net.JoinHostPort(u.Hostname(), port)
	return u.String()
}

// replaceOnce replaces the one occurrence of old in s (the test fails when there is not
// exactly one: the rewritten file changed).
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("haproxy.cluster.cfg has %q %d times, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// redirectsToAdvertised checks that each node answers a request about another node's
// recording (D125) with 307 to that node's advertise_url (D139), and that the URL reaches
// that node.
func (cl *composeCluster) redirectsToAdvertised(t *testing.T) {
	t.Helper()
	for from, n := range cl.nodes {
		for to := range cl.nodes {
			if from == to {
				continue
			}
			var status int
			var loc string
			eventually(t, 20*time.Second, from+" seeing "+to, func() bool {
				status, loc = recordingRedirect(t, "http://"+n.addr, to) // advertise_test.go
				return status != http.StatusNotFound
			})
			if want := cl.advertised[to] + "/api/v1/recordings/0@" + to + "/stop"; status != http.StatusTemporaryRedirect || loc != want {
				t.Fatalf("%s about %s's recording: %d to %q, want 307 to %q", from, to, status, loc, want)
			}
		}
	}
	// Sent again with the key: Go's client, like curl -L and browsers, drops Authorization
	// on a redirect to another host (localhost here).
	loc := cl.advertised["parley2"] + "/api/v1/recordings/0@parley2/stop"
	code, body := adminRequest(t, http.MethodPost, loc, nil, nil)
	if code != http.StatusNotFound || !strings.Contains(string(body), recording.ErrUnknown.Error()) {
		t.Fatalf("POST %s: %d %s, want parley2's unknown recording", loc, code, body)
	}
}

func (cl *composeCluster) wsURL() string { return "ws://" + cl.lb.Addr + "/ws" }

// login logs userID of the sample's app in through the load balancer.
func (cl *composeCluster) login(t *testing.T, userID string) *client.Conn {
	t.Helper()
	c, err := dialLoginApp(t, cl.wsURL(), prodApp, prodSecret, userID)
	if err != nil {
		t.Fatalf("login %s through haproxy: %v", userID, err)
	}
	return c
}

// presence waits until userID has one connection and returns it (asked from a node
// directly, not through the load balancer: every node answers the same from Redis, and a
// kept-alive connection through haproxy would count for leastconn).
func (cl *composeCluster) presence(t *testing.T, userID string) PresenceConnection {
	t.Helper()
	var got PresenceResponse
	eventually(t, 20*time.Second, userID+"'s presence", func() bool {
		u := fmt.Sprintf("http://%s/api/v1/presence?sdkAppId=%d&userId=%s", cl.nodes["parley1"].addr, prodApp, userID)
		code, body := adminRequest(t, http.MethodGet, u, nil, &got)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", u, code, body)
		}
		return len(got.Connections) == 1
	})
	return got.Connections[0]
}

// tcpLogLine is haproxy's tcplog line of a connection: client address, backend/server.
var tcpLogLine = regexp.MustCompile(`127\.0\.0\.1:(\d+) \[[^\]]*\] signaling parley/(\S+) `)

// callsThroughLB asks GET /api/v1/calls for userID through the load balancer n times, each
// on a new connection kept open until all n answered (so that leastconn spreads them),
// and returns the answers and, from haproxy's log, the node that gave each.
func (cl *composeCluster) callsThroughLB(t *testing.T, userID string, n int) ([]CallsResponse, []string) {
	t.Helper()
	var answers []CallsResponse
	var ports []string
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := net.DialTimeout("tcp", cl.lb.Addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/api/v1/calls?sdkAppId=%d&userId=%s", cl.lb.Addr, prodApp, userID), nil)
		req.Header.Set("Authorization", "Bearer "+testAdminKey)
		if err := req.Write(c); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), req)
		if err != nil {
			t.Fatal(err)
		}
		var out CallsResponse
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET /api/v1/calls through haproxy: %s %v", resp.Status, err)
		}
		answers = append(answers, out)
		_, port, _ := net.SplitHostPort(c.LocalAddr().String())
		ports = append(ports, port)
	}
	for _, c := range conns {
		c.Close()
	}
	servers := make([]string, n)
	eventually(t, 20*time.Second, "haproxy's log lines of the requests", func() bool {
		for _, m := range tcpLogLine.FindAllStringSubmatch(cl.lb.Log(), -1) {
			if i := slices.Index(ports, m[1]); i >= 0 {
				servers[i] = m[2]
			}
		}
		return !slices.Contains(servers, "")
	})
	return answers, servers
}

// mediaKeepsFlowing waits until each of a and b has received 50 more audio packets from
// the other than it had.
func mediaKeepsFlowing(t *testing.T, a, b *client.Conn) {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	for _, p := range [][2]*client.Conn{{a, b}, {b, a}} {
		var had uint64
		for _, tr := range p[0].RemoteTracks(p[1].UserID()) {
			if tr.Kind == webrtc.RTPCodecTypeAudio {
				had = tr.Packets
			}
		}
		if _, err := p[0].WaitRemoteTrack(ctx, p[1].UserID(), webrtc.RTPCodecTypeAudio, had+50); err != nil {
			t.Fatalf("%s: no more audio from %s (had %d packets): %v", p[0].UserID(), p[1].UserID(), had, err)
		}
	}
}

// TestClusterBehindHAProxy runs the topology of docker-compose.cluster.yaml without
// Docker (startComposeCluster): real redis-server, PostgreSQL, three parley processes
// configured as the compose file configures them and haproxy on haproxy.cluster.cfg.
// Each node registers its compose advertise_url (http://localhost:<its port>): the other
// nodes redirect requests about its recordings there. Through haproxy's port: three users'
// WebSockets land on three different nodes; a 1v1
// call across nodes carries media both ways; its records are in PostgreSQL and
// GET /api/v1/calls through haproxy gives them from each of the three nodes. Then SIGTERM
// (what `docker compose stop` sends) drains the node of a user in a second call: haproxy's
// /readyz check takes the node out (its log says so), new logins through haproxy land on
// the other nodes, and the drained node's WebSocket keeps working — its call's media flows,
// a new call is refused with 5001, its hangup ends the call — after which the node exits 0.
func TestClusterBehindHAProxy(t *testing.T) {
	cl := startComposeCluster(t)
	cl.redirectsToAdvertised(t)
	users := []string{"alice", "bob", "carol"}
	conns := make(map[string]*client.Conn)
	at := make(map[string]PresenceConnection)
	for _, u := range users {
		conns[u] = cl.login(t, u) // leastconn: each WebSocket goes to a node with the fewest
		at[u] = cl.presence(t, u)
	}
	if at["alice"].Node == at["bob"].Node || at["bob"].Node == at["carol"].Node || at["alice"].Node == at["carol"].Node {
		t.Fatalf("the WebSockets did not land on three different nodes: %+v", at)
	}
	t.Logf("WebSockets: %+v", at)

	alice, bob := conns["alice"], conns["bob"]
	first := startCall(t, alice, bob)
	mediaFlows(t, alice, bob)
	if err := alice.Hangup(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{alice, bob} {
		if _, err := c.WaitCallEnd(ctxFor(t, 10*time.Second)); err != nil {
			t.Fatalf("%s: %v", c.UserID(), err)
		}
		if err := c.StopMedia(); err != nil {
			t.Fatal(err)
		}
	}
	store, err := pgrecords.Open(context.Background(), cl.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, u := range []string{"alice", "bob"} {
		eventually(t, 20*time.Second, u+"'s record in PostgreSQL", func() bool {
			recs, err := store.Query(context.Background(), prodApp, u, signaling.RecordQuery{})
			return err == nil && len(recs) == 1 && recs[0].CallID == first.CallID
		})
	}
	answers, servers := cl.callsThroughLB(t, "alice", 6)
	for i, a := range answers {
		if len(a.Calls) != 1 || a.Calls[0].CallID != first.CallID {
			t.Fatalf("GET /api/v1/calls through haproxy, answered by %s: %+v, want call %s", servers[i], a.Calls, first.CallID)
		}
	}
	if got := slices.Compact(slices.Sorted(slices.Values(servers))); !slices.Equal(got, []string{"parley1", "parley2", "parley3"}) {
		t.Fatalf("the calls API answered from %v through haproxy, want every node", servers)
	}

	// Drain the node of whichever of alice and bob is not on the app's owner.
	second := startCall(t, alice, bob)
	mediaFlows(t, alice, bob)
	drained, peer := alice, bob
	if at["alice"].Node == at["alice"].Owner {
		drained, peer = bob, alice
	}
	name := at[drained.UserID()].Node
	node := cl.nodes[name]
	if err := node.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	if _, err := drained.WaitEvent(ctxFor(t, 10*time.Second), protocol.EventServerDraining, nil); err != nil {
		t.Fatalf("%s: no onServerDraining from %s: %v", drained.UserID(), name, err)
	}
	// Taken out by the check's answer (/readyz 503), not because the node stopped listening.
	down := fmt.Sprintf("Server parley/%s is DOWN, reason: Layer7 wrong status, code: 503", name)
	eventually(t, 30*time.Second, "haproxy taking "+name+" out", func() bool { return strings.Contains(cl.lb.Log(), down) })
	t.Logf("haproxy took %s out %v after SIGTERM (check inter 2s fall 2)", name, time.Since(sent).Round(10*time.Millisecond))
	for _, u := range []string{"dave", "erin", "frank", "grace"} {
		cl.login(t, u) // a login reaching the draining node would fail with 5001
		if p := cl.presence(t, u); p.Node == name {
			t.Fatalf("%s's new WebSocket went to %s after haproxy took it out", u, name)
		}
	}
	mediaKeepsFlowing(t, drained, peer)
	if _, err := drained.Call(ctxFor(t, 10*time.Second), "carol", protocol.MediaTypeAudio, protocol.CallParams{}); !isCode(err, protocol.CodeServerDraining) {
		t.Fatalf("%s: a new call through the draining node: %v, want %d", drained.UserID(), err, protocol.CodeServerDraining)
	}
	if err := drained.Hangup(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatalf("%s: hangup through the draining node: %v", drained.UserID(), err)
	}
	if end, err := peer.WaitCallEnd(ctxFor(t, 10*time.Second)); err != nil || end.CallID != second.CallID {
		t.Fatalf("%s: onCallEnd %+v %v, want call %s", peer.UserID(), end, err, second.CallID)
	}
	hungUp := time.Now()
	select {
	case <-node.exited:
		t.Logf("%s exited %v after the hangup of its last call", name, time.Since(hungUp).Round(10*time.Millisecond))
	case <-time.After(40 * time.Second): // < http.drain_timeout 60s less the close reserve: not the deadline
		t.Fatalf("%s did not exit after its last call ended", name)
	}
	if !node.cmd.ProcessState.Success() {
		t.Fatalf("%s exited with %v", name, node.cmd.ProcessState)
	}
}
