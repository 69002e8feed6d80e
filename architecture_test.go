package parley_test

import (
	"os/exec"
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
// message types (signaling/protocol) and nothing else of the server; the bench harness and
// its CLI speak the protocol too (signaling/protocol, the Go client) and mint their tokens
// with signaling/token, never linking the server; signaling/token needs only the message
// types.
func TestClientsUseOnlyMessageTypes(t *testing.T) {
	tests := []struct {
		pkg     string
		allowed []string
	}{
		{"client", []string{"signaling/protocol"}},
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

// TestTestServersOnlyInTests: internal/testservers (real redis-server and PostgreSQL for
// tests) is imported by _test.go files only, never linked into a binary.
func TestTestServersOnlyInTests(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, imp := range strings.Fields(imports) {
			if imp == module+"/internal/testservers" {
				t.Errorf("%s imports internal/testservers outside its tests", pkg)
			}
		}
	}
}
