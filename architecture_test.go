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
// message types (signaling/protocol) and nothing else of the server.
func TestClientsUseOnlyMessageTypes(t *testing.T) {
	for _, pkg := range []string{"client", "web"} {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "./"+pkg+"/...").CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, imp := range strings.Fields(string(out)) {
			if strings.HasPrefix(imp, module+"/") && imp != module+"/signaling/protocol" && !strings.HasPrefix(imp, module+"/"+pkg) {
				t.Errorf("%s imports %s; it may import only %s/signaling/protocol", pkg, imp, module)
			}
		}
	}
}
