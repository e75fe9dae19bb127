package credentials

import (
	"strings"
	"testing"
)

func FuzzDNSLabel(f *testing.F) {
	f.Add("secret-github", "secret")
	f.Add("Secret_GitHub.Token", "secret")
	f.Add(strings.Repeat("x", 300), "")
	f.Add("", "")
	byOut := map[string][2]string{}
	f.Fuzz(func(t *testing.T, readable, id string) {
		got := dnsLabel(readable, id)
		if !isDNSLabel(got) {
			t.Fatalf("dnsLabel(%q, %q) = %q is not a DNS label of at most 63 characters", readable, id, got)
		}
		in := [2]string{readable, id}
		if prev, ok := byOut[got]; ok && prev != in {
			t.Fatalf("collision: %q and %q both give %q", prev, in, got)
		}
		byOut[got] = in
	})
}

func FuzzEnvName(f *testing.F) {
	for _, s := range []string{"GITHUB_TOKEN", "HOME", "TASK_", "_", "1A", "A-B", "OPENCODE", "KUBEOPENCODE_X", "Path", "", "OPEN", "AGENT", "OPENCODE_API_KEY"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, name, prefix string) {
		if IsEnvName(name) {
			if name == "" || name[0] >= '0' && name[0] <= '9' || strings.IndexFunc(name, func(r rune) bool {
				return !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
			}) >= 0 {
				t.Fatalf("IsEnvName accepted %q", name)
			}
		}
		// The prefix rule: whatever the key, an accepted prefix never forms a reserved name.
		if IsEnvName(prefix) && safeEnvPrefix(prefix) && (IsReservedEnvName(prefix+name) || strings.HasPrefix(prefix+name, "OPENCODE_")) {
			t.Fatalf("prefix %q + key %q = reserved %q", prefix, name, prefix+name)
		}
	})
}

func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{"/home/agent/.ssh/id_rsa", "/a/../b", "/", "a", "/a/", "//a", "/tools"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if checkPath(p) != "" {
			return
		}
		if p[0] != '/' || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
			t.Fatalf("checkPath accepted %q", p)
		}
		for _, el := range strings.Split(p[1:], "/") {
			if el == "." || el == ".." || el == "" {
				t.Fatalf("checkPath accepted %q", p)
			}
		}
	})
}
