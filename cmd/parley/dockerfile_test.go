package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/parley-rtc/parley/configs"
)

// instruction is one parsed Dockerfile line: its keyword, flags and arguments.
type instruction struct {
	cmd   string
	flags []string
	args  []string
	json  bool
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []instruction
	for _, n := range res.AST.Children {
		in := instruction{cmd: strings.ToLower(n.Value), flags: n.Flags, json: n.Attributes["json"]}
		for a := n.Next; a != nil; a = a.Next {
			in.args = append(in.args, a.Value)
		}
		out = append(out, in)
	}
	return out
}

// defaultPorts are the ports the default configuration listens on, as EXPOSE writes them.
func defaultPorts() []string {
	cfg := configs.Default()
	_, httpPort, _ := strings.Cut(cfg.HTTP.Address, ":")
	mediaTCP := cfg.RTC.TCPPort
	if mediaTCP == 0 {
		mediaTCP = cfg.RTC.UDPPort
	}
	ports := []string{
		httpPort + "/tcp",
		fmt.Sprintf("%d/udp", cfg.RTC.UDPPort),
		fmt.Sprintf("%d/tcp", mediaTCP),
		fmt.Sprintf("%d/udp", cfg.TURN.UDPPort),
		fmt.Sprintf("%d/tcp", cfg.TURN.TCPPort),
		fmt.Sprintf("%d/tcp", cfg.TURN.TLSPort),
		fmt.Sprintf("%d-%d/udp", cfg.TURN.RelayPortMin, cfg.TURN.RelayPortMax),
	}
	slices.Sort(ports)
	return ports
}

// TestDockerfile checks the image recipe with buildkit's own Dockerfile parser:
// multi-stage with a pinned Go builder and a CGO_ENABLED=0 build, a non-root USER in the
// final stage, EXPOSE equal to the configuration's default ports, the binary as the
// exec-form ENTRYPOINT, and `parley healthcheck` as HEALTHCHECK.
func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, "../../Dockerfile")
	var froms []int
	for i, in := range ins {
		if in.cmd == "from" {
			froms = append(froms, i)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("%d FROM instructions, want a multi-stage build", len(froms))
	}
	builder := ins[froms[0]]
	if len(builder.args) < 3 || !strings.EqualFold(builder.args[1], "AS") {
		t.Fatalf("first stage %v is not named", builder.args)
	}
	if !regexp.MustCompile(`^golang:1\.26\.\d+(-[a-z0-9]+)?(@sha256:[0-9a-f]{64})?$`).MatchString(builder.args[0]) {
		t.Errorf("builder image %q is not a pinned golang:1.26.x", builder.args[0])
	}
	stage := builder.args[2]
	built := ""
	for _, in := range ins[froms[0]:froms[len(froms)-1]] {
		if in.cmd == "run" && strings.Contains(strings.Join(in.args, " "), "CGO_ENABLED=0") && strings.Contains(strings.Join(in.args, " "), "./cmd/parley") {
			built = "ok"
		}
	}
	if built == "" {
		t.Error("the build stage has no CGO_ENABLED=0 go build of ./cmd/parley")
	}

	final := ins[froms[len(froms)-1]:]
	var user, binary string
	var entrypoint, health []string
	var exposed []string
	for _, in := range final {
		switch in.cmd {
		case "user":
			user = in.args[0]
		case "copy":
			if slices.Contains(in.flags, "--from="+stage) && len(in.args) == 2 && strings.HasSuffix(in.args[0], "/parley") {
				binary = in.args[1]
			}
		case "expose":
			exposed = append(exposed, in.args...)
		case "entrypoint":
			if !in.json {
				t.Error("ENTRYPOINT is not in exec (JSON) form")
			}
			entrypoint = in.args
		case "healthcheck":
			health = in.args
		}
	}
	if uid, _, _ := strings.Cut(user, ":"); user == "" || uid == "root" || uid == "0" {
		t.Errorf("final stage USER %q is not a non-root user", user)
	}
	slices.Sort(exposed)
	if want := defaultPorts(); !slices.Equal(exposed, want) {
		t.Errorf("EXPOSE %v, want the configuration defaults %v", exposed, want)
	}
	if binary == "" || len(entrypoint) != 1 || entrypoint[0] != binary {
		t.Errorf("ENTRYPOINT %v is not the binary copied from the %s stage (%q)", entrypoint, stage, binary)
	}
	if len(health) < 3 || health[0] != "CMD" || health[1] != binary || health[2] != "healthcheck" {
		t.Errorf("HEALTHCHECK %v does not run `%s healthcheck`", health, binary)
	}
}

// mountedProductionConfig is the path of the production sample with its placeholder
// replaced by a real app secret, as an operator mounts it.
func mountedProductionConfig(t *testing.T) string {
	t.Helper()
	sample, err := os.ReadFile("../../configs/parley.production.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "parley.yaml")
	mounted := strings.ReplaceAll(string(sample), configs.SamplePlaceholderSecret, "prod-app-secret-0123456789-0123456789")
	if err := os.WriteFile(path, []byte(mounted), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestProductionConfigLoads: the production sample, its placeholder replaced by a real
// app secret, is valid with its secrets from the environment, has dev mode off, a 1:1 NAT
// address, a TURN certificate and a persistent records file; the compose example
// publishes every exposed port.
func TestProductionConfigLoads(t *testing.T) {
	const adminKey = "prod-admin-key-0123456789-0123456789"
	t.Setenv("PARLEY_ADMIN_API_KEY", adminKey)
	t.Setenv("PARLEY_WEBHOOKS_SECRET", "prod-webhook-secret-0123456789")
	t.Setenv("PARLEY_WEBHOOKS_URLS", "https://hooks.example.com/parley,https://backup.example.com/parley")
	cfg, err := configs.Load(mountedProductionConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case cfg.Auth.DevMode:
		t.Error("auth.dev_mode is on")
	case len(cfg.RTC.NAT1To1IPs) == 0:
		t.Error("rtc.nat_1to1_ips is empty")
	case cfg.TURN.CertFile == "" || cfg.TURN.DevSelfSigned:
		t.Error("TURN TLS has no real certificate")
	case cfg.Records.SQLitePath != "/data/parley.db":
		t.Errorf("records.sqlite_path %q is not on the /data volume", cfg.Records.SQLitePath)
	case cfg.Admin.APIKey != adminKey || len(cfg.Webhooks.URLs) != 2:
		t.Errorf("secrets from the environment were not applied: %+v %+v", cfg.Admin, cfg.Webhooks.URLs)
	}
	compose, err := os.ReadFile("../../configs/docker-compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Bridge mode publishes a part of the relay range, the one it sets (D245).
	relay := regexp.MustCompile(`PARLEY_TURN_RELAY_PORT_MIN: "(\d+)"\s+PARLEY_TURN_RELAY_PORT_MAX: "(\d+)"`).FindStringSubmatch(string(compose))
	if relay == nil {
		t.Fatal("docker-compose.yaml sets no PARLEY_TURN_RELAY_PORT_MIN/MAX for its published relay range")
	}
	defaults := configs.Default().TURN
	if lo, _ := strconv.Atoi(relay[1]); lo < defaults.RelayPortMin {
		t.Errorf("docker-compose.yaml's relay range starts at %d, below the default %d", lo, defaults.RelayPortMin)
	}
	for _, port := range defaultPorts() {
		if port == fmt.Sprintf("%d-%d/udp", defaults.RelayPortMin, defaults.RelayPortMax) {
			port = relay[1] + "-" + relay[2] + "/udp"
		}
		number, proto, _ := strings.Cut(port, "/")
		if !strings.Contains(string(compose), fmt.Sprintf("\"%s:%s/%s\"", number, number, proto)) {
			t.Errorf("docker-compose.yaml does not publish %s", port)
		}
	}
}
