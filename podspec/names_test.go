package podspec

import (
	"path"
	"strings"
	"testing"

	"github.com/kubeopencode/kubeopencode/api/contract"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// TestDNSLabel pins derived names: they must not change between releases, or an upgraded
// controller would not recognise the objects its predecessor created.
func TestDNSLabel(t *testing.T) {
	cases := []struct{ readable, id, want string }{
		{"fix-login-bug", "uid-1", "fix-login-bug-2rnefnpfqbfq"},
		{"Fix_Login.Bug", "uid-1", "fix-login-bug-5elgw3ado45d"}, // same readable prefix, different hash
		{"", "uid-1", "ky54j4ja6gua"},
		{"---", "uid-1", "dx3urjrmwnsu"},
		{"été", "uid-1", "t-rcfle332lidz"},
		{strings.Repeat("a", 100), "uid-1", strings.Repeat("a", 50) + "-gkswpihrqkf4"},
		{strings.Repeat("ab-", 30), "uid-1", strings.Repeat("ab-", 16) + "ab-ifqbhpjyaybj"},
	}
	for _, tc := range cases {
		got := DNSLabel(tc.readable, tc.id)
		if got != tc.want {
			t.Errorf("DNSLabel(%q, %q) = %q, want %q", tc.readable, tc.id, got, tc.want)
		}
		checkDNSLabel(t, got)
	}
	if DNSLabel("a", "b", "c") == DNSLabel("a", "bc") || DNSLabel("ab", "c") == DNSLabel("a", "bc") {
		t.Error("identity parts are not hashed unambiguously")
	}
}

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("x", 64)
	cases := []struct{ in, want string }{
		{"team-a", "team-a"},
		{"Agent_v1.2", "Agent_v1.2"},
		{"", ""},
		{strings.Repeat("x", 63), strings.Repeat("x", 63)},
		{long, strings.Repeat("x", 50) + "-zeoixnwz6qrm"},
		{"_leading.and.trailing_", "leading.and.trailing-lcf3hkzx55dc"},
		{"with space", "with-space-3jufev74qz5y"},
	}
	for _, tc := range cases {
		got := LabelValue(tc.in)
		if got != tc.want {
			t.Errorf("LabelValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if msgs := content.IsLabelValue(got); len(msgs) > 0 || len(got) > 63 {
			t.Errorf("LabelValue(%q) = %q is not a label value: %v", tc.in, got, msgs)
		}
	}
}

func checkDNSLabel(t *testing.T, s string) {
	t.Helper()
	if msgs := content.IsDNS1123Label(s); len(msgs) > 0 || !isDNSLabel(s) || len(s) > MaxNameLength {
		t.Fatalf("%q is not a DNS label of at most 63 characters: %v", s, msgs)
	}
}

func FuzzDNSLabel(f *testing.F) {
	f.Add("fix-login-bug", "0f6c3a52-6a0e-4d3c-9d5e-2b7f1e9a4c11")
	f.Add("Fix_Login.Bug", "0f6c3a52-6a0e-4d3c-9d5e-2b7f1e9a4c11")
	f.Add(strings.Repeat("very-long-", 30), "")
	f.Add("", "")
	f.Add("-", "-")
	f.Add("ÄÖÜ", "\x00")
	seen := map[string][2]string{} // per fuzzing process: output -> input
	f.Fuzz(func(t *testing.T, readable, id string) {
		got := DNSLabel(readable, id)
		checkDNSLabel(t, got)
		if again := DNSLabel(readable, id); again != got {
			t.Fatalf("not deterministic: %q then %q", got, again)
		}
		in := [2]string{readable, id}
		if prev, ok := seen[got]; ok && prev != in {
			t.Fatalf("collision: %q and %q both give %q", prev, in, got)
		}
		seen[got] = in
	})
}

func FuzzLabelValue(f *testing.F) {
	f.Add("team-a")
	f.Add(strings.Repeat("x", 64))
	f.Add("_x_")
	f.Add("")
	seen := map[string]string{}
	f.Fuzz(func(t *testing.T, v string) {
		got := LabelValue(v)
		if msgs := content.IsLabelValue(got); len(msgs) > 0 || len(got) > MaxNameLength {
			t.Fatalf("LabelValue(%q) = %q: %v", v, got, msgs)
		}
		if len(v) <= MaxNameLength && len(content.IsLabelValue(v)) == 0 && got != v {
			t.Fatalf("valid value %q was changed to %q", v, got)
		}
		if prev, ok := seen[got]; ok && prev != v {
			t.Fatalf("collision: %q and %q both give %q", prev, v, got)
		}
		seen[got] = v
	})
}

func FuzzVolumeNameForPath(f *testing.F) {
	f.Add("/workspace/.kubeopencode/context.md")
	f.Add("/home/agent/.config/My_Tool/settings.v2.json")
	f.Add("/home/agent/.config/my-tool/settings-v2-json")
	f.Add("/" + strings.Repeat("deep/", 300))
	seen := map[string]string{}
	f.Fuzz(func(t *testing.T, p string) {
		got := volumeNameForPath("file", p)
		checkDNSLabel(t, got)
		if !strings.HasPrefix(got, "file-") {
			t.Fatalf("%q lost its readable kind prefix", got)
		}
		if prev, ok := seen[got]; ok && prev != p {
			t.Fatalf("collision: %q and %q both give %q", prev, p, got)
		}
		seen[got] = p
	})
}

func FuzzCheckPath(f *testing.F) {
	for _, p := range []string{"/workspace", "/", "", "/a/../b", "/a/./b", "//a", "/a/", "a/b", "/a\x00b", "/home/agent/.ssh/id_rsa", "/..."} {
		f.Add(p, "/home/agent")
	}
	f.Fuzz(func(t *testing.T, p, dir string) {
		if CheckPath(p) != "" {
			return
		}
		// Clean-path invariants of every accepted path.
		if !path.IsAbs(p) || path.Clean(p) != p || p == "/" || len(p) > MaxPathLength || strings.HasSuffix(p, "/") ||
			strings.Contains(p, "//") {
			t.Fatalf("CheckPath accepted %q", p)
		}
		for _, el := range strings.Split(p[1:], "/") {
			if el == "" || el == "." || el == ".." {
				t.Fatalf("CheckPath accepted %q with element %q", p, el)
			}
		}
		if !Within(p, path.Dir(p)) || Within(path.Dir(p), p) || !Within(p, p) || !Within(p, "/") {
			t.Fatalf("Within is inconsistent for %q", p)
		}
		if CheckPath(dir) != "" {
			return
		}
		want := p == dir || strings.HasPrefix(p, dir+"/")
		if Within(p, dir) != want {
			t.Fatalf("Within(%q, %q) = %v, want %v", p, dir, !want, want)
		}
		if p != dir && Within(p, dir) && Within(dir, p) {
			t.Fatalf("Within is not antisymmetric for %q, %q", p, dir)
		}
	})
}

func TestCheckPath(t *testing.T) {
	for p, want := range map[string]string{
		"/workspace":                             "",
		"/home/agent/.ssh/id_rsa":                "",
		"/...":                                   "",
		"":                                       "must not be empty",
		"/":                                      "must not be the root directory",
		"workspace":                              "must be an absolute path",
		"/a/../b":                                `must be clean (no ".", "..", "//" or trailing "/")`,
		"/a/./b":                                 `must be clean (no ".", "..", "//" or trailing "/")`,
		"/a//b":                                  `must be clean (no ".", "..", "//" or trailing "/")`,
		"/a/":                                    `must be clean (no ".", "..", "//" or trailing "/")`,
		"/a\nb":                                  "must not contain control characters",
		"/" + strings.Repeat("a", MaxPathLength): "must be at most 1024 bytes",
	} {
		if got := CheckPath(p); got != want {
			t.Errorf("CheckPath(%q) = %q, want %q", p, got, want)
		}
	}
}

// FuzzLabelSyntax proves the contract's standard-library DNS-label check equivalent to
// apimachinery's, which the libraries use, and the contract's derived label values valid by
// apimachinery's rules: the same verdict for every input.
func FuzzLabelSyntax(f *testing.F) {
	for _, s := range []string{"", "a", "A", "-", "a-", "-a", "a_b.c-D", "_a", "a.", "example.com/MyName",
		"Example.com/x", "/x", "x/", "a/b/c", "a..b/x", "a.-b/x", "a-.b/x", "a.b-/x", "-a.b/x", "a\n", "é",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 253) + "/x", strings.Repeat("a", 254) + "/x",
		strings.Repeat("a", 100) + "." + strings.Repeat("b", 100) + "/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := contract.IsDNSLabel(s), len(content.IsDNS1123Label(s)) == 0; got != want {
			t.Errorf("contract.IsDNSLabel(%q) = %v, content.IsDNS1123Label says %v", s, got, want)
		}
		if v := LabelValue(s); len(content.IsLabelValue(v)) > 0 || (len(content.IsLabelValue(s)) == 0 && v != s) {
			t.Errorf("LabelValue(%q) = %q", s, v)
		}
	})
}

// FuzzEnvName proves IsEnvName (the contract's standard-library check) gives apimachinery's
// content.IsCIdentifier verdict for every input.
func FuzzEnvName(f *testing.F) {
	for _, s := range []string{"", "_", "A", "a1", "1a", "A_B", "a-b", "a.b", "é", "A\n", "HOME", "_9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := IsEnvName(s), len(content.IsCIdentifier(s)) == 0; got != want {
			t.Errorf("IsEnvName(%q) = %v, content.IsCIdentifier says %v", s, got, want)
		}
	})
}

// FuzzLabelKeySyntax proves the contract's standard-library label key, label value and DNS
// subdomain checks, which podspec.Build uses on its hot path, give apimachinery's verdicts.
func FuzzLabelKeySyntax(f *testing.F) {
	for _, s := range []string{"", "a", "A", "/", "a/", "/a", "a/b", "a/b/c", "Example.com/x", "example.com/MyName",
		"a..b/x", "a.-b/x", "-a/x", "a_b/x", "x/-a", "x/a-", "x/a.b_C", "é/x", "a\n",
		strings.Repeat("a", 63), strings.Repeat("a", 64), "p/" + strings.Repeat("a", 64),
		strings.Repeat("a.", 126) + "a/x", strings.Repeat("a.", 127) + "a/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := contract.IsLabelKey(s), len(content.IsLabelKey(s)) == 0; got != want {
			t.Errorf("contract.IsLabelKey(%q) = %v, content.IsLabelKey says %v", s, got, want)
		}
		if got, want := contract.IsLabelValue(s), len(content.IsLabelValue(s)) == 0; got != want {
			t.Errorf("contract.IsLabelValue(%q) = %v, content.IsLabelValue says %v", s, got, want)
		}
		if got, want := contract.IsDNSSubdomain(s), len(content.IsDNS1123Subdomain(s)) == 0; got != want {
			t.Errorf("contract.IsDNSSubdomain(%q) = %v, content.IsDNS1123Subdomain says %v", s, got, want)
		}
	})
}

// TestContractChecksAtTheirBounds complements the fuzz tests above with what random inputs seldom
// reach: keys, values and subdomains at, just under and just over their length limits (62, 63, 64,
// 252, 253, 254 bytes), built from every character class at every position. The contract's
// checks must give apimachinery's verdict on each.
func TestContractChecksAtTheirBounds(t *testing.T) {
	var inputs []string
	for _, n := range []int{62, 63, 64, 252, 253, 254} {
		for _, unit := range []string{"a", "a.", "a-", "A", "_", "9", ".", "-"} {
			s := strings.Repeat(unit, n)[:n]
			inputs = append(inputs, s, s+"/x", "x/"+s, s+"/"+s, s+"a", "a"+s)
			for _, end := range []string{"", "a", "-", ".", "Z"} {
				inputs = append(inputs, strings.Repeat("a", 63)+"."+s+end+"/n", s+end)
			}
		}
	}
	checks := []struct {
		name     string
		contract func(string) bool
		apimach  func(string) []string
	}{
		{"IsLabelKey", contract.IsLabelKey, content.IsLabelKey},
		{"IsLabelValue", contract.IsLabelValue, content.IsLabelValue},
		{"IsDNSSubdomain", contract.IsDNSSubdomain, content.IsDNS1123Subdomain},
		{"IsDNSLabel", contract.IsDNSLabel, content.IsDNS1123Label},
		{"IsCIdentifier", contract.IsCIdentifier, content.IsCIdentifier},
	}
	for _, s := range inputs {
		for _, c := range checks {
			if got, want := c.contract(s), len(c.apimach(s)) == 0; got != want {
				t.Errorf("contract.%s(%q) = %v, apimachinery says %v", c.name, s, got, want)
			}
		}
	}
}
