package contract

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestWithin pins the containment rule every library uses. "/" contains everything: a mount at
// "/" would hide every reserved path, so the answer that fails closed is the only right one.
func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		p, dir string
		want   bool
	}{
		{"/tools", "/tools", true},
		{"/tools/opencode", "/tools", true},
		{"/tools/a/b", "/tools", true},
		{"/toolsx", "/tools", false},
		{"/tool", "/tools", false},
		{"/", "/tools", false},
		{"/tools", "/", true},
		{"/", "/", true},
		{"/var/run/secrets/kubernetes.io/serviceaccount", "/var/run", true},
		{"/var/run", "/var/run/secrets/kubernetes.io", false},
		{"/a/b", "/a/b/c", false},
		{"/a-b", "/a", false},
		{"/a/b", "/a", true},
	} {
		if got := Within(tc.p, tc.dir); got != tc.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tc.p, tc.dir, got, tc.want)
		}
		if got, want := Overlaps(tc.p, tc.dir), tc.want || Within(tc.dir, tc.p); got != want {
			t.Errorf("Overlaps(%q, %q) = %v, want %v", tc.p, tc.dir, got, want)
		}
	}
}

// FuzzWithin checks Within against its definition on clean absolute paths: p is dir, or dir's
// path elements are a prefix of p's.
func FuzzWithin(f *testing.F) {
	for _, s := range [][2]string{{"/tools", "/tools/x"}, {"/", "/a"}, {"/a", "/"}, {"/ab", "/a"}, {"/a/b", "/a"}} {
		f.Add(s[0], s[1])
	}
	elems := func(p string) []string {
		if p == "/" {
			return nil
		}
		return strings.Split(p[1:], "/")
	}
	f.Fuzz(func(t *testing.T, p, dir string) {
		for _, x := range []string{p, dir} {
			if x != "/" && CheckPath(x) != "" {
				return
			}
		}
		pe, de := elems(p), elems(dir)
		want := len(de) <= len(pe) && slices.Equal(de, pe[:len(de)])
		if got := Within(p, dir); got != want {
			t.Fatalf("Within(%q, %q) = %v, want %v", p, dir, got, want)
		}
		if dir == "/" && !Within(p, dir) {
			t.Fatalf("Within(%q, \"/\") = false: the root contains everything", p)
		}
	})
}

func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{"/home/agent/.ssh/id_rsa", "/a/../b", "/", "a", "/a/", "//a", "/tools", "/a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if CheckPath(p) != "" {
			return
		}
		if p[0] != '/' || strings.HasSuffix(p, "/") || strings.Contains(p, "//") || len(p) > MaxPathLength {
			t.Fatalf("CheckPath accepted %q", p)
		}
		for _, el := range strings.Split(p[1:], "/") {
			if el == "." || el == ".." || el == "" {
				t.Fatalf("CheckPath accepted %q", p)
			}
		}
	})
}

// TestReservedPaths: every reserved path is clean, and ReservedPaths is SystemReservedPaths plus
// the platform's own directories.
func TestReservedPaths(t *testing.T) {
	sys := SystemReservedPaths()
	all := ReservedPaths()
	want := append(sys[:], ToolsDir, InternalDir)
	got := all[:]
	slices.Sort(want)
	if !slices.Equal(want, got) {
		t.Errorf("ReservedPaths = %q, want SystemReservedPaths, ToolsDir and InternalDir, sorted: %q", got, want)
	}
	for _, p := range got {
		if why := CheckPath(p); why != "" {
			t.Errorf("reserved path %q: %s", p, why)
		}
	}
	if DefaultUID != 65532 || DefaultGID != 65532 || DefaultCredentialFileMode != 0o600 {
		t.Errorf("defaults changed: %d %d %#o", DefaultUID, DefaultGID, DefaultCredentialFileMode)
	}
}

func TestEnvNames(t *testing.T) {
	for name, want := range map[string]bool{
		"HOME": true, "PATH": true, "OPENCODE": true, "OPENCODE_PID": true, "TASK_": true, "TASK_ID": true,
		"KUBEOPENCODE_X": true, "GITHUB_TOKEN": false, "OPENCODE_API_KEY": false, "home": false, "TASK": false,
	} {
		if got := IsReservedEnvName(name); got != want {
			t.Errorf("IsReservedEnvName(%q) = %v, want %v", name, got, want)
		}
	}
	for prefix, want := range map[string]bool{"GH_": true, "MY": true, "PA": false, "TAS": false, "OPEN": false, "OPENCODE_X": false, "TASK_X": false} {
		if got := SafeEnvPrefix(prefix); got != want {
			t.Errorf("SafeEnvPrefix(%q) = %v, want %v", prefix, got, want)
		}
	}
}

func FuzzSafeEnvPrefix(f *testing.F) {
	for _, s := range []string{"GITHUB_TOKEN", "HOME", "TASK_", "_", "OPENCODE", "KUBEOPENCODE_X", "OPEN", "AGENT", "OPENCODE_API_KEY"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, prefix, key string) {
		// Whatever the key, an accepted prefix never forms a reserved name.
		if SafeEnvPrefix(prefix) && (IsReservedEnvName(prefix+key) || strings.HasPrefix(prefix+key, "OPENCODE_")) {
			t.Fatalf("prefix %q + key %q = reserved %q", prefix, key, prefix+key)
		}
	})
}

// TestDNSLabel pins derived names: they name objects in clusters, so changing one renames them.
func TestDNSLabel(t *testing.T) {
	for _, tc := range []struct {
		readable string
		identity []string
		want     string
	}{
		{"secret-github", []string{"secret", "github"}, "secret-github-mnn26yytekkp"},
		{"Secret_GitHub.Token", []string{"x"}, "secret-github-token-tprounza7rhm"},
		{strings.Repeat("a", 80), []string{"id"}, strings.Repeat("a", 50) + "-tt6vouj43s6k"},
		{"", []string{""}, "g5dqr77xogo5"},
		{"---", nil, "yklcnf5r4i4q"},
		{"task-1", []string{"uid-1"}, "task-1-hvycklwm4cf4"},
	} {
		if got := DNSLabel(tc.readable, tc.identity...); got != tc.want {
			t.Errorf("DNSLabel(%q, %q) = %q, want %q", tc.readable, tc.identity, got, tc.want)
		}
	}
	for v, want := range map[string]string{
		"ok": "ok", "Team_A.b": "Team_A.b", strings.Repeat("x", 70): strings.Repeat("x", 50) + "-n625gqtuybj5",
		"-bad-": "bad-3oqp2d24q6b5", "a b": "a-b-o5hvyfjdeoqk",
	} {
		if got := LabelValue(v); got != want {
			t.Errorf("LabelValue(%q) = %q, want %q", v, got, want)
		}
	}
}

func FuzzDNSLabel(f *testing.F) {
	f.Add("secret-github", "secret")
	f.Add("Secret_GitHub.Token", "secret")
	f.Add(strings.Repeat("x", 300), "")
	f.Add("", "")
	byOut := map[string][2]string{}
	f.Fuzz(func(t *testing.T, readable, id string) {
		got := DNSLabel(readable, id)
		if !IsDNSLabel(got) {
			t.Fatalf("DNSLabel(%q, %q) = %q is not a DNS label", readable, id, got)
		}
		in := [2]string{readable, id}
		if prev, ok := byOut[got]; ok && prev != in {
			t.Fatalf("collision: %q and %q both give %q", prev, in, got)
		}
		byOut[got] = in
		if v := LabelValue(readable); !isLabelValue(v) || (isLabelValue(readable) && v != readable) {
			t.Fatalf("LabelValue(%q) = %q", readable, v)
		}
	})
}

func TestIsDNSLabel(t *testing.T) {
	for s, want := range map[string]bool{
		"a": true, "a-b": true, "0": true, strings.Repeat("a", 63): true,
		"": false, "-a": false, "a-": false, "A": false, "a.b": false, "a_b": false, strings.Repeat("a", 64): false,
	} {
		if got := IsDNSLabel(s); got != want {
			t.Errorf("IsDNSLabel(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestErrors(t *testing.T) {
	for typ, want := range map[string]Category{
		"FieldValueForbidden": Reserved, "FieldValueDuplicate": Conflict, "FieldValueInvalid": Invalid,
		"FieldValueRequired": Invalid, "FieldValueNotSupported": Invalid,
	} {
		if got := CategoryOfFieldType(typ); got != want {
			t.Errorf("CategoryOfFieldType(%q) = %q, want %q", typ, got, want)
		}
	}
	p1, p2 := errors.New("a: bad"), errors.New("b: taken")
	err := fmt.Errorf("wrapped: %w", &Errors{Prefix: "lib: ", Summary: errors.New("[a: bad, b: taken]"),
		Problems: []error{p1, p2}, Categories: []Category{Invalid, Conflict}})
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrConflict) || errors.Is(err, ErrReserved) {
		t.Errorf("categories of %v are wrong", err)
	}
	if !errors.Is(err, p2) {
		t.Error("a problem is not reachable with errors.Is")
	}
	if got, want := err.Error(), "wrapped: lib: [a: bad, b: taken]"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
