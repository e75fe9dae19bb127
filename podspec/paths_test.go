package podspec

import (
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolveInWorkspace(t *testing.T) {
	type result struct{ Path, Why string }
	for _, tc := range []struct {
		workspace, p string
		want         result
	}{
		{"/workspace", "src", result{Path: "/workspace/src"}},
		{"/workspace", "notes.md", result{Path: "/workspace/notes.md"}},
		{"/workspace", "a/b/c", result{Path: "/workspace/a/b/c"}},
		{"/workspace", "/workspace/guide.md", result{Path: "/workspace/guide.md"}},
		{"/home", "agent/.bashrc", result{Path: "/home/agent/.bashrc"}},
		{"/workspace", "/workspace", result{Why: `must lie inside the workspace "/workspace"`}},
		{"/workspace", "/etc/hosts", result{Why: `must lie inside the workspace "/workspace"`}},
		{"/workspace", "/workspacex/a", result{Why: `must lie inside the workspace "/workspace"`}},
		{"/workspace", "/", result{Why: "must not be the root directory"}},
		{"/workspace", "", result{Why: "must not be empty"}},
		{"/workspace", "..", result{Why: `must not leave the volume ("..")`}},
		{"/workspace", "../etc/hosts", result{Why: `must not leave the volume ("..")`}},
		{"/workspace", "a/../../etc", result{Why: `must be clean (no ".", "..", "//" or trailing "/")`}},
		{"/workspace", ".", result{Why: `must be clean (no ".", "..", "//" or trailing "/")`}},
		{"/workspace", "a//b", result{Why: `must be clean (no ".", "..", "//" or trailing "/")`}},
		{"/workspace", "/workspace/../etc", result{Why: `must be clean (no ".", "..", "//" or trailing "/")`}},
		{"/workspace", "a\nb", result{Why: "must not contain control characters"}},
	} {
		p, why := ResolveInWorkspace(tc.workspace, tc.p)
		if diff := cmp.Diff(tc.want, result{p, why}); diff != "" {
			t.Errorf("ResolveInWorkspace(%q, %q) (-want +got):\n%s", tc.workspace, tc.p, diff)
		}
	}
}

// FuzzResolveInWorkspace: whatever the path, an accepted one is a clean absolute path strictly
// inside the workspace, and it is what upstream's rule (relative = under the workspace) says;
// a clean relative path without ".." is never refused.
func FuzzResolveInWorkspace(f *testing.F) {
	for _, s := range [][2]string{{"/workspace", "src"}, {"/workspace", "../x"}, {"/w", "/w/a"}, {"/w", "/wx"},
		{"/a/b", "../b/c"}, {"/w", "a/./b"}, {"/w", "/w/"}, {"/w", "..."}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, workspace, p string) {
		if CheckPath(workspace) != "" {
			return
		}
		got, why := ResolveInWorkspace(workspace, p)
		if why != "" {
			if got != "" {
				t.Fatalf("refused %q with a path %q", p, got)
			}
			rel := p != "" && p[0] != '/' && path.Clean(p) == p && p != "." && p != ".." && !strings.HasPrefix(p, "../") &&
				len(workspace)+1+len(p) <= MaxPathLength && !strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f })
			if rel {
				t.Fatalf("refused the clean relative path %q in %q: %s", p, workspace, why)
			}
			return
		}
		if CheckPath(got) != "" || !Within(got, workspace) || got == workspace {
			t.Fatalf("accepted %q in %q as %q, which is not strictly inside", p, workspace, got)
		}
		want := p
		if p[0] != '/' {
			want = workspace + "/" + p
		}
		if got != want || path.Clean(got) != got {
			t.Fatalf("accepted %q in %q as %q, want %q", p, workspace, got, want)
		}
	})
}
