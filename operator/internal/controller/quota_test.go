package controller_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TestQuotaSlidingWindow: quota.maxTaskStarts per windowSeconds counts starts across
// namespaces; a Task over quota is Queued with reason QuotaExceeded (and an Event) even though
// the earlier Tasks already finished, and starts once the window has moved on.
func TestQuotaSlidingWindow(t *testing.T) {
	ctx := context.Background()
	agentNS := env.Namespace(ctx, t)
	teamA, teamB := env.Namespace(ctx, t), env.Namespace(ctx, t)
	const window = 3 * time.Second
	ag := agent(agentNS, "agent", func(a *v1alpha1.Agent) {
		a.Spec.AllowedNamespaces = []string{teamA, teamB}
		a.Spec.Quota = &v1alpha1.QuotaConfig{MaxTaskStarts: 2, WindowSeconds: int32(window / time.Second)}
	})
	create(t, ag)
	startOperator(t, []string{agentNS, teamA, teamB})

	first, second := task(teamA, "first", agentNS, ag.Name), task(teamB, "second", agentNS, ag.Name)
	create(t, first, second)
	var started []*corev1.Pod
	for _, tk := range []*v1alpha1.Task{first, second} {
		pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
		started = append(started, pod)
		setPodStatus(t, pod, phase(corev1.PodSucceeded))
		waitPhase(t, tk, v1alpha1.TaskPhaseCompleted)
	}
	third := task(teamA, "third", agentNS, ag.Name)
	create(t, third)
	got := waitPhase(t, third, v1alpha1.TaskPhaseQueued)
	if c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionQueued); c == nil || c.Reason != v1alpha1.ReasonQuotaExceeded {
		t.Errorf("Queued condition %+v, want reason %s", c, v1alpha1.ReasonQuotaExceeded)
	}
	waitEvent(t, got, v1alpha1.ReasonQuotaExceeded)
	pod := waitPod(t, waitPhase(t, third, v1alpha1.TaskPhaseRunning))
	// Creation times have a resolution of a second.
	if gap := pod.CreationTimestamp.Sub(started[0].CreationTimestamp.Time); gap < window-time.Second {
		t.Errorf("the third Task started %s after the first, within the %s window", gap, window)
	}
}
