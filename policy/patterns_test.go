package policy

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// grammar is the shared-contract pattern grammar written as a regular expression, used as an
// independent oracle for CompilePatterns.
var grammar = regexp.MustCompile(`^[a-z0-9*?]([a-z0-9*?-]{0,61}[a-z0-9*?])?$`)

// referenceMatch is the obvious dynamic-programming glob matcher: m[i][j] says whether the first i
// bytes of pattern match the first j bytes of name. Quadratic, but plainly right.
func referenceMatch(pattern, name string) bool {
	m := make([][]bool, len(pattern)+1)
	for i := range m {
		m[i] = make([]bool, len(name)+1)
	}
	m[0][0] = true
	for i := 1; i <= len(pattern); i++ {
		for j := 0; j <= len(name); j++ {
			switch c := pattern[i-1]; {
			case c == '*':
				m[i][j] = m[i-1][j] || (j > 0 && m[i][j-1])
			case j == 0:
				m[i][j] = false
			case c == '?' || c == name[j-1]:
				m[i][j] = m[i-1][j-1]
			}
		}
	}
	return m[len(pattern)][len(name)]
}

func TestCompilePatternsReportsEveryBadPattern(t *testing.T) {
	_, err := CompilePatterns([]string{
		"team-a",                // 0 ok
		"",                      // 1
		"Team-A",                // 2
		"-team",                 // 3
		"team-",                 // 4
		"team_a",                // 5
		strings.Repeat("a", 64), // 6
		"team-*",                // 7 ok
		"tëam",                  // 8
		"a b",                   // 9
	})
	var got PatternErrors
	if !errors.As(err, &got) {
		t.Fatalf("CompilePatterns error = %v (%T), want PatternErrors", err, err)
	}
	want := PatternErrors{
		{Index: 1, Pattern: "", Problem: "must not be empty"},
		{Index: 2, Pattern: "Team-A", Problem: "character 'T' at offset 0: patterns are lower-case"},
		{Index: 3, Pattern: "-team", Problem: "must not start with '-'"},
		{Index: 4, Pattern: "team-", Problem: "must not end with '-'"},
		{Index: 5, Pattern: "team_a", Problem: "character '_' at offset 4: only a-z, 0-9, '-', '*' and '?' are allowed"},
		{Index: 6, Pattern: strings.Repeat("a", 64), Problem: "must be at most 63 characters, not 64"},
		{Index: 8, Pattern: "tëam", Problem: "non-ASCII character at offset 1: only a-z, 0-9, '-', '*' and '?' are allowed"},
		{Index: 9, Pattern: "a b", Problem: "character ' ' at offset 1: only a-z, 0-9, '-', '*' and '?' are allowed"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pattern errors (-want +got):\n%s", diff)
	}
	if msg := err.Error(); !strings.Contains(msg, `allowedNamespaces[2] "Team-A": character 'T' at offset 0: patterns are lower-case`) {
		t.Errorf("error text %q does not name index, pattern and problem", msg)
	}
}

func TestCompilePatternsAcceptsGrammarEdges(t *testing.T) {
	for _, pat := range []string{"a", "*", "?", "**", "a-b", "*-*", "?-?", "*a", strings.Repeat("?", 63), "0", "9-z"} {
		if _, err := CompilePatterns([]string{pat}); err != nil {
			t.Errorf("CompilePatterns(%q) = %v, want nil", pat, err)
		}
	}
	p, err := CompilePatterns(nil)
	if err != nil || p.Match("default") {
		t.Errorf("CompilePatterns(nil) = %v, %v; want a Patterns that matches nothing", p, err)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		patterns []string
		name     string
		want     bool
	}{
		{[]string{"team-a"}, "team-a", true},
		{[]string{"team-a"}, "team-ab", false}, // whole names only
		{[]string{"team-a"}, "xteam-a", false}, // whole names only
		{[]string{"team-*"}, "team-", true},    // '*' matches the empty run
		{[]string{"team-*"}, "team-payments", true},
		{[]string{"team-*"}, "team", false},
		{[]string{"team-*"}, "Team-a", false}, // case-sensitive
		{[]string{"*-prod"}, "a-prod", true},
		{[]string{"*-prod"}, "a-prod-x", false},
		{[]string{"team-?"}, "team-a", true},
		{[]string{"team-?"}, "team-", false}, // '?' is exactly one
		{[]string{"team-?"}, "team-ab", false},
		{[]string{"*"}, "anything", true},
		{[]string{"**"}, "anything", true},
		{[]string{"a*b*c"}, "abc", true},
		{[]string{"a*b*c"}, "axxbyyc", true},
		{[]string{"a*b*c"}, "axxbyy", false},
		{[]string{"*?*?*"}, "a", false},
		{[]string{"*?*?*"}, "ab", true},
		{[]string{"?*"}, "", false},
		{[]string{"dev", "stage-*"}, "stage-1", true},
		{[]string{"dev", "stage-*"}, "prod", false},
		{[]string{"a-?-*"}, "a-b-", true},
		{[]string{"a*a*a*a*a*a*b"}, strings.Repeat("a", 63), false},
		{[]string{strings.Repeat("?", 63)}, strings.Repeat("x", 63), true},
		{[]string{strings.Repeat("?", 62) + "*"}, strings.Repeat("x", 62), true},
		{nil, "default", false},
	}
	for _, tt := range tests {
		p, err := CompilePatterns(tt.patterns)
		if err != nil {
			t.Fatalf("CompilePatterns(%q): %v", tt.patterns, err)
		}
		if got := p.Match(tt.name); got != tt.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tt.patterns, tt.name, got, tt.want)
		}
		for _, pat := range tt.patterns {
			if referenceMatch(pat, tt.name) != p.Match(tt.name) && len(tt.patterns) == 1 {
				t.Errorf("reference disagrees on %q/%q: the table is wrong", pat, tt.name)
			}
		}
	}
	var nilPatterns *Patterns
	if nilPatterns.Match("default") {
		t.Error("a nil *Patterns matched")
	}
}

func TestValidatePattern(t *testing.T) {
	if err := ValidatePattern("team-*"); err != nil {
		t.Errorf("ValidatePattern(team-*) = %v", err)
	}
	err := ValidatePattern("team-")
	want := `allowedNamespaces[0] "team-": must not end with '-'`
	if err == nil || err.Error() != want {
		t.Errorf("ValidatePattern(team-) = %v, want %s", err, want)
	}
}

// FuzzCompilePattern checks that Compile never panics and accepts exactly the grammar.
func FuzzCompilePattern(f *testing.F) {
	for _, s := range []string{"team-*", "", "-", "a-", "*?*?*", "A", strings.Repeat("a", 63), strings.Repeat("a", 64), "a\n", "ä"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pat string) {
		p, err := CompilePatterns([]string{pat})
		if valid := grammar.MatchString(pat); valid != (err == nil) {
			t.Fatalf("CompilePatterns(%q) error = %v, grammar says valid=%v", pat, err, valid)
		}
		if (err == nil) == (p == nil) {
			t.Fatalf("CompilePatterns(%q) = %v, %v: want exactly one of them", pat, p, err)
		}
	})
}

// FuzzMatch checks the bit-parallel matcher against the reference DP.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"team-*", "team-a"}, {"*?*?*", "ab"}, {"a*b?c", "aXbYc"}, {"?", ""}, {"**a", "a"},
		{"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", strings.Repeat("a", 63)},
		{strings.Repeat("?*", 31) + "?", strings.Repeat("z", 40)},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, name string) {
		// Random bytes are rarely valid patterns and rarely match, so also try the inputs projected
		// onto a tiny alphabet, where wildcards and literals interact a lot.
		for _, in := range [][2]string{{pat, name}, {project(pat, "ab-*?", MaxPatternLength), project(name, "ab-", 80)}} {
			p, err := CompilePatterns([]string{in[0]})
			if err != nil {
				continue // the grammar is FuzzCompilePattern's concern
			}
			if got, want := p.Match(in[1]), referenceMatch(in[0], in[1]); got != want {
				t.Fatalf("Match(%q, %q) = %v, reference says %v", in[0], in[1], got, want)
			}
		}
	})
}

// project maps every byte of s onto alphabet and truncates to max bytes.
func project(s, alphabet string, max int) string {
	b := []byte(s)
	if len(b) > max {
		b = b[:max]
	}
	for i, c := range b {
		b[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(b)
}

func BenchmarkCompilePatterns(b *testing.B) {
	patterns := []string{"team-a", "team-b", "stage-*", "*-prod", "ci-??-*"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CompilePatterns(patterns); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	p, err := CompilePatterns([]string{"team-a", "team-b", "stage-*", "*-prod", "ci-??-*"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("hit-glob", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !p.Match("ci-42-payments") {
				b.Fatal("no match")
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if p.Match("payments-staging-eu-west-1") {
				b.Fatal("match")
			}
		}
	})
	worst, err := CompilePatterns([]string{strings.Repeat("*a", 31) + "b"})
	if err != nil {
		b.Fatal(err)
	}
	name := strings.Repeat("a", 63)
	b.Run("adversarial-63", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if worst.Match(name) {
				b.Fatal("match")
			}
		}
	})
}
