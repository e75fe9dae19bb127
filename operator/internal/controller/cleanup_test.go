package controller_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TestCleanup: KubeOpenCodeConfig cleanup deletes finished Tasks (their Pods go with them: the
// garbage collector in the same namespace, the finalizer across namespaces): ttlSecondsAfterFinished after completion, maxRetainedTasks oldest first.
func TestCleanup(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	cfg := &v1alpha1.KubeOpenCodeConfig{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.ConfigName},
		Spec: v1alpha1.KubeOpenCodeConfigSpec{Cleanup: &v1alpha1.CleanupConfig{TTLSecondsAfterFinished: ptr.To[int32](1)}}}
	create(t, cfg)
	t.Cleanup(func() {
		if err := env.Client.Delete(ctx, cfg); client.IgnoreNotFound(err) != nil {
			t.Error(err)
		}
	})
	startOperator(t, []string{ns})
	ag := agent(ns, "agent")
	create(t, ag)
	run := func(t *testing.T, name string) (*v1alpha1.Task, *corev1.Pod) {
		tk := task(ns, name, ns, ag.Name)
		create(t, tk)
		pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
		setPodStatus(t, pod, phase(corev1.PodSucceeded))
		return waitPhase(t, tk, v1alpha1.TaskPhaseCompleted), pod
	}

	t.Run("Ready", func(t *testing.T) {
		eventually(t, 30*time.Second, "KubeOpenCodeConfig Ready", func(ctx context.Context) (bool, error) {
			cur := &v1alpha1.KubeOpenCodeConfig{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cfg), cur); err != nil {
				return false, err
			}
			return meta.IsStatusConditionTrue(cur.Status.Conditions, v1alpha1.ConditionReady) && cur.Status.ObservedGeneration == cur.Generation, nil
		})
	})

	t.Run("ttlSecondsAfterFinished", func(t *testing.T) {
		// Completion times have a resolution of a second, so the Task may be gone before it is
		// seen Completed; the TTL applies only to finished Tasks, so it finished.
		tk := task(ns, "ttl", ns, ag.Name)
		create(t, tk)
		running := waitPhase(t, tk, v1alpha1.TaskPhaseRunning)
		pod := waitPod(t, running)
		assertOwnedByTask(t, pod, running) // the garbage collector deletes it with the Task
		setPodStatus(t, pod, phase(corev1.PodSucceeded))
		waitGone(t, tk)
	})

	t.Run("maxRetainedTasks", func(t *testing.T) {
		mutate(t, cfg.DeepCopy(), func(c *v1alpha1.KubeOpenCodeConfig) {
			c.Spec.Cleanup = &v1alpha1.CleanupConfig{MaxRetainedTasks: ptr.To[int32](1)}
		})
		var done []*v1alpha1.Task
		// Completion times have a resolution of a second; ties are broken by name.
		for _, name := range []string{"a-oldest", "b-older", "c-newest"} {
			tk, _ := run(t, name)
			done = append(done, tk)
		}
		waitGone(t, done[0])
		waitGone(t, done[1])
		if !exists(t, &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "c-newest"}}) {
			t.Error("the newest finished Task was deleted")
		}
	})
}

// TestAgentReady: the Agent reconciler reports Ready with a reason and touches nothing but the
// Agent's status.
func TestAgentReady(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	startOperator(t, []string{ns})
	ag := agent(ns, "agent")
	create(t, ag)
	ready := func(status metav1.ConditionStatus, reason string) *v1alpha1.Agent {
		t.Helper()
		cur := &v1alpha1.Agent{}
		eventually(t, 30*time.Second, "Ready "+string(status), func(ctx context.Context) (bool, error) {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ag), cur); err != nil {
				return false, err
			}
			for _, c := range cur.Status.Conditions {
				if c.Type == v1alpha1.ConditionReady {
					return c.Status == status && c.Reason == reason && c.ObservedGeneration == cur.Generation &&
						cur.Status.ObservedGeneration == cur.Generation, nil
				}
			}
			return false, nil
		})
		return cur
	}
	got := ready(metav1.ConditionTrue, v1alpha1.ReasonValid)
	if got.Generation != 1 || len(got.Finalizers) > 0 || len(got.OwnerReferences) > 0 || len(got.Labels) > 0 || len(got.Annotations) > 0 {
		t.Errorf("the operator changed the Agent's spec or metadata: generation %d, finalizers %v, owners %v, labels %v, annotations %v",
			got.Generation, got.Finalizers, got.OwnerReferences, got.Labels, got.Annotations)
	}
	mutate(t, got, func(a *v1alpha1.Agent) { a.Spec.Config = "not json" })
	ready(metav1.ConditionFalse, v1alpha1.ReasonInvalidConfiguration)
	got = ready(metav1.ConditionFalse, v1alpha1.ReasonInvalidConfiguration)
	mutate(t, got, func(a *v1alpha1.Agent) { a.Spec.Config = `{"model":"anthropic/claude"}` })
	ready(metav1.ConditionTrue, v1alpha1.ReasonValid)
}
