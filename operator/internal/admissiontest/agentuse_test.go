package admissiontest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
)

// taskCreatorRole prefixes the Role that lets a user create Tasks.
const taskCreatorRole = "task-creator"

// task is a Task referencing an Agent; agentNamespace "" leaves agentRef.namespace unset.
func task(namespace, name, agentNamespace, agentName string) *unstructured.Unstructured {
	ref := map[string]any{"name": agentName}
	if agentNamespace != "" {
		ref["namespace"] = agentNamespace
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{"description": "fix the flaky test", "agentRef": ref},
	}}
	u.SetAPIVersion(kocpolicy.APIGroup + "/v1alpha1")
	u.SetKind("Task")
	u.SetNamespace(namespace)
	u.SetName(name)
	return u
}

// refusal is the message the policy's messageExpression must produce.
func refusal(user, agentNamespace, agentName string) string {
	return fmt.Sprintf(`user %q may not use Agent "%s/%s": ask the platform team to grant the "use" verb on agents.kubeopencode.io %q in namespace %q`,
		user, agentNamespace, agentName, agentName, agentNamespace)
}

// userClient impersonates user through the admin credentials.
func userClient(user string) (client.Client, error) {
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	return client.New(cfg, client.Options{Scheme: env.Scheme})
}

func mustUserClient(t testing.TB, user string) client.Client {
	t.Helper()
	c, err := userClient(user)
	if err != nil {
		t.Fatalf("client for %s: %v", user, err)
	}
	return c
}

func mustCreate(ctx context.Context, t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, obj := range objs {
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
	}
}

// taskCreateGrant lets user create Tasks in namespace, and nothing else: the T2 attacker, who
// may create Tasks but was never granted the Agent.
func taskCreateGrant(namespace, user string) []client.Object {
	return []client.Object{
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: taskCreatorRole + "-" + user},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{kocpolicy.APIGroup}, Resources: []string{kocpolicy.TaskResource}, Verbs: []string{"create"}}},
		},
		roleBinding(namespace, taskCreatorRole+"-"+user, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: taskCreatorRole + "-" + user}, user),
	}
}

// useGrant binds a "use" ClusterRole to user in the Agent's namespace, as a platform team does.
func useGrant(agentNamespace, user, clusterRole string) client.Object {
	return roleBinding(agentNamespace, clusterRole+"-"+user, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole}, user)
}

func roleBinding(namespace, name string, ref rbacv1.RoleRef, user string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		RoleRef:    ref,
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
}

// createPastRBAC creates obj as c and returns the outcome once RBAC has let the request through
// to admission: nil, or the admission refusal. A fresh RoleBinding reaches the authorizer's cache
// asynchronously, so RBAC's own "forbidden" on the Task create is retried, on a condition with a
// bound, never with a sleep.
func createPastRBAC(ctx context.Context, c client.Client, obj client.Object, opts ...client.CreateOption) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = c.Create(ctx, obj.DeepCopyObject().(client.Object), opts...)
		return !isRBACDenial(last), nil
	})
	if err != nil {
		return fmt.Errorf("RBAC still refuses the create after waiting: %w", last)
	}
	return last
}

// isRBACDenial recognises the authorizer's refusal of the request itself, as opposed to the
// admission policy's refusal, which names the policy.
func isRBACDenial(err error) bool {
	return apierrors.IsForbidden(err) && !strings.Contains(err.Error(), "ValidatingAdmissionPolicy '")
}

func isPolicyRefusal(err error) bool {
	return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "ValidatingAdmissionPolicy '"+kocpolicy.DefaultAdmissionPolicyName+"'")
}

// policyRefusal returns the message of a refusal by the agent-use policy, or fails the test.
func policyRefusal(t testing.TB, err error) string {
	t.Helper()
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !isPolicyRefusal(err) {
		t.Fatalf("got %v; want a Forbidden refusal by ValidatingAdmissionPolicy %s", err, kocpolicy.DefaultAdmissionPolicyName)
	}
	return status.Status().Message
}

// waitForPolicyEnforced waits, bounded and on a condition, until the API server enforces the
// policy: a dry-run Task create by a user who may create Tasks but not use the Agent is refused by
// it. Policies are loaded asynchronously after they are created.
func waitForPolicyEnforced(ctx context.Context) error {
	const ns, user = "admission-probe", "probe-user"
	objs := append([]client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}}, taskCreateGrant(ns, user)...)
	for _, obj := range objs {
		if err := env.Client.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating probe %T: %w", obj, err)
		}
	}
	c, err := userClient(user)
	if err != nil {
		return err
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		last = c.Create(ctx, task(ns, "probe", "", "some-agent"), client.DryRunAll)
		return isPolicyRefusal(last), nil
	})
	if err != nil {
		return fmt.Errorf("the agent-use policy was not enforced within a minute; last dry-run create: %v", last)
	}
	return nil
}

// wantRefusal is the full API error text for a Task refused by the policy.
func wantRefusal(taskName, user, agentNamespace, agentName string) string {
	return fmt.Sprintf(`tasks.kubeopencode.io %q is forbidden: ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s`,
		taskName, kocpolicy.DefaultAdmissionPolicyName, kocpolicy.DefaultAdmissionPolicyName, refusal(user, agentNamespace, agentName))
}

// TestT2TaskCreatorWithoutUseIsRefused: Task create rights alone do not let a user run an Agent.
func TestT2TaskCreatorWithoutUseIsRefused(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	const user = "mallory"
	mustCreate(ctx, t, taskCreateGrant(ns, user)...)

	err := createPastRBAC(ctx, mustUserClient(t, user), task(ns, "t1", "", "coder"))
	if got, want := policyRefusal(t, err), wantRefusal("t1", user, ns, "coder"); got != want {
		t.Errorf("refusal:\n got %s\nwant %s", got, want)
	}
	assertNoTask(ctx, t, ns, "t1")
}

// TestT2UseGrantAdmitsTask: the same user, once bound to the generated ClusterRole in the Agent's
// namespace, gets the Task created.
func TestT2UseGrantAdmitsTask(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	const user = "alice"
	mustCreate(ctx, t, taskCreateGrant(ns, user)...)
	c := mustUserClient(t, user)
	policyRefusal(t, createPastRBAC(ctx, c, task(ns, "before", "", "coder"), client.DryRunAll))

	mustCreate(ctx, t, useGrant(ns, user, kocpolicy.DefaultAgentUserRoleName))
	// The binding reaches the authorizer asynchronously: wait until the refusal stops, bounded.
	var last error
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = c.Create(ctx, task(ns, "t1", "", "coder"))
		return !isPolicyRefusal(last) && !isRBACDenial(last), nil
	})
	if err != nil || last != nil {
		t.Fatalf("create with the use grant: %v (wait: %v)", last, err)
	}
	// A user-chosen agentRef.namespace equal to the Task's namespace is the same Agent.
	if err := c.Create(ctx, task(ns, "t2", ns, "coder")); err != nil {
		t.Errorf("create with explicit same-namespace agentRef: %v", err)
	}
}

// TestT2UseOnAnotherAgentIsRefused: a grant restricted (resourceNames) to one Agent does not
// cover another Agent in the same namespace.
func TestT2UseOnAnotherAgentIsRefused(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	const user = "bob"
	onlyReviewer := kocpolicy.AgentUserClusterRole(kocpolicy.AgentUserRoleOptions{Name: "use-reviewer-only-" + ns, AgentNames: []string{"reviewer"}})
	mustCreate(ctx, t, onlyReviewer)
	mustCreate(ctx, t, taskCreateGrant(ns, user)...)
	mustCreate(ctx, t, useGrant(ns, user, onlyReviewer.Name))
	c := mustUserClient(t, user)

	// Wait until the grant is effective for the Agent it names...
	var last error
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = c.Create(ctx, task(ns, "reviewer-task", "", "reviewer"))
		return !isPolicyRefusal(last) && !isRBACDenial(last), nil
	})
	if err != nil || last != nil {
		t.Fatalf("create for the granted Agent: %v (wait: %v)", last, err)
	}
	// ...then the other Agent is still refused.
	err = c.Create(ctx, task(ns, "coder-task", "", "coder"))
	if got, want := policyRefusal(t, err), wantRefusal("coder-task", user, ns, "coder"); got != want {
		t.Errorf("refusal:\n got %s\nwant %s", got, want)
	}
	assertNoTask(ctx, t, ns, "coder-task")
}

// TestT2CrossNamespaceUseIsCheckedInAgentNamespace: for agentRef.namespace B, "use" must be
// granted in B; a grant in the Task's own namespace A does not count.
func TestT2CrossNamespaceUseIsCheckedInAgentNamespace(t *testing.T) {
	ctx := context.Background()
	taskNS := env.Namespace(ctx, t)
	agentNS := env.Namespace(ctx, t)
	const user = "carol"
	mustCreate(ctx, t, taskCreateGrant(taskNS, user)...)
	mustCreate(ctx, t, useGrant(taskNS, user, kocpolicy.DefaultAgentUserRoleName)) // the wrong namespace
	c := mustUserClient(t, user)

	// The grant in taskNS is effective (a same-namespace Agent is admitted, dry run)...
	var last error
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = c.Create(ctx, task(taskNS, "local", "", "coder"), client.DryRunAll)
		return !isPolicyRefusal(last) && !isRBACDenial(last), nil
	})
	if err != nil || last != nil {
		t.Fatalf("same-namespace create with the grant: %v (wait: %v)", last, err)
	}
	// ...but does not reach the Agent in agentNS.
	err = c.Create(ctx, task(taskNS, "remote", agentNS, "coder"))
	if got, want := policyRefusal(t, err), wantRefusal("remote", user, agentNS, "coder"); got != want {
		t.Errorf("refusal:\n got %s\nwant %s", got, want)
	}
	assertNoTask(ctx, t, taskNS, "remote")

	// Granting use in agentNS admits it.
	mustCreate(ctx, t, useGrant(agentNS, user, kocpolicy.DefaultAgentUserRoleName))
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = c.Create(ctx, task(taskNS, "remote", agentNS, "coder"))
		return !isPolicyRefusal(last), nil
	})
	if err != nil || last != nil {
		t.Fatalf("cross-namespace create with the grant in the Agent's namespace: %v (wait: %v)", last, err)
	}
}

// TestT2TaskWithoutAgentRefIsRefused: a Task that names no Agent is never created. The CRD schema
// requires agentRef.name and refuses first; the policy's own check (AgentRefRequiredExpression)
// is the fail-closed backstop should the schema ever loosen.
func TestT2TaskWithoutAgentRefIsRefused(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	const user = "dave"
	mustCreate(ctx, t, taskCreateGrant(ns, user)...)
	mustCreate(ctx, t, useGrant(ns, user, kocpolicy.DefaultAgentUserRoleName))
	noRef := task(ns, "no-ref", "", "")
	unstructured.RemoveNestedField(noRef.Object, "spec", "agentRef")

	err := createPastRBAC(ctx, mustUserClient(t, user), noRef)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.agentRef") {
		t.Fatalf("create without agentRef: %v; want Invalid naming spec.agentRef", err)
	}
	assertNoTask(ctx, t, ns, "no-ref")
}

// TestT2AdminIsNotRefused: cluster admins (system:masters) are authorized for everything,
// "use" included, so the policy does not get in the platform team's way.
func TestT2AdminIsNotRefused(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	if err := env.Client.Create(ctx, task(ns, "t1", "", "coder")); err != nil {
		t.Fatalf("admin create: %v", err)
	}
}

func assertNoTask(ctx context.Context, t testing.TB, namespace, name string) {
	t.Helper()
	got := task(namespace, name, "", "x")
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(got), got); !apierrors.IsNotFound(err) {
		t.Errorf("Task %s/%s exists after the refusal (get: %v)", namespace, name, err)
	}
}
