package kubeopencode

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubeopencode/kubeopencode/policy"
)

func TestAdmissionPolicyGolden(t *testing.T) {
	out, err := policy.RenderYAML(
		AgentUsePolicy(AdmissionPolicyOptions{}),
		AgentUsePolicyBinding(AdmissionPolicyOptions{}),
		AgentUserClusterRole(AgentUserRoleOptions{}),
	)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "admission-policy.yaml", out)
}

func TestAdmissionPolicyOptionsGolden(t *testing.T) {
	labels := map[string]string{"app.kubernetes.io/managed-by": "kubeopencode"}
	opts := AdmissionPolicyOptions{Name: "custom-agent-use", Labels: labels}
	out, err := policy.RenderYAML(
		AgentUsePolicy(opts),
		AgentUsePolicyBinding(opts),
		AgentUserClusterRole(AgentUserRoleOptions{Name: "coder-user", AgentNames: []string{"reviewer", "coder", "coder"}, Labels: labels}),
	)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "admission-policy-options.yaml", out)
}

// TestAdmissionPolicyShape pins the security-relevant fields independently of the golden file, so
// that an -update cannot silently weaken them.
func TestAdmissionPolicyShape(t *testing.T) {
	p := AgentUsePolicy(AdmissionPolicyOptions{})
	if *p.Spec.FailurePolicy != admissionregistrationv1.Fail {
		t.Errorf("failurePolicy = %v, want Fail", *p.Spec.FailurePolicy)
	}
	if p.Spec.ParamKind != nil {
		t.Errorf("paramKind = %v, want none", p.Spec.ParamKind)
	}
	rules := p.Spec.MatchConstraints.ResourceRules
	if len(rules) != 1 || !cmp.Equal(rules[0].Operations, []admissionregistrationv1.OperationType{admissionregistrationv1.Create}) ||
		!cmp.Equal(rules[0].Resources, []string{"tasks"}) || !cmp.Equal(rules[0].APIGroups, []string{"kubeopencode.io"}) {
		t.Errorf("resourceRules = %+v, want CREATE of kubeopencode.io tasks", rules)
	}
	var exprs []string
	for _, v := range p.Spec.Validations {
		exprs = append(exprs, v.Expression)
	}
	if !cmp.Equal(exprs, []string{AgentRefRequiredExpression, AgentUseExpression}) {
		t.Errorf("validations = %q", exprs)
	}
	if !strings.Contains(AgentUseExpression, ".check('use').allowed()") || !strings.Contains(AgentUseExpression, "resource('agents')") {
		t.Errorf("AgentUseExpression %q does not check verb use on agents", AgentUseExpression)
	}
	b := AgentUsePolicyBinding(AdmissionPolicyOptions{})
	if b.Spec.PolicyName != p.Name || !cmp.Equal(b.Spec.ValidationActions, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}) || b.Spec.MatchResources != nil {
		t.Errorf("binding = %+v, want Deny for %s everywhere", b.Spec, p.Name)
	}
}

func TestAgentUserClusterRole(t *testing.T) {
	tests := []struct {
		opts AgentUserRoleOptions
		want rbacv1.ClusterRole
	}{
		{AgentUserRoleOptions{}, rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{{APIGroups: []string{"kubeopencode.io"}, Resources: []string{"agents"}, Verbs: []string{"use"}}}}},
		{AgentUserRoleOptions{AgentNames: []string{"b", "a", "b"}}, rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{{APIGroups: []string{"kubeopencode.io"}, Resources: []string{"agents"}, ResourceNames: []string{"a", "b"}, Verbs: []string{"use"}}}}},
	}
	for _, tt := range tests {
		got := AgentUserClusterRole(tt.opts)
		if got.Name != DefaultAgentUserRoleName {
			t.Errorf("name = %q", got.Name)
		}
		if diff := cmp.Diff(tt.want.Rules, got.Rules); diff != "" {
			t.Errorf("rules (-want +got):\n%s", diff)
		}
	}
	// The options' slice is not shared with (or reordered by) the result.
	names := []string{"b", "a"}
	AgentUserClusterRole(AgentUserRoleOptions{AgentNames: names})
	if names[0] != "b" {
		t.Errorf("AgentUserClusterRole reordered the caller's slice: %q", names)
	}
}
