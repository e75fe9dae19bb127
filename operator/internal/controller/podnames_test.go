package controller_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/podspec"
)

// TestT4NamesFromUID: two tenants' Tasks with the same name on one Agent get distinct Pods whose
// names derive from the Task UID and whose labels name their own Task; finishing one does not
// touch the other; and an object already sitting at a Task's Pod name is never adopted or
// deleted.
func TestT4NamesFromUID(t *testing.T) {
	ctx := context.Background()
	agentNS := env.Namespace(ctx, t)
	teamA := env.Namespace(ctx, t)
	teamB := env.Namespace(ctx, t)
	ag := agent(agentNS, "shared", func(a *v1alpha1.Agent) { a.Spec.AllowedNamespaces = []string{teamA, teamB} })
	create(t, ag)

	// Objects squatting at the Pod names of two Tasks, created before the operator runs: one
	// claims to belong to another Task (a foreign UID label), one has no labels at all.
	squatted := map[string]*v1alpha1.Task{
		"claims-another-task": task(teamA, "squatted-labelled", agentNS, ag.Name),
		"unlabelled":          task(teamB, "squatted-plain", agentNS, ag.Name),
	}
	squatters := map[string]*corev1.Pod{}
	for kind, tk := range squatted {
		create(t, tk)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: agentNS, Name: podspec.DNSLabel(tk.Name, string(tk.UID))},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.com/other:1"}}},
		}
		if kind == "claims-another-task" {
			pod.Labels = map[string]string{v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue,
				v1alpha1.TaskUIDLabel: "11111111-2222-3333-4444-555555555555", v1alpha1.TaskNamespaceLabel: teamA, v1alpha1.TaskNameLabel: tk.Name}
		}
		create(t, pod)
		squatters[kind] = pod
	}

	startOperator(t, []string{agentNS, teamA, teamB})

	t.Run("same name in two namespaces", func(t *testing.T) {
		a := task(teamA, "fix-it", agentNS, ag.Name)
		b := task(teamB, "fix-it", agentNS, ag.Name)
		create(t, a, b)
		a, b = waitPhase(t, a, v1alpha1.TaskPhaseRunning), waitPhase(t, b, v1alpha1.TaskPhaseRunning)
		podA, podB := waitPod(t, a), waitPod(t, b)
		if podA.Name == podB.Name {
			t.Fatalf("both Tasks got Pod %q", podA.Name)
		}
		for _, c := range []struct {
			tk  *v1alpha1.Task
			pod *corev1.Pod
		}{{a, podA}, {b, podB}} {
			want := map[string]string{
				v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue, v1alpha1.TaskUIDLabel: string(c.tk.UID),
				v1alpha1.TaskNamespaceLabel: c.tk.Namespace, v1alpha1.TaskNameLabel: c.tk.Name, v1alpha1.AgentLabel: ag.Name,
			}
			for k, v := range want {
				if c.pod.Labels[k] != v {
					t.Errorf("Pod %s label %s = %q, want %q", c.pod.Name, k, c.pod.Labels[k], v)
				}
			}
			if wantName := podspec.DNSLabel(c.tk.Name, string(c.tk.UID)); c.pod.Name != wantName {
				t.Errorf("Pod name %q, want %q (derived from the Task UID)", c.pod.Name, wantName)
			}
			if c.pod.Namespace != agentNS {
				t.Errorf("Pod namespace %q, want %q", c.pod.Namespace, agentNS)
			}
		}
		setPodStatus(t, podA, phase(corev1.PodSucceeded))
		waitPhase(t, a, v1alpha1.TaskPhaseCompleted)
		if got := waitPhase(t, b, v1alpha1.TaskPhaseRunning); got.Status.Phase != v1alpha1.TaskPhaseRunning {
			t.Errorf("Task %s/%s is %s after its namesake completed", b.Namespace, b.Name, got.Status.Phase)
		}
		if cur := (&corev1.Pod{ObjectMeta: podB.ObjectMeta}); !exists(t, cur) || cur.UID != podB.UID || cur.Status.Phase == corev1.PodSucceeded {
			t.Errorf("the other tenant's Pod was touched")
		}
	})

	for kind, tk := range squatted {
		t.Run("never adopts a pre-existing Pod that "+kind, func(t *testing.T) {
			got := waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
			if c := succeeded(got); c.Reason != v1alpha1.ReasonPodStartFailed {
				t.Errorf("reason %s (%s), want %s", c.Reason, c.Message, v1alpha1.ReasonPodStartFailed)
			}
			// Deleting the Task must not delete the squatter either.
			if err := env.Client.Delete(ctx, got); err != nil {
				t.Fatal(err)
			}
			waitGone(t, got)
			sq := squatters[kind]
			cur := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: sq.Namespace, Name: sq.Name}}
			if !exists(t, cur) || cur.UID != sq.UID {
				t.Fatalf("the pre-existing Pod %s was deleted or replaced", sq.Name)
			}
			if cur.Labels[v1alpha1.TaskUIDLabel] == string(tk.UID) || len(cur.OwnerReferences) > 0 {
				t.Errorf("the pre-existing Pod was adopted: labels %v, owners %v", cur.Labels, cur.OwnerReferences)
			}
		})
	}
}
