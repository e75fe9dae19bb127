package rbac

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
)

func TestRoleBuildersValidateMetadata(t *testing.T) {
	rules := []Rule{{Resources: []string{"configmaps"}, Verbs: []string{"get"}}}
	tests := []struct {
		name       string
		spec       RoleSpec
		clusterErr string // "" means ClusterRole succeeds
		roleErr    string // "" means Role succeeds
	}{
		{name: "cluster role", spec: RoleSpec{Name: "r", Rules: rules}, roleErr: "metadata.namespace: Required value"},
		{name: "namespaced role", spec: RoleSpec{Name: "r", Namespace: "ns", Rules: rules}, clusterErr: "metadata.namespace: Forbidden"},
		{name: "no name", spec: RoleSpec{Namespace: "ns", Rules: rules}, clusterErr: "metadata.name: Required value", roleErr: "metadata.name: Required value"},
		{name: "name with slash", spec: RoleSpec{Name: "a/b", Namespace: "ns", Rules: rules}, clusterErr: "metadata.name", roleErr: "metadata.name"},
		{name: "bad namespace", spec: RoleSpec{Name: "r", Namespace: "Not_A_Label", Rules: rules}, clusterErr: "metadata.namespace", roleErr: "metadata.namespace"},
		{name: "bad label", spec: RoleSpec{Name: "r", Namespace: "ns", Labels: map[string]string{"a b": "c"}, Rules: rules}, clusterErr: "metadata.labels", roleErr: "metadata.labels"},
		{name: "no rules", spec: RoleSpec{Name: "r", Namespace: "ns"}, clusterErr: "rules: Required value", roleErr: "rules: Required value"},
		{name: "wildcard without option", spec: RoleSpec{Name: "r", Namespace: "ns", Rules: []Rule{{Resources: []string{"*"}, Verbs: []string{"get"}}}},
			clusterErr: "AllowWildcards", roleErr: "AllowWildcards"},
		{name: "wildcard with option", spec: RoleSpec{Name: "r", Namespace: "ns", Rules: []Rule{{Resources: []string{"*"}, Verbs: []string{"get"}}}, BuildOptions: BuildOptions{AllowWildcards: true}},
			clusterErr: "metadata.namespace: Forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ClusterRole(tt.spec)
			checkErr(t, "ClusterRole", err, tt.clusterErr)
			_, err = Role(tt.spec)
			checkErr(t, "Role", err, tt.roleErr)
		})
	}
}

func checkErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case want != "" && err == nil:
		t.Errorf("%s succeeded; want an error mentioning %q", what, want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("%s: error %q does not mention %q", what, err, want)
	}
}

func TestRoleCopiesLabels(t *testing.T) {
	labels := map[string]string{"team": "a"}
	role, err := Role(RoleSpec{Name: "r", Namespace: "ns", Labels: labels, Rules: []Rule{{Resources: []string{"pods"}, Verbs: []string{"get"}}}})
	if err != nil {
		t.Fatal(err)
	}
	labels["team"] = "b"
	if role.Labels["team"] != "a" {
		t.Errorf("role labels alias the spec's map")
	}
	want := &rbacv1.Role{Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}}}
	want.APIVersion, want.Kind, want.Name, want.Namespace, want.Labels = "rbac.authorization.k8s.io/v1", "Role", "r", "ns", map[string]string{"team": "a"}
	if diff := cmp.Diff(want, role); diff != "" {
		t.Errorf("Role (-want +got):\n%s", diff)
	}
}

func TestBindingBuilders(t *testing.T) {
	sa := ServiceAccountSubject("ns", "sa")
	tests := []struct {
		name           string
		spec           BindingSpec
		roleBindingErr string
		clusterErr     string
	}{
		{name: "role binding to a Role", spec: BindingSpec{Name: "b", Namespace: "ns", RoleRef: RoleRefToRole("r"), Subjects: []rbacv1.Subject{sa}},
			clusterErr: "roleRef.kind: Unsupported value"},
		{name: "cluster role binding", spec: BindingSpec{Name: "b", RoleRef: RoleRefToClusterRole("r"), Subjects: []rbacv1.Subject{sa}},
			roleBindingErr: "metadata.namespace: Required value"},
		{name: "no subjects", spec: BindingSpec{Name: "b", RoleRef: RoleRefToClusterRole("r")},
			roleBindingErr: "subjects: Required value", clusterErr: "subjects: Required value"},
		{name: "bad role ref group", spec: BindingSpec{Name: "b", RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "r"}, Subjects: []rbacv1.Subject{sa}},
			roleBindingErr: "roleRef.apiGroup", clusterErr: "roleRef.apiGroup"},
		{name: "empty role ref name", spec: BindingSpec{Name: "b", RoleRef: RoleRefToClusterRole(""), Subjects: []rbacv1.Subject{sa}},
			roleBindingErr: "roleRef.name", clusterErr: "roleRef.name"},
		{name: "service account without namespace", spec: BindingSpec{Name: "b", RoleRef: RoleRefToClusterRole("r"), Subjects: []rbacv1.Subject{ServiceAccountSubject("", "sa")}},
			roleBindingErr: "subjects[0].namespace", clusterErr: "subjects[0].namespace"},
		{name: "service account bad name", spec: BindingSpec{Name: "b", RoleRef: RoleRefToClusterRole("r"), Subjects: []rbacv1.Subject{ServiceAccountSubject("ns", "Bad")}},
			roleBindingErr: "subjects[0].name", clusterErr: "subjects[0].name"},
		{name: "user and group", spec: BindingSpec{Name: "b", RoleRef: RoleRefToClusterRole("r"), Subjects: []rbacv1.Subject{UserSubject("alice@example.com"), GroupSubject("devs")}},
			roleBindingErr: "metadata.namespace: Required value"},
		{name: "unknown kind", spec: BindingSpec{Name: "b", RoleRef: RoleRefToClusterRole("r"), Subjects: []rbacv1.Subject{{Kind: "Robot", Name: "x"}}},
			roleBindingErr: "subjects[0].kind", clusterErr: "subjects[0].kind"},
		{name: "everyone is refused", spec: BindingSpec{Name: "b", RoleRef: RoleRefToClusterRole("r"), Subjects: []rbacv1.Subject{GroupSubject("system:authenticated")}},
			roleBindingErr: "AllowBroadSubjects", clusterErr: "AllowBroadSubjects"},
		{name: "all service accounts of a namespace are refused", spec: BindingSpec{Name: "b", RoleRef: RoleRefToClusterRole("r"), Subjects: []rbacv1.Subject{GroupSubject("system:serviceaccounts:ns")}},
			roleBindingErr: "AllowBroadSubjects", clusterErr: "AllowBroadSubjects"},
		{name: "anonymous is refused", spec: BindingSpec{Name: "b", RoleRef: RoleRefToClusterRole("r"), Subjects: []rbacv1.Subject{UserSubject("system:anonymous")}},
			roleBindingErr: "AllowBroadSubjects", clusterErr: "AllowBroadSubjects"},
		{name: "everyone allowed by name", spec: BindingSpec{Name: "b", RoleRef: RoleRefToClusterRole("r"), Subjects: []rbacv1.Subject{GroupSubject("system:authenticated")}, AllowBroadSubjects: true},
			roleBindingErr: "metadata.namespace: Required value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := RoleBinding(tt.spec)
			checkErr(t, "RoleBinding", err, tt.roleBindingErr)
			_, err = ClusterRoleBinding(tt.spec)
			checkErr(t, "ClusterRoleBinding", err, tt.clusterErr)
		})
	}
}

func TestBindingSubjectsSortedAndDeduplicated(t *testing.T) {
	b, err := RoleBinding(BindingSpec{Name: "b", Namespace: "ns", RoleRef: RoleRefToClusterRole("r"), Subjects: []rbacv1.Subject{
		ServiceAccountSubject("ns", "z"), UserSubject("alice"), ServiceAccountSubject("ns", "a"), UserSubject("alice"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []rbacv1.Subject{ServiceAccountSubject("ns", "a"), ServiceAccountSubject("ns", "z"), UserSubject("alice")}
	if diff := cmp.Diff(want, b.Subjects); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
}
