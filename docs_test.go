package parley_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// decisionsFile holds one entry per decision tag (a heading "## Dn — …").
const decisionsFile = "docs/decisions.md"

var (
	// decisionTag is a decision tag as comments, tests and docs write it: D4, (D4), D6–D18.
	decisionTag = regexp.MustCompile(`\bD([0-9]+)\b`)
	// decisionEntry is the heading of a decision's entry in decisionsFile.
	decisionEntry = regexp.MustCompile(`(?m)^#+ D([0-9]+)\b`)
	// citedDoc is a Markdown file named in text: PROTOCOL.md, docs/decisions.md, ../PROTOCOL.md.
	citedDoc = regexp.MustCompile(`[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b`)
	// webURL is a link out of the repository; the documents it names are not checked.
	webURL = regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^\s)>\]"'` + "`" + `]*`)
)

// selfFile is this file: its examples (TestDocCheckPatterns) cite missing files on purpose.
const selfFile = "docs_test.go"

// repoTexts returns the .go and .md files of the repository but selfFile (paths relative
// to its root, slash-separated) with their contents. Hidden directories (.git) are skipped.
func repoTexts(t *testing.T) map[string]string {
	t.Helper()
	texts := map[string]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); (ext != ".go" && ext != ".md") || path == selfFile {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		texts[filepath.ToSlash(path)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := texts[decisionsFile]; !ok {
		t.Fatalf("%s is missing (walked %d files)", decisionsFile, len(texts))
	}
	return texts
}

// decisionTags returns the tags ("D4") text cites, each once, in order of appearance.
func decisionTags(text string) []string {
	var tags []string
	for _, m := range decisionTag.FindAllString(text, -1) {
		if !slices.Contains(tags, m) {
			tags = append(tags, m)
		}
	}
	return tags
}

// citedDocs returns the Markdown files text names, leaving out those of web links.
func citedDocs(text string) []string {
	return citedDoc.FindAllString(webURL.ReplaceAllString(text, " "), -1)
}

// resolveDoc reports whether the document cited by the file from is in the repository:
// relative to from's directory, relative to the root, or — for a bare file name such as
// PROTOCOL.md — any file of that name. files holds every file path of the repository.
func resolveDoc(from, cited string, files map[string]bool) bool {
	if strings.HasPrefix(cited, "/") {
		return false // an absolute path is outside the repository
	}
	for _, p := range []string{filepath.Join(filepath.Dir(from), cited), filepath.Clean(cited)} {
		p = filepath.ToSlash(p)
		if !strings.HasPrefix(p, "../") && files[p] {
			return true
		}
	}
	if !strings.Contains(cited, "/") {
		for f := range files {
			if f == cited || strings.HasSuffix(f, "/"+cited) {
				return true
			}
		}
	}
	return false
}

// TestDecisionTagsResolve: every decision tag (Dn) cited in a .go or .md file has its entry
// in docs/decisions.md, so a reader can follow it; no tag has two entries.
func TestDecisionTagsResolve(t *testing.T) {
	texts := repoTexts(t)
	entries := map[string]int{}
	for _, m := range decisionEntry.FindAllStringSubmatch(texts[decisionsFile], -1) {
		entries["D"+m[1]]++
	}
	for tag, n := range entries {
		if n > 1 {
			t.Errorf("%s has %d entries for %s", decisionsFile, n, tag)
		}
	}
	paths := make([]string, 0, len(texts))
	for p := range texts {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	cited := 0
	for _, p := range paths {
		for _, tag := range decisionTags(texts[p]) {
			cited++
			if entries[tag] == 0 {
				t.Errorf("%s cites %s, which has no entry (## %s — …) in %s", p, tag, tag, decisionsFile)
			}
		}
	}
	if cited == 0 || len(entries) == 0 {
		t.Fatalf("found %d cited tags and %d entries: the patterns no longer match", cited, len(entries))
	}
}

// TestCitedDocsExist: every Markdown file named in a .go or .md file (a comment, a link, a
// path a test reads) is in the repository.
func TestCitedDocsExist(t *testing.T) {
	texts := repoTexts(t)
	files := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files[filepath.ToSlash(path)] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, text := range texts {
		for _, doc := range citedDocs(text) {
			if !resolveDoc(p, doc, files) {
				t.Errorf("%s cites %s, which is not in the repository", p, doc)
			}
		}
	}
}

// TestDocCheckPatterns pins what the two checks above read as a tag and as a cited file.
func TestDocCheckPatterns(t *testing.T) {
	files := map[string]bool{"README.md": true, "signaling/PROTOCOL.md": true, "docs/decisions.md": true}
	tests := []struct {
		name, from, text string
		tags, docs       []string
		resolved         []bool
	}{
		{"tags in comments", "x.go", "// as in (D4); D6–D18 and D22's rule, not 3D2, D2D, 0xD1 or VP8D1",
			[]string{"D4", "D6", "D18", "D22"}, nil, nil},
		{"test names", "x_test.go", `{"D9 one second left", …}`, []string{"D9"}, nil, nil},
		{"bare, relative and rooted names", "signaling/protocol/x_test.go",
			"PROTOCOL.md §7, ../PROTOCOL.md, docs/decisions.md, web/README.md", nil,
			[]string{"PROTOCOL.md", "../PROTOCOL.md", "docs/decisions.md", "web/README.md"},
			[]bool{true, true, true, false}},
		{"missing and outside files", "x.go", "see DEVELOPERS.md and /work/shared/spec/calls.md or spec/calls.md", nil,
			[]string{"DEVELOPERS.md", "/work/shared/spec/calls.md", "spec/calls.md"}, []bool{false, false, false}},
		{"escaping the repository", "docs/x.md", "../../README.md", nil, []string{"../../README.md"}, []bool{false}},
		{"web links are not files", "README.md", "[x](https://github.com/o/r/blob/main/CONTRIBUTING.md) and README.md#ports",
			nil, []string{"README.md"}, []bool{true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decisionTags(tt.text); !slices.Equal(got, tt.tags) {
				t.Errorf("tags %q, want %q", got, tt.tags)
			}
			got := citedDocs(tt.text)
			if !slices.Equal(got, tt.docs) {
				t.Fatalf("cited docs %q, want %q", got, tt.docs)
			}
			for i, doc := range got {
				if ok := resolveDoc(tt.from, doc, files); ok != tt.resolved[i] {
					t.Errorf("resolveDoc(%s, %s) = %v, want %v", tt.from, doc, ok, tt.resolved[i])
				}
			}
		})
	}
}
