package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var sample = []Finding{
	f(KindAgent, "kubeopencode-system", "default", "spec.credentials[0].env", Refused, "Invalid value: is reserved"),
	f(KindAgent, "kubeopencode-system", "server-agent", "spec.serverConfig", Changed, "not in our schema, dropped on read and on the next write"),
	f(KindConfig, "", "cluster", "<object>", Refused, ""),
	f(KindTask, "team-a", "evil\x1b[2J\nKIND\tforged", "spec.description", Changed, "line\nbreak\tand\x00NUL"),
}

func TestWriteGolden(t *testing.T) {
	for _, tc := range []struct {
		file  string
		write func(*bytes.Buffer, []Finding) error
		in    []Finding
	}{
		{"table.golden", func(b *bytes.Buffer, fs []Finding) error { return WriteTable(b, fs) }, sample},
		{"table-empty.golden", func(b *bytes.Buffer, fs []Finding) error { return WriteTable(b, fs) }, nil},
		{"json.golden", func(b *bytes.Buffer, fs []Finding) error { return WriteJSON(b, fs) }, sample},
		{"json-empty.golden", func(b *bytes.Buffer, fs []Finding) error { return WriteJSON(b, fs) }, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b, tc.in); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.file, diff)
			}
		})
	}
}

func TestGenericPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "",
		"spec":                              "spec",
		"spec.contexts[3].git":              "spec.contexts[*].git",
		"spec.credentials[0].env":           "spec.credentials[*].env",
		"spec.podSpec.labels[kubeopencode]": "spec.podSpec.labels[*]",
		"a[1][2].b[33]":                     "a[*][*].b[*]",
		"unbalanced[3":                      "unbalanced[3",
		"a[1].b[":                           "a[*].b[",
		"]x[":                               "]x[",
	} {
		if got := GenericPath(in); got != want {
			t.Errorf("GenericPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzGenericPath: paths built with field.Path (what the validators and the pruner print)
// become their generic form, and GenericPath is idempotent on anything.
func FuzzGenericPath(f *testing.F) {
	f.Add("spec", "contexts", 3, "git", "")
	f.Add("status", "conditions", 0, "type", "x")
	f.Add("a[", "]", -1, "", "[]")
	f.Fuzz(func(t *testing.T, root, list string, index int, child, raw string) {
		g := GenericPath(raw)
		if GenericPath(g) != g {
			t.Errorf("not idempotent on %q: %q then %q", raw, g, GenericPath(g))
		}
		if strings.ContainsAny(root+list+child, "[].") || root == "" || list == "" || child == "" {
			return
		}
		p := field.NewPath(root, list).Index(index).Child(child).String()
		if want := root + "." + list + "[*]." + child; GenericPath(p) != want {
			t.Errorf("GenericPath(%q) = %q, want %q", p, GenericPath(p), want)
		}
	})
}

// FuzzWrite: whatever the cluster's names and messages hold, the table has one line per
// finding plus the header and summary, all printable, and the JSON report decodes to the same
// findings.
func FuzzWrite(f *testing.F) {
	f.Add("Agent", "ns", "name", "spec.x", "Refused", "reason", "Task", "", "b\nc", "", "Changed", "\x1b[31m")
	f.Fuzz(func(t *testing.T, k1, ns1, n1, p1, v1, r1, k2, ns2, n2, p2, v2, r2 string) {
		in := []Finding{
			{Kind: k1, Namespace: ns1, Name: n1, Path: p1, Verdict: Verdict(v1), Reason: r1},
			{Kind: k2, Namespace: ns2, Name: n2, Path: p2, Verdict: Verdict(v2), Reason: r2},
		}
		var table bytes.Buffer
		if err := WriteTable(&table, in); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n")
		if len(lines) != 1+len(in)+2 {
			t.Fatalf("%d lines for %d findings:\n%s", len(lines), len(in), table.String())
		}
		for _, l := range lines {
			for _, r := range l {
				if !unicode.IsPrint(r) {
					t.Fatalf("non-printable %U in line %q", r, l)
				}
			}
		}
		var js bytes.Buffer
		if err := WriteJSON(&js, in); err != nil {
			t.Fatal(err)
		}
		var back Report
		if err := json.Unmarshal(js.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		// JSON replaces each byte of invalid UTF-8 with U+FFFD, as ranging over a string does.
		valid := func(s string) string {
			var b strings.Builder
			for _, r := range s {
				b.WriteRune(r)
			}
			return b.String()
		}
		want := make([]Finding, len(in))
		for i, x := range in {
			want[i] = Finding{Kind: valid(x.Kind), Namespace: valid(x.Namespace), Name: valid(x.Name), Path: valid(x.Path),
				Verdict: Verdict(valid(string(x.Verdict))), Reason: valid(x.Reason)}
		}
		if diff := cmp.Diff(want, back.Findings); diff != "" {
			t.Errorf("JSON round trip (-want +got):\n%s", diff)
		}
	})
}

// TestCheckObjectsAnyGoValues: objects built in Go with plain ints (not what the dynamic client
// returns) are checked like their JSON form, and a value JSON cannot encode is a finding, not a
// panic.
func TestCheckObjectsAnyGoValues(t *testing.T) {
	c := newChecker(t)
	agent := func(v any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "kubeopencode.io/v1alpha1", "kind": "Agent",
			"metadata": map[string]any{"name": "a", "namespace": "n"},
			"spec": map[string]any{"workspaceDir": "/workspace", "serviceAccountName": "sa", "allowedNamespaces": []any{"n"},
				"automountServiceAccountToken": false, "config": `{"permission": {}}`, "maxConcurrentTasks": v},
		}}
	}
	for _, tc := range []struct {
		name string
		v    any
		want []Finding
	}{
		{"int 3", 3, nil},
		{"int 0", 0, []Finding{f(KindAgent, "n", "a", "spec.maxConcurrentTasks", Refused, rMaxZero)}},
		{"float 2", 2.0, nil},
		{"channel", make(chan int), []Finding{f(KindAgent, "n", "a", "<object>", Refused, "cannot be encoded as JSON")}},
	} {
		got := c.CheckObjects(context.Background(), []*unstructured.Unstructured{agent(tc.v)})
		if diff := cmp.Diff(tc.want, matchReasons(got, tc.want), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}
