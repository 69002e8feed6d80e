package parley_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/parley-rtc/parley"

// TestImportDirection enforces the layering of docs/architecture.md and README.md (Layout):
// cmd, bench → signaling → room → sfu; turn stands alone; client may use only
// signaling's message types; configs only gathers Config types.
func TestImportDirection(t *testing.T) {
	rules := []struct {
		pkg    string
		banned []string
	}{
		{"sfu", []string{"room", "signaling", "configs", "turn", "bench", "client", "cmd", "ops", "web"}},
		{"room", []string{"signaling", "configs", "turn", "bench", "client", "cmd", "ops", "web"}},
		{"signaling/call", []string{"room", "sfu", "configs", "bench", "client", "cmd", "ops", "web"}},
		{"signaling", []string{"configs", "bench", "client", "cmd", "ops", "web"}},
		{"turn", []string{"sfu", "room", "signaling", "configs", "bench", "client", "cmd", "ops", "web"}},
		{"client", []string{"sfu", "room", "configs", "bench", "cmd", "turn", "ops", "web"}},
		{"web", []string{"sfu", "room", "signaling/call", "configs", "bench", "client", "cmd", "ops", "turn"}},
		{"ops", []string{"bench", "client", "cmd", "web"}},
		{"cluster", []string{"sfu", "room", "signaling", "configs", "turn", "bench", "client", "cmd", "ops", "web"}},
	}
	for _, rule := range rules {
		t.Run(rule.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "./"+rule.pkg+"/...").CombinedOutput()
			if err != nil {
				if strings.Contains(string(out), "matched no packages") {
					t.Skipf("%s has no packages yet", rule.pkg)
				}
				t.Fatalf("go list %s: %v\n%s", rule.pkg, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, b := range rule.banned {
					if dep == module+"/"+b || strings.HasPrefix(dep, module+"/"+b+"/") {
						t.Errorf("%s depends on %s (imports point cmd,bench → signaling → room → sfu)", rule.pkg, dep)
					}
				}
			}
		})
	}
}

// TestClientsUseOnlyMessageTypes: the Go client and the web package may import signaling's
// message types (signaling/protocol) and nothing else of the server (the client also the
// socket timestamps it shares with sfu, internal/rxstamp, the transport-cc extension
// lookup, internal/transportcc, and the transport-wide feedback writer, internal/twccfb,
// all three importing nothing of the module); the bench harness and
// its CLI speak the protocol too (signaling/protocol, the Go client) and mint their tokens
// with signaling/token, never linking the server; signaling/token needs only the message
// types.
func TestClientsUseOnlyMessageTypes(t *testing.T) {
	tests := []struct {
		pkg     string
		allowed []string
	}{
		{"client", []string{"signaling/protocol", "internal/rxstamp", "internal/transportcc", "internal/twccfb"}},
		{"internal/rxstamp", nil},
		{"internal/transportcc", nil},
		{"internal/twccfb", nil},
		{"web", []string{"signaling/protocol"}},
		{"bench", []string{"signaling/protocol", "signaling/token", "client"}},
		{"cmd/parley-bench", []string{"signaling/protocol", "signaling/token", "client", "bench"}},
		{"signaling/token", []string{"signaling/protocol"}},
	}
	for _, tt := range tests {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "./"+tt.pkg+"/...").CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", tt.pkg, err, out)
		}
		for _, imp := range strings.Fields(string(out)) {
			if !strings.HasPrefix(imp, module+"/") || strings.HasPrefix(imp, module+"/"+tt.pkg) {
				continue
			}
			ok := false
			for _, a := range tt.allowed {
				ok = ok || imp == module+"/"+a || strings.HasPrefix(imp, module+"/"+a+"/")
			}
			if !ok {
				t.Errorf("%s imports %s; it may import only %v of this module", tt.pkg, imp, tt.allowed)
			}
		}
	}
}

// TestBenchTestImports: the bench's _test.go files may also link the server, and only to
// start one in the test process (bench/server_test.go: sfu.Engine, signaling.Service,
// room and call configs) and to check what the server saw (the engine's peers per node,
// bench/nodes_test.go and transportcc_test.go; a grant checked by signaling's Verifier,
// grant_test.go; the engine and service configuration every in-process server of the
// tests starts from, internal/teststack), and to serve that server's /metrics as cmd/parley does (ops/metrics: the
// bench reads the calls' server-side timeline from it, D135). The load they drive still
// goes through the protocol only, since the
// harness itself may import nothing of the server (TestClientsUseOnlyMessageTypes). Why
// not the parley binary: cmd/parley is package main, so a test would have to build and
// start it (minutes on a busy machine) and could then see the server only through
// /metrics, not per PeerConnection. Anything beyond this list needs a reason here.
func TestBenchTestImports(t *testing.T) {
	allowed := []string{"bench", "client", "signaling/protocol", "signaling/token", "signaling", "signaling/call", "room", "sfu", "internal/testhttp", "internal/teststack", "ops/metrics"}
	for _, pkg := range []string{"bench", "cmd/parley-bench"} {
		out, err := exec.Command("go", "list", "-f", `{{join .TestImports "\n"}}`+"\n"+`{{join .XTestImports "\n"}}`, "./"+pkg+"/").CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, imp := range strings.Fields(string(out)) {
			rel, ok := strings.CutPrefix(imp, module+"/")
			if ok && !slices.Contains(allowed, rel) {
				t.Errorf("%s's tests import %s; they may import only %v of this module", pkg, imp, allowed)
			}
		}
	}
}

// TestTestServersOnlyInTests: the test helpers internal/testservers (real redis-server and
// PostgreSQL for tests), internal/testhttp (the tests' HTTP request), internal/testwait
// (the tests' wait for a condition), internal/twcctest (the tests' reading of TWCC
// feedback with pion) and internal/teststack (the tests' media engine and service
// configuration) are imported by _test.go files only, never linked into a binary.
func TestTestServersOnlyInTests(t *testing.T) {
	testOnly := []string{"internal/testservers", "internal/testhttp", "internal/testwait", "internal/twcctest", "internal/teststack"}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, imp := range strings.Fields(imports) {
			if slices.Contains(testOnly, strings.TrimPrefix(imp, module+"/")) {
				t.Errorf("%s imports %s outside its tests", pkg, imp)
			}
		}
	}
}
