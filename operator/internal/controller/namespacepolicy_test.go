package controller_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TestT1NamespacePolicy: a Task from namespace A may use an Agent in namespace B only if B's
// allowedNamespaces matches A (empty: B only; "*": all). A refusal is a Failed Task with reason
// NamespaceNotAllowed and an Event, creates no Pod and does not disclose B's patterns; the policy
// is checked again when a queued Task starts.
func TestT1NamespacePolicy(t *testing.T) {
	ctx := context.Background()
	agentNS := env.Namespace(ctx, t)
	teamA := env.Namespace(ctx, t)
	teamB := env.Namespace(ctx, t)
	// A secret-looking pattern that must never reach a refused Task's author.
	const secretPattern = "confidential-partner-*"

	cases := []struct {
		name    string
		allowed []string
		taskNS  string
		want    bool
	}{
		{name: "same namespace, empty list", taskNS: agentNS, want: true},
		{name: "other namespace, empty list", taskNS: teamA, want: false},
		{name: "other namespace, exact name", allowed: []string{teamA}, taskNS: teamA, want: true},
		{name: "other namespace, glob", allowed: []string{teamA[:len(teamA)-3] + "*"}, taskNS: teamA, want: true},
		{name: "other namespace, not matched", allowed: []string{teamA, secretPattern}, taskNS: teamB, want: false},
		{name: "other namespace, star", allowed: []string{"*"}, taskNS: teamB, want: true},
		{name: "own namespace, list without it", allowed: []string{teamA}, taskNS: agentNS, want: true},
	}
	startOperator(t, []string{agentNS, teamA, teamB})
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ag := agent(agentNS, "agent-"+string(rune('a'+i)), func(a *v1alpha1.Agent) { a.Spec.AllowedNamespaces = tc.allowed })
			create(t, ag)
			tk := task(tc.taskNS, ag.Name, agentNS, ag.Name)
			create(t, tk)
			if tc.want {
				got := waitPhase(t, tk, v1alpha1.TaskPhaseRunning)
				pod := waitPod(t, got)
				if pod.Namespace != agentNS {
					t.Errorf("Pod runs in %q, want the Agent's namespace %q", pod.Namespace, agentNS)
				}
				if c := succeeded(got); c.Reason != v1alpha1.ReasonPodCreated {
					t.Errorf("Succeeded condition reason %s, want %s", c.Reason, v1alpha1.ReasonPodCreated)
				}
				return
			}
			got := waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
			c := succeeded(got)
			if c.Reason != v1alpha1.ReasonNamespaceNotAllowed || c.Status != metav1.ConditionFalse {
				t.Errorf("Succeeded condition = %s/%s, want False/%s", c.Status, c.Reason, v1alpha1.ReasonNamespaceNotAllowed)
			}
			ev := waitEvent(t, got, v1alpha1.ReasonNamespaceNotAllowed)
			for _, text := range []string{c.Message, ev.Note} {
				if strings.Contains(text, secretPattern) || strings.Contains(text, "confidential") {
					t.Errorf("the refusal discloses the Agent's patterns: %q", text)
				}
			}
			if pods := podsOf(t, got); len(pods) != 0 {
				t.Errorf("a refused Task got %d Pods", len(pods))
			}
		})
	}

	t.Run("re-checked when a queued Task starts", func(t *testing.T) {
		ag := agent(agentNS, "limited", func(a *v1alpha1.Agent) {
			a.Spec.AllowedNamespaces = []string{teamA}
			a.Spec.MaxConcurrentTasks = ptr.To[int32](1)
		})
		create(t, ag)
		first := task(teamA, "first", agentNS, ag.Name)
		create(t, first)
		first = waitPhase(t, first, v1alpha1.TaskPhaseRunning)
		second := task(teamA, "second", agentNS, ag.Name)
		create(t, second)
		waitPhase(t, second, v1alpha1.TaskPhaseQueued)
		waitEvent(t, second, v1alpha1.ReasonMaxConcurrentTasks)

		// The platform team withdraws the invitation while the second Task waits.
		mutate(t, ag.DeepCopy(), func(a *v1alpha1.Agent) { a.Spec.AllowedNamespaces = []string{teamB} })
		setPodStatus(t, waitPod(t, first), phase(corev1.PodSucceeded))
		waitPhase(t, first, v1alpha1.TaskPhaseCompleted)
		got := waitPhase(t, second, v1alpha1.TaskPhaseFailed)
		if c := succeeded(got); c.Reason != v1alpha1.ReasonNamespaceNotAllowed {
			t.Errorf("queued Task failed with %s (%s), want %s", c.Reason, c.Message, v1alpha1.ReasonNamespaceNotAllowed)
		}
		if pods := podsOf(t, got); len(pods) != 0 {
			t.Errorf("the uninvited queued Task got %d Pods", len(pods))
		}
	})
}
