package rbac

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
