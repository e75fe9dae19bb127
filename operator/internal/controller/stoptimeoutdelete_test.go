package controller_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TestT5StopTimeoutDelete: stopping a Task (annotation), its timeout and its deletion remove the
// agent Pod wherever it runs, in the Task's own namespace and in another one (deletion: the
// finalizer across namespaces, the garbage collector through the owner reference in the same
// namespace).
func TestT5StopTimeoutDelete(t *testing.T) {
	ctx := context.Background()
	agentNS := env.Namespace(ctx, t)
	team := env.Namespace(ctx, t)
	ag := agent(agentNS, "agent", func(a *v1alpha1.Agent) { a.Spec.AllowedNamespaces = []string{team} })
	create(t, ag)
	startOperator(t, []string{agentNS, team})

	for _, where := range []struct{ name, ns string }{{"same namespace", agentNS}, {"other namespace", team}} {
		t.Run("stop, "+where.name, func(t *testing.T) {
			tk := task(where.ns, "stop", agentNS, ag.Name)
			create(t, tk)
			pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
			if where.ns == agentNS && len(pod.OwnerReferences) != 1 {
				t.Errorf("a same-namespace Pod has owner references %v, want the Task", pod.OwnerReferences)
			}
			stopTask(t, tk)
			got := waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
			waitGone(t, pod)
			if c := succeeded(got); c.Reason != v1alpha1.ReasonStopped {
				t.Errorf("Succeeded reason %s, want %s", c.Reason, v1alpha1.ReasonStopped)
			}
			if !meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionStopped) {
				t.Errorf("no Stopped condition: %v", got.Status.Conditions)
			}
			waitEvent(t, got, v1alpha1.ReasonStopped)
		})

		t.Run("timeout, "+where.name, func(t *testing.T) {
			tk := task(where.ns, "timeout", agentNS, ag.Name, func(tk *v1alpha1.Task) {
				tk.Spec.Timeout = &metav1.Duration{Duration: 2 * time.Second}
			})
			create(t, tk)
			pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
			if d := pod.Spec.ActiveDeadlineSeconds; d == nil || *d != 2 {
				t.Errorf("activeDeadlineSeconds = %v, want 2", d)
			}
			setPodStatus(t, pod, phase(corev1.PodRunning))
			got := waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
			waitGone(t, pod)
			if c := succeeded(got); c.Reason != v1alpha1.ReasonTimedOut {
				t.Errorf("Succeeded reason %s (%s), want %s", c.Reason, c.Message, v1alpha1.ReasonTimedOut)
			}
			waitEvent(t, got, v1alpha1.ReasonTimedOut)
		})

		t.Run("delete, "+where.name, func(t *testing.T) {
			tk := task(where.ns, "delete", agentNS, ag.Name)
			create(t, tk)
			got := waitPhase(t, tk, v1alpha1.TaskPhaseRunning)
			pod := waitPod(t, got)
			if where.ns == agentNS {
				// Same namespace: no finalizer. The Pod's controller owner reference lets the
				// garbage collector delete it with the Task; envtest runs none, e2e scenario 3
				// proves a real one does.
				if len(got.Finalizers) != 0 {
					t.Errorf("finalizers %v on a same-namespace Task, want none", got.Finalizers)
				}
				assertOwnedByTask(t, pod, got)
				if err := env.Client.Delete(ctx, got); err != nil {
					t.Fatal(err)
				}
				waitGone(t, got)
				if err := env.Client.Delete(ctx, pod); err != nil { // the garbage collector's part
					t.Fatal(err)
				}
				waitGone(t, pod)
				return
			}
			if len(got.Finalizers) != 1 || got.Finalizers[0] != "kubeopencode.io/cleanup" {
				t.Errorf("finalizers %v, want the operator's", got.Finalizers)
			}
			if err := env.Client.Delete(ctx, got); err != nil {
				t.Fatal(err)
			}
			waitGone(t, pod)
			waitGone(t, got)
		})
	}
}
