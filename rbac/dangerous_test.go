package rbac

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
)

func TestDangerousGrantsAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range DangerousGrants() {
		if seen[g.Name] {
			t.Errorf("%s listed twice", g.Name)
		}
		seen[g.Name] = true
		if g.Reason == "" {
			t.Errorf("%s has no reason", g.Name)
		}
		if len(g.Rule.APIGroups) != 1 || len(g.Rule.Resources) != 1 || len(g.Rule.Verbs) != 1 || len(g.Rule.ResourceNames) != 0 {
			t.Errorf("%s: rule %+v is not one group, resource and verb", g.Name, g.Rule)
		}
	}
	// The list, by name: each must be present.
	for _, name := range []string{
		"secrets:get", "secrets:list", "secrets:watch",
		"roles.rbac.authorization.k8s.io:escalate", "clusterroles.rbac.authorization.k8s.io:escalate",
		"roles.rbac.authorization.k8s.io:bind", "clusterroles.rbac.authorization.k8s.io:bind",
		"users:impersonate", "groups:impersonate", "serviceaccounts:impersonate",
		"pods:create", "pods/exec:create", "pods/attach:create", "pods/portforward:create",
		"nodes/proxy:get", "serviceaccounts/token:create",
	} {
		if !seen[name] {
			t.Errorf("dangerous list lacks %s", name)
		}
	}
}

func TestFindDangerousFlagsEachGrantAlone(t *testing.T) {
	for _, g := range DangerousGrants() {
		if got := FindDangerous([]rbacv1.PolicyRule{g.Rule}); !slices.Contains(got, g.Name) {
			t.Errorf("FindDangerous(%+v) = %v; want it to include %s", g.Rule, got, g.Name)
		}
	}
}

func TestFindDangerous(t *testing.T) {
	core := func(resources []string, verbs ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{""}, Resources: resources, Verbs: verbs}
	}
	allSecretVerbs := []string{"secrets:get", "secrets:list", "secrets:watch", "secrets:create", "secrets:update", "secrets:patch", "secrets:delete", "secrets:deletecollection"}
	tests := []struct {
		name  string
		rules []rbacv1.PolicyRule
		want  []string
	}{
		{name: "no rules", rules: nil, want: nil},
		{name: "benign", rules: []rbacv1.PolicyRule{
			core([]string{"configmaps"}, "get", "list", "watch", "create", "delete"),
			core([]string{"pods"}, "get", "list", "watch", "delete"),
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"}},
			{NonResourceURLs: []string{"/healthz"}, Verbs: []string{"get"}},
		}, want: nil},
		{name: "secrets list", rules: []rbacv1.PolicyRule{core([]string{"secrets"}, "list")}, want: []string{"secrets:list"}},
		{name: "secret by name is still a secret", rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"db"}, Verbs: []string{"get"}}},
			want: []string{"secrets:get"}},
		{name: "pods create runs any ServiceAccount", rules: []rbacv1.PolicyRule{core([]string{"pods"}, "create")}, want: []string{"pods:create"}},
		{name: "star verbs on pods", rules: []rbacv1.PolicyRule{core([]string{"pods"}, "*")}, want: []string{"pods:create", "pods:update", "pods:patch", "wildcard:verbs"}},
		{name: "star verbs on secrets", rules: []rbacv1.PolicyRule{core([]string{"secrets"}, "*")}, want: append(slices.Clone(allSecretVerbs), "wildcard:verbs")},
		{name: "star resources in core", rules: []rbacv1.PolicyRule{core([]string{"*"}, "create")},
			want: []string{"secrets:create", "pods:create", "pods/exec:create", "pods/attach:create", "pods/portforward:create", "nodes/proxy:create", "serviceaccounts/token:create", "wildcard:resources"}},
		{name: "star subresource", rules: []rbacv1.PolicyRule{core([]string{"*/exec"}, "create")}, want: []string{"pods/exec:create", "wildcard:resources"}},
		{name: "star group", rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"secrets"}, Verbs: []string{"watch"}}}, want: []string{"secrets:watch", "wildcard:apiGroups"}},
		{name: "star url", rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/logs/*"}, Verbs: []string{"get"}}}, want: []string{"wildcard:nonResourceURLs"}},
		{name: "escalate and bind", rules: []rbacv1.PolicyRule{{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles"}, Verbs: []string{"bind", "escalate"}}},
			want: []string{"clusterroles.rbac.authorization.k8s.io:escalate", "clusterroles.rbac.authorization.k8s.io:bind"}},
		{name: "impersonate one service account is still impersonation", rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, ResourceNames: []string{"x"}, Verbs: []string{"impersonate"}}},
			want: []string{"serviceaccounts:impersonate"}},
		{name: "legacy websocket exec", rules: []rbacv1.PolicyRule{core([]string{"pods/exec"}, "get")}, want: []string{"pods/exec:get"}},
		{name: "token minting", rules: []rbacv1.PolicyRule{core([]string{"serviceaccounts/token"}, "create")}, want: []string{"serviceaccounts/token:create"}},
		{name: "other group's secrets are not core secrets", rules: []rbacv1.PolicyRule{{APIGroups: []string{"example.com"}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}, want: nil},
		{name: "everything", rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}, {NonResourceURLs: []string{"*"}, Verbs: []string{"*"}}},
			want: append(names(DangerousGrants()), "wildcard:apiGroups", "wildcard:resources", "wildcard:verbs", "wildcard:nonResourceURLs")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, FindDangerous(tt.rules)); diff != "" {
				t.Errorf("FindDangerous (-want +got):\n%s", diff)
			}
		})
	}
}

func names(gs []DangerousGrant) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}
