package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/parley-rtc/parley/configs"
	"github.com/parley-rtc/parley/ops/records"
)

// composeVar is ${NAME}, ${NAME:-default} or ${NAME:?message} of a compose file.
var composeVar = regexp.MustCompile(`\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}`)

// composeNode is a parley service of docker-compose.cluster.yaml: its published ports and
// its environment with the compose variables replaced.
type composeNode struct {
	name  string
	ports []string
	env   map[string]string
}

// composeClusterNodes reads the parley services of docker-compose.cluster.yaml (sorted by
// name) with vars as the operator's variables (a ${NAME:?} not in vars fails the test, a
// ${NAME:-default} not in vars takes the default).
func composeClusterNodes(t *testing.T, vars map[string]string) []composeNode {
	t.Helper()
	raw, err := os.ReadFile("../../configs/docker-compose.cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Ports       []string          `yaml:"ports"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	var nodes []composeNode
	for name, svc := range compose.Services {
		if !strings.HasPrefix(name, "parley") {
			continue
		}
		n := composeNode{name: name, ports: svc.Ports, env: make(map[string]string)}
		for k, v := range svc.Environment {
			n.env[k] = composeVar.ReplaceAllStringFunc(v, func(m string) string {
				p := composeVar.FindStringSubmatch(m)
				if val, ok := vars[p[1]]; ok {
					return val
				}
				if p[2] == "?" {
					t.Fatalf("%s: %s needs %s", name, k, p[1])
				}
				return p[3]
			})
		}
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b composeNode) int { return strings.Compare(a.name, b.name) })
	return nodes
}

// TestClusterComposeNodes: every parley service of docker-compose.cluster.yaml, with the
// production sample mounted and the variables an operator sets, loads a valid
// configuration with the cluster's Redis, PostgreSQL records, its own node id and its own
// published media port; HAProxy balances over exactly those nodes and checks /readyz.
func TestClusterComposeNodes(t *testing.T) {
	path := mountedProductionConfig(t) // dockerfile_test.go
	haproxy, err := os.ReadFile("../../configs/haproxy.cluster.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(haproxy), "option httpchk GET /readyz") {
		t.Error("haproxy.cluster.cfg does not check /readyz")
	}
	var ids, nodes, advertised []string
	for _, svc := range composeClusterNodes(t, composeTestVars) {
		name := svc.name
		nodes = append(nodes, name)
		for k, v := range svc.env {
			t.Setenv(k, v)
		}
		cfg, err := configs.Load(path, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch {
		case cfg.Cluster.RedisURL != "redis://redis:6379/0":
			t.Errorf("%s: cluster.redis_url %q", name, cfg.Cluster.RedisURL)
		case cfg.Records.Driver != records.DriverPostgres:
			t.Errorf("%s: records.driver %q, want postgres (records shared by the nodes)", name, cfg.Records.Driver)
		case !slices.Contains(svc.ports, fmt.Sprintf("%d:%d/udp", cfg.RTC.UDPPort, cfg.RTC.UDPPort)):
			t.Errorf("%s: media port %d/udp not published (%v)", name, cfg.RTC.UDPPort, svc.ports)
		case cfg.RTC.TCPPort == 0 && !slices.Contains(svc.ports, fmt.Sprintf("%d:%d/tcp", cfg.RTC.UDPPort, cfg.RTC.UDPPort)):
			// rtc.tcp_port 0 advertises ICE over TCP on the UDP port's number: a client
			// whose UDP is blocked is given that candidate and must reach it.
			t.Errorf("%s: ICE-TCP port %d/tcp (rtc.tcp_port 0) not published (%v)", name, cfg.RTC.UDPPort, svc.ports)
		case !strings.Contains(string(haproxy), fmt.Sprintf("server %s %s:7880 check", name, name)):
			t.Errorf("haproxy.cluster.cfg does not balance over %s", name)
		case !advertisesPublishedPort(svc, cfg):
			t.Errorf("%s: cluster.advertise_url %q is not http://localhost (PARLEY_PUBLIC_HOST's default) on a host port published to http.address %s (%v)",
				name, cfg.Cluster.AdvertiseURL, cfg.HTTP.Address, svc.ports)
		}
		advertised = append(advertised, cfg.Cluster.AdvertiseURL)
		ids = append(ids, cfg.Cluster.NodeID)
		for k := range svc.env {
			os.Unsetenv(k) // the next node starts from the same environment
		}
	}
	slices.Sort(ids)
	if len(nodes) != 3 || len(slices.Compact(slices.Clone(ids))) != 3 {
		t.Fatalf("nodes %v with ids %v, want three distinct", nodes, ids)
	}
	if slices.Sort(advertised); len(slices.Compact(advertised)) != 3 {
		t.Fatalf("advertised URLs %v, want three distinct", advertised)
	}
}

// advertisesPublishedPort reports whether node svc, configured as cfg, advertises
// http://localhost:P (PARLEY_PUBLIC_HOST unset) with host port P published to the port of
// its http.address (D139).
func advertisesPublishedPort(svc composeNode, cfg configs.Config) bool {
	u, err := url.Parse(cfg.Cluster.AdvertiseURL)
	_, httpPort, err2 := net.SplitHostPort(cfg.HTTP.Address)
	if err != nil || err2 != nil || u.Scheme != "http" || u.Hostname() != "localhost" || u.Port() == "" {
		return false
	}
	return slices.Contains(svc.ports, u.Port()+":"+httpPort+"/tcp")
}

// composeTestVars are the variables an operator sets for docker-compose.cluster.yaml.
var composeTestVars = map[string]string{"PARLEY_ADMIN_API_KEY": testAdminKey, "POSTGRES_PASSWORD": "pw"}
