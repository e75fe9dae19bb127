package tools

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// importable are the modules third parties may import: the libraries and the API. Everything
// else in go.work is ours alone (not tagged, see docs/releasing.md).
var importable = []string{"api", "credentials", "podspec", "policy", "rbac"}

const modulePrefix = "github.com/kubeopencode/kubeopencode/"

// TestModulesTagsAndDocsAgree: module paths, the release tags and docs/releasing.md say the same
// thing, so `go get <module>@<version>` works for every module the docs name.
func TestModulesTagsAndDocsAgree(t *testing.T) {
	root := filepath.Join("..", "..")
	dirs := workspaceModules(t, root)
	for _, d := range dirs {
		path := modulePath(t, filepath.Join(root, d, "go.mod"))
		if want := modulePrefix + d; path != want {
			t.Errorf("%s/go.mod: module %q, want %q (the directory decides the tag prefix)", d, path, want)
		}
	}
	for _, m := range importable {
		if !slices.Contains(dirs, m) {
			t.Errorf("importable module %s is not in go.work", m)
		}
	}

	version := readFile(t, filepath.Join(root, "VERSION"))
	if !regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?\n$`).MatchString(version) {
		t.Errorf("VERSION %q is not one semantic version (vMAJOR.MINOR.PATCH) and a newline", version)
	}

	// The docs' table: one row per importable module, with its tag prefix.
	docs := readFile(t, filepath.Join(root, "docs", "releasing.md"))
	row := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(modulePrefix) + "([a-z/]+)` \\| `([a-z/]+)/vX\\.Y\\.Z` \\|")
	var listed []string
	for _, m := range row.FindAllStringSubmatch(docs, -1) {
		if m[1] != m[2] {
			t.Errorf("docs/releasing.md: module %s is tagged %s/…, want %s/…", m[1], m[2], m[1])
		}
		listed = append(listed, m[1])
	}
	slices.Sort(listed)
	if d := cmp.Diff(importable, listed); d != "" {
		t.Errorf("docs/releasing.md lists other modules than the importable ones (-want +got):\n%s", d)
	}

	// Tags present in this clone (none in a fresh CI clone) must name module directories.
	out, err := exec.Command("git", "-C", root, "tag", "--list").Output()
	if err != nil {
		t.Logf("no git tags to check: %v", err)
		return
	}
	for _, tag := range strings.Fields(string(out)) {
		if i := strings.LastIndex(tag, "/v"); i >= 0 && !slices.Contains(importable, tag[:i]) {
			t.Errorf("tag %s: %s is not an importable module", tag, tag[:i])
		}
	}
}

func workspaceModules(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	sc := bufio.NewScanner(strings.NewReader(readFile(t, filepath.Join(root, "go.work"))))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "./"); ok {
			dirs = append(dirs, d)
		}
	}
	if len(dirs) < len(importable) {
		t.Fatalf("go.work lists %v", dirs)
	}
	return dirs
}

func modulePath(t *testing.T, gomod string) string {
	t.Helper()
	for _, l := range strings.Split(readFile(t, gomod), "\n") {
		if p, ok := strings.CutPrefix(l, "module "); ok {
			return strings.TrimSpace(p)
		}
	}
	t.Fatalf("%s has no module line", gomod)
	return ""
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
