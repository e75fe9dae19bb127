package contract

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// split is a YAML stream reader as simple as the convention: documents between separator lines.
func split(stream string) []string {
	var out []string
	for _, d := range strings.Split("\n"+stream, "\n---\n") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

func write(t testing.TB, docs ...string) string {
	t.Helper()
	var b bytes.Buffer
	in := make([][]byte, len(docs))
	for i, d := range docs {
		in[i] = []byte(d)
	}
	if err := WriteYAMLDocuments(&b, in...); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteYAMLDocuments(t *testing.T) {
	tests := []struct {
		name string
		docs []string
		want string
	}{
		{"none", nil, ""},
		{"one", []string{"a: 1\n"}, "---\na: 1\n"},
		{"trailing newlines normalized", []string{"a: 1\n\n\n", "b: 2"}, "---\na: 1\n---\nb: 2\n"},
		{"empty documents skipped", []string{"", " \n", "a: 1\n"}, "---\na: 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := write(t, tt.docs...); got != tt.want {
				t.Errorf("stream %q, want %q", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"---\na: 1", "a: 1\n---\nb: 2", "a: 1\n---"} {
		if err := WriteYAMLDocuments(&bytes.Buffer{}, []byte(bad)); err == nil {
			t.Errorf("%q: no error for a document holding a separator", bad)
		}
	}
}

// TestConcatenatedStreamsKeepEveryDocument: the bug this writer exists for. Two streams from
// different writers, concatenated in either order, hold every document of both.
func TestConcatenatedStreamsKeepEveryDocument(t *testing.T) {
	a := write(t, "kind: A\nname: one\n", "kind: A\nname: two\n")
	b := write(t, "kind: B\nname: three\n")
	for name, stream := range map[string]string{"a then b": a + b, "b then a": b + a} {
		if got := len(split(stream)); got != 3 {
			t.Errorf("%s: %d documents, want 3:\n%s", name, got, stream)
		}
	}
}

func FuzzWriteYAMLDocuments(f *testing.F) {
	f.Add("a: 1", "b: 2\n")
	f.Add("", "---")
	f.Fuzz(func(t *testing.T, x, y string) {
		var b bytes.Buffer
		if err := WriteYAMLDocuments(&b, []byte(x), []byte(y)); err != nil {
			return // a document holding a separator is refused
		}
		var want []string
		for _, d := range []string{x, y} {
			if d = strings.TrimSpace(d); d != "" {
				want = append(want, d)
			}
		}
		twice := b.String() + b.String()
		if got := split(twice); len(got) != 2*len(want) {
			t.Fatalf("%q: %d documents after concatenation, want %d", fmt.Sprint(x, "|", y), len(got), 2*len(want))
		}
	})
}
