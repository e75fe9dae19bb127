package admissiontest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
)

// TestT21SecretBudget pins the limit docs/security.md states: each distinct Secret costs one
// authorizer check, the API server allows 28 per policy evaluation and the Pod check takes one,
// so an Agent naming 27 distinct Secrets its author may read is admitted and one naming 28 is
// refused (fail closed); a Secret named many times counts once.
func TestT21SecretBudget(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	const user = "platform"
	grant(ctx, t, ns, "platform", user,
		agentWriter,
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}})
	c := impersonate(t, user)
	secrets := func(n, distinct int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("secret-%d", i%distinct))
		}
		return out
	}
	create := func(name string, names []string) error {
		a := refAgent(ns, name, names...)
		return untilAdmittedOr(ctx, func(ctx context.Context) error { return c.Create(ctx, a) }, func(err error) bool {
			return err == nil || strings.Contains(err.Error(), kocpolicy.DefaultAgentReferencesPolicyName)
		})
	}
	if err := create("distinct-27", secrets(27, 27)); err != nil {
		t.Errorf("27 distinct Secrets: %v", err)
	}
	if err := create("repeated-32", secrets(kocpolicy.MaxAgentCredentials, 4)); err != nil {
		t.Errorf("32 credentials naming 4 Secrets: %v", err)
	}
	err := create("distinct-28", secrets(28, 28))
	if err == nil || !strings.Contains(err.Error(), "running out of cost budget") {
		t.Fatalf("28 distinct Secrets: %v, want refused by the cost budget", err)
	}
}
