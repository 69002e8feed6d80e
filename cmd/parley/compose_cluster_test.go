package main

import (
	"fmt"
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

// TestClusterComposeNodes: every parley service of docker-compose.cluster.yaml, with the
// production sample mounted and the variables an operator sets, loads a valid
// configuration with the cluster's Redis, PostgreSQL records, its own node id and its own
// published media port; HAProxy balances over exactly those nodes and checks /readyz.
func TestClusterComposeNodes(t *testing.T) {
	vars := map[string]string{"PARLEY_ADMIN_API_KEY": "prod-admin-key-0123456789-0123456789", "POSTGRES_PASSWORD": "pw"}
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
	path := mountedProductionConfig(t) // dockerfile_test.go
	haproxy, err := os.ReadFile("../../configs/haproxy.cluster.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(haproxy), "option httpchk GET /readyz") {
		t.Error("haproxy.cluster.cfg does not check /readyz")
	}
	var ids, nodes []string
	for name, svc := range compose.Services {
		if !strings.HasPrefix(name, "parley") {
			continue
		}
		nodes = append(nodes, name)
		for k, v := range svc.Environment {
			t.Setenv(k, composeVar.ReplaceAllStringFunc(v, func(m string) string {
				p := composeVar.FindStringSubmatch(m)
				if val, ok := vars[p[1]]; ok {
					return val
				}
				if p[2] == "?" {
					t.Fatalf("%s: %s needs %s", name, k, p[1])
				}
				return p[3]
			}))
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
		case !slices.Contains(svc.Ports, fmt.Sprintf("%d:%d/udp", cfg.RTC.UDPPort, cfg.RTC.UDPPort)):
			t.Errorf("%s: media port %d/udp not published (%v)", name, cfg.RTC.UDPPort, svc.Ports)
		case !strings.Contains(string(haproxy), fmt.Sprintf("server %s %s:7880 check", name, name)):
			t.Errorf("haproxy.cluster.cfg does not balance over %s", name)
		}
		ids = append(ids, cfg.Cluster.NodeID)
		for k := range svc.Environment {
			os.Unsetenv(k) // the next node starts from the same environment
		}
	}
	slices.Sort(ids)
	if len(nodes) != 3 || len(slices.Compact(slices.Clone(ids))) != 3 {
		t.Fatalf("nodes %v with ids %v, want three distinct", nodes, ids)
	}
}
