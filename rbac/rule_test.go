package rbac

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
)

func TestPolicyRulesRefusesMistakes(t *testing.T) {
	tests := []struct {
		name    string
		rules   []Rule
		opts    BuildOptions
		wantErr []string // substrings that must all appear; none means success
	}{
		{name: "plain rule", rules: []Rule{{Group: "apps", Resources: []string{"deployments"}, Verbs: []string{"get"}}}},
		{name: "no rules", rules: nil, wantErr: []string{"rules: Required value", "grants nothing"}},
		{name: "wildcard verb", rules: []Rule{{Resources: []string{"pods"}, Verbs: []string{"*"}}},
			wantErr: []string{"rules[0].verbs[0]", "AllowWildcards"}},
		{name: "wildcard resource", rules: []Rule{{Resources: []string{"*"}, Verbs: []string{"get"}}},
			wantErr: []string{"rules[0].resources[0]", "AllowWildcards"}},
		{name: "wildcard subresource form", rules: []Rule{{Resources: []string{"*/status"}, Verbs: []string{"get"}}},
			wantErr: []string{"rules[0].resources[0]", "AllowWildcards"}},
		{name: "wildcard group", rules: []Rule{{Group: "*", Resources: []string{"pods"}, Verbs: []string{"get"}}},
			wantErr: []string{"rules[0].group", "AllowWildcards"}},
		{name: "wildcards allowed by name", opts: BuildOptions{AllowWildcards: true},
			rules: []Rule{{Group: "*", Resources: []string{"*", "*/status"}, Verbs: []string{"*"}}}},
		{name: "partial group wildcard is never valid", opts: BuildOptions{AllowWildcards: true},
			rules: []Rule{{Group: "*.k8s.io", Resources: []string{"pods"}, Verbs: []string{"get"}}}, wantErr: []string{"partial group wildcard"}},
		{name: "subresource wildcard is never valid", opts: BuildOptions{AllowWildcards: true},
			rules: []Rule{{Resources: []string{"pods/*"}, Verbs: []string{"get"}}}, wantErr: []string{"no subresource wildcard"}},
		{name: "empty resources", rules: []Rule{{Verbs: []string{"get"}}}, wantErr: []string{"rules[0].resources: Required value"}},
		{name: "empty verbs", rules: []Rule{{Resources: []string{"pods"}}}, wantErr: []string{"rules[0].verbs: Required value"}},
		{name: "empty verb string", rules: []Rule{{Resources: []string{"pods"}, Verbs: []string{""}}}, wantErr: []string{"rules[0].verbs[0]"}},
		{name: "uppercase verb", rules: []Rule{{Resources: []string{"pods"}, Verbs: []string{"Get"}}}, wantErr: []string{"rules[0].verbs[0]"}},
		{name: "custom and impersonation verbs", rules: []Rule{{Group: "example.com", Resources: []string{"agents"}, Verbs: []string{"use", "impersonate:user-info"}}}},
		{name: "create by name never matches", rules: []Rule{{Resources: []string{"configmaps"}, ResourceNames: []string{"a"}, Verbs: []string{"get", "create"}}},
			wantErr: []string{"rules[0].verbs[1]", "grant nothing"}},
		{name: "deletecollection by name never matches", rules: []Rule{{Resources: []string{"configmaps"}, ResourceNames: []string{"a"}, Verbs: []string{"deletecollection"}}},
			wantErr: []string{"rules[0].verbs[0]"}},
		{name: "star resource name is literal", opts: BuildOptions{AllowWildcards: true},
			rules: []Rule{{Resources: []string{"configmaps"}, ResourceNames: []string{"*"}, Verbs: []string{"get"}}}, wantErr: []string{"rules[0].resourceNames[0]"}},
		{name: "empty resource name", rules: []Rule{{Resources: []string{"configmaps"}, ResourceNames: []string{""}, Verbs: []string{"get"}}},
			wantErr: []string{"rules[0].resourceNames[0]"}},
		{name: "bad group", rules: []Rule{{Group: "Apps", Resources: []string{"deployments"}, Verbs: []string{"get"}}}, wantErr: []string{"rules[0].group"}},
		{name: "bad resource", rules: []Rule{{Resources: []string{"Pods"}, Verbs: []string{"get"}}}, wantErr: []string{"rules[0].resources[0]"}},
		{name: "empty subresource", rules: []Rule{{Resources: []string{"pods/"}, Verbs: []string{"get"}}}, wantErr: []string{"empty subresource"}},
		{name: "every error is reported", rules: []Rule{{Resources: []string{"*"}, Verbs: []string{"*"}}, {Resources: []string{"pods"}}},
			wantErr: []string{"rules[0].resources[0]", "rules[0].verbs[0]", "rules[1].verbs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PolicyRules(tt.rules, tt.opts)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("PolicyRules: unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("PolicyRules accepted %+v; want an error mentioning %q", tt.rules, tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

func TestPolicyRulesCoreAliasAndNormalization(t *testing.T) {
	got, err := PolicyRules([]Rule{
		{Group: "core", Resources: []string{"pods"}, Verbs: []string{"list", "get"}},
		{Group: CoreGroup, Resources: []string{"configmaps", "pods"}, Verbs: []string{"get", "list", "get"}},
	}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps", "pods"}, Verbs: []string{"get", "list"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PolicyRules (-want +got):\n%s", diff)
	}
}

func TestPolicyRulesDoesNotAliasInput(t *testing.T) {
	in := []Rule{{Resources: []string{"pods"}, ResourceNames: []string{"a"}, Verbs: []string{"get"}}}
	got, err := PolicyRules(in, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got[0].Resources[0], got[0].ResourceNames[0], got[0].Verbs[0] = "x", "x", "x"
	if in[0].Resources[0] != "pods" || in[0].ResourceNames[0] != "a" || in[0].Verbs[0] != "get" {
		t.Errorf("mutating the result changed the input: %+v", in)
	}
}
