package crds

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// decode parses every YAML document of every embedded CRD into a generic map.
func decode(t testing.TB) []map[string]any {
	t.Helper()
	docs, err := Documents()
	if err != nil {
		t.Fatalf("Documents: %v", err)
	}
	var out []map[string]any
	for i, d := range docs {
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(d), 4096)
		for {
			var m map[string]any
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("document %d is not YAML: %v", i, err)
			}
			if m != nil {
				out = append(out, m)
			}
		}
	}
	return out
}

// get walks a decoded document along keys (strings) and list indexes (ints).
func get(t testing.TB, v any, path ...any) any {
	t.Helper()
	for i, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object at %v", path, path[:i])
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no element %d at %v", path, k, path[:i])
			}
			v = l[k]
		}
	}
	return v
}

func byKind(t testing.TB) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, crd := range decode(t) {
		out[fmt.Sprint(get(t, crd, "spec", "names", "kind"))] = crd
	}
	return out
}

func TestDocumentsAreTheThreeCRDs(t *testing.T) {
	want := map[string]struct{ plural, scope, short string }{
		"Agent":              {"agents", "Namespaced", "ag"},
		"Task":               {"tasks", "Namespaced", "tk"},
		"KubeOpenCodeConfig": {"kubeopencodeconfigs", "Cluster", "koc"},
	}
	crds := decode(t)
	if len(crds) != len(want) {
		t.Fatalf("%d CRDs embedded, want %d", len(crds), len(want))
	}
	for _, crd := range crds {
		if crd["apiVersion"] != "apiextensions.k8s.io/v1" || crd["kind"] != "CustomResourceDefinition" {
			t.Errorf("not a v1 CRD: %v %v", crd["apiVersion"], crd["kind"])
		}
		kind := fmt.Sprint(get(t, crd, "spec", "names", "kind"))
		w, ok := want[kind]
		if !ok {
			t.Errorf("unexpected kind %s", kind)
			continue
		}
		delete(want, kind)
		if got := get(t, crd, "spec", "group"); got != v1alpha1.GroupVersion.Group {
			t.Errorf("%s: group %v", kind, got)
		}
		if got := get(t, crd, "metadata", "name"); got != w.plural+"."+v1alpha1.GroupVersion.Group {
			t.Errorf("%s: name %v", kind, got)
		}
		if got := get(t, crd, "spec", "scope"); got != w.scope {
			t.Errorf("%s: scope %v, want %s", kind, got, w.scope)
		}
		if got := fmt.Sprint(get(t, crd, "spec", "names", "shortNames")); got != "["+w.short+"]" {
			t.Errorf("%s: shortNames %v, want [%s]", kind, got, w.short)
		}
		if get(t, crd, "spec", "versions", 0, "name") != v1alpha1.GroupVersion.Version {
			t.Errorf("%s: version %v", kind, get(t, crd, "spec", "versions", 0, "name"))
		}
		if get(t, crd, "spec", "versions", 0, "subresources", "status") == nil {
			t.Errorf("%s: no status subresource", kind)
		}
	}
	for kind := range want {
		t.Errorf("missing CRD for %s", kind)
	}
}

func TestDocumentsReturnsFreshCopies(t *testing.T) {
	a, err := Documents()
	if err != nil {
		t.Fatal(err)
	}
	a[0][0] = 'X'
	b, err := Documents()
	if err != nil {
		t.Fatal(err)
	}
	if b[0][0] == 'X' {
		t.Error("a caller's write to one result showed up in the next")
	}
}

func TestFSHoldsOnlyCRDs(t *testing.T) {
	entries, err := fs.ReadDir(FS, ".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "kubeopencode.io_agents.yaml kubeopencode.io_kubeopencodeconfigs.yaml kubeopencode.io_tasks.yaml"; got != want {
		t.Errorf("embedded files %q, want %q", got, want)
	}
}

// Task.spec is immutable: the rule sits on spec itself.
func TestTaskSpecIsImmutable(t *testing.T) {
	spec := get(t, byKind(t)["Task"], "spec", "versions", 0, "schema", "openAPIV3Schema", "properties", "spec")
	if got := fmt.Sprint(get(t, spec, "x-kubernetes-validations", 0, "rule")); got != "self == oldSelf" {
		t.Errorf("Task spec rule %q, want self == oldSelf", got)
	}
}

// The shared contract (CONTRIBUTING.md) as the CRD enforces it: every reserved env name, env
// prefix, path and label key appears in the rule that refuses it.
func TestCRDRulesCarryTheContract(t *testing.T) {
	agentSpec := get(t, byKind(t)["Agent"], "spec", "versions", 0, "schema", "openAPIV3Schema", "properties", "spec", "properties")
	rules := func(v any) string {
		var b strings.Builder
		list, _ := get(t, v, "x-kubernetes-validations").([]any)
		for _, r := range list {
			b.WriteString(fmt.Sprint(get(t, r, "rule")))
			b.WriteString("\n")
		}
		return b.String()
	}
	env := rules(get(t, agentSpec, "credentials", "items", "properties", "env"))
	for _, name := range v1alpha1.ReservedEnvNames() {
		if !strings.Contains(env, "'"+name+"'") {
			t.Errorf("env rules do not reserve %s:\n%s", name, env)
		}
	}
	for _, prefix := range v1alpha1.ReservedEnvPrefixes() {
		if !strings.Contains(env, "self.startsWith('"+prefix+"')") {
			t.Errorf("env rules do not reserve the prefix %s:\n%s", prefix, env)
		}
	}
	paths := rules(get(t, agentSpec, "workspaceDir"))
	for _, p := range v1alpha1.ReservedPaths() {
		if !strings.Contains(paths, "'"+p+"'") {
			t.Errorf("path rules do not reserve %s:\n%s", p, paths)
		}
	}
	for _, p := range []string{v1alpha1.HomeDir, v1alpha1.TmpDir} {
		if !strings.Contains(paths, "'"+p+"'") {
			t.Errorf("path rules do not keep %s for the operator:\n%s", p, paths)
		}
	}
	labels := rules(get(t, agentSpec, "podSpec", "properties", "labels"))
	for _, k := range []string{"'" + v1alpha1.ReservedKeyDomain + "/'", "kubeopencode[.]io/", "'" + v1alpha1.ManagedByLabel + "'"} {
		if !strings.Contains(labels, k) {
			t.Errorf("label rules do not reserve %s:\n%s", k, labels)
		}
	}
}

// allowedNamespacesSchema returns the item schema of Agent spec.allowedNamespaces: its regex (from
// the CEL rule) and its length bounds.
func allowedNamespacesSchema(t testing.TB) (re *regexp.Regexp, minLen, maxLen int, description string) {
	field := get(t, byKind(t)["Agent"], "spec", "versions", 0, "schema", "openAPIV3Schema", "properties", "spec", "properties", "allowedNamespaces")
	items := get(t, field, "items")
	rule := fmt.Sprint(get(t, items, "x-kubernetes-validations", 0, "rule"))
	expr, hasPrefix := strings.CutPrefix(rule, "self.matches('")
	expr, hasSuffix := strings.CutSuffix(expr, "')")
	if !hasPrefix || !hasSuffix {
		t.Fatalf("allowedNamespaces rule %q is not self.matches('...')", rule)
	}
	re, err := regexp.Compile(expr) // CEL matches() uses RE2, as Go does
	if err != nil {
		t.Fatalf("compiling %q: %v", expr, err)
	}
	return re, toInt(t, get(t, items, "minLength")), toInt(t, get(t, items, "maxLength")), fmt.Sprint(get(t, field, "description"))
}

func toInt(t testing.TB, v any) int {
	t.Helper()
	switch n := v.(type) {
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	t.Fatalf("%v (%T) is not a number", v, v)
	return 0
}

// grammarAccepts is the allowedNamespaces grammar of CONTRIBUTING.md, written independently of
// the CRD: 1–63 characters from [a-z0-9-*?], first and last from [a-z0-9*?].
func grammarAccepts(p string) bool {
	if len(p) < 1 || len(p) > 63 {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '*' || c == '?'
		if !alnum && (c != '-' || i == 0 || i == len(p)-1) {
			return false
		}
	}
	return true
}

func crdAccepts(re *regexp.Regexp, minLen, maxLen int, p string) bool {
	n := utf8.RuneCountInString(p) // OpenAPI lengths count characters
	return n >= minLen && n <= maxLen && re.MatchString(p)
}

func TestAllowedNamespacesGrammar(t *testing.T) {
	re, minLen, maxLen, desc := allowedNamespacesSchema(t)
	for p, want := range map[string]bool{
		"*": true, "?": true, "a?c": true, "prod-*": true, "*-staging": true, "a": true, "0": true,
		strings.Repeat("a", 63): true, "a-b": true, "**": true, "--": false, "": false,
		strings.Repeat("a", 64): false, "-a": false, "a-": false, "A": false, "prod-[ab]": false,
		"prod.*": false, "a_b": false, "a b": false, "ä": false, "prod/x": false,
	} {
		if got := crdAccepts(re, minLen, maxLen, p); got != want {
			t.Errorf("CRD accepts %q = %v, want %v", p, got, want)
		}
		if got := grammarAccepts(p); got != want {
			t.Errorf("reference grammar accepts %q = %v, want %v", p, got, want)
		}
	}
	const grammar = "1–63 characters from `[a-z0-9-*?]`, first and last character from `[a-z0-9*?]`; " +
		"`*` matches any run of characters (including none), `?` exactly one; a pattern matches the whole " +
		"namespace name, case-sensitively. An empty list means the Agent's own namespace only; `\"*\"` means every namespace."
	if !strings.Contains(strings.Join(strings.Fields(desc), " "), grammar) {
		t.Errorf("allowedNamespaces description does not state the contract grammar:\n%s", desc)
	}
}

// FuzzAllowedNamespacesGrammar: the CRD's schema and the contract grammar agree on every string.
func FuzzAllowedNamespacesGrammar(f *testing.F) {
	re, minLen, maxLen, _ := allowedNamespacesSchema(f)
	for _, s := range []string{"*", "a?c", "prod-*", "-a", "A", "[a]", strings.Repeat("x", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if crd, ref := crdAccepts(re, minLen, maxLen, p), grammarAccepts(p); crd != ref {
			t.Errorf("%q: CRD accepts %v, contract grammar %v", p, crd, ref)
		}
	})
}
