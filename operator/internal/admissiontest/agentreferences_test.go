package admissiontest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
)

// agentWriter may write Agents in its namespace and nothing else: what a namespace editor gets
// when Agents are added to its role. (No generated persona writes Agents: the platform team does.)
var agentWriter = rbacv1.PolicyRule{APIGroups: []string{kocpolicy.APIGroup}, Resources: []string{"agents"}, Verbs: []string{"create", "get", "update", "patch"}}

func refAgent(namespace, name string, credentialSecrets ...string) *v1alpha1.Agent {
	a := &v1alpha1.Agent{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "powerful-sa"},
	}
	for i, s := range credentialSecrets {
		a.Spec.Credentials = append(a.Spec.Credentials, v1alpha1.Credential{
			Name: fmt.Sprintf("cred-%d", i), SecretRef: v1alpha1.SecretReference{Name: s, Key: "token"}, Env: fmt.Sprintf("TOKEN_%d", i)})
	}
	return a
}

func agentRefRefusal(field, user, secret, namespace string) string {
	return fmt.Sprintf(`%s: user %q may not get secrets %q in namespace %q (RBAC get on secrets): an Agent may name only Secrets its author may read`,
		field, user, secret, namespace)
}

// TestT21AgentAuthorWhoCannotCreatePodsIsRefused is the attack of issue 15: a user who may write
// Agents, but not create Pods or read Secrets, writes an Agent that would make the operator run
// Pods as any ServiceAccount with any Secret of the namespace. Admission refuses, naming the
// missing permission; then each Secret the Agent names is checked, naming its field; UPDATE is
// checked like CREATE.
func TestT21AgentAuthorWhoCannotCreatePodsIsRefused(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	const user = "eve"
	grant(ctx, t, ns, "agent-writer", user, agentWriter)
	c := impersonate(t, user)

	a := refAgent(ns, "stealer", "prod-api-key")
	err := pastRBAC(ctx, func(ctx context.Context) error { return c.Create(ctx, a.DeepCopy()) })
	got := refusedBy(t, err, kocpolicy.DefaultAgentReferencesPolicyName)
	want := fmt.Sprintf(`user %q may not create pods in namespace %q: an Agent makes the operator create Pods there as its ServiceAccount "powerful-sa" with its Secrets, so its author needs RBAC create on pods in that namespace`, user, ns)
	if !strings.HasSuffix(got, want) {
		t.Errorf("refusal:\n got %s\nwant suffix %s", got, want)
	}

	// Allowed to create Pods, but not to read the Secret: refused, naming the credential.
	grant(ctx, t, ns, "pod-creator", user, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create"}})
	err = untilRefusalChanges(ctx, t, c, a, want)
	got = refusedBy(t, err, kocpolicy.DefaultAgentReferencesPolicyName)
	if want := agentRefRefusal("spec.credentials[0].secretRef.name", user, "prod-api-key", ns); !strings.HasSuffix(got, want) {
		t.Errorf("refusal:\n got %s\nwant suffix %s", got, want)
	}

	// A Git context's Secret is checked too.
	grant(ctx, t, ns, "read-api-key", user, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"prod-api-key"}, Verbs: []string{"get"}})
	a.Spec.Contexts = []v1alpha1.ContextItem{
		{Type: v1alpha1.ContextTypeText, Text: "house rules"},
		{Type: v1alpha1.ContextTypeGit, MountPath: "/workspace/src", Git: &v1alpha1.GitContext{
			Repository: "https://git.example/app.git", SecretRef: &v1alpha1.LocalSecretReference{Name: "deploy-key"}}},
	}
	err = untilRefusalChanges(ctx, t, c, a, agentRefRefusal("spec.credentials[0].secretRef.name", user, "prod-api-key", ns))
	got = refusedBy(t, err, kocpolicy.DefaultAgentReferencesPolicyName)
	if want := agentRefRefusal("spec.contexts[1].git.secretRef.name", user, "deploy-key", ns); !strings.HasSuffix(got, want) {
		t.Errorf("refusal:\n got %s\nwant suffix %s", got, want)
	}

	// Every permission held: admitted.
	grant(ctx, t, ns, "read-deploy-key", user, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"deploy-key"}, Verbs: []string{"get"}})
	if err := untilAdmitted(ctx, func(ctx context.Context) error { return c.Create(ctx, a.DeepCopy()) }); err != nil {
		t.Fatalf("create with every permission: %v", err)
	}

	// UPDATE: switching a credential to a Secret the author may not read is refused.
	cur := &v1alpha1.Agent{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(a), cur); err != nil {
		t.Fatal(err)
	}
	cur.Spec.Credentials[0].SecretRef.Name = "admin-kubeconfig"
	got = refusedBy(t, c.Update(ctx, cur), kocpolicy.DefaultAgentReferencesPolicyName)
	if want := agentRefRefusal("spec.credentials[0].secretRef.name", user, "admin-kubeconfig", ns); !strings.HasSuffix(got, want) {
		t.Errorf("update refusal:\n got %s\nwant suffix %s", got, want)
	}
}

// untilRefusalChanges creates a as c until the refusal is no longer previous (a fresh grant
// reaches the authorizer asynchronously) and returns the outcome.
func untilRefusalChanges(ctx context.Context, t *testing.T, c client.Client, a *v1alpha1.Agent, previous string) error {
	t.Helper()
	return untilAdmittedOr(ctx, func(ctx context.Context) error { return c.Create(ctx, a.DeepCopy()) }, func(err error) bool {
		return err == nil || !strings.Contains(err.Error(), previous)
	})
}

// TestT21MetadataUpdatesAndOperatorStatusAreNotBlocked: what is not a spec change passes — a
// label edit by a user who may not create Pods (like the garbage collector removing a finalizer),
// and the operator's own status write (the agents/status subresource) on an Agent whose Secrets
// the operator may not read.
func TestT21MetadataUpdatesAndOperatorStatusAreNotBlocked(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	a := refAgent(ns, "coder", "api-key")
	a.Finalizers = []string{"example.com/hold"}
	mustCreate(ctx, t, a) // by the platform team (cluster admin)
	const user = "labeler"
	grant(ctx, t, ns, "agent-writer", user, agentWriter)
	c := impersonate(t, user)

	err := untilAdmitted(ctx, func(ctx context.Context) error {
		cur := &v1alpha1.Agent{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(a), cur); err != nil {
			return err
		}
		cur.Labels = map[string]string{"team": "payments"}
		cur.Finalizers = nil
		return c.Update(ctx, cur)
	})
	if err != nil {
		t.Fatalf("metadata-only update without pods create: %v", err)
	}
	// A spec change by the same user is refused.
	cur := &v1alpha1.Agent{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(a), cur); err != nil {
		t.Fatal(err)
	}
	cur.Spec.Profile = "now with more power"
	refusedBy(t, c.Update(ctx, cur), kocpolicy.DefaultAgentReferencesPolicyName)

	// The operator (generated roles: no Secret at all) writes the Ready condition.
	op := impersonate(t, operatorUser)
	err = untilAdmitted(ctx, func(ctx context.Context) error {
		cur := &v1alpha1.Agent{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(a), cur); err != nil {
			return err
		}
		cur.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Valid", Message: "ok", LastTransitionTime: metav1.Now()}}
		return op.Status().Update(ctx, cur)
	})
	if err != nil {
		t.Fatalf("operator status write: %v", err)
	}
}
