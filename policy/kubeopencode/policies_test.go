package kubeopencode

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/kubeopencode/kubeopencode/policy"
)

func TestPoliciesGolden(t *testing.T) {
	out, err := policy.RenderYAML(PolicyObjects(PoliciesOptions{})...)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "policies.yaml", out)
}

// TestPoliciesShape pins what keeps the policies safe, independently of the golden file: they
// fail closed, are bound everywhere with Deny, and no expression names more than two authorizer
// checks (the API server refuses an expression estimated above two, see references.go; a Task
// context's expression names two, on the two branches of a conditional, so it runs one).
func TestPoliciesShape(t *testing.T) {
	pols := Policies(PoliciesOptions{})
	var names []string
	for _, p := range pols {
		names = append(names, p.Policy.Name)
		if *p.Policy.Spec.FailurePolicy != admissionregistrationv1.Fail || p.Policy.Spec.ParamKind != nil {
			t.Errorf("%s: failurePolicy %v paramKind %v, want Fail and none", p.Policy.Name, *p.Policy.Spec.FailurePolicy, p.Policy.Spec.ParamKind)
		}
		if p.Binding.Name != p.Policy.Name || p.Binding.Spec.PolicyName != p.Policy.Name || p.Binding.Spec.MatchResources != nil ||
			!cmp.Equal(p.Binding.Spec.ValidationActions, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}) {
			t.Errorf("%s: binding %+v, want Deny everywhere", p.Policy.Name, p.Binding.Spec)
		}
		for i, v := range p.Policy.Spec.Validations {
			if n := strings.Count(v.Expression, ".check("); n > 2 {
				t.Errorf("%s validation %d names %d authorizer checks, want at most 2", p.Policy.Name, i, n)
			}
		}
	}
	want := []string{DefaultAdmissionPolicyName, DefaultTaskReferencesPolicyName, DefaultAgentReferencesPolicyName, DefaultFinalizerGuardPolicyName}
	if !cmp.Equal(names, want) {
		t.Errorf("policies %q, want %q", names, want)
	}
}

// TestReferencePoliciesCoverEveryIndex: one check per list index up to the CRD's maxItems, each
// naming its own field, and a fail-closed bound beyond.
func TestReferencePoliciesCoverEveryIndex(t *testing.T) {
	tests := []struct {
		policy *admissionregistrationv1.ValidatingAdmissionPolicy
		fields []string
	}{
		{TaskReferencesPolicy(AdmissionPolicyOptions{}), indexed("spec.contexts[%d].git.secretRef.name", MaxTaskContexts)},
		{TaskReferencesPolicy(AdmissionPolicyOptions{}), indexed("spec.contexts[%d].configMap.name", MaxTaskContexts)},
		{AgentReferencesPolicy(AdmissionPolicyOptions{}), indexed("spec.credentials[%d].secretRef.name", MaxAgentCredentials)},
		{AgentReferencesPolicy(AdmissionPolicyOptions{}), indexed("spec.contexts[%d].git.secretRef.name", MaxAgentContexts)},
	}
	for _, tt := range tests {
		for _, f := range tt.fields {
			n := 0
			for _, v := range tt.policy.Spec.Validations {
				if strings.Contains(v.MessageExpression, "'"+f+": user ") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: %d validations name %s, want 1", tt.policy.Name, n, f)
			}
		}
	}
	if v := TaskReferencesPolicy(AdmissionPolicyOptions{}).Spec.Validations[0].Expression; v != "size(variables.contexts) <= 16" {
		t.Errorf("Task bound = %q", v)
	}
	a := AgentReferencesPolicy(AdmissionPolicyOptions{})
	if a.Spec.Validations[1].Expression != AgentPodCreateExpression {
		t.Errorf("Agent policy does not check pods create first after the bound: %q", a.Spec.Validations[1].Expression)
	}
	if ops := a.Spec.MatchConstraints.ResourceRules[0].Operations; !cmp.Equal(ops, []admissionregistrationv1.OperationType{"CREATE", "UPDATE"}) {
		t.Errorf("Agent policy operations %v, want CREATE and UPDATE", ops)
	}
}

func TestFinalizerGuardPolicy(t *testing.T) {
	p := FinalizerGuardPolicy(FinalizerGuardOptions{OperatorUsername: "system:serviceaccount:ops:op"})
	if got := p.Spec.MatchConditions[1].Expression; got != "request.userInfo.username != 'system:serviceaccount:ops:op'" {
		t.Errorf("operator exemption = %q", got)
	}
	if ops := p.Spec.MatchConstraints.ResourceRules[0].Operations; !cmp.Equal(ops, []admissionregistrationv1.OperationType{"UPDATE"}) {
		t.Errorf("operations %v, want UPDATE", ops)
	}
	if !strings.Contains(p.Spec.Validations[0].Expression, ".check('removefinalizer').allowed()") {
		t.Errorf("escape hatch: %q", p.Spec.Validations[0].Expression)
	}
	if d := FinalizerGuardPolicy(FinalizerGuardOptions{}).Spec.MatchConditions[1].Expression; !strings.Contains(d, DefaultOperatorUsername) {
		t.Errorf("default operator exemption = %q", d)
	}
}

func indexed(format string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strings.Replace(format, "%d", itoa(i), 1)
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
