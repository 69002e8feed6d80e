package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-rtc/parley/sfu"
)

// TestCallsOverTwoNodes: with two independent servers as Config.Nodes, calls are spread
// over both (each server has PeerConnections while the window runs), both parties of a
// call are on the same node (so every call succeeds: on independent nodes a callee on
// the other node would be offline), setups/s is reported, and the report has each
// node's figures.
func TestCallsOverTwoNodes(t *testing.T) {
	urlA, engineA := startServerEngine(t)
	urlB, engineB := startServerEngine(t)
	s := Scenario{
		Name: "two-nodes", Kind: KindCalls, Calls: 4, CallVideo: true, VideoBitrate: 300_000,
		Hold: time.Second, CallRate: 10, Settle: time.Second, Duration: 4 * time.Second,
	}
	cfg := devConfig("", s)
	cfg.URL, cfg.ServerPID = "", 0
	// Both servers run in this process: each node's CPU is the process's.
	cfg.Nodes = []Node{{URL: urlA, PID: os.Getpid()}, {URL: urlB, PID: os.Getpid()}}
	var (
		mu    sync.Mutex
		peers [2]int // the most PeerConnections each server had during the window
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	look := func() {
		mu.Lock()
		defer mu.Unlock()
		for i, e := range []*sfu.Engine{engineA, engineB} {
			peers[i] = max(peers[i], e.PeerCount())
		}
	}
	// Calls come and go: look at the servers every 50 ms while the window lasts.
	cfg.WindowStart = func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				look()
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
	}
	cfg.WindowEnd = func() {
		close(stop)
		wg.Wait()
	}
	rep := runTinyCalls(t, cfg)
	c := rep.Calls
	// Setups/s is known (calls end after their hold); how many fall in the short window
	// depends on the machine's speed.
	if len(rep.Failures) != 0 || c.Succeeded < 4 || c.WindowSetups < 0 || c.SetupsPerSec < 0 {
		t.Errorf("failures %v; %d calls set up, %d in the window (%.2f/s)", rep.Failures, c.Succeeded, c.WindowSetups, c.SetupsPerSec)
	}
	mu.Lock()
	if peers[0] == 0 || peers[1] == 0 {
		t.Errorf("PeerConnections per node during the window: %v; want calls on both", peers)
	}
	mu.Unlock()
	if len(rep.Nodes) != 2 || rep.Nodes[0].URL != urlA || rep.Nodes[1].URL != urlB {
		t.Fatalf("nodes %+v", rep.Nodes)
	}
	for _, n := range rep.Nodes {
		if n.CPUSeconds <= 0 || n.CPUPercent <= 0 || n.RSSEndMB <= 0 {
			t.Errorf("node figures %+v", n)
		}
	}
	if rep.URL != urlA+" "+urlB || rep.Server.CPUSeconds < rep.Nodes[0].CPUSeconds {
		t.Errorf("report URL %q, server CPU %.2f s (nodes' sum)", rep.URL, rep.Server.CPUSeconds)
	}
	var table bytes.Buffer
	_ = rep.WriteTable(&table)
	for _, want := range []string{"node " + urlA, "node " + urlB, "of one core"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table without %q:\n%s", want, table.String())
		}
	}
}

// TestCheckNodes: nodes get their metrics URLs; Nodes and URL are exclusive; a node
// given twice or a URL that is not ws(s):// is refused.
func TestCheckNodes(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		wantMetrics []string
		err         string
	}{
		{"one URL", Config{URL: "ws://127.0.0.1:7880/ws", ServerPID: 7},
			[]string{"http://127.0.0.1:7880/metrics"}, ""},
		{"two nodes", Config{Nodes: []Node{{URL: "ws://127.0.0.1:1/ws"}, {URL: "wss://b.example:443/ws", MetricsURL: "http://b:9090/metrics"}}},
			[]string{"http://127.0.0.1:1/metrics", "http://b:9090/metrics"}, ""},
		{"both", Config{URL: "ws://a/ws", Nodes: []Node{{URL: "ws://b/ws"}}}, nil, "not both"},
		{"twice", Config{Nodes: []Node{{URL: "ws://b/ws"}, {URL: "ws://b/ws"}}}, nil, "given twice"},
		{"not ws", Config{Nodes: []Node{{URL: "http://b/ws"}}}, nil, "is not ws://"},
		{"cluster of one", Config{Cluster: true, URL: "ws://a/ws"}, nil, "at least two nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.checkNodes()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrInvalidScenario) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range tt.cfg.Nodes {
				got = append(got, n.MetricsURL)
			}
			if strings.Join(got, " ") != strings.Join(tt.wantMetrics, " ") {
				t.Errorf("metrics URLs %v, want %v", got, tt.wantMetrics)
			}
		})
	}
	one := Config{URL: "ws://127.0.0.1:7880/ws", ServerPID: 7}
	if err := one.checkNodes(); err != nil || one.Nodes[0].PID != 7 {
		t.Errorf("one node %+v, %v", one.Nodes, err)
	}
}

// TestMemberNode: without a cluster every member of a call or room is on its node; in a
// cluster the members go to the nodes in turn, so a call's two parties are always on
// different nodes.
func TestMemberNode(t *testing.T) {
	tests := []struct {
		name    string
		cluster bool
		nodes   int
		want    [][]int // [call or room][member] → node index
	}{
		{"independent", false, 2, [][]int{{0, 0, 0}, {1, 1, 1}, {0, 0, 0}}},
		{"cluster of 2", true, 2, [][]int{{0, 1, 0}, {1, 0, 1}, {0, 1, 0}}},
		{"cluster of 3", true, 3, [][]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &runner{cfg: Config{Cluster: tt.cluster}}
			for i := range tt.nodes {
				r.targets = append(r.targets, &target{url: fmt.Sprint(i)})
			}
			for i, members := range tt.want {
				for k, want := range members {
					if got := r.node(r.memberNode(i, k)).url; got != fmt.Sprint(want) {
						t.Errorf("call %d member %d on node %s, want %d", i, k, got, want)
					}
				}
			}
		})
	}
}
