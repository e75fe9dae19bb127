package gitclone

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckSubPath(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"", ""},
		{"docs", ""},
		{"docs/a.md", ""},
		{"a/b/c+d@e_f-g.h", ""},
		{".github/workflows", ""},
		{"..foo", ""}, // a name starting with dots is not a traversal
		{".gitignore", ""},
		{"/etc", "must be relative"},
		{"docs/", "must be relative, without empty segments or a trailing /"},
		{"a//b", "without empty segments"},
		{".", "no . or .. segments"},
		{"..", "no . or .. segments"},
		{"../etc", "no . or .. segments"},
		{"a/../../etc", "no . or .. segments"},
		{"a/./b", "no . or .. segments"},
		{".git", "must not be inside .git"},
		{".git/config", "must not be inside .git"},
		{".GIT/config", "must not be inside .git"},
		{"a b", "may contain only"},
		{"a\\..\\b", "may contain only"},
		{"a\x00b", "may contain only"},
		{"ä", "may contain only"},
		{"~/x", "may contain only"},
		{strings.Repeat("a", MaxPathLength+1), "is longer than 1024 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			err := CheckSubPath(tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckSubPath(%q): %v", tc.in, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "path: ") {
				t.Fatalf("CheckSubPath(%q) = %v, want an error naming path, containing %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

// TestResolveSubPath checks the resolution on a directory built by hand, with links that stay in
// and links that leave in every way a checkout can hold them.
func TestResolveSubPath(t *testing.T) {
	outside := t.TempDir()
	dir := filepath.Join(t.TempDir(), "repo")
	for _, d := range []string{"docs/deep", ".git"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "docs/a.md"), "a")
	relOut, err := filepath.Rel(dir, outside)
	if err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"abs-out":      outside,
		"rel-out":      relOut,
		"in":           "docs",
		"docs/up":      "..",
		"docs/loop":    "loop",
		"to-git":       ".git",
		"chain":        "docs/up/abs-out",
		"docs/deep/up": "../../..",
		"dangling":     "nowhere",
	} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		path, want, wantErr string
	}{
		{"", ".", ""},
		{"docs", "docs", ""},
		{"in", "docs", ""},
		{"in/a.md", "docs/a.md", ""},
		{"docs/up", ".", ""},
		{"docs/up/docs/a.md", "docs/a.md", ""},
		{"abs-out", "", "does not resolve inside the repository"},
		{"rel-out", "", "does not resolve inside the repository"},
		{"chain", "", "does not resolve inside the repository"},
		{"docs/deep/up", "", "does not resolve inside the repository"},
		{"docs/loop", "", "does not resolve inside the repository"},
		{"to-git", "", "resolves inside .git"},
		{"dangling", "", "does not exist"},
		{"missing", "", "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			got, err := resolveSubPath(dir, tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("resolveSubPath(%q) = %q, %v; want an error containing %q", tc.path, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dir, tc.want); got != want {
				t.Errorf("resolveSubPath(%q) = %s, want %s", tc.path, got, want)
			}
		})
	}
}

// FuzzSubPath: whatever CheckSubPath accepts is a local, clean, slash-separated path outside
// .git; and resolving it in a directory whose only entry is a symlink out of it never returns a
// path outside that directory.
func FuzzSubPath(f *testing.F) {
	for _, s := range []string{"docs", "a/b", "../x", ".git/config", "evil/x", "evil", "a//b", "./a", "..a", ".Git"} {
		f.Add(s)
	}
	outside := f.TempDir()
	dir := filepath.Join(f.TempDir(), "repo")
	if err := os.MkdirAll(filepath.Join(dir, "docs"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "evil")); err != nil {
		f.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(dir, "docs", "up")); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if err := CheckSubPath(p); err != nil {
			if !strings.HasPrefix(err.Error(), "path: ") {
				t.Fatalf("error does not name the field: %v", err)
			}
			return
		}
		if p == "" {
			return
		}
		if !filepath.IsLocal(p) || path.Clean(p) != p || strings.Contains("/"+p+"/", "/../") || strings.HasPrefix(p, "/") {
			t.Fatalf("accepted %q, which is not a clean local path", p)
		}
		if first, _, _ := strings.Cut(p, "/"); strings.EqualFold(first, ".git") {
			t.Fatalf("accepted %q inside .git", p)
		}
		got, err := resolveSubPath(dir, p)
		if err != nil {
			return
		}
		rel, rerr := filepath.Rel(dir, got)
		if rerr != nil || !filepath.IsLocal(rel) && rel != "." {
			t.Fatalf("resolveSubPath(%q) = %s, outside %s", p, got, dir)
		}
	})
}
