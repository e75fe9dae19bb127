package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/podspec"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
	"github.com/kubeopencode/kubeopencode/rbac"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// The tests in this file are the escapes of threat T18, each tried with nothing but what a
// generated persona grants: a task author (kubeopencode-task-author in the team namespace,
// kubeopencode-agent-user in the Agent's) who wants an agent Pod to outlive its Task, and so run
// past maxConcurrentTasks without bound. The admission policy that guards the finalizer is not
// enforced here (withoutFinalizerGuard): the operator must be correct without it.

// withoutFinalizerGuard deletes the binding of the admission policy that refuses removing the
// cleanup finalizer (installed by TestMain with the other shipped policies) for the rest of the
// test, so the operator is shown to keep T18 without it (a cluster administrator bypasses it, or
// it is not installed). At the end the binding is restored, and the test waits until the API
// server enforces it again: a server-side dry-run removal of the finalizer of *probe (a Task
// that carries it then) by c is refused.
func withoutFinalizerGuard(t *testing.T, c client.Client, probe **v1alpha1.Task) {
	t.Helper()
	ctx := context.Background()
	b := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: kocpolicy.DefaultFinalizerGuardPolicyName}, b); err != nil {
		t.Fatalf("reading the finalizer guard's binding: %v", err)
	}
	if err := env.Client.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		restored := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: b.Name, Labels: b.Labels, Annotations: b.Annotations}, Spec: b.Spec}
		if err := env.Client.Create(context.Background(), restored); err != nil {
			t.Errorf("restoring the finalizer guard's binding: %v", err)
			return
		}
		strip := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
		err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			tk := *probe
			err := c.Patch(ctx, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: tk.Namespace, Name: tk.Name}}, strip, client.DryRunAll)
			return err != nil && strings.Contains(err.Error(), kocpolicy.DefaultFinalizerGuardPolicyName), nil
		})
		if err != nil {
			t.Errorf("the restored finalizer guard is not enforced: %v", err)
		}
	})
}

// stripFinalizer removes every finalizer of the Task as c, retrying while the API server still
// enforces a just-deleted finalizer guard (its admission plugin notices asynchronously).
func stripFinalizer(t *testing.T, c client.Client, tk *v1alpha1.Task) {
	t.Helper()
	strip := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = c.Patch(ctx, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: tk.Namespace, Name: tk.Name}}, strip)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("stripping the finalizer of Task %s (allowed by the task-author role): %v", tk.Name, last)
	}
}

// taskAuthor binds user to the generated task-author persona in team and to agent-user in the
// Agent's namespace, and returns a client impersonating the user.
func taskAuthor(t *testing.T, user, team, agentNS string) client.Client {
	t.Helper()
	ctx := context.Background()
	for _, p := range []kocrbac.Persona{kocrbac.PersonaTaskAuthor, kocrbac.PersonaAgentUser} {
		role, err := kocrbac.PersonaClusterRole(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Client.Create(ctx, role); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	bind := func(ns string, p kocrbac.Persona) {
		b, err := rbac.RoleBinding(rbac.BindingSpec{Name: string(p) + "-" + user, Namespace: ns,
			RoleRef: rbac.RoleRefToClusterRole(p.RoleName()), Subjects: []rbacv1.Subject{rbac.UserSubject(user)}})
		if err != nil {
			t.Fatal(err)
		}
		create(t, b)
	}
	bind(team, kocrbac.PersonaTaskAuthor)
	bind(agentNS, kocrbac.PersonaAgentUser)
	return impersonate(t, user)
}

func impersonate(t *testing.T, user string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runningPods lists the Pods of the Agent (by the agent label) in its namespace that may still
// run: not finished and not being deleted.
func runningPods(ctx context.Context, ns, agentName string) ([]corev1.Pod, error) {
	pods := &corev1.PodList{}
	if err := env.Client.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{v1alpha1.AgentLabel: agentName}); err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out, nil
}

// atMostRunning fails the test if the Agent ever has more than limit running Pods during d.
func atMostRunning(t *testing.T, d time.Duration, ns, agentName string, limit int) {
	t.Helper()
	consistently(t, d, fmt.Sprintf("Agent %s/%s runs at most %d Pods", ns, agentName, limit), func(ctx context.Context) (bool, error) {
		pods, err := runningPods(context.Background(), ns, agentName)
		if err != nil {
			return false, err
		}
		if len(pods) > limit {
			return false, fmt.Errorf("%d running Pods", len(pods))
		}
		return true, nil
	})
}

// waitPodGoing waits until the Pod is deleted or being deleted.
func waitPodGoing(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	eventually(t, 30*time.Second, "Pod "+pod.Name+" to be deleted", func(ctx context.Context) (bool, error) {
		cur := &corev1.Pod{}
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(pod), cur)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return err == nil && (cur.UID != pod.UID || cur.DeletionTimestamp != nil), err
	})
}

// limitedAgent is an Agent with maxConcurrentTasks 1 that invites team, with a Text context so
// each Task also gets a context ConfigMap.
func limitedAgent(agentNS, team string) *v1alpha1.Agent {
	return agent(agentNS, "agent", func(a *v1alpha1.Agent) {
		a.Spec.AllowedNamespaces = []string{team}
		a.Spec.MaxConcurrentTasks = ptr.To[int32](1)
	})
}

func withTextContext(tk *v1alpha1.Task) {
	tk.Spec.Contexts = []v1alpha1.ContextItem{{Type: v1alpha1.ContextTypeText, Name: "notes", Text: "remember the tests"}}
}

// contextConfigMaps lists the operator's ConfigMaps carrying the Task's UID, in every namespace.
func contextConfigMaps(t *testing.T, uid types.UID) []corev1.ConfigMap {
	t.Helper()
	list := &corev1.ConfigMapList{}
	if err := env.Client.List(context.Background(), list, client.MatchingLabels{v1alpha1.TaskUIDLabel: string(uid)}); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// TestT18FinalizerStrippedPodStillGoes: escape 1. A task author removes kubeopencode.io/cleanup
// from a cross-namespace Task and deletes it. The Task vanishes at once, but the operator finds
// the Pod and the context ConfigMap by the Task's UID label, sees that UID no longer exists and
// deletes them; the next Task waits for the slot until the Pod is going, so the Agent never runs
// two Pods.
func TestT18FinalizerStrippedPodStillGoes(t *testing.T) {
	ctx := context.Background()
	agentNS, team := env.Namespace(ctx, t), env.Namespace(ctx, t)
	create(t, limitedAgent(agentNS, team))
	mallory := taskAuthor(t, "mallory", team, agentNS)
	var probe *v1alpha1.Task // the second Task, which carries the finalizer at the end
	withoutFinalizerGuard(t, mallory, &probe)
	startOperator(t, []string{agentNS, team})

	first := task(team, "first", agentNS, "agent", withTextContext)
	if err := mallory.Create(ctx, first); err != nil {
		t.Fatalf("mallory creating a Task: %v", err)
	}
	pod := waitPod(t, waitPhase(t, first, v1alpha1.TaskPhaseRunning))
	if cms := contextConfigMaps(t, first.UID); len(cms) != 1 {
		t.Fatalf("context ConfigMaps: %d, want 1", len(cms))
	}

	stripFinalizer(t, mallory, first)
	if err := mallory.Delete(ctx, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: first.Name}}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, first)
	second := task(team, "second", agentNS, "agent")
	if err := mallory.Create(ctx, second); err != nil {
		t.Fatal(err)
	}
	probe = second
	waitPodGoing(t, pod)
	eventually(t, 30*time.Second, "the context ConfigMap of the deleted Task to go", func(context.Context) (bool, error) {
		return len(contextConfigMaps(t, first.UID)) == 0, nil
	})
	waitPhase(t, second, v1alpha1.TaskPhaseRunning)
	atMostRunning(t, 2*time.Second, agentNS, "agent", 1)
}

// TestT18OrphanDeletePodStillGoes: escape 2. A task author deletes a same-namespace Task with
// propagationPolicy Orphan: the garbage collector would strip the Pod's owner reference and keep
// it running. The operator deletes the Pod while the Task is being deleted, and keeps the slot
// held until then. (envtest runs no garbage collector: the test plays its part; e2e scenario 3
// does it with a real one.)
func TestT18OrphanDeletePodStillGoes(t *testing.T) {
	ctx := context.Background()
	agentNS := env.Namespace(ctx, t)
	create(t, limitedAgent(agentNS, agentNS))
	mallory := taskAuthor(t, "mallory", agentNS, agentNS)
	startOperator(t, []string{agentNS})

	first := task(agentNS, "first", agentNS, "agent", withTextContext)
	if err := mallory.Create(ctx, first); err != nil {
		t.Fatal(err)
	}
	pod := waitPod(t, waitPhase(t, first, v1alpha1.TaskPhaseRunning))
	second := task(agentNS, "second", agentNS, "agent")
	if err := mallory.Create(ctx, second); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, second, v1alpha1.TaskPhaseQueued)

	if err := mallory.Delete(ctx, first, client.PropagationPolicy(metav1.DeletePropagationOrphan)); err != nil {
		t.Fatalf("mallory deleting with --cascade=orphan: %v", err)
	}
	waitPodGoing(t, pod)
	playGarbageCollectorOrphaning(t, first)
	waitPhase(t, second, v1alpha1.TaskPhaseRunning)
	atMostRunning(t, 2*time.Second, agentNS, "agent", 1)
	eventually(t, 30*time.Second, "the orphaned context ConfigMap to go", func(context.Context) (bool, error) {
		return len(contextConfigMaps(t, first.UID)) == 0, nil
	})
}

// playGarbageCollectorOrphaning does what the garbage collector does for an orphan deletion:
// it strips the owner references to the Task from its dependents and removes the orphan
// finalizer, so the Task goes.
func playGarbageCollectorOrphaning(t *testing.T, tk *v1alpha1.Task) {
	t.Helper()
	ctx := context.Background()
	for _, cm := range contextConfigMaps(t, tk.UID) {
		cm := cm
		mutate(t, &cm, func(c *corev1.ConfigMap) { c.OwnerReferences = nil })
	}
	for _, p := range podsOf(t, tk) {
		p := p
		if p.DeletionTimestamp == nil {
			mutate(t, &p, func(p *corev1.Pod) { p.OwnerReferences = nil })
		}
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := &v1alpha1.Task{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tk), cur); err != nil {
			return client.IgnoreNotFound(err)
		}
		cur.Finalizers = nil
		return env.Client.Update(ctx, cur)
	})
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, tk)
}

// TestT18OrphanFoundAtStart: escape 2 while the operator is down. The garbage collector orphans
// the running Pod and the Task is gone before the operator runs again; at start, before it
// admits anything, the operator deletes that Pod and its context ConfigMap.
func TestT18OrphanFoundAtStart(t *testing.T) {
	ctx := context.Background()
	agentNS := env.Namespace(ctx, t)
	create(t, limitedAgent(agentNS, agentNS))
	mallory := taskAuthor(t, "mallory", agentNS, agentNS)
	op := startOperator(t, []string{agentNS})

	first := task(agentNS, "first", agentNS, "agent", withTextContext)
	if err := mallory.Create(ctx, first); err != nil {
		t.Fatal(err)
	}
	pod := waitPod(t, waitPhase(t, first, v1alpha1.TaskPhaseRunning))
	op.stop(t)
	if err := mallory.Delete(ctx, first, client.PropagationPolicy(metav1.DeletePropagationOrphan)); err != nil {
		t.Fatal(err)
	}
	playGarbageCollectorOrphaning(t, first)
	second := task(agentNS, "second", agentNS, "agent")
	if err := mallory.Create(ctx, second); err != nil {
		t.Fatal(err)
	}

	startOperator(t, []string{agentNS})
	waitPodGoing(t, pod)
	waitPhase(t, second, v1alpha1.TaskPhaseRunning)
	atMostRunning(t, 2*time.Second, agentNS, "agent", 1)
	eventually(t, 30*time.Second, "the orphaned context ConfigMap to go", func(context.Context) (bool, error) {
		return len(contextConfigMaps(t, first.UID)) == 0, nil
	})
}

// TestT18ForgedFinalStatus: escape 3. Whoever may write tasks/status (no shipped persona; an
// aggregated admin role often can) sets phase Completed while the Pod runs. The operator checks
// the claim against the Pod: it deletes the Pod, corrects the status to Failed with reason
// InconsistentStatus and an Event, and keeps the slot until the Pod is going.
func TestT18ForgedFinalStatus(t *testing.T) {
	ctx := context.Background()
	agentNS, team := env.Namespace(ctx, t), env.Namespace(ctx, t)
	create(t, limitedAgent(agentNS, team))
	mallory := taskAuthor(t, "mallory", team, agentNS)
	create(t,
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "status-writer"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{v1alpha1.GroupVersion.Group}, Resources: []string{"tasks", "tasks/status"}, Verbs: []string{"get", "update"}}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: team, Name: "status-writer"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "status-writer"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"}}})
	startOperator(t, []string{agentNS, team})

	first := task(team, "first", agentNS, "agent")
	if err := mallory.Create(ctx, first); err != nil {
		t.Fatal(err)
	}
	pod := waitPod(t, waitPhase(t, first, v1alpha1.TaskPhaseRunning))
	second := task(team, "second", agentNS, "agent")
	if err := mallory.Create(ctx, second); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, second, v1alpha1.TaskPhaseQueued)

	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := &v1alpha1.Task{}
		if err := mallory.Get(ctx, client.ObjectKeyFromObject(first), cur); err != nil {
			return err
		}
		cur.Status.Phase = v1alpha1.TaskPhaseCompleted
		return mallory.Status().Update(ctx, cur)
	})
	if err != nil {
		t.Fatalf("forging status.phase: %v", err)
	}
	waitPodGoing(t, pod)
	got := waitTask(t, first, "corrected", func(tk *v1alpha1.Task) bool {
		return succeeded(tk).Reason == v1alpha1.ReasonInconsistentStatus
	})
	if got.Status.Phase != v1alpha1.TaskPhaseFailed {
		t.Errorf("phase %s after the correction, want Failed", got.Status.Phase)
	}
	waitEvent(t, got, v1alpha1.ReasonInconsistentStatus)
	waitPhase(t, second, v1alpha1.TaskPhaseRunning)
	atMostRunning(t, 2*time.Second, agentNS, "agent", 1)
}

// TestT18DeleteAndRecreateSameName: a task author strips the finalizer, deletes the Task and at
// once creates another of the same name. The old Pod (old UID) goes, the new Task gets its own
// Pod, and the Agent never runs two.
func TestT18DeleteAndRecreateSameName(t *testing.T) {
	ctx := context.Background()
	agentNS, team := env.Namespace(ctx, t), env.Namespace(ctx, t)
	create(t, limitedAgent(agentNS, team))
	mallory := taskAuthor(t, "mallory", team, agentNS)
	var probe *v1alpha1.Task // the renewed Task, which carries the finalizer at the end
	withoutFinalizerGuard(t, mallory, &probe)
	startOperator(t, []string{agentNS, team})

	old := task(team, "again", agentNS, "agent")
	if err := mallory.Create(ctx, old); err != nil {
		t.Fatal(err)
	}
	oldPod := waitPod(t, waitPhase(t, old, v1alpha1.TaskPhaseRunning))
	stripFinalizer(t, mallory, old)
	if err := mallory.Delete(ctx, old.DeepCopy()); err != nil {
		t.Fatal(err)
	}
	waitGone(t, old)
	renewed := task(team, "again", agentNS, "agent")
	if err := mallory.Create(ctx, renewed); err != nil {
		t.Fatal(err)
	}
	probe = renewed
	waitPodGoing(t, oldPod)
	newPod := waitPod(t, waitPhase(t, renewed, v1alpha1.TaskPhaseRunning))
	if newPod.UID == oldPod.UID || newPod.Labels[v1alpha1.TaskUIDLabel] != string(renewed.UID) {
		t.Errorf("the new Task's Pod %s (task UID %s) is not its own", newPod.Name, newPod.Labels[v1alpha1.TaskUIDLabel])
	}
	atMostRunning(t, 2*time.Second, agentNS, "agent", 1)
}

// TestT18LeavesPodsItDidNotCreate: a Pod another controller built with the podspec library
// carries KubeOpenCode's labels (managed-by, a task UID that is no Task of this cluster) but not
// the operator's mark: the ownership controller never deletes it, neither while running nor at
// start.
func TestT18LeavesPodsItDidNotCreate(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	pod, err := podspec.Build(podspec.Spec{
		Identity:   podspec.Identity{OwnerUID: string(uuid.NewUUID()), OwnerName: "sandbox", GroupName: "agent"},
		Namespace:  ns,
		AgentImage: "example.com/agent:1", ExecutorImage: "example.com/executor:1",
		Command: []string{"/tools/opencode", "run", "hello"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Labels[v1alpha1.ManagedByLabel] != v1alpha1.ManagedByValue || pod.Labels[v1alpha1.CreatedByLabel] != "" {
		t.Fatalf("a library-built Pod has labels %v", pod.Labels)
	}
	create(t, pod)
	startOperator(t, []string{ns})
	consistently(t, 3*time.Second, "the library-built Pod is left alone", func(ctx context.Context) (bool, error) {
		cur := &corev1.Pod{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pod), cur); err != nil {
			return false, err
		}
		return cur.UID == pod.UID && cur.DeletionTimestamp == nil, nil
	})
}
