package rbac

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

func TestSortObjects(t *testing.T) {
	mk := func(kind, ns, name string) runtime.Object {
		u := &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{Kind: kind}, ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		return u
	}
	in := []runtime.Object{mk("RoleBinding", "b", "x"), mk("Role", "b", "x"), mk("Role", "a", "y"), mk("ClusterRoleBinding", "", "a"), mk("ClusterRole", "", "z"), mk("ClusterRole", "", "a")}
	got, err := SortObjects(in)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range got {
		p := o.(*metav1.PartialObjectMetadata)
		names = append(names, p.Kind+"/"+p.Namespace+"/"+p.Name)
	}
	want := []string{"ClusterRole//a", "ClusterRole//z", "ClusterRoleBinding//a", "Role/a/y", "Role/b/x", "RoleBinding/b/x"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}

	if _, err := SortObjects([]runtime.Object{mk("Role", "a", "x"), mk("Role", "a", "x")}); err == nil || !strings.Contains(err.Error(), "duplicate Role a/x") {
		t.Errorf("duplicate objects: err = %v, want a duplicate error", err)
	}
	if _, err := SortObjects([]runtime.Object{&rbacv1.Role{}}); err == nil || !strings.Contains(err.Error(), "kind is not set") {
		t.Errorf("object without kind: err = %v", err)
	}
	if _, err := SortObjects([]runtime.Object{nil}); err == nil {
		t.Errorf("nil object accepted")
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
	if err := WriteYAML(&buf, objs); err != nil {
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
		if err := WriteYAML(&buf, objs); err != nil {
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
