package taskpod

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven ..."},
		{"ééééé", 8, "éé..."},              // é is two bytes: cut at a rune start, never inside one
		{"aéééé", 8, "aéé..."},             // 1+2+2 bytes fit before the "..."
		{strings.Repeat("€", 4), 5, "..."}, // € is three bytes: no whole one fits before "..."
	} {
		if got := Truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// FuzzTruncate: the result never exceeds n bytes (n ≥ 3), keeps valid UTF-8 valid, and is the
// input itself or a prefix of it followed by "...".
func FuzzTruncate(f *testing.F) {
	f.Add("hello world", 8)
	f.Add("ééé€€€", 7)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 3 || n > 1<<16 {
			return
		}
		got := Truncate(s, n)
		if len(got) > n {
			t.Fatalf("Truncate(%q, %d) = %q: %d bytes", s, n, got, len(got))
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Truncate(%q, %d) = %q: invalid UTF-8", s, n, got)
		}
		if got != s && !(strings.HasSuffix(got, "...") && strings.HasPrefix(s, strings.TrimSuffix(got, "..."))) {
			t.Fatalf("Truncate(%q, %d) = %q: not a prefix of the input", s, n, got)
		}
	})
}
