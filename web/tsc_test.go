package web

import (
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// typescriptPath is where scripts/ensure-test-deps.sh (`make deps`, part of `make test`)
// installs the pinned TypeScript compiler, relative to this package's directory.
const typescriptPath = "../.cache/typescript/node_modules/.bin/tsc"

// tool finds a command for the SDK checks: the first of paths that exists, else name on
// PATH. Without it the test is skipped with a message saying how to install it.
func tool(t *testing.T, name string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("SKIPPED: %s is not installed, the SDK's TypeScript checks did not run; run `make deps` (scripts/ensure-test-deps.sh)", name)
	}
	return p
}

// TestSDKTypeScript runs `tsc --noEmit -p tsconfig.json`: the SDK's declarations
// (sdk/parley.d.ts, kit/parley-call-kit.d.ts) and the example pages' scripts
// (examples/other-origin/app.js, which imports '@parley-rtc/sdk' resolved through
// sdk/package.json, and examples/call-kit/app.js, which also imports '@parley-rtc/kit' and
// passes the SDK's engine to the kit) type-check in strict mode.
func TestSDKTypeScript(t *testing.T) {
	tsc := tool(t, "tsc", typescriptPath)
	version, _ := exec.Command(tsc, "--version").Output()
	out, err := exec.Command(tsc, "--noEmit", "-p", "tsconfig.json", "--traceResolution").CombinedOutput()
	if err != nil {
		var errs []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "error TS") || strings.HasPrefix(l, "  ") {
				errs = append(errs, l)
			}
		}
		t.Fatalf("tsc (%s) failed: %v\n%s", strings.TrimSpace(string(version)), err, strings.Join(errs, "\n"))
	}
	if !strings.Contains(string(out), "'@parley-rtc/sdk' was successfully resolved to") || !strings.Contains(string(out), "Package ID '@parley-rtc/sdk/parley.d.ts@") {
		t.Fatalf("tsc did not resolve '@parley-rtc/sdk' to sdk/parley.d.ts through sdk/package.json")
	}
	t.Logf("%s: declarations and example page check", strings.TrimSpace(string(version)))
}

// sdkModuleShapeJS prints, as JSON, what the SDK module exports and the engine's methods
// and getters, and the members of its enum objects (run with node; the module touches no
// browser API until an engine is used).
const sdkModuleShapeJS = `
const m = await import(process.argv[1]);
const proto = m.ParleyCallEngine.prototype;
const members = Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && !n.startsWith('_'));
const enums = {};
for (const [k, v] of Object.entries(m)) if (v && typeof v === 'object' && Object.isFrozen(v)) enums[k] = v;
console.log(JSON.stringify({exports: Object.keys(m), members, statics: Object.getOwnPropertyNames(m.ParleyCallEngine).filter((n) => typeof m.ParleyCallEngine[n] === 'function'), enums}));
`

// TestSDKDeclarationsMatchModule: every export of sdk/parley.js, every public method and
// getter of ParleyCallEngine, every enum member (with its value), every event the server
// sends (signaling/protocol Event* names) and every event the SDK's modules emit themselves is declared
// in sdk/parley.d.ts, and the declarations name nothing the module lacks.
func TestSDKDeclarationsMatchModule(t *testing.T) {
	node := tool(t, "node")
	abs, err := filepath.Abs("sdk/parley.js")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, "--input-type=module", "-e", sdkModuleShapeJS, "file://"+abs).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var shape struct {
		Exports []string                  `json:"exports"`
		Members []string                  `json:"members"`
		Statics []string                  `json:"statics"`
		Enums   map[string]map[string]any `json:"enums"`
	}
	if err := json.Unmarshal(out, &shape); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	dts := readFile(t, "sdk/parley.d.ts")

	declared := submatches(`(?m)^export declare (?:const|class|function) (\w+)`, dts)
	sameSet(t, "exports", shape.Exports, declared)

	class := between(t, dts, "export declare class ParleyCallEngine {", "\n}")
	methods := submatches(`(?m)^  (?:readonly )?(\w+)[(<:]`, class)
	sameSet(t, "ParleyCallEngine members", shape.Members, slices.DeleteFunc(methods, func(s string) bool { return s == "constructor" }))
	sameSet(t, "ParleyCallEngine static methods", shape.Statics, submatches(`(?m)^  static (\w+)\(`, class))

	for name, members := range shape.Enums {
		block := between(t, dts, "export declare const "+name+": {", "};")
		got := map[string]string{}
		for _, m := range regexp.MustCompile(`readonly (\w+): ([^;}]+)`).FindAllStringSubmatch(block, -1) {
			got[m[1]] = strings.Trim(strings.TrimSpace(m[2]), "'")
		}
		want := map[string]string{}
		for k, v := range members {
			b, _ := json.Marshal(v)
			want[k] = strings.Trim(string(b), `"`)
		}
		if !maps.Equal(got, want) {
			t.Errorf("enum %s: declared %v, module has %v", name, got, want)
		}
	}

	// ErrorCode names every code of signaling/protocol (PROTOCOL.md §7), nothing else.
	var codes, named []string
	for _, m := range regexp.MustCompile(`(?m)^\s*Code\w+\s*=\s*(-?\d+)`).FindAllStringSubmatch(readFile(t, "../signaling/protocol/errors.go"), -1) {
		codes = append(codes, m[1])
	}
	for _, v := range shape.Enums["ErrorCode"] {
		b, _ := json.Marshal(v)
		named = append(named, string(b))
	}
	sameSet(t, "ErrorCode values against signaling/protocol", named, codes)

	events := between(t, dts, "export interface EngineEvents {", "\n}")
	declaredEvents := submatches(`(?m)^  (on\w+):`, events)
	var sent []string
	for _, f := range []string{"../signaling/protocol/events.go", "../signaling/protocol/call_events.go"} {
		sent = append(sent, submatches(`(?m)^\s*Event\w+\s*=\s*"(on\w+)"`, readFile(t, f))...)
	}
	modules, err := filepath.Glob("sdk/*.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range modules {
		sent = append(sent, submatches(`_emit\('(on\w+)'`, readFile(t, m))...)
	}
	for _, e := range sent {
		if !slices.Contains(declaredEvents, e) {
			t.Errorf("event %s is not declared in EngineEvents", e)
		}
	}
	if len(sent) < 25 {
		t.Fatalf("found only %d event names: %v", len(sent), sent)
	}
}

// TestSDKPackageJSON: sdk/package.json names the package, its version and ES module type,
// points main and exports at parley.js and types at parley.d.ts, and its files list is
// exactly the SDK's modules and declarations.
func TestSDKPackageJSON(t *testing.T) {
	var pkg struct {
		Name    string                     `json:"name"`
		Version string                     `json:"version"`
		Type    string                     `json:"type"`
		Main    string                     `json:"main"`
		Types   string                     `json:"types"`
		Exports map[string]json.RawMessage `json:"exports"`
		Files   []string                   `json:"files"`
	}
	if err := json.Unmarshal([]byte(readFile(t, "sdk/package.json")), &pkg); err != nil {
		t.Fatal(err)
	}
	var root struct {
		Types   string `json:"types"`
		Default string `json:"default"`
	}
	if err := json.Unmarshal(pkg.Exports["."], &root); err != nil {
		t.Fatalf(`exports["."]: %v`, err)
	}
	if pkg.Name != "@parley-rtc/sdk" || !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(pkg.Version) || pkg.Type != "module" ||
		pkg.Main != "./parley.js" || pkg.Types != "./parley.d.ts" || root.Types != pkg.Types || root.Default != pkg.Main {
		t.Fatalf("package.json: %+v, exports[.] %+v", pkg, root)
	}
	var modules []string
	entries, err := fs.ReadDir(mustSub("sdk"), ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".js") || strings.HasSuffix(e.Name(), ".d.ts") {
			modules = append(modules, e.Name())
		}
	}
	sameSet(t, "package.json files", pkg.Files, modules)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// submatches is the first group of every match of pattern in s.
func submatches(pattern, s string) []string {
	var out []string
	for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// between is the text of s from start up to the next end after it.
func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatalf("%q not found", start)
	}
	rest := s[i+len(start):]
	j := strings.Index(rest, end)
	if j < 0 {
		t.Fatalf("no %q after %q", end, start)
	}
	return rest[:j]
}

// sameSet fails when got and want do not hold the same names.
func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	for _, g := range got {
		if !slices.Contains(want, g) {
			t.Errorf("%s: %s is in the module but not declared", what, g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: %s is declared but not in the module", what, w)
		}
	}
	if len(got) == 0 {
		t.Errorf("%s: none found", what)
	}
}
