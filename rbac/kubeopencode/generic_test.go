package kubeopencode

// Tests and benchmarks of the generic rbac package on KubeOpenCode's roles, a realistic input.

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeopencode/kubeopencode/rbac"
)

func BenchmarkFindDangerous(b *testing.B) {
	role, err := OperatorClusterRole(OperatorOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rbac.FindDangerous(role.Rules)
	}
}

func BenchmarkNormalize(b *testing.B) {
	rules := make([]rbacv1.PolicyRule, 0, 64)
	for _, r := range OperatorRules(OperatorOptions{}) {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{r.Group}, Resources: r.Resources, Verbs: r.Verbs})
	}
	for b.Loop() {
		rbac.Normalize(rules)
	}
}

func TestWriteYAMLDropsCreationTimestampAndSeparatesDocuments(t *testing.T) {
	objs, err := OperatorObjects(OperatorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A timestamp set by hand must not leak either.
	objs = append(objs, &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "n", CreationTimestamp: metav1.Now()}})
	var buf bytes.Buffer
	if err := rbac.WriteYAML(&buf, objs); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "creationTimestamp") {
		t.Errorf("output contains creationTimestamp:\n%s", out)
	}
	docs := strings.Split(out, "---\n")
	if docs[0] != "" || len(docs) != len(objs)+1 {
		t.Fatalf("want %d documents each opened by ---, got %q", len(objs), out)
	}
	for i, d := range docs[1:] {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil || m["kind"] == nil {
			t.Errorf("document %d does not parse as an object: %v\n%s", i, err, d)
		}
	}
}

func TestWriteYAMLIsDeterministic(t *testing.T) {
	render := func() string {
		objs, err := Manifest(ManifestOptions{AgentNamespaces: []string{"b", "a"}, Personas: Personas()})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := rbac.WriteYAML(&buf, objs); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	first := render()
	for i := range 2 {
		if diff := cmp.Diff(first, render()); diff != "" {
			t.Fatalf("render %d differs from the first (-first +later):\n%s", i+2, diff)
		}
	}
}
